"""Property tests (hypothesis, stateful) over random sequences of exchange requests.

Signatures are not the subject here (tests/test_state.py checks them with real EdDSA): the
state runs with a verifier that accepts every signature, so hypothesis can explore thousands
of requests. After every step:

- collateral is conserved exactly: 2^32 * sum(collateral, the insurance account 0 included)
  + insurance_dust + pending insurance - the funding owed and not yet settled
  = 2^32 * (deposits - withdrawals);
- the positions of each market sum to zero;
- a rejected request changed nothing, root included;
- an account that signed an executed trade (or its side of a liquidation) is left with
  TR <= TV unless the trade only reduced its risk, recomputed here with exact rationals
  (fractions.Fraction) from the accounts before and after;

and at the end rebuilding the state from the pubdata of the executed requests, cut into the
batches the machine closed (``end_batch`` at random points and at the end), gives the same root
and the same accounts. Account 0 is the insurance account (genesis key = key 0): it trades,
withdraws and receives the fees like the others.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa
from rollup import pubdata, rules
from rollup.errors import RollupError
from rollup.state import State
from rollup.types import (
    PRICE_SCALE,
    RATE_SCALE,
    RISK_SCALE,
    Account,
    Deleverage,
    Deposit,
    ExchangeConfig,
    ForcedWithdrawal,
    ForcedWithdrawalRecord,
    FundingTick,
    Genesis,
    Liquidate,
    MarketParams,
    OraclePriceTick,
    OracleSignature,
    Order,
    Side,
    Signature,
    SignedOrder,
    Trade,
    Transfer,
    Withdrawal,
    WithdrawalRecord,
)

P = PRICE_SCALE
T0 = 1_700_000_000
N_KEYS = 5
SIG = Signature((0, 1), 0)
MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**7, 10**4 * P),
    MarketParams("ETH", 9, 30_000, 60_000, 5_000, 10**9, 10**8, 10**4 * P),
)
PUBS = [eddsa.prv2pub(bytes([0x21 + i]) * 32) for i in range(N_KEYS)]
PACKED = [bj.pack_point(p) for p in PUBS]
ORACLE_KEYS = tuple(eddsa.prv2pub(bytes([0x71 + i]) * 32) for i in range(2))
GENESIS = Genesis(
    ExchangeConfig(1, MARKETS, ORACLE_KEYS, 2, 60, account_depth=2, order_depth=2),
    (100 * P + 12345, 10 * P + 7),
    T0,
    insurance_pubkey=PUBS[0],
    insurance_l1_address=0x100,
)


class AcceptAll:
    def verify(self, pubkey, message, signature) -> bool:
        return True


def _tv(acc: Account, prices, indices) -> Fraction:
    """Exact total value in quanta, unsettled funding included."""
    tv = Fraction(acc.collateral)
    for s, p, f, g in zip(acc.positions, prices, acc.funding, indices):
        tv += Fraction(s * p, P) - Fraction((g - f) * s, P)
    return tv


def _settled_tv(acc: Account, prices, indices) -> Fraction:
    """Exact total value after the settlement that rounds the funding owed up."""
    owed = Fraction(sum((g - f) * s for s, f, g in zip(acc.positions, acc.funding, indices)), P)
    c = acc.collateral - math.ceil(owed)
    return Fraction(c) + sum(Fraction(s * p, P) for s, p in zip(acc.positions, prices))


def _tr(acc: Account, prices, factors) -> Fraction:
    return sum(
        (Fraction(f, RISK_SCALE) * abs(Fraction(s * p, P))
         for s, p, f in zip(acc.positions, prices, factors)),
        Fraction(0),
    )  # fmt: skip


def _reduces_only(before, after) -> bool:
    return all(a == b or 0 <= a <= b or b <= a <= 0 for b, a in zip(before, after))


class Exchange(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.s = State(GENESIS, verifier=AcceptAll())
        self.deposits = 0
        self.withdrawals = 0
        self.records: list = []
        self.cuts: list[int] = []  # len(records) at each end_batch
        self.oid = [0] * N_KEYS
        self.now = T0
        self.stats: dict[str, int] = {}
        self.mmf = [m.maintenance_margin for m in MARKETS] + [0, 0]
        self.imf = [m.initial_margin for m in MARKETS] + [0, 0]

    # --- plumbing ------------------------------------------------------------------------

    def _snapshot(self):
        s = self.s
        return (
            s.root,
            tuple(s.accounts()),
            {a: tuple(s.order_slots(a)) for a, _ in s.accounts()},
            s.markets,
            s.insurance_dust,
            s.pending_insurance,
            s.next_account,
            s.funding_time,
        )

    def _apply(self, tx, signers=()):
        before = self._snapshot()
        accounts_before = {i: self.s.account(i) for i in signers if i < self.s.next_account}
        prices_before, indices_before = self.s.prices, self.s.funding_indices
        try:
            receipt = self.s.apply(tx)
        except RollupError as exc:
            assert self._snapshot() == before, f"a rejection ({exc.code}) changed the state"
            self.stats[exc.code] = self.stats.get(exc.code, 0) + 1
            return None
        self.records.append(receipt.record)
        name = type(receipt.record).__name__ + ("" if receipt.executed else "-refused")
        self.stats[name] = self.stats.get(name, 0) + 1
        for i, acc0 in accounts_before.items():
            self._check_signed_change(acc0, self.s.account(i), prices_before, indices_before)
        return receipt

    def _check_signed_change(self, acc0, acc1, prices, indices) -> None:
        """The margin rule, exactly: TR_initial <= TV after, or risk only reduced and TV/TR
        (maintenance) not lower, from the settled account before."""
        tv0 = _settled_tv(acc0, prices, indices)
        tv1 = _tv(acc1, prices, indices)
        tr0, tr1 = _tr(acc0, prices, self.mmf), _tr(acc1, prices, self.mmf)
        if _tr(acc1, prices, self.imf) <= tv1:
            return
        assert _reduces_only(acc0.positions, acc1.positions), "a signed change added risk"
        if tr0 == 0:
            assert tv1 >= tv0
        elif tr1 == 0:
            assert tv1 >= 0
        else:
            assert tv1 / tr1 >= tv0 / tr0, "a signed change lowered TV/TR"
        if tr1 > tv1:  # left liquidatable: only by reducing risk
            assert _reduces_only(acc0.positions, acc1.positions)

    def _index(self, k: int) -> int:
        return k % max(1, self.s.next_account)

    def _order(self, acct, market, side, size, price, fee, reuse=False) -> SignedOrder:
        if not reuse:
            self.oid[acct % N_KEYS] += 1
        oid = self.oid[acct % N_KEYS]
        return SignedOrder(Order(acct, market, side, size, price, fee, T0 + 10**7, oid), SIG)

    # --- rules ---------------------------------------------------------------------------

    @initialize(amounts=st.lists(st.integers(10**4, 10**6), min_size=N_KEYS, max_size=N_KEYS))
    def open_accounts(self, amounts):
        for k, amount in enumerate(amounts):
            r = self._apply(Deposit(PACKED[k], 0x100 + k, amount))
            assert r is not None and r.executed and r.record.account == k
            self.deposits += amount

    @rule(k=st.integers(0, N_KEYS - 1), amount=st.integers(1, 10**6))
    def deposit(self, k, amount):
        r = self._apply(Deposit(PACKED[k], 0x200 + k, amount))
        if r is not None and r.executed:
            self.deposits += amount

    @rule(k=st.integers(0, 9), amount=st.integers(1, 10**6), fee=st.integers(0, 50))
    def withdraw(self, k, amount, fee):
        i = self._index(k)
        nonce = self.s.account(i).nonce
        r = self._apply(Withdrawal(i, amount, fee, nonce, SIG))
        if r is not None:
            assert isinstance(r.record, WithdrawalRecord)
            self.withdrawals += amount

    @rule(k=st.integers(0, 9), j=st.integers(0, 9), amount=st.integers(1, 10**6))
    def transfer(self, k, j, amount):
        i = self._index(k)
        self._apply(Transfer(i, self._index(j), amount, 1, self.s.account(i).nonce, SIG))

    @rule(k=st.integers(0, 9), amount=st.integers(1, 10**6), wrong=st.booleans())
    def forced_withdrawal(self, k, amount, wrong):
        i = self._index(k)
        addr = self.s.account(i).l1_address + (1 if wrong else 0)
        r = self._apply(ForcedWithdrawal(i, addr, amount))
        if r is not None and r.executed:
            assert isinstance(r.record, ForcedWithdrawalRecord) and r.record.executed
            self.withdrawals += amount

    @rule(
        k=st.integers(0, 9),
        j=st.integers(0, 9),
        market=st.integers(0, 1),
        side=st.sampled_from([Side.BUY, Side.SELL]),
        leverage=st.integers(1, 110),
        extra=st.integers(0, 2000),
        permille=st.integers(-80, 80),
        odd=st.integers(0, 3),
        fees=st.tuples(st.integers(0, 20), st.integers(0, 20)),
        reuse=st.booleans(),
    )
    def trade(self, **kw):
        self.trade_rule(**kw)

    def trade_rule(self, k, j, market, side, leverage, extra, permille, odd, fees, reuse):
        """A fill of up to 1.1x the taker's maximal size at 10x leverage (so that many
        trades sit near the margin limit, and later price moves make accounts liquidatable)."""
        taker, maker = self._index(k), self._index(k + 1 + j % 4) if j < 9 else self._index(k)
        price = max(1, self.s.prices[market] * (1000 + permille) // 1000 + odd)
        tv = max(self.s.value_and_risk(taker)[0], P)
        size = max(1, tv * 10 * leverage // 100 // price)
        other = Side.SELL if side == Side.BUY else Side.BUY
        t = self._order(taker, market, side, size + extra, price, fees[0] * 3, reuse)
        m = self._order(maker, market, other, size, price, fees[1])
        tx = Trade(t, m, size, price, fees[0], fees[1])
        self._apply(tx, signers=(taker, maker))

    another_trade = rule(
        k=st.integers(0, 9),
        j=st.integers(0, 9),
        market=st.integers(0, 1),
        side=st.sampled_from([Side.BUY, Side.SELL]),
        leverage=st.integers(1, 110),
        extra=st.integers(0, 2000),
        permille=st.integers(-80, 80),
        odd=st.integers(0, 3),
        fees=st.tuples(st.integers(0, 20), st.integers(0, 20)),
        reuse=st.booleans(),
    )(lambda self, **kw: self.trade_rule(**kw))

    @rule(
        k=st.integers(0, 9),
        market=st.integers(0, 1),
        side=st.sampled_from([Side.BUY, Side.SELL]),
        crash=st.integers(40, 160),
    )
    def leverage_then_crash(self, k, market, side, crash):
        """A trade at (nearly) the maximal leverage, then an oracle move of 4%..16% against the
        taker: liquidations and, past the margin, deleverages become possible."""
        self.trade_rule(k, 0, market, side, 95, 0, 0, 0, (0, 0), False)
        down = side == Side.BUY
        price = self.s.prices[market] * (1000 + (-crash if down else crash)) // 1000
        self.now += 1
        self.s.set_time(self.now)
        sigs = tuple(OracleSignature(o, price, self.now, SIG) for o in (0, 1))
        self._apply(OraclePriceTick(market, self.now, price, sigs))

    @rule(elapsed=st.integers(1, 900), shares=st.tuples(st.integers(-120, 100),
                                                         st.integers(-100, 120)))  # fmt: skip
    def funding(self, elapsed, shares):
        self.now += elapsed
        self.s.set_time(self.now)
        elapsed_total = self.now - self.s.funding_time
        indices = []
        for m, share in enumerate(shares):
            cap = MARKETS[m].max_funding_rate * self.s.prices[m] * elapsed_total // RATE_SCALE
            indices.append(self.s.markets[m].funding_index + cap * share // 100)
        self._apply(FundingTick(self.now, tuple(indices)))

    @rule(
        market=st.integers(0, 1),
        permille=st.integers(-250, 250),
        step=st.integers(0, 30),
        cut=st.booleans(),
    )
    def oracle(self, market, permille, step, cut):
        if cut:
            self.end_batch()
        self.now += step
        self.s.set_time(self.now)
        price = max(1, min(10**4 * P, self.s.prices[market] * (1000 + permille) // 1000))
        sigs = tuple(OracleSignature(o, price, self.now, SIG) for o in (0, 1))
        self._apply(OraclePriceTick(market, self.now, price, sigs))

    @rule(
        k=st.integers(0, 9),
        j=st.integers(0, 9),
        market=st.integers(0, 1),
        percent=st.integers(1, 105),
        discount=st.integers(0, 55_000),
        penalty=st.sampled_from([0, 0, 0, 1, 30, 300]),
    )
    def liquidate(self, k, j, market, percent, discount, penalty):
        victims = [i for i in range(self.s.next_account) if self.s.is_liquidatable(i)]
        victim = victims[k % len(victims)] if victims else self._index(k)
        liquidator = self._index(victim + 1 + j)
        held = [m for m in range(len(MARKETS)) if self.s.account(victim).positions[m]]
        market = held[market % len(held)] if held else market
        pos = self.s.account(victim).positions[market]
        size = max(1, abs(pos) * percent // 100)
        oracle = self.s.prices[market]
        if pos >= 0:  # the liquidator buys a long below the oracle
            side, price = Side.BUY, max(1, oracle * (RISK_SCALE - discount) // RISK_SCALE)
        else:
            side, price = Side.SELL, oracle * (RISK_SCALE + discount) // RISK_SCALE
        order = self._order(liquidator, market, side, size, price, 0)
        self._apply(Liquidate(order, victim, size, price, 0, penalty), signers=(liquidator,))

    @rule(
        k=st.integers(0, 9),
        j=st.integers(0, 9),
        market=st.integers(0, 1),
        percent=st.integers(1, 110),
        premium=st.integers(0, 50),
    )
    def deleverage(self, k, j, market, percent, premium):
        n = self.s.next_account
        bankrupt = [i for i in range(n) if self.s.value_and_risk(i)[0] < 0]
        a = bankrupt[k % len(bankrupt)] if bankrupt else self._index(k)
        pos = self.s.account(a).positions[market]
        other = [i for i in range(n) if self.s.account(i).positions[market] * pos < 0]
        b = other[j % len(other)] if other and j < 8 else self._index(j)
        size = max(1, abs(pos) * percent // 100)
        oracle = self.s.prices[market]
        price = oracle + premium if pos > 0 else max(1, oracle - premium)
        self._apply(Deleverage(market, a, b, size, price))

    def end_batch(self):
        """The sequencer cuts a batch: the pending insurance moves to account 0 (run by the
        oracle rule at random, so that the rare rules keep their share of the steps)."""
        s = self.s
        pending, dust, acc0 = s.pending_insurance, s.insurance_dust, s.account(0)
        charge, settle_dust = rules.funding_settlement(
            acc0.positions, acc0.funding, s.funding_indices
        )
        credited = s.end_batch()
        total = pending + dust + settle_dust
        assert credited == total // P and s.insurance_dust == total % P
        assert s.account(0).collateral == acc0.collateral - charge + credited
        assert s.pending_insurance == 0 and s.account(0).funding == s.funding_indices
        self.cuts.append(len(self.records))
        self.stats["end_batch"] = self.stats.get("end_batch", 0) + 1

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def collateral_is_conserved_exactly(self):
        s = self.s
        total = P * s.total_collateral() + s.insurance_dust + s.pending_insurance
        total -= s.unsettled_funding()
        assert total == P * (self.deposits - self.withdrawals)
        assert s.pending_insurance >= 0 and 0 <= s.insurance_dust < P

    @invariant()
    def positions_sum_to_zero(self):
        for m in range(len(MARKETS)):
            assert sum(a.positions[m] for _, a in self.s.accounts()) == 0

    def teardown(self):
        if not self.records:
            return
        self.end_batch()  # close the last batch
        bounds = [0, *self.cuts]
        batches = [pubdata.encode_records(self.records[a:b]) for a, b in zip(bounds, bounds[1:])]
        rebuilt = pubdata.rebuild(GENESIS, batches)
        assert rebuilt.root == self.s.root
        assert list(rebuilt.accounts()) == list(self.s.accounts())
        assert rebuilt.insurance == self.s.insurance and rebuilt.markets == self.s.markets
        _STATS.append(dict(self.stats))


_STATS: list[dict[str, int]] = []

Exchange.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestExchange = Exchange.TestCase


def test_the_machine_reaches_every_kind_of_transaction():
    """The random sequences above are not vacuous: across the examples they execute (and
    reject) every transaction type; liquidations and deleverages included."""
    if not _STATS:
        TestExchange("runTest").runTest()
    seen: set[str] = set()
    for s in _STATS:
        seen |= set(s)
    for kind in [
        "TradeRecord",
        "WithdrawalRecord",
        "TransferRecord",
        "ForcedWithdrawalRecord",
        "ForcedWithdrawalRecord-refused",
        "FundingRecord",
        "OracleRecord",
        "LiquidateRecord",
        "DeleverageRecord",
        "end_batch",
        "insufficient_margin",
        "not_liquidatable",
    ]:
        assert kind in seen, f"no example reached {kind}: {sorted(seen)}"
