"""rollup.rules: the integer rules against exact rational arithmetic (fractions.Fraction) and
hand-worked cases: rounding always against the user, the margin rule's two branches, funding
caps, fee caps, liquidation and deleverage price bounds, and the oracle median by counting."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rollup import rules
from rollup.types import PRICE_BOUND, PRICE_SCALE, RISK_SCALE, SIZE_BOUND, Side

P = PRICE_SCALE
sizes = st.integers(1, SIZE_BOUND - 1)
prices = st.integers(1, PRICE_BOUND - 1)


def test_ceil_div_both_signs():
    assert rules.ceil_div(7, 2) == 4
    assert rules.ceil_div(-7, 2) == -3
    assert rules.ceil_div(6, 3) == 2
    assert rules.ceil_div(0, 5) == 0


@settings(max_examples=300)
@given(sizes, prices)
def test_trade_cash_rounds_against_both_sides_and_conserves(size, price):
    debit, credit, dust = rules.trade_cash(size, price)
    exact = Fraction(size * price, P)
    assert debit >= exact >= credit  # the buyer pays at least, the seller gets at most
    assert debit - credit in (0, 1)
    assert (debit - credit) * P == dust  # all moved value is accounted for
    assert (debit == credit) == (exact.denominator == 1)


@settings(max_examples=300)
@given(
    st.lists(st.integers(-(SIZE_BOUND - 1), SIZE_BOUND - 1), min_size=4, max_size=4),
    st.lists(st.integers(-(1 << 55), 1 << 55), min_size=4, max_size=4),
    st.lists(st.integers(-(1 << 55), 1 << 55), min_size=4, max_size=4),
)
def test_funding_settlement_never_favours_the_account(pos, cached, indices):
    charge, dust = rules.funding_settlement(pos, cached, indices)
    exact = Fraction(sum((g - f) * s for s, f, g in zip(pos, cached, indices)), P)
    assert charge >= exact > charge - 1  # ceil: a payer pays up, a receiver gets rounded down
    assert 0 <= dust < P
    assert charge * P - dust == exact * P


def test_funding_settlement_example():
    # a long of 3 quanta, the index rose by 1.5 quanta per quantum: owes 4.5 -> pays 5
    charge, dust = rules.funding_settlement((3, 0, 0, 0), (0,) * 4, (3 * P // 2, 0, 0, 0))
    assert (charge, dust) == (5, P // 2)
    # the short side of the same move receives 4.5 -> gets 4
    charge, dust = rules.funding_settlement((-3, 0, 0, 0), (0,) * 4, (3 * P // 2, 0, 0, 0))
    assert (charge, dust) == (-4, P // 2)


def test_total_value_and_risk_by_hand():
    prices4 = (100 * P, 2 * P, 0, 0)
    assert rules.total_value(1000, (5, -10, 0, 0), prices4) == 1000 * P + 500 * P - 20 * P
    # unsettled funding is subtracted
    tv = rules.total_value(1000, (5, 0, 0, 0), prices4, (0,) * 4, (P, 0, 0, 0))
    assert tv == 1000 * P + 500 * P - 5 * P
    # 5% of |500| + 10% of |-20|, scaled by 2^32 * 10^6
    tr = rules.total_risk((5, -10, 0, 0), prices4, (50_000, 100_000, 0, 0))
    assert Fraction(tr, P * RISK_SCALE) == Fraction(25) + Fraction(2)


def test_liquidatable_and_initial_margin_boundaries():
    # TR == TV is not liquidatable; one unit of risk more is
    assert not rules.is_liquidatable(10 * P, 10 * P * RISK_SCALE)
    assert rules.is_liquidatable(10 * P, 10 * P * RISK_SCALE + 1)
    assert rules.meets_initial_margin(10 * P, 10 * P * RISK_SCALE)
    assert not rules.meets_initial_margin(10 * P, 10 * P * RISK_SCALE + 1)
    assert rules.is_deleveragable(-1) and not rules.is_deleveragable(0)


def test_reduces_only():
    assert rules.reduces_only((5, -5, 0, 0), (3, -5, 0, 0))
    assert rules.reduces_only((5, -5, 0, 0), (0, 0, 0, 0))
    assert not rules.reduces_only((5, 0, 0, 0), (6, 0, 0, 0))  # grows
    assert not rules.reduces_only((5, 0, 0, 0), (-1, 0, 0, 0))  # flips
    assert not rules.reduces_only((0, 0, 0, 0), (1, 0, 0, 0))  # opens
    assert not rules.reduces_only((-5, 0, 0, 0), (-6, 0, 0, 0))


def _margin_ok_rational(before, after, prices4, mmf, imf):
    """The margin rule with exact ratios (divisions allowed here)."""

    def tv(a):
        return Fraction(a[0]) + sum(Fraction(s * p, P) for s, p in zip(a[1], prices4))

    def tr(a, f):
        return sum(Fraction(x, RISK_SCALE) * abs(Fraction(s * p, P)) for s, p, x in
                   zip(a[1], prices4, f))  # fmt: skip

    if tr(after, imf) <= tv(after):
        return True
    if not rules.reduces_only(before[1], after[1]):
        return False
    if tr(before, mmf) == 0:
        return tv(after) >= tv(before)
    if tr(after, mmf) == 0:
        return tv(after) >= 0
    return tv(after) / tr(after, mmf) >= tv(before) / tr(before, mmf)


@settings(max_examples=400)
@given(
    st.integers(-(10**9), 10**9),
    st.integers(-(10**6), 10**6),
    st.integers(-(10**9), 10**9),
    st.integers(-(10**6), 10**6),
    st.integers(1, 1000 * P),
)
def test_margin_ok_matches_exact_ratios(c0, s0, c1, s1, price):
    prices4 = (price, 0, 0, 0)
    mmf, imf = (30_000, 0, 0, 0), (50_000, 0, 0, 0)
    before, after = (c0, (s0, 0, 0, 0)), (c1, (s1, 0, 0, 0))

    def tv(a):
        return rules.total_value(a[0], a[1], prices4)

    got = rules.margin_ok(
        tv(before),
        rules.total_risk(before[1], prices4, mmf),
        before[1],
        tv(after),
        rules.total_risk(after[1], prices4, mmf),
        rules.total_risk(after[1], prices4, imf),
        after[1],
    )
    assert got == _margin_ok_rational(before, after, prices4, mmf, imf)


def test_margin_ok_cases():
    prices4 = (100 * P, 0, 0, 0)
    mmf, imf = (50_000,) + (0,) * 3, (100_000,) + (0,) * 3

    def ok(c0, s0, c1, s1):
        b, a = (s0, 0, 0, 0), (s1, 0, 0, 0)
        return rules.margin_ok(
            rules.total_value(c0, b, prices4), rules.total_risk(b, prices4, mmf), b,
            rules.total_value(c1, a, prices4), rules.total_risk(a, prices4, mmf),
            rules.total_risk(a, prices4, imf), a,
        )  # fmt: skip

    # 10x leverage exactly meets the 10% initial margin: 100 collateral, notional 1000
    assert ok(100, 0, 100 - 1000, 10)
    assert not ok(99, 0, 99 - 1000, 10)
    # an under-margined account may reduce if TV/TR does not fall (selling at the oracle)
    assert ok(-950, 10, -950 + 500, 5)
    # ... but not if it sells below the oracle price so that TV/TR falls
    assert not ok(-950, 10, -950 + 400, 5)
    # closing completely with TV >= 0 is fine, with TV < 0 it is not
    assert ok(-990, 10, 10, 0)
    assert not ok(-1010, 10, -10, 0)


def test_fee_and_price_limits():
    assert rules.fee_within_limit(50, 100, 5, 10)  # half the order -> half the fee
    assert not rules.fee_within_limit(51, 100, 5, 10)
    assert rules.price_within_limit(Side.BUY, 10, 10) and not rules.price_within_limit(
        Side.BUY, 11, 10
    )
    assert rules.price_within_limit(Side.SELL, 10, 10) and not rules.price_within_limit(
        Side.SELL, 9, 10
    )


def test_funding_change_cap():
    # 0.001 per second * price 100 * 10 s = 1 quantum per quantum (P)
    rate = 10**9
    assert rules.funding_change_ok(0, P, rate, 100 * P // 100, 10) is False  # price 1: cap 0.01
    assert rules.funding_change_ok(0, P, rate, 100 * P, 10)
    assert rules.funding_change_ok(0, -P, rate, 100 * P, 10)
    assert not rules.funding_change_ok(0, P + 1, rate, 100 * P, 10)
    assert rules.funding_change_ok(5, 5, 0, 100 * P, 0)


def test_liquidation_and_deleverage_prices():
    oracle = 100 * P
    # 5% maintenance: a long may be sold down to 95, a short bought up to 105
    assert rules.liquidation_price_ok(Side.SELL, 95 * P, oracle, 50_000)
    assert not rules.liquidation_price_ok(Side.SELL, 95 * P - 1, oracle, 50_000)
    assert rules.liquidation_price_ok(Side.BUY, 105 * P, oracle, 50_000)
    assert not rules.liquidation_price_ok(Side.BUY, 105 * P + 1, oracle, 50_000)
    assert rules.deleverage_price_ok(Side.SELL, oracle, oracle)
    assert not rules.deleverage_price_ok(Side.SELL, oracle - 1, oracle)
    assert rules.deleverage_price_ok(Side.BUY, oracle - 1, oracle)
    assert not rules.deleverage_price_ok(Side.BUY, oracle + 1, oracle)


def test_liquidation_penalty_caps():
    # 1% of a notional of 1000 quanta is 10; and never below TV = 0
    assert rules.liquidation_penalty_ok(10, 10, 100 * P, 10_000, 50 * P)
    assert not rules.liquidation_penalty_ok(11, 10, 100 * P, 10_000, 50 * P)
    assert not rules.liquidation_penalty_ok(10, 10, 100 * P, 10_000, 9 * P)
    assert rules.liquidation_penalty_ok(0, 10, 100 * P, 10_000, -5 * P)
    assert not rules.liquidation_penalty_ok(1, 10, 100 * P, 10_000, -5 * P)


@settings(max_examples=300)
@given(st.lists(st.integers(1, 50), min_size=1, max_size=8), st.integers(0, 51))
def test_median_by_counting(values, candidate):
    s = sorted(values)
    n = len(s)
    lo, hi = s[(n - 1) // 2], s[n // 2]  # the two middle values (equal for odd n)
    assert rules.median_ok(values, candidate) == (lo <= candidate <= hi)
