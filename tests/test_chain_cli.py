"""``zkperp chain node | deploy | submit | status`` and a user's ``deposit | withdraw |
force-withdraw | freeze | exit`` (cli/chain_cmds.py) on a hardhat node.

A user's side: deposits by key file and by packed key (``--mint``, ``--from`` index or
address), an invalid or small-order key refused before anything is sent (exit 1), nothing
pending to withdraw (exit 1), a batch with the user's withdrawal submitted, then ``chain
withdraw`` pays it; a forced withdrawal; freeze refused before the deadline; on hardhat (whose
clock moves) the deadline passes, ``chain freeze`` and ``chain exit`` with the escape data of the
committed state (once); no deployment or no node is exit 2.

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


# --- a user's side: deposit, withdraw, force-withdraw, freeze, exit ---------------------------


@pytest.fixture()
def fresh(node, keys, tmp_path):
    """A database of its own, deployed on ``node``."""
    db = _make_db(tmp_path, keys)
    ok("chain", "deploy", db, "--rpc-url", node.url)
    return db


def _key_file(path: Path, key: bytes) -> Path:
    from rollup.wallet import create_key_file

    create_key_file(path, None, rng=lambda n: key)
    return path


def _token_balance(chain: Chain, db: Path, address: str) -> int:
    from verifier_contract import rollup

    dep = rollup.RollupDeployment.from_json(_chain_json(db))
    return int(dep.token_contract(chain).functions.balanceOf(address).call())


@pytest.mark.node
def test_deposit_and_withdraw(node, fresh, keys, tmp_path):
    from rollup.sequencer import Sequencer
    from rollup.types import sign_withdrawal
    from verifier_contract import rollup

    db = fresh
    chain = Chain.connect(node.url)
    user = chain.accounts[2]
    keyfile = _key_file(tmp_path / "alice.json", USER_KEY)
    pub = "0x" + bj.pack_point(eddsa.prv2pub(USER_KEY)).hex()

    # refusals first: nothing is sent
    out = fails(1, "chain", "deposit", db, "--amount", 10, "--pubkey", "0x" + "ff" * 32)
    assert "InvalidPublicKey" in out and "nothing was sent" in out
    small = rollup.small_order_keys(chain, rollup.RollupDeployment.from_json(_chain_json(db)))
    assert "InvalidPublicKey" in fails(
        1, "chain", "deposit", db, "--amount", 10, "--pubkey", "0x" + small[1].hex()
    )
    assert "0x + 64 hex" in fails(2, "chain", "deposit", db, "--amount", 10, "--pubkey", "0x12")
    assert "--pubkey" in fails(2, "chain", "deposit", db, "--amount", 10)
    assert "no key file" in fails(
        2, "chain", "deposit", db, "--amount", 10, "--key", tmp_path / "none.json"
    )
    assert "--mint" in fails(1, "chain", "deposit", db, "--amount", 10, "--pubkey", pub)
    assert "unlocked accounts" in fails(
        2, "chain", "deposit", db, "--amount", 10, "--pubkey", pub, "--from", 99
    )
    status = json.loads(ok("chain", "status", db, "--json"))["chain"]
    assert status["queue_length"] == 0 and status["token_balance"] == 0

    # a deposit by key file from dev account #2 (minted first), then one by --pubkey
    amount = 3 * 10**9
    out = ok("chain", "deposit", db, "--amount", amount, "--key", keyfile, "--from", 2, "--mint")
    assert "L1 request 0" in out and f"from {user}" in out and "gas used" in out
    assert _token_balance(chain, db, user) == 0
    res = json.loads(
        ok(
            "chain",
            "deposit",
            db,
            "--amount",
            5,
            "--pubkey",
            pub,
            "--from",
            user,
            "--mint",
            "--json",
        )
    )
    assert res["request_index"] == 1 and res["l1_address"] == user and res["gas_used"] > 0
    status = json.loads(ok("chain", "status", db, "--json"))["chain"]
    assert status["queue_length"] == 2 and status["token_balance"] == amount + 5

    # nothing pending yet
    out = fails(1, "chain", "withdraw", db, "--from", 2)
    assert f"nothing pending for {user}" in out

    # the sequencer takes both deposits and a signed withdrawal; one batch, proven, submitted
    from rollup.batch import L1Request
    from rollup.types import Deposit

    with Sequencer.open(db) as seq:
        now = max(int(time.time()) - 60, seq.now)
        for index, value in ((0, amount), (1, 5)):
            request = L1Request(index, Deposit(bytes.fromhex(pub[2:]), int(user, 16), value))
            assert seq.submit(request, now=now).status == "applied"
        account = seq.account_index(pub)
        w = sign_withdrawal(USER_KEY, account, 10**9, 0, 0, seq.genesis.config.exchange_id)
        seq.submit(w, now=now)
        assert seq.cut(now=now + 1) is not None
        numbers = list(range(seq.batch_number))
    for n in numbers:
        _prove(db, n, keys, chain)
        ok("chain", "submit", db, n)
    before = _token_balance(chain, db, user)
    out = ok("chain", "withdraw", db, "--from", 2)
    assert f"withdrew {10**9} quanta to {user}" in out
    assert f"token balance is now {before + 10**9}" in out
    assert _token_balance(chain, db, user) == before + 10**9
    assert "nothing pending" in fails(1, "chain", "withdraw", db, "--from", user)

    # a forced withdrawal; freezing before the deadline is refused
    out = ok("chain", "force-withdraw", db, "--account", account, "--amount", 10, "--from", 2)
    assert "forced withdrawal queued: L1 request 2" in out and "freeze" in out
    assert json.loads(ok("chain", "status", db, "--json"))["chain"]["queue_length"] == 1
    out = fails(1, "chain", "freeze", db)
    assert "NotExpired" in out
    assert "BadRequest" in fails(1, "chain", "freeze", db, "--request", 0)
    for bad in (0, 2**63):  # the contract's bound (BadAmount), checked before anything is sent
        assert "--amount" in fails(2, "chain", "deposit", db, "--amount", bad, "--pubkey", pub)


@pytest.mark.node
def test_freeze_and_exit(hardhat, keys, tmp_path):
    """On hardhat (its clock can be moved): force-withdraw, the deadline passes, freeze, exit
    with the escape data of the committed state."""
    from rollup.audit import escape_json
    from rollup.sequencer import Sequencer
    from verifier_contract.node import rpc_request

    node = hardhat
    db = _make_db(tmp_path, keys)
    ok("chain", "deploy", db, "--rpc-url", node.url)
    chain = Chain.connect(node.url)
    user = chain.accounts[6]
    _deposit_and_cut(db, chain, user, 4 * 10**9)
    _prove(db, 0, keys, chain)
    ok("chain", "submit", db, 0)
    with Sequencer.open(db) as seq:
        account = seq.account_index("0x" + bj.pack_point(eddsa.prv2pub(USER_KEY)).hex())
        escape = escape_json(seq.state, account)
    escape_file = tmp_path / "escape.json"
    escape_file.write_text(json.dumps(escape))
    assert "NotFrozen" in fails(1, "chain", "exit", db, "--escape", escape_file, "--from", 6)
    assert "no forced withdrawal" in fails(1, "chain", "freeze", db)
    ok("chain", "force-withdraw", db, "--account", account, "--amount", 10**9, "--from", 6)
    rpc_request(node.url, "evm_increaseTime", [8 * 24 * 3600])
    rpc_request(node.url, "evm_mine")
    out = ok("chain", "freeze", db)
    assert "frozen (forced withdrawal 1 expired)" in out
    assert "IsFrozen" in fails(
        1,
        "chain",
        "deposit",
        db,
        "--amount",
        5,
        "--key",
        _key_file(tmp_path / "k.json", USER_KEY),
        "--mint",
    )
    before = _token_balance(chain, db, user)
    out = ok("chain", "exit", db, "--escape", escape_file)  # anyone may send it
    assert f"account {account} exited: value {4 * 10**9} quanta, paid {4 * 10**9} to {user}" in out
    assert _token_balance(chain, db, user) == before + 4 * 10**9
    assert "AlreadyExited" in fails(1, "chain", "exit", db, "--escape", escape_file)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert "escape data" in fails(2, "chain", "exit", db, "--escape", bad)
    assert "no escape data file" in fails(2, "chain", "exit", db, "--escape", tmp_path / "x")


def test_user_commands_without_node_or_deployment(keys, tmp_path):
    db = _make_db(tmp_path, keys)
    pub = "0x" + bj.pack_point(eddsa.prv2pub(USER_KEY)).hex()
    assert "not deployed" in fails(2, "chain", "deposit", db, "--amount", 1, "--pubkey", pub)
    assert "not deployed" in fails(2, "chain", "withdraw", db)
    url = f"http://127.0.0.1:{free_port()}"
    Path(f"{db}.d/chain.json").write_text(json.dumps({"rollup": "0x" + "11" * 20, "rpc_url": url}))
    for args in (
        ("deposit", db, "--amount", 1, "--pubkey", pub),
        ("withdraw", db),
        ("force-withdraw", db, "--account", 1, "--amount", 1),
        ("freeze", db),
    ):
        assert "no Ethereum node answers" in fails(2, "chain", *args)
