"""The rollup contract from Python: deploy, submit batches, L1 requests, withdrawals, freeze and
exit (layout v2 section 10; the contract is ``templates/Rollup.sol``, its rules in its NatSpec).

- ``deploy_rollup`` deploys circomlibjs's Poseidon contracts (4, 5 and 6 inputs, for the escape
  hatch's Merkle proofs), one PLONK verifier per batch size (``n_slots``: its key has
  4 + 3 * n_slots public inputs), the test token unless ``token`` is given, and ``Rollup``.
- ``submit_batch`` sends ``submitBatch(batchNumber, newRoot, timestamp, pubdata, proof)``: the
  contract rebuilds the public inputs itself (``public_inputs_onchain`` shows them), so the
  caller passes no public signals.
- Every function passes ``gas`` explicitly (``verifier_contract.chain``), and a revert raises
  ``RollupRevertError`` naming the contract's custom error (``NotOperator``, ``InvalidProof``,
  ``BadBatchNumber``, ...), a ``ChainError`` subclass.

Prior art: StarkEx (``UpdatePerpetualState``, ``ForcedWithdrawals``, ``Freezable``,
``PerpetualEscapes``), zkSync Lite (``ZkSync.sol``: priority queue, exodus mode), Loopring 3.6
(withdrawal mode); see ../shared/notes/perpetual-rules.md.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prover import formats
from prover.formats import Proof
from prover.plonk.keys import VerifyingKey
from verifier_contract.chain import Chain, ChainError, TxResult
from verifier_contract.compile import REPO_ROOT, CompiledContract, compile_sources
from verifier_contract.render import compile_verifier, proof_words

TEMPLATES = REPO_ROOT / "verifier_contract" / "templates"
DEFAULT_TIMESTAMP_WINDOW = 3600  # seconds: a batch's timestamp is at most 1 hour old
DEFAULT_FORCED_DEADLINE = 7 * 24 * 3600  # StarkEx's 7-day grace period for forced requests
DEFAULT_ACCOUNT_DEPTH = 8
MAX_MARKETS = 4
ROLLUP_DEPLOY_GAS = 6_000_000
SUBMIT_GAS_BASE = 1_500_000
SUBMIT_GAS_PER_SLOT = 150_000
TX_GAS = 500_000
EXIT_GAS = 3_000_000
VIEW_GAS = 30_000_000
LOG_CHUNK_BLOCKS = 5_000  # eth_getLogs block range per query (public RPCs cap it, often ~10k)


class RollupError(ValueError):
    """Bad arguments for a rollup call (before anything is sent)."""


class RollupRevertError(ChainError):
    """The rollup contract reverted; ``error`` is its custom error's name ('' if unknown)."""

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


@functools.lru_cache(maxsize=1)
def contracts() -> dict[str, CompiledContract]:
    """``Rollup`` and ``TestToken`` compiled with the project's solc settings."""
    names = ("Rollup.sol", "TestToken.sol")
    return compile_sources({n: (TEMPLATES / n).read_text() for n in names})


@functools.lru_cache(maxsize=1)
def _error_selectors() -> dict[str, str]:
    from eth_utils import keccak

    out: dict[str, str] = {}
    for item in contracts()["Rollup"].abi:
        if item["type"] == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            out[keccak(text=sig)[:4].hex()] = item["name"]
    return out


def _revert_data(exc: BaseException) -> list[bytes]:
    """Candidate revert payloads in what web3 / eth-tester raised (a ``bytes`` repr from
    eth-tester, a 0x-hex string from a JSON-RPC node)."""
    out: list[bytes] = []
    for part in (exc, *getattr(exc, "args", ()), getattr(exc, "data", None)):
        if isinstance(part, bytes):
            out.append(part)
            continue
        text = str(part) if part is not None else ""
        for lit in re.findall(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"", text):
            try:
                out.append(ast.literal_eval(lit))
            except (ValueError, SyntaxError):
                pass
        out += [bytes.fromhex(h) for h in re.findall(r"0x((?:[0-9a-fA-F]{2}){4,})", text)]
    return out


