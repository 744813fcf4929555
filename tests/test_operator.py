"""The operator's loop (``rollup.operator``) on the embedded EVM with the real rollup contract
(``verifier_contract.rollup``): L1 deposits taken from the contract's queue, trades through the
sequencer, batches cut, proven, submitted and confirmed in order; and the loop crashed at every
step boundary and restarted ends with the same chain state and no batch lost or submitted
twice.

``StandinProver`` is a TEST DOUBLE of ``rollup.operator.PlonkBatchProver``: it proves the
batch's true public inputs (layout v2 section 6, rebuilt from the batch) with a tiny stand-in
PLONK circuit whose verification key the test deploys, so the contract really rebuilds the
public inputs from calldata and really checks a PLONK proof, in milliseconds.

Crash points (``on_event`` raising ``Crash``, then a new Sequencer and Operator on the same
database and chain, as a new process would): after a cut; as proving starts; mid-prove (the
proof made and lost); after the proof is stored; after the nonce is written, before the send;
after the send, before the tx hash is written; after the hash, before the confirmation; after
the confirmation; after an L1 deposit was taken into the sequencer.

``test_zkperp_run_end_to_end_with_kill_9`` (slow, ~1-2 min) runs the real command with the
real batch circuit (1-slot shape): ``zkperp run`` killed with SIGKILL after a proof, restarted,
fed a trade through its HTTP API, stopped with SIGTERM.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from circuits.builder import CircuitBuilder
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from rollup.batch import Batch
from rollup.operator import Operator, OperatorError, OperatorEvent, ProvedBatch, describe
from rollup.orderbook import PlaceOrder
from rollup.pubdata import public_inputs
from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
from rollup.state import State
from rollup.storage import Storage
from rollup.types import PRICE_SCALE, Order, Side, sign_order
from verifier_contract import rollup as ro
from verifier_contract.chain import Chain

pytestmark = pytest.mark.node  # solc (solcjs) and circomlibjs's Poseidon contracts

SHAPES = (1, 2)
KEYS = [bytes([0x31 + i]) * 32 for i in range(3)]
ROOT = Path(__file__).resolve().parent.parent


class Crash(Exception):  # noqa: N818 (a crash, not an error)
    """The injected crash."""


# --- the test double of the prover ---------------------------------------------------------------


def _standin_circuit(n_slots: int):
    b = CircuitBuilder()
    xs = b.public_inputs("pi", 4 + 3 * n_slots)
    acc = b.private_input("s")
    for x in xs:
        acc = b.mul(acc, acc + x)
    return b.compile()


@functools.cache
def standin_key(n_slots: int):
    circuit = _standin_circuit(n_slots)
    return circuit, setup(circuit.cs, KnownTauPowers(8, 0xC0DE + n_slots))


class StandinProver:
    """TEST DOUBLE of ``PlonkBatchProver``: a real PLONK proof of the batch's public inputs in a
    stand-in circuit (module docstring); ``calls`` counts the proofs made."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.crash_in: int | None = None  # batch whose proof is lost (a crash mid-prove)

    def prove(self, state_before: State, batch: Batch) -> ProvedBatch:
        assert state_before.root == batch.pre_root  # the operator rebuilt the right state
        public = public_inputs(
            batch.pre_root, batch.post_root, batch.number, batch.timestamp, batch.pubdata,
            batch.size,
        )  # fmt: skip
        circuit, pk = standin_key(batch.size)
        t0 = time.perf_counter()
        proof, signals = prove(pk, circuit.witness({"pi": public, "s": 5}), rng=random.Random(1))
        self.calls.append(batch.number)
        if self.crash_in == batch.number:
            self.crash_in = None
            raise Crash(f"injected while proving batch {batch.number}")
        return ProvedBatch(proof, list(signals), time.perf_counter() - t0)


# --- fixtures -------------------------------------------------------------------------------------


def small_genesis():
    """One market, 16 accounts (4-ary depth 2), 4 order slots each."""
    g = demo_genesis(1_700_000_000)
    cfg = dataclasses.replace(g.config, markets=g.config.markets[:1], account_depth=2,
                              order_depth=1)  # fmt: skip
    return dataclasses.replace(g, config=cfg, prices=g.prices[:1])


@pytest.fixture(scope="module")
def chain():
    return Chain.embedded()


@pytest.fixture(scope="module")
def base(chain):
    """The first deployment: its Poseidon contracts and verifiers are reused by the others."""
    genesis = small_genesis()
    return ro.deploy_rollup(
        chain, genesis_root=State(genesis).root, vks={n: standin_key(n)[1].vk for n in SHAPES},
        account_depth=genesis.config.account_depth, genesis_prices=tuple(genesis.prices),
    )  # fmt: skip


