"""The generated PLONK verifier on a real node: hardhat 2 (``verifier_contract.node``), started on a
free port of 127.0.0.1 by the test, reached over JSON-RPC by web3 (``Chain.connect``).

- the node starts in about a second, answers with chain id 31337, has ten funded unlocked dev
  accounts (with the private keys it printed), and ``stop()`` ends it (the port closes); a port
  already in use is a ``NodeError`` (hardhat's EADDRINUSE, or "already serving a node");
- our verifier (render.py + compile.py) deployed there has exactly the runtime bytecode solc
  produced, accepts a valid proof, rejects each of the 24 proof words tampered, a changed public
  signal and a public signal + r, as on the embedded EVM (tests/test_verifier_contract.py); its
  execution gas is the embedded EVM's to the unit (the same Cancun rules);
- a failing transaction (out of gas) is a ``ChainError``; an unreachable or malformed URL is a
  ``ChainError`` with one clear line.
"""

from __future__ import annotations

import random
import socket

import pytest

from circuits.builder import CircuitBuilder
from prover import formats, params
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from verifier_contract.chain import Chain, ChainError, deploy_verifier
from verifier_contract.node import (
    HARDHAT_CHAIN_ID,
    HardhatNode,
    NodeError,
    free_port,
    hardhat_executable,
    node_answers,
)
from verifier_contract.render import compile_verifier, proof_words

P = params.P
R = params.R_ORDER
WORD_NAMES = [f"{n}.{c}" for n in formats.PROOF_POINT_NAMES for c in "xy"] + list(
    formats.PROOF_EVAL_NAMES
)


def require_hardhat() -> None:
    """Skip (outside CI) or fail (in CI) when hardhat (a devDependency) is not installed."""
    from tests.conftest import in_ci

    try:
        hardhat_executable()
    except NodeError as exc:
        if in_ci():
            pytest.fail(f"hardhat required in CI: {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def node():
    require_hardhat()
    with HardhatNode.start() as started:
        yield started


@pytest.fixture(scope="module")
def keyed():
    """A two-public-signal circuit (domain 2^4), its key, a proof and the public signals."""
    b = CircuitBuilder()
    xs = [b.public_input(f"x{i}") for i in range(2)]
    acc = b.private_input("s")
    for i in range(6):
        acc = b.mul(acc, acc + xs[i % 2])
    circuit = b.compile()
    pk = setup(circuit.cs, KnownTauPowers(8, 0xBEEF))
    proof, public = prove(pk, circuit.witness({"x0": 1005, "x1": 77, "s": 3}), rng=random.Random(5))
    assert verify(pk.vk, public, proof).valid
    return pk, proof, public


@pytest.fixture(scope="module")
def hardhat_verifier(node, keyed):
    return deploy_verifier(Chain.connect(node.url), keyed[0].vk)


@pytest.mark.node
def test_node_serves_funded_dev_accounts(node):
    assert node.url == f"http://127.0.0.1:{node.port}"
    assert node.running and node_answers(node.url)
    chain = Chain.connect(node.url)
    assert chain.chain_id == HARDHAT_CHAIN_ID
    accounts = node.accounts()
    assert len(accounts) == 10
    assert [a.address.lower() for a in accounts] == [a.lower() for a in chain.accounts]
    assert all(a.balance_wei == 10_000 * 10**18 for a in accounts)
    # hardhat's public test mnemonic: account 0's key is the well-known one
    assert accounts[0].private_key == (
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    )
    from eth_account import Account

    for account in accounts:
        assert Account.from_key(account.private_key).address.lower() == account.address.lower()
    assert chain.sender == chain.accounts[0]


@pytest.mark.node
def test_node_stops_cleanly_and_ports_are_checked():
    require_hardhat()
    port = free_port()
    started = HardhatNode.start(port)
    try:
        assert started.port == port and node_answers(started.url)
        with pytest.raises(NodeError, match="already serving"):
            HardhatNode.start(port)
    finally:
        status = started.stop()
    assert status is not None and not started.running
    assert not node_answers(started.url, timeout=1.0)
    assert started.stop() == status  # idempotent


@pytest.mark.node
def test_port_taken_by_another_program_is_a_node_error():
    require_hardhat()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(NodeError, match="EADDRINUSE"):
            HardhatNode.start(sock.getsockname()[1])


@pytest.mark.node
def test_verifier_bytecode_on_hardhat_is_what_solc_produced(hardhat_verifier, keyed):
    chain = hardhat_verifier.chain
    code = bytes(chain.w3.eth.get_code(hardhat_verifier.address))
    assert code == compile_verifier(keyed[0].vk).deployed_bytecode


@pytest.mark.node
def test_valid_proof_accepted_on_hardhat_with_the_embedded_gas(hardhat_verifier, keyed):
    pk, proof, public = keyed
    assert hardhat_verifier.verify(proof, public) is True
    on_node = hardhat_verifier.verify_transaction(proof, public)
    embedded = deploy_verifier(Chain.embedded(), pk.vk)
    on_py_evm = embedded.verify_transaction(proof, public)
    assert on_node.gas_used == on_py_evm.gas_used
    assert on_node.execution_gas == on_py_evm.execution_gas
    assert hardhat_verifier.deployment.gas_used == embedded.deployment.gas_used


@pytest.mark.node
def test_tampered_proofs_and_inputs_rejected_on_hardhat(hardhat_verifier, keyed):
    _, proof, public = keyed
    words = proof_words(proof)
    for index, name in enumerate(WORD_NAMES):
        tampered = list(words)
        tampered[index] = (tampered[index] + 1) % (R if index >= 18 else P)
        assert hardhat_verifier.verify(tampered, public) is False, name
    for index in range(len(public)):
        changed = list(public)
        changed[index] = (changed[index] + 1) % R
        assert hardhat_verifier.verify(proof, changed) is False
        changed[index] = public[index] + R  # the same field element, not a canonical input
        assert hardhat_verifier.verify(proof, changed) is False


@pytest.mark.node
def test_failed_transaction_on_hardhat_is_a_chain_error(hardhat_verifier, keyed):
    _, proof, public = keyed
    with pytest.raises(ChainError):
        hardhat_verifier.verify_transaction(proof, public, gas=60_000)  # out of gas


def test_connect_errors_are_one_clear_line():
    port = free_port()
    with pytest.raises(ChainError, match=f"no Ethereum node answers at http://127.0.0.1:{port}"):
        Chain.connect(f"http://127.0.0.1:{port}", timeout=2.0)
    with pytest.raises(ChainError, match="not an http"):
        Chain.connect("127.0.0.1:8545")


def test_embedded_node_mines_at_the_wall_clock():
    """The embedded node's next block is stamped with the wall clock, not with the time the
    previous block was mined (eth-tester's default), as hardhat does: a batch cut at wall time
    is then never 'in the future' for the rollup's timestamp check."""
    import time

    from verifier_contract.chain import Chain
    from verifier_contract.node import EmbeddedNode

    node = EmbeddedNode.start()
    try:
        chain = Chain.connect(node.url)
        w3 = chain.w3
        a, b = w3.eth.accounts[:2]
        w3.eth.send_transaction({"from": a, "to": b, "value": 1, "gas": 21_000})
        time.sleep(2.2)
        before = int(time.time())
        w3.eth.send_transaction({"from": a, "to": b, "value": 1, "gas": 21_000})
        assert w3.eth.get_block("latest")["timestamp"] >= before
    finally:
        node.stop()
