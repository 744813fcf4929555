"""The sequencer killed with ``kill -9`` at random instants, restarted each time, loses no
accepted request, applies none twice, and ends exactly where an uninterrupted run ends.

A reference run in this process submits a stream of requests (deposits and forced withdrawals
from the L1 queue, GTC / IOC / post-only orders, cancels, withdrawals, transfers, oracle and
funding ticks, manual cuts; some of them rejected) to a sequencer on its own database, choosing
each request from the state so far. The stream (each entry with its time) goes to a file; a
worker process opens a second database, recovers, works through the stream from where the
database says it stopped, and is killed with SIGKILL, again and again, until it finishes: every
other life after a random delay (0-50 ms after it recovered: anywhere), the others at a random
SQL statement of the storage layer (before or after it: between BEGIN and COMMIT, right after
COMMIT), where a random delay seldom lands. Then both databases must hold the same accepted
requests (same order, same outcomes), the same batches (pubdata, roots, timestamps) and the same
state root, and the rebuild from pubdata must give it too.

Speed: signatures are not the subject (tests/test_sequencer.py checks them), so the sequencer
trusts them (a verifier that accepts all); the workers hash in pure Python (no Numba start-up)
on shallow trees, and are forked from a "zygote" (this file run as a script: modules imported,
Poseidon constants derived once), so a restart costs only the recovery. A few seconds in all.

On each restart the worker first resubmits the last request the database holds: it must be
rejected as a repeat (never applied twice).
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

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script by the test
    sys.path.insert(0, str(REPO))

from circuits.gadgets import babyjubjub as bj  # noqa: E402
from circuits.gadgets import eddsa  # noqa: E402
from circuits.gadgets.poseidon import poseidon  # noqa: E402
from rollup.batch import L1Request  # noqa: E402
from rollup.errors import RollupError  # noqa: E402
from rollup.orderbook import CancelOrder, FeeSchedule, PlaceOrder, TimeInForce  # noqa: E402
from rollup.requests_json import dumps, request_from_json, request_to_json  # noqa: E402
from rollup.sequencer import Sequencer, SequencerConfig  # noqa: E402
from rollup.types import (  # noqa: E402
    PRICE_SCALE,
    Deposit,
    ExchangeConfig,
    ForcedWithdrawal,
    FundingTick,
    Genesis,
    MarketParams,
    OraclePriceTick,
    OracleSignature,
    Order,
    Side,
    Signature,
    SignedOrder,
    Transfer,
    Withdrawal,
)

P = PRICE_SCALE
T0 = 1_700_000_000
N_ACCOUNTS = 6
N_STEPS = 220
SIG = Signature((0, 1), 0)  # never checked: the sequencer trusts signatures here


class Trusting:
    def verify(self, pubkey, message, signature) -> bool:
        return True


def genesis() -> Genesis:
    markets = (
        MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
        MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    )
    oracle = (eddsa.prv2pub(b"\x77" * 32),)
    config = ExchangeConfig(7, markets, oracle, 1, 60, account_depth=4, order_depth=2)
    # account 0, the insurance account, holds key 0 (so key i is account i): it trades too
    return Genesis(config, (100 * P, 10 * P), T0, eddsa.prv2pub(bytes([1]) * 32), 0x100)


CONFIG = SequencerConfig(shapes=(4, 8), fees=FeeSchedule(100, 300), snapshot_every=3)


def _pubkeys() -> list[bytes]:
    return [bj.pack_point(eddsa.prv2pub(bytes([i + 1]) * 32)) for i in range(N_ACCOUNTS + 1)]


def make_stream(seq: Sequencer, rng: random.Random) -> list[dict]:
    """Submit a random stream to ``seq`` (the reference run); return its entries."""
    keys = _pubkeys()
    stream: list[dict] = []
    now = T0
    next_id = [0] * N_ACCOUNTS
    prices = [100, 10]
    l1 = 0

    def submit(request) -> None:
        stream.append({"now": now, "request": request_to_json(request)})
        try:
            seq.submit(request, now)
        except RollupError:
            pass

    for i in range(N_ACCOUNTS):
        submit(L1Request(l1, Deposit(keys[i], 0x100 + i, 50_000)))
        l1 += 1
    for _ in range(N_STEPS):
        now += rng.choice((0, 0, 1, 2))
        roll = rng.random()
        a = rng.randrange(N_ACCOUNTS)
        if roll < 0.55:
            m = rng.randrange(2)
            side = rng.choice((Side.BUY, Side.SELL))
            px = prices[m] + rng.randint(-3, 3)
            next_id[a] += rng.choice((1, 1, 1, 2))
            oid = next_id[a] if rng.random() > 0.03 else max(0, next_id[a] - 4)  # a replay
            size = rng.randint(1, 60) if rng.random() > 0.03 else 10**5  # unaffordable
            o = Order(a, m, side, size, px * P, 10**4, now + rng.randint(1, 40), oid)
            tif = rng.choice((TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC,
                              TimeInForce.POST_ONLY))  # fmt: skip
            submit(PlaceOrder(SignedOrder(o, SIG), tif))
        elif roll < 0.65:
            resting = seq.book.orders_of(a)
            oid = rng.choice(resting).order.order_id if resting else 999
            submit(CancelOrder(a, oid, SIG))
        elif roll < 0.72:
            nonce = seq.state.account(a).nonce
            submit(Withdrawal(a, rng.randint(1, 3000), rng.randint(0, 3), nonce, SIG))
        elif roll < 0.77:
            b = (a + 1 + rng.randrange(N_ACCOUNTS - 1)) % N_ACCOUNTS
            nonce = seq.state.account(a).nonce
            submit(Transfer(a, b, rng.randint(1, 2000), 1, nonce, SIG))
        elif roll < 0.84:
            m = rng.randrange(2)
            prices[m] = max(2, prices[m] + rng.randint(-2, 2))
            sig = OracleSignature(0, prices[m] * P, now, SIG)
            submit(OraclePriceTick(m, now, prices[m] * P, (sig,)))
        elif roll < 0.88:
            g = [mk.funding_index for mk in seq.state.markets]
            submit(FundingTick(now, (g[0] + rng.randint(-P // 8, P // 8), g[1])))
        elif roll < 0.92:
            if rng.random() < 0.5:
                submit(L1Request(l1, Deposit(keys[rng.randrange(N_ACCOUNTS + 1)], 0x200, 5_000)))
            else:
                addr = 0x100 + a if rng.random() < 0.8 else 0xBAD
                submit(L1Request(l1, ForcedWithdrawal(a, addr, rng.randint(1, 4000))))
            l1 += 1
        elif roll < 0.94:
            submit(L1Request(max(0, l1 - 1), Deposit(keys[0], 0x100, 1)))  # a repeat: rejected
        else:
            stream.append({"now": now, "cut": True})
            seq.cut(now)
    stream.append({"now": now + 1, "cut": True})
    seq.cut(now + 1)
    return stream


def _body(entry: dict) -> str:
    return dumps(entry["request"])


class _KillingConnection:
    """A proxy of the worker's SQLite connection that kills the process (SIGKILL) around its
    ``at``-th statement: inside a commit, between BEGIN and COMMIT, just after COMMIT."""

    def __init__(self, conn, at: int, after: bool) -> None:
        self._conn, self._at, self._after = conn, at, after

    def _count(self) -> None:
        self._at -= 1
        if self._at == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    def execute(self, *args):
        if not self._after:
            self._count()
        out = self._conn.execute(*args)
        if self._after:
            self._count()
        return out

    def executemany(self, *args):
        self._count()
        return self._conn.executemany(*args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def worker(db: str, stream: list[dict], kill_at: int = 0) -> int:
    """Work through the stream on ``db`` from where the database says it stopped (killing
    itself at SQL statement ``abs(kill_at)``, before it or after it when negative, if not 0)."""
    seq = Sequencer.open(db, verifier=Trusting(), backend="python", synchronous="FULL")
    start = 0
    last = seq.storage.request(seq.next_seq - 1) if seq.next_seq > 1 else None
    if last is not None:
        positions = [i for i, e in enumerate(stream) if "request" in e and _body(e) == last.body]
        start = positions[0] + 1
        request = request_from_json(json.loads(last.body))
        try:
            seq.submit(request, stream[start - 1]["now"])
        except RollupError:
            pass
        else:
            print(f"request {last.seq} was applied twice", flush=True)
            return 3
    print("ready", flush=True)
    if kill_at:
        seq.storage._conn = _KillingConnection(seq.storage._conn, abs(kill_at), kill_at < 0)
    for entry in stream[start:]:
        if entry.get("cut"):
            seq.cut(entry["now"])
            continue
        try:
            seq.submit(request_from_json(entry["request"]), entry["now"])
        except RollupError:
            pass
    seq.close()
    print("done", flush=True)
    return 0


def zygote(db: str, stream_path: str) -> int:
    """A warmed-up process (modules imported, Poseidon constants derived) that forks one
    sequencer worker per ``run`` line on stdin and reports its pid, then, on ``wait``, its exit
    status: each worker is a real process killed for real, without paying the start-up."""
    stream = json.loads(Path(stream_path).read_text())
    for width in range(1, 17):  # derive every Poseidon width's constants once, here
        poseidon([0] * width)
    Sequencer.open(db, verifier=Trusting(), backend="python").close()
    print("warm", flush=True)
    pid = 0
    for line in sys.stdin:
        if line.startswith("run"):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = worker(db, stream, int(line.split()[1]))
                except BaseException as exc:
                    print(f"error {type(exc).__name__}: {exc}", flush=True)
                finally:
                    sys.stdout.flush()
                    os._exit(code)
            print(f"pid {pid}", flush=True)
        elif line.strip() == "wait":
            _, status = os.waitpid(pid, 0)
            print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
        else:
            break
    return 0


def _contents(db: Path) -> dict:
    seq = Sequencer.open(db, verifier=Trusting(), backend="python")
    st = seq.storage
    try:
        return {
            "requests": [(r.seq, r.body, r.now, r.outcome) for r in st.requests_after(0)],
            "batches": [
                (b.number, b.timestamp, b.pre_root, b.post_root, b.pubdata, b.l1_queue)
                for b in (st.batch(n) for n in range(st.batch_count()))
            ],
            "root": seq.root,
            "book": [(e.seq, e.remaining) for e in seq.book.resting()],
        }
    finally:
        seq.close()


def test_kill_9_at_random_instants(tmp_path):
    rng = random.Random(20240613)
    ref_db = tmp_path / "reference.db"
    ref = Sequencer.create(ref_db, genesis(), CONFIG, verifier=Trusting(), backend="python")
    stream = make_stream(ref, rng)
    ref.close()
    stream_path = tmp_path / "stream.json"
    stream_path.write_text(json.dumps(stream))
    expected = _contents(ref_db)
    assert len(expected["batches"]) >= 12 and len(expected["requests"]) >= 150

    db = tmp_path / "crashed.db"
    Sequencer.create(db, genesis(), CONFIG).close()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, __file__, str(db), str(stream_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )

    def tell(command: str) -> None:
        proc.stdin.write(command + "\n")
        proc.stdin.flush()

    def expect(prefix: str) -> str:
        while True:
            line = proc.stdout.readline()
            assert line, f"the zygote died (waiting for {prefix!r})"
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
            assert line.strip() in ("ready", "done"), f"worker: {line}"

    watchdog = threading.Timer(120, proc.kill)  # a stuck run fails instead of hanging
    watchdog.start()
    kills = lives = 0
    try:
        expect("warm")
        while True:
            lives += 1
            assert lives < 500, "the worker never finished"
            inject = lives % 2 == 0  # every other life kills itself inside the storage layer
            tell(f"run {rng.choice((-1, 1)) * rng.randint(1, 60) if inject else 0}")
            pid, line = 0, ""
            while not (pid and line):  # the zygote's pid line and the worker's first line
                got = proc.stdout.readline().strip()
                assert got, "the zygote died"
                if got.startswith("pid "):
                    pid = int(got[4:])
                else:
                    assert got in ("ready", "done"), f"worker: {got}"
                    line = got
            if line == "ready" and not inject:
                time.sleep(rng.uniform(0.0, 0.05))
                try:
                    os.kill(pid, signal.SIGKILL)  # kill -9, wherever it is
                    kills += 1
                except ProcessLookupError:
                    pass
            tell("wait")
            code = int(expect("exit "))
            assert code in (0, -signal.SIGKILL), f"worker exit status {code}"
            kills += inject and code != 0
            if code == 0:
                break
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            tell("quit")
        proc.wait(timeout=30)
    assert kills >= 10, f"only {kills} kills: make the delays shorter"

    got = _contents(db)
    assert got["requests"] == expected["requests"]  # none lost, none twice, same outcomes
    assert got["batches"] == expected["batches"]
    assert got["root"] == expected["root"]
    assert got["book"] == expected["book"]

    from rollup.pubdata import rebuild

    pubdata = [b[4] for b in got["batches"]]
    assert rebuild(genesis(), pubdata, backend="python").root == got["batches"][-1][3]
    assert got["batches"][-1][3] == got["root"]


if __name__ == "__main__":
    sys.exit(zygote(sys.argv[1], sys.argv[2]))