class Env:
    """A database, a fresh rollup deployment on the module's chain, and the operator on them
    (``restart`` = what a new process does after a crash)."""

    def __init__(self, chain: Chain, base, tmp_path: Path, crash_at=()):
        self.chain, self.db = chain, tmp_path / "seq.db"
        genesis = small_genesis()
        self.genesis = genesis
        self.clock = lambda: int(chain.w3.eth.get_block("latest")["timestamp"])
        Sequencer.create(self.db, genesis, SequencerConfig(shapes=SHAPES)).close()
        self.dep = ro.deploy_rollup(
            chain, genesis_root=State(genesis).root, vks={},
            account_depth=genesis.config.account_depth, genesis_prices=tuple(genesis.prices),
            reuse=base,
        )  # fmt: skip
        self.prover = StandinProver()
        crash_at = list(crash_at)
        for point in crash_at:
            if point[0] == "mid-prove":
                self.prover.crash_in = point[1]
        self.crash_at = [p for p in crash_at if p[0] != "mid-prove"]
        self.fired = [p for p in crash_at if p[0] == "mid-prove"]
        self.events: list[OperatorEvent] = []
        self.crashes = 0
        self.op: Operator | None = None
        self.restart()

    def on_event(self, ev: OperatorEvent) -> None:
        self.events.append(ev)
        point = (ev.kind, ev.info["next"] if ev.kind == "l1" else ev.batch)
        if point in self.crash_at:
            self.crash_at.remove(point)
            self.fired.append(point)
            raise Crash(f"injected after {ev.kind} of batch {ev.batch}")

    def restart(self) -> None:
        if self.op is not None:
            self.op.close()
            self.op.sequencer.close()
        seq = Sequencer.open(self.db, clock=self.clock)
        self.op = Operator(
            seq, self.chain, self.dep, self.prover, on_event=self.on_event, max_age=None
        )

    @property
    def seq(self) -> Sequencer:
        return self.op.sequencer

    def settle(self, limit: int = 60) -> None:
        """Steps until idle; a Crash restarts the operator."""
        for _ in range(limit):
            try:
                if self.op.step() is None:
                    return
            except Crash:
                self.crashes += 1
                self.restart()
        raise AssertionError("the operator did not settle")

    # --- inputs ---------------------------------------------------------------------------------

    def deposit(self, k: int, amount: int) -> None:
        user = self.chain.accounts[1 + k]
        ro.mint(self.chain, self.dep, to=user, amount=amount)
        key = bj.pack_point(eddsa.prv2pub(KEYS[k]))
        ro.deposit(self.chain, self.dep, pubkey_packed=key, amount=amount, sender=user)

    def order(self, k: int, side: Side, oid: int, size: int = 1000):
        account = self.seq.account_index("0x" + bj.pack_point(eddsa.prv2pub(KEYS[k])).hex())
        o = Order(account, 0, side, size, 600 * PRICE_SCALE, 10**6, 2**32 - 1, oid)
        return PlaceOrder(sign_order(KEYS[k], o, self.genesis.config.exchange_id))

    def submit(self, request) -> None:
        with self.op.lock:
            self.seq.submit(request)

    def cut(self) -> None:
        with self.op.lock:
            self.seq.cut()

    def chain_state(self) -> tuple[int, int]:
        st = ro.rollup_status(self.chain, self.dep)
        return int(st["state_root"]), int(st["next_batch_number"])


def scenario(env: Env) -> None:
    """Deposits (L1), a trade, a deposit and a trade: 4 batches of shapes 2, 1, 1, 2."""
    env.deposit(0, 10**10)
    env.deposit(1, 10**10)
    env.settle()  # batch 0: both deposits (full: cut at once)
    env.submit(env.order(1, Side.SELL, 1))
    env.submit(env.order(0, Side.BUY, 1))  # a trade
    env.cut()  # batch 1
    env.settle()
    env.deposit(2, 5 * 10**9)
    env.settle()  # the deposit rests in the open batch
    env.cut()  # batch 2
    env.settle()
    env.submit(env.order(2, Side.SELL, 2, 500))
    env.submit(env.order(0, Side.BUY, 2, 300))
    env.submit(env.order(0, Side.BUY, 3, 200))  # two trades, two accounts: batch 3 is full
    env.settle()


