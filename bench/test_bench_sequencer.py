"""The sequencer: matching-engine orders per second, and requests applied per second end to end
(order book, state with roots, batches, SQLite commits).

Run: ``pytest bench/test_bench_sequencer.py``. The state has the default shape of layout v2 (4-ary
accounts tree of depth 8, 4-ary order trees of depth 2, the three demo markets; account 0, the
insurance account, holds key 0) and 256 funded accounts. The order
stream is random around each market's price: about half of the orders cross (a trade or two
each), the rest rest; ids increase per account, so a resting order is replaced once its slot
comes round again.

- ``test_matching_engine[book]``: ``OrderBook.place`` alone, the state's ``apply`` replaced by
  a stub (the data structure and the matching loop); ``[state]``: with every trade checked and
  applied by ``State.apply`` (margin rule, funding, plans; hashing deferred), signatures
  accepted (checked at intake, see below).
- ``test_sequencer_end_to_end[trusted]``: ``Sequencer.submit`` per request on a database
  (SQLite WAL, synchronous=FULL: one fsync'd transaction per request), batches of 64 cut when
  full (post-state root: Numba-batched Poseidon; pubdata; a snapshot per batch), signatures
  already verified; ``[group]``: the same through ``submit_many`` (bursts of 100, one
  transaction each); ``[eddsa]``: with the EdDSA-Poseidon verification at intake (pure Python,
  about 4-5 ms per signature) and each order's message hash (pure-Python Poseidon) on a
  shorter stream; ``[eddsa_group]``: the same through ``submit_many``, which hashes a burst's
  messages in one Numba batch first.

JIT compilation and the Numba cache load are excluded (a warm-up first).
"""

from __future__ import annotations

import random
import time

import pytest

import rollup.types as rollup_types
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup.batch import L1Request
from rollup.orderbook import FeeSchedule, OrderBook, PlaceOrder, TimeInForce
from rollup.sequencer import Sequencer, SequencerConfig
from rollup.state import Receipt, State
from rollup.types import (
    DEMO_MARKETS,
    PRICE_SCALE,
    Deposit,
    ExchangeConfig,
    Genesis,
    Order,
    Side,
    Signature,
    SignedOrder,
    sign_order,
)

P = PRICE_SCALE
T0 = 1_700_000_000
X = 5
N_ACCOUNTS = 256
PRICES = (600 * P, 3 * P, 150 * P)
SIZES = (10_000, 2_000_000, 40_000)
N_ORDERS = 4000
N_SIGNED = 120
FAKE = Signature((0, 1), 0)
CONFIG = SequencerConfig(shapes=(64,), fees=FeeSchedule(200, 500))


class Trusting:
    """The signatures were verified at intake."""

    def verify(self, pubkey, message, signature) -> bool:
        return True


def _keys(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * 8 for i in range(1, n + 1)]


@pytest.fixture(scope="module")
def setup():
    keys = _keys(N_ACCOUNTS)
    pubs = [bj.pack_point(eddsa.prv2pub(k)) for k in keys]
    oracle = (eddsa.prv2pub(b"\xee" * 32),)
    insurance = eddsa.prv2pub(keys[0])  # account 0 (the insurance account) = key 0
    genesis = Genesis(ExchangeConfig(X, DEMO_MARKETS, oracle, 1, 60), PRICES, T0, insurance)
    deposits = [L1Request(i, Deposit(p, 0x1000 + i, 10**10)) for i, p in enumerate(pubs)]
    warm = Sequencer(genesis, CONFIG, verifier=Trusting())
    warm.submit_many(deposits, T0 + 1)
    warm.root  # JIT warm-up / Numba cache load  # noqa: B018
    return genesis, keys, deposits


def _orders(n: int, seed: int, keys: list[bytes] | None = None) -> list[PlaceOrder]:
    rng = random.Random(seed)
    next_id = [0] * N_ACCOUNTS
    out = []
    for _ in range(n):
        a = rng.randrange(N_ACCOUNTS)
        m = rng.randrange(3)
        side = rng.choice((Side.BUY, Side.SELL))
        spread = PRICES[m] // 200
        offset = rng.randint(-spread, spread)
        price = PRICES[m] + (offset if side == Side.BUY else -offset)
        next_id[a] += 1
        o = Order(a, m, side, SIZES[m] * rng.randint(1, 4), price, 10**6, T0 + 10**6, next_id[a])
        signed = sign_order(keys[a], o, X) if keys else SignedOrder(o, FAKE)
        tif = TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.GTC
        out.append(PlaceOrder(signed, tif))
    return out


def _funded_state(genesis: Genesis) -> State:
    s = State(genesis, verifier=Trusting())
    for d in _deposits_cache:
        s.apply(d.tx)
    s.set_time(T0 + 2)
    s.flush()
    return s


_deposits_cache: list = []


@pytest.mark.parametrize("mode", ["book", "state"])
def test_matching_engine(benchmark, setup, mode):
    genesis, _, deposits = setup
    _deposits_cache[:] = deposits
    orders = _orders(N_ORDERS, 1)
    counts: list[int] = []

    def stub(tx) -> Receipt:
        return Receipt(None)  # type: ignore[arg-type]

    def prepare():
        state = _funded_state(genesis)
        return (state, OrderBook(3, genesis.config.order_depth, CONFIG.fees)), {}

    def run(state: State, book: OrderBook) -> None:
        apply = stub if mode == "book" else (lambda tx: state.apply(tx, T0 + 2))
        trades = 0
        for seq, o in enumerate(orders):
            trades += len(book.place(state, o, T0 + 2, seq, apply).trades)
        counts.append(trades)

    benchmark.pedantic(run, setup=prepare, rounds=3, iterations=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(
        orders=N_ORDERS,
        trades=counts[-1],
        orders_per_s=round(N_ORDERS / best, 1),
        trades_per_s=round(counts[-1] / best, 1),
    )


@pytest.mark.parametrize("mode", ["trusted", "group", "eddsa", "eddsa_group"])
def test_sequencer_end_to_end(benchmark, setup, tmp_path, mode):
    genesis, keys, deposits = setup
    signatures = mode.startswith("eddsa")
    n = N_SIGNED if signatures else N_ORDERS // 2
    orders = _orders(n, 2, keys if signatures else None)
    counter = iter(range(100))
    stats: list[tuple[int, int, float]] = []

    def prepare():
        path = tmp_path / f"bench{next(counter)}.db"
        verifier = None if signatures else Trusting()
        seq = Sequencer.create(path, genesis, CONFIG, verifier=verifier)
        seq.submit_many(deposits, T0 + 1)
        seq.cut(T0 + 1)
        rollup_types._HASH_CACHE.clear()  # signing remembered the message hashes: forget them
        return (seq,), {}

    def run(seq: Sequencer) -> None:
        t0 = time.perf_counter()
        trades = 0
        if mode.endswith("group"):
            for k in range(0, len(orders), 100):
                for r in seq.submit_many(orders[k : k + 100], T0 + 2):
                    trades += len(getattr(r, "receipts", ()))
        else:
            for o in orders:
                trades += len(seq.submit(o, T0 + 2).receipts)
        stats.append((trades, seq.batch_number, time.perf_counter() - t0))
        seq.close()

    benchmark.pedantic(run, setup=prepare, rounds=1 if signatures else 2, iterations=1)
    trades, batches, _ = stats[-1]
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(
        requests=n,
        trades=trades,
        batches_cut=batches - 1,
        requests_per_s=round(n / best, 1),
        trades_per_s=round(trades / best, 1),
        ms_per_request=round(1000 * best / n, 3),
    )
