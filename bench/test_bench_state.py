"""rollup.state: trades applied per second with the state root updated (issue D's target:
>= 1,000 trades/s), and what a trade's signatures cost at intake.

Run: ``pytest bench/test_bench_state.py``. The state has the default shape of layout v2
(4-ary accounts tree of depth 8 = 65,536 leaves, 4-ary order trees of depth 2 = 16 slots, the
three demo markets; account 0 is the insurance account, here holding key 0 and funded like the
rest) and 256 or 2048 funded accounts. Each round applies ``N_TRADES`` trades between random
pairs of accounts, each with two fresh orders (the worst case for the order trees: every trade
writes two new slots), then computes the root once: one batch, every changed node hashed once
(``State.flush``).

- ``test_apply_trades_with_root``: the sequencer's hot path. Order signatures are checked
  when the orders arrive (``EdDSAVerifier`` remembers them), so here the verifier accepts the
  already-checked signatures; the per-trade validation, the margin rule, funding settlement,
  the plan/commit and all hashing are timed. ``extra_info`` splits apply and flush.
- ``test_order_intake``: what each order costs on arrival: its message hash (one Poseidon(2)
  of the two packed words, through ``prehash``'s Numba batch) and one EdDSA-Poseidon
  verification (``EdDSAVerifier``: the Numba kernels of ``circuits.gadgets.eddsa_batch``).
- ``test_apply_trades_verified``: end to end with real signatures checked inside ``apply``
  (nothing remembered), for comparison.

JIT compilation and the Numba cache load are excluded (a warm-up flush first).
"""

from __future__ import annotations

import random
import time

import pytest

import rollup.types as rollup_types
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup.state import EdDSAVerifier, State
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
    Trade,
    prehash,
    sign_order,
)

P = PRICE_SCALE
ACCOUNT_COUNTS = (256, 2048)
N_TRADES = 2000
T0 = 1_700_000_000
X = 5
PRICES = (600 * P, 3 * P, 150 * P)
SIZES = (10_000, 2_000_000, 40_000)  # about 60 USDC, 6 USDC, 6 USDC


class _Checked:
    """The signatures were verified at intake."""

    def verify(self, pubkey, message, signature) -> bool:
        return True


def _keys(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * 8 for i in range(1, n + 1)]


@pytest.fixture(scope="module", params=ACCOUNT_COUNTS, ids=lambda n: f"{n}_accounts")
def funded(request):
    keys = _keys(request.param)
    pubs = [eddsa.prv2pub(k) for k in keys]
    oracle = (eddsa.prv2pub(b"\xee" * 32),)
    config = ExchangeConfig(X, DEMO_MARKETS, oracle, 1, 60)  # 4-ary depths 8 and 2
    genesis = Genesis(config, PRICES, T0, pubs[0], 0x1000)  # account 0 = key 0 (insurance)
    state = State(genesis, verifier=_Checked())
    for i, pub in enumerate(pubs):
        state.apply(Deposit(bj.pack_point(pub), 0x1000 + i, 10**10))  # 10,000 USDC each
    state.set_time(T0 + 1)
    state.flush()  # JIT warm-up / Numba cache load
    return state, keys


def _trades(
    n: int, seed: int, n_accounts: int, sign_with: list[bytes] | None = None
) -> list[Trade]:
    rng = random.Random(seed)
    next_id = [seed * 10**6] * n_accounts
    fake = Signature((0, 1), 0)
    out = []
    for _ in range(n):
        a, b = rng.sample(range(n_accounts), 2)
        m = rng.randrange(3)
        size = SIZES[m] * rng.randint(1, 5)
        side = rng.choice((Side.BUY, Side.SELL))
        other = Side.SELL if side == Side.BUY else Side.BUY
        price = PRICES[m] + rng.randint(-(PRICES[m] // 100), PRICES[m] // 100)
        orders = []
        for acct, s in ((a, side), (b, other)):
            next_id[acct] += 1
            limit = price + P if s == Side.BUY else price - P
            o = Order(acct, m, s, size, limit, 10**6, T0 + 10**6, next_id[acct])
            if sign_with is None:
                orders.append(SignedOrder(o, fake))
            else:
                orders.append(sign_order(sign_with[acct], o, X))
        out.append(Trade(orders[0], orders[1], size, price, 100, 50))
    return out


def test_apply_trades_with_root(benchmark, funded):
    base, keys = funded
    batches = iter([_trades(N_TRADES, seed, len(keys)) for seed in range(1, 5)])
    split: list[tuple[float, float]] = []

    def setup():
        return (base.snapshot(), next(batches)), {}

    def run(state: State, trades: list[Trade]) -> None:
        t0 = time.perf_counter()
        for tx in trades:
            state.apply(tx)
        t1 = time.perf_counter()
        state.flush()
        split.append((t1 - t0, time.perf_counter() - t1))

    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    best = min(split, key=sum)
    benchmark.extra_info.update(
        accounts=len(keys),
        trades=N_TRADES,
        account_depth=8,
        order_depth=2,
        trades_per_s=round(N_TRADES / benchmark.stats.stats.min, 1),
        apply_s=round(best[0], 4),
        flush_s=round(best[1], 4),
        apply_only_trades_per_s=round(N_TRADES / best[0], 1),
    )


def test_order_intake(benchmark, funded):
    _, keys = funded
    trades = _trades(20, 99, len(keys), sign_with=keys)
    orders = [o for t in trades for o in (t.taker, t.maker)]
    pubs = {i: eddsa.prv2pub(keys[i]) for i in {o.order.account for o in orders}}

    def run() -> None:
        rollup_types._HASH_CACHE.clear()  # hash every message here, none remembered
        prehash(o.order.message(X) for o in orders)
        v = EdDSAVerifier()
        for o in orders:
            assert v.verify(pubs[o.order.account], o.order.message(X), o.signature)

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(
        orders=len(orders), orders_per_s=round(len(orders) / benchmark.stats.stats.min, 1)
    )


def test_apply_trades_verified(benchmark, funded):
    base, keys = funded
    trades = _trades(20, 77, len(keys), sign_with=keys)

    def setup():
        state = base.snapshot()
        state.verifier = EdDSAVerifier()
        rollup_types._HASH_CACHE.clear()  # messages hashed inside apply (pure Python)
        return (state,), {}

    def run(state: State) -> None:
        for tx in trades:
            state.apply(tx)
        state.flush()

    benchmark.pedantic(run, setup=setup, rounds=2, iterations=1)
    benchmark.extra_info.update(
        trades=len(trades), trades_per_s=round(len(trades) / benchmark.stats.stats.min, 1)
    )