def check_end_state(env: Env, expect: tuple[int, int]) -> None:
    """The chain holds the database's batches, each once, in order; every row confirmed."""
    assert env.chain_state() == expect
    events = ro.batch_events(env.chain, env.dep)
    numbers = [int(e["batchNumber"]) for e in events]
    assert numbers == list(range(expect[1]))  # no batch lost, none twice
    with Storage.open(env.db) as s:
        rows = s.batch_rows()
        assert len(rows) == expect[1]
        for e in events:
            assert int(e["newRoot"]) == rows[int(e["batchNumber"])].post_root
        ops = s.operator_rows()
        assert sorted(ops) == list(range(expect[1]))
        assert {r.status for r in ops.values()} == {"confirmed"}
        assert all(r.block and r.tx_hash and r.gas_used for r in ops.values())


@pytest.fixture(scope="module")
def reference(chain, base, tmp_path_factory):
    """The scenario without a crash: (root, batch count) on chain, and its Env."""
    env = Env(chain, base, tmp_path_factory.mktemp("ref"))
    scenario(env)
    return env.chain_state(), env


# --- the loop ------------------------------------------------------------------------------------


def test_batches_are_proven_and_submitted_in_order(reference):
    expect, env = reference
    root, n = expect
    assert n == 4
    check_end_state(env, expect)
    assert env.prover.calls == [0, 1, 2, 3]  # each batch proven once
    with Storage.open(env.db) as s:
        assert [s.batch(i).size for i in range(4)] == [2, 1, 1, 2]
        assert root == s.batch(3).post_root
    kinds = [(e.kind, e.batch) for e in env.events if e.batch is not None]
    for b in range(4):  # each batch: cut, proven, submitted, confirmed, in this order
        order = [k for k, n in kinds if n == b and k in ("cut", "proven", "submitted", "confirmed")]
        assert order == ["cut", "proven", "submitted", "confirmed"], (b, order)
    # proof files of layout v2 section 9 for `zkperp batch verify` / `chain submit`
    proofs = Path(f"{env.db}.d") / "proofs"
    assert sorted(p.name for p in proofs.glob("batch_*.public.json")) == [
        f"batch_{i}.public.json" for i in range(4)
    ]
    # log lines carry batch numbers, roots, proof time and gas
    lines = [describe(e) for e in env.events]
    assert any(line.startswith("cut batch 3: 2 transactions in 2 slots, root 0x") for line in lines)
    assert any(line.startswith("proved batch 1 in ") for line in lines)
    assert any(line.startswith("confirmed batch 2 in block ") and "gas" in line for line in lines)
    assert env.op.step() is None  # idle: nothing is done twice


CRASH_POINTS = [  # (event kind, batch number; for "l1": the next queue index after it)
    ("submitting", 0),  # batch 0's nonce written, nothing sent
    ("confirmed", 0),  # after batch 0's confirmation
    ("cut", 1),  # after batch 1 is cut (committed), before anything else
    ("proving", 1),  # batch 1's proving started, nothing stored
    ("mid-prove", 1),  # batch 1's proof made and lost (the crash inside the prover)
    ("sent", 1),  # batch 1 mined on chain, its tx hash not recorded
    ("l1", 3),  # after the L1 queue's third deposit was taken into the sequencer
    ("proven", 2),  # batch 2 proven and stored, not submitted
    ("submitted", 3),  # batch 3's tx hash recorded, not confirmed
]


def test_crash_at_each_step_and_restart(chain, base, tmp_path, reference):
    """The scenario crashed at every step boundary (each point once, restarting after each)
    ends with the reference run's chain state and every batch on chain exactly once."""
    expect, ref = reference
    env = Env(chain, base, tmp_path, CRASH_POINTS)
    scenario(env)
    assert sorted(env.fired) == sorted(CRASH_POINTS)
    assert env.crashes == len(CRASH_POINTS)
    check_end_state(env, expect)
    # no proof made twice, except batch 1's lost one
    assert sorted(env.prover.calls) == [0, 1, 1, 2, 3]
    with Storage.open(env.db) as a, Storage.open(ref.db) as b:
        assert [a.batch(i).pubdata for i in range(4)] == [b.batch(i).pubdata for i in range(4)]


def test_in_flight_submission_is_awaited_then_resent(chain, base, tmp_path, monkeypatch):
    """A ``submitting`` batch whose nonce is pending is not sent again; once the nonce is used
    by a mined transaction and the batch is still not on chain, it goes back to proven and is
    submitted again (with a new nonce)."""
    env = Env(chain, base, tmp_path, [("submitting", 0)])
    env.deposit(0, 10**10)
    env.deposit(1, 10**10)
    for _ in range(3):  # intake, prove, submitting (crash)
        try:
            env.op.step()
        except Crash:
            env.restart()
            break
    with Storage.open(env.db) as s:
        row = s.operator_row(0)
    assert row.status == "submitting" and row.nonce is not None
    env.op._nonces = lambda: (row.nonce, row.nonce + 1)  # a pending tx holds the nonce
    assert env.op.step() == "waiting"
    assert env.chain_state()[1] == 0
    env.op._nonces = lambda: (row.nonce + 1, row.nonce + 1)  # mined, batch not on chain
    env.events.clear()
    env.settle()
    assert [e.kind for e in env.events][:3] == ["resubmit", "submitting", "sent"]
    assert env.chain_state()[1] == 1