def _revert_name(exc: BaseException) -> str:
    for data in _revert_data(exc):
        name = _error_selectors().get(data[:4].hex())
        if name:
            return name
    return ""


def _transact(chain: Chain, fn: Any, gas: int, sender: str | None, what: str) -> TxResult:
    try:
        return chain.transact(fn, gas, sender=sender)
    except ChainError as exc:
        name = _revert_name(exc.__cause__ or exc)
        if not name:  # a mined, failed transaction carries no reason: replay it as a call
            try:
                chain.call(fn, gas, sender=sender)
            except ChainError as again:
                name = _revert_name(again.__cause__ or again)
        raise RollupRevertError(f"{what} reverted: {name or exc}", name) from exc


def _call(chain: Chain, fn: Any, gas: int = VIEW_GAS, sender: str | None = None) -> Any:
    try:
        return chain.call(fn, gas, sender=sender)
    except ChainError as exc:
        cause = exc.__cause__ or exc
        name = _revert_name(cause)
        raise RollupRevertError(f"call reverted: {name or exc}", name) from exc


@dataclass(frozen=True)
class RollupDeployment:
    """The addresses of a deployed rollup (``chain.json`` of layout v2 section 9, without
    ``rpc_url``)."""

    rollup: str
    token: str
    verifiers: Mapping[int, str]
    operator: str
    poseidon: tuple[str, ...]  # Poseidon contracts for 4, 5 and 6 inputs
    deploy_block: int
    gas: Mapping[str, int] = field(default_factory=dict)  # deployment gas per contract

    def to_json(self) -> dict[str, Any]:
        return {
            "rollup": self.rollup,
            "token": self.token,
            "verifiers": {str(n): a for n, a in sorted(self.verifiers.items())},
            "operator": self.operator,
            "poseidon": list(self.poseidon),
            "deploy_block": self.deploy_block,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> RollupDeployment:
        try:
            return cls(
                rollup=str(obj["rollup"]),
                token=str(obj["token"]),
                verifiers={int(n): str(a) for n, a in obj["verifiers"].items()},
                operator=str(obj["operator"]),
                poseidon=tuple(str(a) for a in obj.get("poseidon", ())),  # type: ignore[arg-type]
                deploy_block=int(obj["deploy_block"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RollupError(f"not a rollup deployment: {exc!r}") from exc

    def contract(self, chain: Chain) -> Any:
        return chain.w3.eth.contract(address=self.rollup, abi=list(contracts()["Rollup"].abi))

    def token_contract(self, chain: Chain) -> Any:
        return chain.w3.eth.contract(address=self.token, abi=list(contracts()["TestToken"].abi))


def _vk(value: VerifyingKey | Mapping[str, Any]) -> VerifyingKey:
    return value if isinstance(value, VerifyingKey) else formats.parse_vk_json(value)


def deploy_rollup(
    chain: Chain,
    *,
    genesis_root: int,
    vks: Mapping[int, VerifyingKey | Mapping[str, Any]],
    operator: str | None = None,
    token: str | None = None,
    timestamp_window: int = DEFAULT_TIMESTAMP_WINDOW,
    forced_deadline: int = DEFAULT_FORCED_DEADLINE,
    account_depth: int = DEFAULT_ACCOUNT_DEPTH,
    genesis_prices: Sequence[int] = (),
    sender: str | None = None,
    reuse: RollupDeployment | None = None,
) -> RollupDeployment:
    """Deploy the Poseidon contracts, one verifier per ``n_slots`` in ``vks`` (vk.json dicts or
    ``VerifyingKey``s with 4 + 3 * n_slots public inputs), the test token unless ``token``, and
    the rollup with ``genesis_root``. ``genesis_prices``: the genesis oracle price per market
    (``Genesis.prices``; the exit values positions at the last committed prices). ``reuse``:
    take the Poseidon contracts and the verifiers of an earlier deployment on the same chain
    (tests; its verifiers replace those of ``vks``)."""
    if not vks and reuse is None:
        raise RollupError("at least one verifying key (n_slots -> vk) is needed")
    prices = list(genesis_prices) + [0] * (MAX_MARKETS - len(genesis_prices))
    if len(prices) != MAX_MARKETS or any(not 0 <= p < 1 << 56 for p in prices):
        raise RollupError(f"at most {MAX_MARKETS} genesis prices, each in [0, 2^56)")
    if not 1 <= account_depth <= 16:
        raise RollupError("account_depth is 1..16 (4-ary levels)")
    gas: dict[str, int] = {}
    block = chain.w3.eth.block_number
    poseidon = list(reuse.poseidon) if reuse else []
    for n in () if reuse else (4, 5, 6):
        dep = chain.deploy(_poseidon_compiled(n), gas=8_000_000, sender=sender)
        gas[f"poseidon{n}"] = dep.gas_used
        poseidon.append(dep.address)
    verifiers: dict[int, str] = dict(reuse.verifiers) if reuse else {}
    for n_slots, raw in () if reuse else sorted(vks.items()):
        vk = _vk(raw)
        if vk.n_public != 4 + 3 * n_slots:
            raise RollupError(
                f"the key for {n_slots} slots has {vk.n_public} public inputs, "
                f"not {4 + 3 * n_slots}"
            )
        dep = chain.deploy(compile_verifier(vk), sender=sender)
        gas[f"verifier_{n_slots}"] = dep.gas_used
        verifiers[int(n_slots)] = dep.address
    if token is None:
        dep = chain.deploy(contracts()["TestToken"], "zkperp test USD", "tUSD", sender=sender)
        gas["token"] = dep.gas_used
        token = dep.address
    operator = operator or sender or chain.sender
    config = (
        genesis_root,
        token,
        operator,
        list(verifiers),
        [verifiers[n] for n in verifiers],
        timestamp_window,
        forced_deadline,
        account_depth,
        poseidon,
        prices,
    )
    dep = chain.deploy(contracts()["Rollup"], config, gas=ROLLUP_DEPLOY_GAS, sender=sender)
    gas["rollup"] = dep.gas_used
    return RollupDeployment(
        dep.address,
        token,
        verifiers,
        operator,
        tuple(poseidon),
        block,
        gas,  # type: ignore[arg-type]
    )


def _poseidon_compiled(n: int) -> CompiledContract:
    from verifier_contract.poseidon_contracts import poseidon_contract

    return poseidon_contract(n)


def submit_gas(n_slots: int) -> int:
    return SUBMIT_GAS_BASE + SUBMIT_GAS_PER_SLOT * n_slots


def submit_batch(
    chain: Chain,
    dep: RollupDeployment,
    *,
    batch_number: int,
    new_root: int,
    timestamp: int,
    pubdata: bytes,
    proof: Proof | Sequence[int],
    sender: str | None = None,
    gas: int | None = None,
) -> dict[str, Any]:
    """Submit a batch; returns {"tx_hash", "gas_used", "execution_gas", "block"}. Raises
    ``RollupRevertError`` (``.error`` = the contract's error name) if the contract refuses it."""
    words = proof_words(proof) if isinstance(proof, Proof) else list(proof)
    if len(words) != 24:
        raise RollupError(f"a proof is 24 words, got {len(words)}")
    fn = dep.contract(chain).functions.submitBatch(
        batch_number, new_root, timestamp, bytes(pubdata), words
    )
    tx = _transact(chain, fn, gas or submit_gas(len(pubdata) // 16), sender, "submitBatch")
    return _receipt(tx)


def dry_run_batch(
    chain: Chain,
    dep: RollupDeployment,
    *,
    batch_number: int,
    new_root: int,
    timestamp: int,
    pubdata: bytes,
    proof: Proof | Sequence[int],
    sender: str | None = None,
) -> str | None:
    """``submitBatch`` as an ``eth_call`` (nothing sent): None if the contract would accept the
    batch now, else its error's name (``"?"`` if the revert carries no known error)."""
    words = proof_words(proof) if isinstance(proof, Proof) else list(proof)
    fn = dep.contract(chain).functions.submitBatch(
        batch_number, new_root, timestamp, bytes(pubdata), words
    )
    try:
        chain.call(fn, submit_gas(len(pubdata) // 16), sender=sender or dep.operator)
    except ChainError as exc:
        return _revert_name(exc.__cause__ or exc) or "?"
    return None


def _receipt(tx: TxResult) -> dict[str, Any]:
    return {
        "tx_hash": "0x" + bytes(tx.receipt["transactionHash"]).hex(),
        "gas_used": tx.gas_used,
        "execution_gas": tx.execution_gas,
        "block": tx.receipt["blockNumber"],
        "receipt": tx.receipt,
    }


def public_inputs_onchain(
    chain: Chain,
    dep: RollupDeployment,
    *,
    old_root: int,
    new_root: int,
    batch_number: int,
    timestamp: int,
    pubdata: bytes,
) -> list[int]:
    """The public inputs the contract rebuilds (its ``publicInputs`` view)."""
    fn = dep.contract(chain).functions.publicInputs(
        old_root, new_root, batch_number, timestamp, bytes(pubdata)
    )
    return [int(v) for v in _call(chain, fn)]


def rollup_status(chain: Chain, dep: RollupDeployment) -> dict[str, Any]:
    """State root, next batch number, queue head and length, frozen flag, balances."""
    c = dep.contract(chain).functions
    head = _call(chain, c.queueHead())
    tail = _call(chain, c.queueTail())
    return {
        "state_root": _call(chain, c.stateRoot()),
        "next_batch_number": _call(chain, c.nextBatchNumber()),
        "last_timestamp": _call(chain, c.lastTimestamp()),
        "queue_head": head,
        "queue_length": tail - head,
        "frozen": _call(chain, c.frozen()),
        "operator": _call(chain, c.operator()),
        "token_balance": _call(chain, dep.token_contract(chain).functions.balanceOf(dep.rollup)),
        "total_pending": _call(chain, c.totalPending()),
        "queued_deposits": _call(chain, c.queuedDeposits()),
    }


def mint(chain: Chain, dep: RollupDeployment, *, to: str, amount: int) -> dict[str, Any]:
    """Mint test tokens (``TestToken`` only)."""
    fn = dep.token_contract(chain).functions.mint(to, amount)
    return _receipt(_transact(chain, fn, TX_GAS, None, "mint"))


def deposit(
    chain: Chain,
    dep: RollupDeployment,
    *,
    pubkey_packed: bytes,
    amount: int,
    sender: str,
    approve: bool = True,
) -> dict[str, Any]:
    """Approve (unless ``approve=False``) and queue a deposit; the result has ``request_index``
    and the deposit transaction's gas. A key the contract refuses (``deposit_key_accepted``)
    raises ``RollupRevertError`` with ``error == "InvalidPublicKey"`` (after the approval)."""
    if len(pubkey_packed) != 32:
        raise RollupError("a packed BabyJubJub key is 32 bytes")
    if approve:
        fn = dep.token_contract(chain).functions.approve(dep.rollup, amount)
        _transact(chain, fn, TX_GAS, sender, "approve")
    index = _call(chain, dep.contract(chain).functions.queueTail())
    fn = dep.contract(chain).functions.deposit(bytes(pubkey_packed), amount)
    out = _receipt(_transact(chain, fn, TX_GAS, sender, "deposit"))
    out["request_index"] = index
    return out


def deposit_key_accepted(chain: Chain, dep: RollupDeployment, pubkey_packed: bytes) -> bool:
    """Whether ``deposit`` accepts this packed key (the contract's ``validDepositKey``: it
    unpacks as ``circuits.gadgets.babyjubjub.unpack_point`` does and is not of small order;
    ``rollup.types.valid_deposit_key``)."""
    if len(pubkey_packed) != 32:
        raise RollupError("a packed BabyJubJub key is 32 bytes")
    fn = dep.contract(chain).functions.validDepositKey(bytes(pubkey_packed))
    return bool(_call(chain, fn, TX_GAS))


def small_order_keys(chain: Chain, dep: RollupDeployment) -> list[bytes]:
    """The packed encodings of the 8 small-order points the contract refuses."""
    return [bytes(k) for k in _call(chain, dep.contract(chain).functions.smallOrderKeys())]


def request_forced_withdrawal(
    chain: Chain, dep: RollupDeployment, *, account: int, amount: int, sender: str
) -> dict[str, Any]:
    index = _call(chain, dep.contract(chain).functions.queueTail())
    fn = dep.contract(chain).functions.requestForcedWithdrawal(account, amount)
    out = _receipt(_transact(chain, fn, TX_GAS, sender, "requestForcedWithdrawal"))
    out["request_index"] = index
    return out


def set_operator(
    chain: Chain, dep: RollupDeployment, *, new_operator: str, sender: str | None = None
) -> dict[str, Any]:
    """Hand the operator role to ``new_operator`` (only the current operator may). The
    returned deployment record still names the old operator: update chain.json."""
    fn = dep.contract(chain).functions.setOperator(new_operator)
    return _receipt(_transact(chain, fn, TX_GAS, sender, "setOperator"))


def withdraw(chain: Chain, dep: RollupDeployment, *, sender: str) -> dict[str, Any]:
    fn = dep.contract(chain).functions.withdraw()
    return _receipt(_transact(chain, fn, TX_GAS, sender, "withdraw"))


def pending_withdrawal(chain: Chain, dep: RollupDeployment, address: str) -> int:
    return int(_call(chain, dep.contract(chain).functions.pendingWithdrawals(address)))


def freeze(
    chain: Chain, dep: RollupDeployment, *, request_index: int, sender: str | None = None
) -> dict[str, Any]:
    fn = dep.contract(chain).functions.freeze(request_index)
    return _receipt(_transact(chain, fn, TX_GAS, sender, "freeze"))


def reclaim_deposit(
    chain: Chain,
    dep: RollupDeployment,
    *,
    request_index: int,
    pubkey_packed: bytes,
    amount: int,
    sender: str,
) -> dict[str, Any]:
    fn = dep.contract(chain).functions.reclaimDeposit(request_index, bytes(pubkey_packed), amount)
    return _receipt(_transact(chain, fn, TX_GAS, sender, "reclaimDeposit"))


@dataclass(frozen=True)
class ExitOpening:
    """An account's leaf opening in a state root (layout v2 sections 1-3), what ``exit`` takes.

    ``root_fields`` are the state root's fields after accounts_root: (markets_hash,
    config_hash, insurance_dust, next_account, funding_time); ``siblings`` the 3 other children
    per 4-ary level, leaves first."""

    account: int
    static_fields: tuple[int, int, int, int]  # pubkey.x, pubkey.y, l1_address, nonce
    collateral: int
    orders_root: int
    sizes: tuple[int, int, int, int]
    funding: tuple[int, int, int, int]
    root_fields: tuple[int, int, int, int, int]
    siblings: tuple[tuple[int, int, int], ...]

    def as_abi(self) -> tuple[Any, ...]:
        return (
            self.account,
            list(self.static_fields),
            self.collateral,
            self.orders_root,
            list(self.sizes),
            list(self.funding),
            list(self.root_fields),
            [list(s) for s in self.siblings],
        )


def _signed(v: int) -> int:
    """A field residue back to the signed integer it stands for (|v| < r / 2)."""
    from prover.params import R_ORDER

    return v - R_ORDER if v > R_ORDER // 2 else v


def exit_opening(state: Any, index: int) -> ExitOpening:
    """The opening of account ``index`` from a layout-v2 ``rollup.state.State``
    (``account_leaf_parts``, ``root_fields``, ``account_proof``: section 8)."""
    static, collateral, orders_root, sizes, funding = state.account_leaf_parts(index)
    root_fields = tuple(state.root_fields())
    proof = state.account_proof(index)
    return ExitOpening(
        account=index,
        static_fields=tuple(static),  # type: ignore[arg-type]
        collateral=_signed(collateral),
        orders_root=orders_root,
        sizes=tuple(_signed(s) for s in sizes),  # type: ignore[arg-type]
        funding=tuple(_signed(f) for f in funding),  # type: ignore[arg-type]
        root_fields=root_fields[1:],  # type: ignore[arg-type]
        siblings=tuple(tuple(s) for s in proof.siblings),
    )


def exit_value(chain: Chain, dep: RollupDeployment, opening: ExitOpening) -> tuple[int, str]:
    """(value in quanta, L1 address) the contract computes for ``opening`` (reverts
    ``BadExitProof`` unless it opens the stored root)."""
    value, to = _call(chain, dep.contract(chain).functions.exitValue(opening.as_abi()), EXIT_GAS)
    return int(value), str(to)


def exit(
    chain: Chain, dep: RollupDeployment, *, opening: ExitOpening, sender: str | None = None
) -> dict[str, Any]:
    """Exit an account after the freeze (once). The result has the ``Exited`` event's
    ``value`` and ``paid``."""
    contract = dep.contract(chain)
    tx = _transact(chain, contract.functions.exit(opening.as_abi()), EXIT_GAS, sender, "exit")
    out = _receipt(tx)
    from web3.logs import DISCARD

    events = contract.events.Exited().process_receipt(tx.receipt, errors=DISCARD)
    if events:
        out["value"] = int(events[0]["args"]["value"])
        out["paid"] = int(events[0]["args"]["paid"])
        out["to"] = events[0]["args"]["to"]
    return out


def get_logs_chunked(
    event: Any, from_block: int, to_block: int, *, chunk: int = LOG_CHUNK_BLOCKS
) -> list[Any]:
    """``event.get_logs`` over [from_block, to_block] in windows of at most ``chunk`` blocks, in
    block order: public JSON-RPC nodes refuse an eth_getLogs over too many blocks or with too
    many results. A window the node refuses is halved and retried, down to a single block (whose
    refusal is raised)."""
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive number of blocks, not {chunk!r}")
    out: list[Any] = []
    lo, size = from_block, chunk
    while lo <= to_block:
        hi = min(to_block, lo + size - 1)
        try:
            out.extend(event.get_logs(from_block=lo, to_block=hi))
        except Exception:  # noqa: BLE001 (nodes word the refusal differently; retried smaller)
            if hi == lo:
                raise
            size = max(1, (hi - lo + 1) // 2)
            continue
        lo = hi + 1
    return out


def batch_events(chain: Chain, dep: RollupDeployment, from_block: int | None = None) -> list[dict]:
    """Every ``BatchAccepted`` event (batch number, roots, timestamp, pubdata hash, n_slots)
    with its transaction hash: the auditor (issue G) reads the pubdata from that calldata."""
    contract = dep.contract(chain)
    start = dep.deploy_block if from_block is None else from_block
    end = int(chain.w3.eth.block_number)
    logs = get_logs_chunked(contract.events.BatchAccepted(), start, end)
    return [
        {**dict(log["args"]), "tx_hash": "0x" + bytes(log["transactionHash"]).hex()} for log in logs
    ]
