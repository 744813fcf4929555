"""``zkperp chain node | deploy | submit | status`` (cli/chain_cmds.py) on a hardhat node.

The flow: a sequencer database (shapes 2 and 4 slots), its keys in ``<db>.d/keys``, ``chain
deploy`` (chain.json), a deposit on L1 (``verifier_contract.rollup.deposit``) taken by the
sequencer into batch 0, its proof in ``<db>.d/proofs``, ``chain submit``, ``chain status``.
Rejections: the same batch again, a batch out of order, a tampered proof (the contract's
``InvalidProof``), a missing proof / key / chain.json / database, a node that does not answer
(exit status 2), a second deploy without ``--force``; ``chain node`` serves and stops. Each
runs on a hardhat node and on the embedded EVM served over JSON-RPC (``chain node --embedded``,
``verifier_contract.node.EmbeddedNode``).

The keys are those of a stand-in circuit with the batch circuit's public inputs (4 + 3 * n_slots,
layout v2 section 6) and no other constraint on them: the rollup contract checks the proof
against the key it was deployed with and rebuilds the public inputs itself, so this exercises the
whole on-chain path in seconds (the real batch circuit's keys and proofs are issue E's, tested
there).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits.builder import CircuitBuilder
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from prover import formats, params
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from verifier_contract.chain import Chain
from verifier_contract.node import EmbeddedNode, HardhatNode, free_port, node_answers
from verifier_contract.render import proof_words

SHAPES = (2, 4)
USER_KEY = bytes([7]) * 32
REPO = Path(__file__).resolve().parent.parent


def _cli():
    from cli.main import zkperp

    if "chain" not in zkperp.commands:  # not registered yet: a test copy of the group
        import click

        from cli import chain_cmds
        from cli.main import _Group

        @click.group(cls=_Group)
        def root() -> None:
            """zkperp (test copy)."""

        chain_cmds.register(root)
        return root
    return zkperp


def run(*args):
    result = CliRunner().invoke(_cli(), [str(a) for a in args], prog_name="zkperp")
    assert "Traceback" not in result.output, result.output
    return result


def ok(*args) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def fails(code: int, *args) -> str:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit) and "Error" in result.output
    return result.output


def _stand_in_key(n_slots: int):
    """A circuit with 4 + 3 * n_slots free public inputs, and its proving key."""
    b = CircuitBuilder()
    xs = [b.public_input(f"x{i}") for i in range(4 + 3 * n_slots)]
    s = b.private_input("s")
    b.mul(s, s + xs[0])
    circuit = b.compile()
    return circuit, setup(circuit.cs, KnownTauPowers(8, 0xC4A1 + n_slots))


@pytest.fixture(scope="module")
def hardhat():
    from tests.test_hardhat import require_hardhat

    require_hardhat()
    with HardhatNode.start() as started:
        yield started


@pytest.fixture(scope="module", params=["hardhat", "embedded"])
def node(request):
    """A hardhat node, and the embedded EVM served over JSON-RPC (``chain node --embedded``)."""
    if request.param == "hardhat":
        yield request.getfixturevalue("hardhat")
        return
    with EmbeddedNode.start() as served:
        yield served


@pytest.fixture(scope="module")
def keys():
    return {n: _stand_in_key(n) for n in SHAPES}


def _make_db(directory: Path, keys) -> Path:
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis

    db = directory / "seq.db"
    # batch timestamps must be within the contract's window of the node's (wall clock) time
    seq = Sequencer.create(db, demo_genesis(int(time.time()) - 600), SequencerConfig(SHAPES))
    seq.close()
    key_dir = Path(f"{db}.d") / "keys"
    key_dir.mkdir(parents=True)
    for n, (_, pk) in keys.items():
        formats.write_json(key_dir / f"batch_{n}.vk.json", formats.vk_to_json(pk.vk))
    return db


@pytest.fixture(scope="module")
def deployed(node, keys, tmp_path_factory):
    db = _make_db(tmp_path_factory.mktemp("chain_cli"), keys)
    out = ok("chain", "deploy", db, "--rpc-url", node.url)
    assert "rollup" in out and "batches of 2 slots" in out and "batches of 4 slots" in out
    return db


def _chain_json(db: Path) -> dict:
    return json.loads(Path(f"{db}.d/chain.json").read_text())


def _prove(db: Path, number: int, keys, chain: Chain) -> list[int]:
    """Prove batch ``number`` with the stand-in key of its shape; write its proof files."""
    from rollup.storage import Storage
    from verifier_contract import rollup

    with Storage.open(db) as storage:
        batch = storage.batch(number)
    dep = rollup.RollupDeployment.from_json(_chain_json(db))
    public = rollup.public_inputs_onchain(
        chain,
        dep,
        old_root=batch.pre_root,
        new_root=batch.post_root,
        batch_number=batch.number,
        timestamp=batch.timestamp,
        pubdata=batch.pubdata,
    )
    from rollup import pubdata

    if hasattr(pubdata, "public_inputs"):  # the sequencer's rebuild = the contract's (layout v2)
        args = (batch.pre_root, batch.post_root, batch.number, batch.timestamp, batch.pubdata)
        assert pubdata.public_inputs(*args, batch.size) == public
    circuit, pk = keys[batch.size]
    witness = circuit.witness({**{f"x{i}": v for i, v in enumerate(public)}, "s": 3})
    proof, signals = prove(pk, witness, rng=random.Random(number))
    assert signals == public
    proofs = Path(f"{db}.d/proofs")
    proofs.mkdir(exist_ok=True)
    formats.write_json(proofs / f"batch_{number}.proof.json", formats.proof_to_json(proof))
    formats.write_json(proofs / f"batch_{number}.public.json", formats.public_to_json(public))
    return proof_words(proof)


def _deposit_and_cut(db: Path, chain: Chain, user: str, amount: int) -> None:
    """A deposit on L1, taken by the sequencer in queue order, cut into a batch."""
    from rollup.batch import L1Request
    from rollup.sequencer import Sequencer
    from rollup.types import Deposit
    from verifier_contract import rollup

    dep = rollup.RollupDeployment.from_json(_chain_json(db))
    pub = bj.pack_point(eddsa.prv2pub(USER_KEY))
    rollup.mint(chain, dep, to=user, amount=amount)
    index = rollup.deposit(chain, dep, pubkey_packed=pub, amount=amount, sender=user)
    with Sequencer.open(db) as seq:
        now = max(int(time.time()) - 60, seq.now)
        request = L1Request(index["request_index"], Deposit(pub, int(user, 16), amount))
        assert seq.submit(request, now=now).status == "applied"
        assert seq.cut(now=now + 1) is not None


@pytest.mark.node
def test_deploy_submit_status(node, deployed, keys):
    db = deployed
    saved = _chain_json(db)
    assert saved["rpc_url"] == node.url
    assert set(saved["verifiers"]) == {"2", "4"}
    assert {"rollup", "token", "operator", "deploy_block"} <= set(saved)
    chain = Chain.connect(node.url)
    status = json.loads(ok("chain", "status", db, "--json"))  # the URL from chain.json
    assert status["chain"]["next_batch_number"] == 0 and status["database"]["batches_cut"] == 0

    user = chain.accounts[3]
    _deposit_and_cut(db, chain, user, 5 * 10**9)
    fails(2, "chain", "submit", db, 0)  # no proof yet
    _prove(db, 0, keys, chain)
    out = ok("chain", "submit", db, 0)
    assert "batch 0 accepted" in out and "gas used" in out

    from rollup.storage import Storage

    with Storage.open(db) as storage:
        post_root = storage.batch(0).post_root
    status = json.loads(ok("chain", "status", db, "--json"))
    assert status["chain"]["next_batch_number"] == 1
    assert int(status["chain"]["state_root"]) == post_root
    assert status["chain"]["token_balance"] == 5 * 10**9 and status["chain"]["queue_length"] == 0
    assert status["in_sync"] is True and status["database"]["proven"] == [0]
    assert "1 batches cut, 1 proven, 0 not on chain yet" in ok("chain", "status", db)

    # the same batch again, then a tampered proof of the next one
    assert "already on chain" in fails(1, "chain", "submit", db, 0)
    _deposit_and_cut(db, chain, user, 10**9)
    words = _prove(db, 1, keys, chain)
    proof_json = Path(f"{db}.d/proofs/batch_1.proof.json")
    good = proof_json.read_text()
    tampered = formats.proof_to_json(
        formats.Proof(
            **{
                **formats.parse_proof_json(json.loads(good)).__dict__,
                "eval_a": (words[18] + 1) % params.R_ORDER,
            }
        )
    )
    formats.write_json(proof_json, tampered)
    out = fails(1, "chain", "submit", db, 1)
    assert "rejected" in out and "InvalidProof" in out
    assert json.loads(ok("chain", "status", db, "--json"))["chain"]["next_batch_number"] == 1
    proof_json.write_text(good)
    out = ok("chain", "submit", db, 1, "--json")
    assert json.loads(out)["gas_used"] > 0
    assert "batch 2 must be submitted" not in out


@pytest.mark.node
def test_out_of_order_and_redeploy(hardhat, keys, tmp_path):
    node = hardhat
    db = _make_db(tmp_path, keys)
    ok("chain", "deploy", db, "--rpc-url", node.url)
    first = _chain_json(db)["rollup"]
    assert "already deployed" in fails(1, "chain", "deploy", db, "--rpc-url", node.url)
    chain = Chain.connect(node.url)
    user = chain.accounts[4]
    _deposit_and_cut(db, chain, user, 10**9)
    _deposit_and_cut(db, chain, user, 10**9)
    _prove(db, 1, keys, chain)
    assert "batch 0 must be submitted before batch 1" in fails(1, "chain", "submit", db, 1)
    public_json = Path(f"{db}.d/proofs/batch_1.public.json")
    public = json.loads(public_json.read_text())
    public_json.write_text(json.dumps([public[0], public[0], *public[2:]]))  # another batch's
    assert "not the public inputs of batch 1" in fails(1, "chain", "submit", db, 1)
    assert "no batch 7" in fails(2, "chain", "submit", db, 7)
    _prove(db, 0, keys, chain)
    out = fails(1, "chain", "submit", db, 0, "--from", chain.accounts[5])
    assert "rejected" in out and "NotOperator" in out
    assert "not an Ethereum address" in fails(2, "chain", "submit", db, 0, "--from", "0x12")
    ok("chain", "deploy", db, "--rpc-url", node.url, "--force")
    assert _chain_json(db)["rollup"] != first


@pytest.mark.node
def test_missing_files_are_usage_errors(hardhat, keys, tmp_path):
    node = hardhat
    db = _make_db(tmp_path, keys)
    assert "not deployed" in fails(2, "chain", "status", db, "--rpc-url", node.url)
    assert "not deployed" in fails(2, "chain", "submit", db, 0, "--rpc-url", node.url)
    Path(f"{db}.d/keys/batch_4.vk.json").unlink()
    out = fails(2, "chain", "deploy", db, "--rpc-url", node.url)
    assert "batch_4.vk.json" in out and "zkperp batch setup" in out
    assert "no such sequencer database" in fails(2, "chain", "deploy", tmp_path / "none.db")
    formats.write_json(Path(f"{db}.d/keys/batch_4.vk.json"), formats.vk_to_json(keys[4][1].vk))
    ok("chain", "deploy", db, "--rpc-url", node.url)
    with EmbeddedNode.start() as other:  # a chain where chain.json's contracts do not exist
        out = fails(2, "chain", "status", db, "--rpc-url", other.url)
        assert "no contract at" in out and "deploy again" in out


def test_no_node_is_exit_2(keys, tmp_path):
    db = _make_db(tmp_path, keys)
    url = f"http://127.0.0.1:{free_port()}"
    out = fails(2, "chain", "deploy", db, "--rpc-url", url)
    assert f"no Ethereum node answers at {url}" in out
    Path(f"{db}.d/chain.json").write_text(json.dumps({"rollup": "0x" + "11" * 20, "rpc_url": url}))
    assert "no Ethereum node answers" in fails(2, "chain", "status", db)
    assert "no batch 0" in fails(2, "chain", "submit", db, 0)  # local checks come first
    from rollup.batch import L1Request
    from rollup.sequencer import Sequencer
    from rollup.types import Deposit

    with Sequencer.open(db) as seq:
        pub = bj.pack_point(eddsa.prv2pub(USER_KEY))
        seq.submit(L1Request(0, Deposit(pub, 0xABC, 10**9)), now=seq.now + 1)
        seq.cut(now=seq.now + 1)
    circuit, pk = keys[2]
    proof, _ = prove(pk, circuit.witness({**{f"x{i}": i for i in range(10)}, "s": 1}))
    Path(f"{db}.d/proofs").mkdir()
    formats.write_json(Path(f"{db}.d/proofs/batch_0.proof.json"), formats.proof_to_json(proof))
    assert "no Ethereum node answers" in fails(2, "chain", "submit", db, 0)
    assert "not an http" in fails(2, "chain", "status", db, "--rpc-url", "localhost:8545")


@pytest.mark.node
@pytest.mark.parametrize("embedded", [False, True], ids=["hardhat", "embedded"])
def test_chain_node_serves_until_stopped(embedded):
    from tests.test_hardhat import require_hardhat

    if not embedded:
        require_hardhat()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    flags = ["--embedded"] if embedded else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "chain", "node", "--port", str(port), *flags],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("stop with Ctrl-C" in x for x in lines):
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        text = "".join(lines)
        assert f"at http://127.0.0.1:{port}" in text, text
        assert node_answers(f"http://127.0.0.1:{port}")
        chain = Chain.connect(f"http://127.0.0.1:{port}")
        assert f"chain id {chain.chain_id}" in text and len(chain.accounts) == 10
        for address in chain.accounts:
            assert address in text
        if embedded:
            assert "embedded py-evm" in text and text.count("1000000 ETH") == 10
            assert "key 0x" + "00" * 31 + "01" in text
        else:
            assert chain.chain_id == 31337 and text.count("10000 ETH") == 10
            assert "key 0xac0974bec39a17e36ba4a6b4" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=30)
    text = "".join(lines)
    assert proc.returncode == 0, text
    assert "node stopped" in text
    assert not node_answers(f"http://127.0.0.1:{port}", timeout=1.0)


def test_embedded_node_answers_errors_as_json_rpc():
    import urllib.request

    from verifier_contract.node import NodeError, rpc_request

    with EmbeddedNode.start() as served:
        assert int(rpc_request(served.url, "eth_blockNumber"), 16) == 0
        with pytest.raises(NodeError, match="eth_nope"):
            rpc_request(served.url, "eth_nope")
        request = urllib.request.Request(served.url, data=b"{not json", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["error"]["code"] == -32700
        with pytest.raises(NodeError, match="cannot serve"):
            EmbeddedNode.start(served.port)
    assert not served.running and not node_answers(served.url, timeout=1.0)