def test_diverged_chain_stops_the_operator(chain, base, tmp_path):
    env = Env(chain, base, tmp_path)
    env.deposit(0, 10**10)
    env.deposit(1, 10**10)
    env.settle()
    # another database (same genesis, other requests) against this chain
    other = tmp_path / "other"
    other.mkdir()
    env2 = Env.__new__(Env)
    env2.__dict__.update(env.__dict__)
    env2.db, env2.op = other / "seq.db", None
    Sequencer.create(env2.db, env.genesis, SequencerConfig(shapes=SHAPES)).close()
    env2.restart()
    with pytest.raises(OperatorError, match="only 0"):
        env2.op.step()
    with pytest.raises(OperatorError, match="diverged|only 0"):
        env2.op.preflight()


def test_wrong_operator_key_is_refused_before_anything(chain, base, tmp_path):
    env = Env(chain, base, tmp_path)
    env.op.sender = chain.accounts[5]
    with pytest.raises(OperatorError, match="operator is"):
        env.op.preflight()
    env.op.sender = chain.sender
    assert env.op.preflight()["next_batch_number"] == 0


def test_cut_by_age_and_run_until_stopped(chain, base, tmp_path):
    """A batch is cut once its first transaction is ``max_age`` old (L1 time here: the
    sequencer's clock is the chain's), then ``run(stop)`` proves and submits it and returns
    when ``stop`` is set."""
    env = Env(chain, base, tmp_path)
    env.op.max_age = 5
    env.deposit(0, 10**10)
    assert env.op.step() == "intake"  # the deposit is in the open batch
    assert env.op.step() is None  # not old enough yet
    assert env.seq.batch_number == 0
    chain.w3.provider.ethereum_tester.time_travel(env.clock() + 10)
    stop = threading.Event()
    inner = env.on_event

    def on_event(ev: OperatorEvent) -> None:
        inner(ev)
        if ev.kind == "confirmed":
            stop.set()

    env.op.on_event = on_event
    env.op.run(stop, poll_interval=0.01)
    assert env.chain_state()[1] == 1
    assert [e.kind for e in env.events if e.batch == 0][:2] == ["cut", "proving"]


# --- `zkperp run` end to end: the real batch circuit, the HTTP API, a real kill -9 ---------------


