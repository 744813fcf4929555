"""Deploy and call contracts with web3.py: on the embedded EVM (eth-tester + py-evm, in this
process) or on any node reachable over JSON-RPC.

- ``Chain.embedded()``: a fresh in-memory chain (py-evm, Cancun rules, the ``evmVersion`` the
  contracts are compiled for) with ten funded accounts and a block gas limit raised to
  ``EMBEDDED_BLOCK_GAS_LIMIT``; ``Chain.connect(url)``: any node over JSON-RPC (HTTP), e.g. the
  hardhat node of ``verifier_contract.node`` (``zkperp chain node``) or ``DEFAULT_RPC_URL``.
  It sends from the node's first unlocked account unless ``sender`` is given; ``ChainError``
  (one clear line) when nothing answers at the URL, or the URL is not HTTP(S).
- Every transaction and every ``eth_call`` passes ``gas`` explicitly: web3's default would run
  ``eth_estimateGas`` first, which re-executes the call (each BN254 pairing costs ~0.45 s in
  py-evm) and bisects the gas.
- ``VerifierContract``: a deployed PLONK verifier (ours from ``verifier_contract.render``, or
  snarkjs's generated one, which has the same ABI): ``verify`` is an ``eth_call`` and
  ``verify_transaction`` a transaction, whose receipt gives the gas used.

Gas figures: a receipt's ``gasUsed`` includes the 21,000 base cost and the calldata
(EIP-2028: 4 gas per zero byte, 16 per non-zero byte); ``execution_gas`` subtracts both
(``intrinsic_gas``), which leaves what the contract's code cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prover.formats import Proof
from prover.plonk.keys import VerifyingKey
from verifier_contract.compile import CompiledContract
from verifier_contract.render import (
    VERIFIER_CONTRACT_NAME,
    compile_verifier,
    proof_words,
    verifier_arguments,
)

EMBEDDED_BLOCK_GAS_LIMIT = 1_000_000_000
DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEPLOY_GAS = 12_000_000
VERIFY_GAS = 2_000_000
TX_BASE_GAS = 21_000


class ChainError(ValueError):
    """A transaction failed (reverted or ran out of gas), or the node cannot be reached."""


def intrinsic_gas(data: bytes) -> int:
    """The intrinsic gas of a call transaction carrying ``data`` (no access list): the base
    21,000 plus EIP-2028 calldata gas."""
    zeros = data.count(0)
    return TX_BASE_GAS + 4 * zeros + 16 * (len(data) - zeros)


def _revert_exceptions() -> tuple[type[Exception], ...]:
    """What web3 / eth-tester raise for a reverted call or a failed transaction."""
    from eth_tester.exceptions import TransactionFailed
    from web3.exceptions import Web3Exception

    return (TransactionFailed, Web3Exception, ValueError)


_REVERTS = _revert_exceptions()


@dataclass(frozen=True)
class Deployment:
    """A deployed contract: its address, the web3 contract object and the deployment's gas."""

    address: str
    contract: Any  # web3.contract.Contract
    gas_used: int
    compiled: CompiledContract


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: ``gas_used`` (the receipt's) and ``execution_gas`` (without the
    intrinsic gas of its calldata)."""

    gas_used: int
    execution_gas: int
    receipt: Any


class Chain:
    """A web3 connection with a default sender; see the module docstring."""

    def __init__(self, w3: Any, sender: str | None = None) -> None:
        self.w3 = w3
        accounts = list(w3.eth.accounts)
        if sender is None and not accounts:
            raise ChainError("the node has no unlocked account to send transactions from")
        self.sender = sender or accounts[0]

    @classmethod
    def embedded(cls, block_gas_limit: int = EMBEDDED_BLOCK_GAS_LIMIT) -> Chain:
        """A fresh in-process chain (eth-tester on py-evm, Cancun rules)."""
        from eth.vm.forks import CancunVM
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider, Web3

        genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": block_gas_limit})
        backend = PyEVMBackend(genesis_parameters=genesis, vm_configuration=((0, CancunVM),))
        return cls(Web3(EthereumTesterProvider(EthereumTester(backend))))

    @classmethod
    def connect(
        cls, rpc_url: str = DEFAULT_RPC_URL, timeout: float = 120.0, sender: str | None = None
    ) -> Chain:
        """A node over JSON-RPC (HTTP), e.g. ``http://127.0.0.1:8545``; ``ChainError`` if nothing
        answers there. ``sender`` defaults to the node's first unlocked account."""
        from urllib.parse import urlparse

        from web3 import HTTPProvider, Web3

        parsed = urlparse(rpc_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ChainError(f"{rpc_url!r} is not an http(s):// JSON-RPC URL")
        w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        try:
            connected = w3.is_connected()
        except Exception:  # noqa: BLE001 (any transport failure means: not reachable)
            connected = False
        if not connected:
            raise ChainError(f"no Ethereum node answers at {rpc_url}")
        try:
            accounts = list(w3.eth.accounts)
        except _REVERTS as exc:
            raise ChainError(f"{rpc_url}: eth_accounts failed: {exc}") from exc
        if sender is not None:
            try:
                sender = Web3.to_checksum_address(sender)
            except ValueError:
                raise ChainError(f"{sender!r} is not an Ethereum address") from None
        elif not accounts:
            raise ChainError(f"the node at {rpc_url} has no unlocked account to send from")
        return cls(w3, sender)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @property
    def accounts(self) -> list[str]:
        """The node's unlocked accounts (checksummed)."""
        return list(self.w3.eth.accounts)

    def balance(self, address: str) -> int:
        """The ether balance of ``address`` in wei."""
        return int(self.w3.eth.get_balance(self.w3.to_checksum_address(address)))

    def deploy(
        self,
        compiled: CompiledContract,
        *args: Any,
        gas: int = DEPLOY_GAS,
        sender: str | None = None,
    ) -> Deployment:
        """Deploy ``compiled`` with constructor ``args``; raises ``ChainError`` if it fails."""
        factory = self.w3.eth.contract(abi=list(compiled.abi), bytecode=compiled.bytecode)
        try:
            tx_hash = factory.constructor(*args).transact(
                {"from": sender or self.sender, "gas": gas}
            )
        except _REVERTS as exc:
            raise ChainError(f"deploying {compiled.name} failed: {exc}") from exc
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1 or not receipt.get("contractAddress"):
            raise ChainError(f"deploying {compiled.name} failed (gas used {receipt['gasUsed']})")
        address = receipt["contractAddress"]
        contract = self.w3.eth.contract(address=address, abi=list(compiled.abi))
        return Deployment(address, contract, receipt["gasUsed"], compiled)

    def call(self, fn: Any, gas: int, sender: str | None = None) -> Any:
        """``eth_call`` of a bound contract function (``contract.functions.f(...)``);
        ``ChainError`` if it reverts."""
        try:
            return fn.call({"from": sender or self.sender, "gas": gas})
        except _REVERTS as exc:
            raise ChainError(f"call reverted: {exc}") from exc

    def raw_call(self, to: str, data: bytes, gas: int) -> bytes:
        """``eth_call`` with raw calldata; ``ChainError`` if it reverts."""
        try:
            return bytes(
                self.w3.eth.call({"from": self.sender, "to": to, "data": data, "gas": gas})
            )
        except _REVERTS as exc:
            raise ChainError(f"call reverted: {exc}") from exc

    def transact(self, fn: Any, gas: int, sender: str | None = None, value: int = 0) -> TxResult:
        """Send a transaction calling ``fn`` and wait for it; ``ChainError`` if it reverts."""
        params = {"from": sender or self.sender, "gas": gas, "value": value}
        try:
            tx_hash = fn.transact(params)
        except _REVERTS as exc:  # eth-tester raises on revert instead of mining a failed tx
            raise ChainError(f"transaction reverted: {exc}") from exc
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ChainError(f"transaction failed (gas used {receipt['gasUsed']})")
        data = bytes(self.w3.eth.get_transaction(tx_hash)["input"])
        used = receipt["gasUsed"]
        return TxResult(used, used - intrinsic_gas(data), receipt)


@dataclass(frozen=True)
class VerifierContract:
    """A deployed ``verifyProof(uint256[24], uint256[n_public])`` PLONK verifier."""

    chain: Chain
    deployment: Deployment
    n_public: int

    @property
    def address(self) -> str:
        return self.deployment.address

    def _fn(self, proof: Proof | Sequence[int], public: Sequence[int]) -> Any:
        words = proof_words(proof) if isinstance(proof, Proof) else list(proof)
        args = verifier_arguments(words, public, self.n_public or None)
        return self.deployment.contract.functions.verifyProof(*args)

    def verify(
        self, proof: Proof | Sequence[int], public: Sequence[int], gas: int = VERIFY_GAS
    ) -> bool:
        """The contract's verdict (an ``eth_call``). ``proof`` is a ``Proof`` or its 24 calldata
        words (any 256-bit values: tests pass tampered ones). ``RenderError`` for arguments
        that cannot be encoded (a word over 256 bits, a wrong number of public signals);
        ``ChainError`` if the call reverts."""
        return bool(self.chain.call(self._fn(proof, public), gas))

    def verify_transaction(
        self, proof: Proof | Sequence[int], public: Sequence[int], gas: int = VERIFY_GAS
    ) -> TxResult:
        """Call ``verifyProof`` in a transaction (to measure its gas)."""
        return self.chain.transact(self._fn(proof, public), gas)


def deploy_verifier(
    chain: Chain, vk: VerifyingKey, name: str = VERIFIER_CONTRACT_NAME
) -> VerifierContract:
    """Render, compile and deploy our verifier for ``vk``."""
    return VerifierContract(chain, chain.deploy(compile_verifier(vk, name)), vk.n_public)


def deploy_compiled_verifier(
    chain: Chain, compiled: CompiledContract, n_public: int
) -> VerifierContract:
    """Deploy an already compiled verifier with the same ABI (e.g. snarkjs's)."""
    return VerifierContract(chain, chain.deploy(compiled), n_public)