class _Proc:
    """A child ``zkperp`` process whose stderr lines are read by a thread."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ZKPERP_HTTP_HOST": "127.0.0.1"}
        env.pop("ZKPERP_CONFIG", None)
        self.p = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines: list[str] = []
        self.q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stderr:
            self.q.put(line.rstrip())
        self.q.put(None)

    def wait_for(self, text: str, timeout: float = 300) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.q.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        self.p.kill()
        raise AssertionError(f"no {text!r} in:\n" + "\n".join(self.lines))

    def stop(self, sig: int) -> int:
        self.p.send_signal(sig)
        rc = self.p.wait(60)
        while (line := self.q.get(timeout=10)) is not None:
            self.lines.append(line)
        return rc


def _zkperp(*args: str) -> str:
    """A ``zkperp`` command in this process (``CliRunner``)."""
    from click.testing import CliRunner

    from cli.main import zkperp

    result = CliRunner().invoke(zkperp, list(args), prog_name="zkperp")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_zkperp_run_end_to_end_with_kill_9(tmp_path):
    """``zkperp batch setup``, ``zkperp chain deploy`` to a JSON-RPC node of this process, two
    L1 deposits; ``zkperp run`` (real batch circuit, 1-slot shape) killed with SIGKILL right
    after batch 0's proof is stored; run again: batch 0 is submitted without being proven
    again; a trade sent through its HTTP API is proven and submitted; SIGTERM stops it
    cleanly (exit 0). The chain ends with the database's 3 batches, each once."""
    from urllib.request import Request, urlopen

    from rollup.requests_json import dumps, request_to_json
    from verifier_contract.node import EmbeddedNode

    g = demo_genesis(1_700_000_000)
    cfg = dataclasses.replace(g.config, markets=g.config.markets[:1], account_depth=1,
                              order_depth=1)  # fmt: skip
    genesis = dataclasses.replace(g, config=cfg, prices=g.prices[:1])
    db = tmp_path / "seq.db"
    Sequencer.create(db, genesis, SequencerConfig(shapes=(1,))).close()
    _zkperp("batch", "setup", str(db))
    node = EmbeddedNode.start()
    procs: list[_Proc] = []
    try:
        _zkperp("chain", "deploy", str(db), "--rpc-url", node.url)
        rpc = Chain.connect(node.url)
        chain_json = json.loads((Path(f"{db}.d") / "chain.json").read_text())
        dep = ro.RollupDeployment.from_json(chain_json)
        for k in range(2):
            user = rpc.accounts[1 + k]
            ro.mint(rpc, dep, to=user, amount=10**10)
            key = bj.pack_point(eddsa.prv2pub(KEYS[k]))
            ro.deposit(rpc, dep, pubkey_packed=key, amount=10**10, sender=user)
        args = ("run", "--db", str(db), "--rpc-url", node.url, "--port", "0")
        procs.append(first := _Proc(*args))
        first.wait_for("proved batch 0")
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        with Storage.open(db) as s:
            assert s.operator_row(0).status == "proven"
        assert ro.rollup_status(rpc, dep)["next_batch_number"] == 0
        procs.append(second := _Proc(*args))
        url = second.wait_for("HTTP API on ").split("HTTP API on ")[1].strip()
        second.wait_for("confirmed batch 1")
        for k, side in ((1, Side.SELL), (0, Side.BUY)):  # accounts 2 and 1: a trade
            o = Order(k + 1, 0, side, 1000, 600 * PRICE_SCALE, 10**6, 2**32 - 1, 1)
            body = dumps(request_to_json(PlaceOrder(sign_order(KEYS[k], o, cfg.exchange_id))))
            req = Request(f"{url}/requests", data=body.encode(), method="POST",
                          headers={"Content-Type": "application/json"})  # fmt: skip
            with urlopen(req, timeout=60) as reply:
                assert json.loads(reply.read())["status"] in ("resting", "filled")
        second.wait_for("confirmed batch 2")
        assert second.stop(signal.SIGTERM) == 0
        out = "\n".join(second.lines)
        assert "proving batch 0" not in out and "submitted batch 0: tx 0x" in out
        assert "stopped" in second.lines[-1]
        st = ro.rollup_status(rpc, dep)
        with Storage.open(db) as s:
            assert st["next_batch_number"] == s.batch_count() == 3
            assert st["state_root"] == s.batch(2).post_root
            assert type(s.batch(2).records[0]).__name__ == "TradeRecord"
        assert [int(e["batchNumber"]) for e in ro.batch_events(rpc, dep)] == [0, 1, 2]
        assert "OK!" in _zkperp("batch", "verify", str(db), "2")  # the proof files are there
    finally:
        for p in procs:
            if p.p.poll() is None:
                p.p.kill()
        node.stop()


def test_keystore_operator_account_signs_locally(tmp_path, monkeypatch):
    """``keys.keystore``: the operator's L1 account from an Ethereum keystore (password from the
    variable ``keys.password_env`` names); transactions are signed in this process, so the node
    needs no unlocked account. A wrong password is one clear error."""
    import click
    from eth_account import Account

    from cli.run_cmd import _chain
    from rollup.config import load_config
    from verifier_contract.node import EmbeddedNode

    node = EmbeddedNode.start()
    try:
        funder = Chain.connect(node.url)
        account = Account.create()
        funder.w3.eth.send_transaction(
            {"from": funder.sender, "to": account.address, "value": 10**18, "gas": 21_000}
        )
        path = tmp_path / "operator.json"
        path.write_text(json.dumps(Account.encrypt(account.key, "pw", iterations=2)))
        env = {"ZKPERP_CHAIN_RPC_URL": node.url, "ZKPERP_KEYS_KEYSTORE": str(path)}
        cfg = load_config(env=env)
        monkeypatch.setenv("ZKPERP_OPERATOR_PASSWORD", "pw")
        chain, sender = _chain(cfg)
        assert sender == account.address == chain.sender
        assert account.address not in chain.accounts  # not unlocked on the node
        before = funder.balance(funder.sender)
        tx = chain.w3.eth.send_transaction({"from": sender, "to": funder.sender, "value": 5})
        assert chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
        assert funder.balance(funder.sender) == before + 5
        monkeypatch.setenv("ZKPERP_OPERATOR_PASSWORD", "wrong")
        with pytest.raises(click.ClickException, match="keys.keystore"):
            _chain(cfg)
    finally:
        node.stop()
