"""The perpetual exchange's rules in circuit: funding ticks, funding settlement, trade cash
flows, the margin rule, liquidation and deleverage (issue E), each the twin of a rule of
``rollup.rules`` / ``rollup.state`` (issue D), with a NATIVE twin here on Python ints.

Rules (StarkEx Perpetual, starkware-libs/stark-perpetual, as dYdX v3 runs it; see
../shared/notes/perpetual-rules.md): funding_tick.cairo (each index moves by at most
max_funding_rate * price * elapsed), position/funding.cairo (a position pays (global - cached)
* size when touched, rounded against the user), position/status.cairo and
validate_state_transition.cairo (TV = collateral + sum price * size, TR = sum risk * |price *
size|; a change is valid if TR <= TV after it, or if it only shrinks positions and TV/TR does not
fall, compared by cross-multiplication), liquidate.cairo (only when TR > TV; the liquidated
position shrinks, never grows or flips) and deleverage.cairo (only when TV < 0). The oracle tick
is in ``circuits.gadgets.perp_oracle``.

Scales and bounds are D's (``rollup.types``; restated as constants below because circuits must
not import ``rollup``): prices and funding indices scaled by 2^32, risk factors in ppm (10^6),
the funding rate cap per second scaled by 10^12; collateral |c| < 2^63, positions |s| < 2^48,
prices in [1, 2^56), funding indices |g| < 2^56, penalties and fees < 2^63, timestamps < 2^32,
risk factors <= 10^6, max_funding_rate < 2^40. Derived: |s p| < 2^104, |TV| < 2^107 (scaled by
2^32, 4 markets), TR < 2^126 (scaled by 2^32 10^6), TV_a TR_b < 2^233.

Conventions
-----------
- Signed values are field elements read as signed (``circuits.witness.signed``); gadgets take
  ``LC`` / int operands and return LCs.
- Every gadget takes ``enabled`` (a boolean operand, default the constant 1: no cost). With
  ``enabled`` = 0 every check of the gadget is void (each checked quantity is multiplied by
  ``enabled`` before its range check: one gate per check), so a universal batch slot can run the
  gadget for every slot type. The transaction's own operands (fill size and price, new funding
  indices, signed prices) are multiplied by ``enabled`` too before any decomposition, so a
  disabled gadget is satisfiable whatever they hold (liquidation and deleverage then return
  their inputs unchanged); values from the root must still lie in their ASSUMED bounds. The
  caller makes ``enabled`` boolean.
- Values committed in the old state root (collateral, positions, cached and global funding
  indices, prices, market parameters) are ASSUMED within D's bounds: every write range-checks
  what it writes. Each gadget's docstring says what it checks and what it assumes.
- A market is selected by a one-hot list ``market`` (booleans summing to 1, checked by the
  caller, who also uses it to open the market's leaf).
- Comparisons are range checks of differences (``bits.range_check``: n + ceil(n/3) - 1 gates);
  "x >= 0" for an x in (-2^n, 2^n) is x in [0, 2^n) (a negative x wraps to a field element above
  r/2 and fails). No division appears in a comparison.

Labels (``check_satisfied`` names the first failing gate): each gadget opens a scope named after
itself and one scope per rule inside, e.g. ``liquidation/liquidatable``, ``liquidation/shrink``,
``liquidation/price``, ``liquidation/penalty_cap``, ``liquidation/penalty_value``. The native
twins return the same rule names as ``violations``: the gadget is satisfiable iff the native
twin reports none, and a witness violating exactly one rule fails under that rule's scope.

Gate counts (bench/test_bench_perp_gates.py; 4 markets, every operand a variable; ``enabled``
a variable / the constant 1):

=====================================  ============  ==========
gadget                                 enabled var   enabled 1
=====================================  ============  ==========
funding_tick                                  1,460       1,445
funding_settlement                              245         243
trade_cash                                      142         142
margin_rule (every position may move)         1,387       1,386
margin_rule_single (one market moves)         1,015       1,014
free_collateral                                 456         455
liquidation (liquidated side)                 1,773       1,758
deleverage (both accounts)                    1,097       1,083
=====================================  ============  ==========

Most of it is range checks: a 129-bit sign (``initial``, ``liquidatable``), a 237-bit sign
(``ratio``), 49-bit |s| per market (66 gates each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets import bits
from circuits.gadgets import fixedpoint as fp
from circuits.witness import signed

__all__ = [
    "PRICE_SCALE",
    "RISK_SCALE",
    "RATE_SCALE",
    "Settlement",
    "Cash",
    "ValueRisk",
    "MarginResult",
    "LiquidationResult",
    "DeleverageResult",
    "gated",
    "assert_range",
    "assert_abs_below",
    "nonneg_bit",
    "onehot_dot",
    "funding_tick",
    "native_funding_tick",
    "funding_settlement",
    "native_funding_settlement",
    "trade_cash",
    "native_trade_cash",
    "value_and_risk",
    "native_value_and_risk",
    "margin_rule",
    "margin_rule_single",
    "native_margin_rule",
    "free_collateral",
    "native_free_collateral",
    "fill_bounds",
    "native_fill_bounds",
    "liquidation",
    "native_liquidation",
    "deleverage",
    "native_deleverage",
]

PRICE_SCALE = 1 << 32
RISK_SCALE = 10**6
RATE_SCALE = 10**12

SIZE_BITS = 48  # 0 < size < 2^48, |position| < 2^48
PRICE_BITS = 56  # 0 < price < 2^56
INDEX_BITS = 56  # |funding index| < 2^56
COLLATERAL_BITS = 63  # |collateral| < 2^63
AMOUNT_BITS = 63  # fees, penalties < 2^63
TIME_BITS = 32  # timestamps < 2^32
TV_BITS = 108  # |TV| < 2^107 < 2^108
TR_BITS = 126  # TR < 2^126
LIQ_BITS = 129  # TR - 10^6 TV - 1 < 2^126 + 2^128 < 2^129
RATIO_BITS = 235  # |TV_a TR_b - TV_b TR_a| < 2^234
CHARGE_BITS = 76  # |ceil(F / 2^32)| < 2^75, |F| < 2^107


# --- small helpers ------------------------------------------------------------------------------


def gated(b: CircuitBuilder, enabled: Operand, x: Operand) -> LC:
    """enabled * x: free for a constant ``enabled``, one gate otherwise (plus the
    materialisation of an x of two or more variables)."""
    en, x = as_lc(enabled), as_lc(x)
    if en.is_constant():
        return x * en.k
    if x.is_constant() and x.k == 0:
        return x
    return b.mul(en, x)


def assert_range(b: CircuitBuilder, x: Operand, n: int, enabled: Operand = 1) -> None:
    """enabled => 0 <= x < 2^n."""
    bits.range_check(b, gated(b, enabled, x), n)


def assert_abs_below(b: CircuitBuilder, x: Operand, k: int, enabled: Operand = 1) -> None:
    """enabled => -2^k < x < 2^k (D's strict signed bounds): x + 2^k - 1 in [0, 2^(k+1)) and
    x != 2^k. k + 1 + ceil((k+1)/3) gates for a one-variable x and a constant ``enabled``."""
    x = as_lc(x)
    assert_range(b, x + ((1 << k) - 1), k + 1, enabled)
    with b.scope(f"ne{k}"):
        b.assert_nonzero(b.select(enabled, x - (1 << k), 1))


def nonneg_bit(b: CircuitBuilder, x: Operand, n: int) -> LC:
    """1 if x >= 0 else 0, for x in [-2^n, 2^n) (proven on the way: bit n of x + 2^n)."""
    x = as_lc(x)
    if x.is_constant():
        return LC({}, int(signed(x.k) >= 0))
    return bits.split(b, x + (1 << n), [n, 1])[1]


def onehot_dot(b: CircuitBuilder, e: Sequence[Operand], xs: Sequence[Operand]) -> LC:
    """sum e_m x_m (one gate per pair of variables; constants free)."""
    if len(e) != len(xs):
        raise CircuitError(f"one-hot of {len(e)} entries against {len(xs)} values")
    return b.sum(b.mul(em, x) for em, x in zip(e, xs))


def _n(*lists: Sequence) -> int:
    n = len(lists[0])
    if n == 0 or any(len(x) != n for x in lists):
        raise CircuitError("per-market lists must be non-empty and of one length")
    return n


def _strict_ok(x: int, k: int) -> bool:
    return -(1 << k) < x < 1 << k


# --- 1. funding tick -----------------------------------------------------------------------------


def funding_tick(
    b: CircuitBuilder,
    *,
    old_indices: Sequence[Operand],
    new_indices: Sequence[Operand],
    max_rates: Sequence[Operand],
    prices: Sequence[Operand],
    funding_time: Operand,
    timestamp: Operand,
    now: Operand,
    enabled: Operand = 1,
) -> LC:
    """A funding tick (StarkEx funding_tick.cairo; ``State._exec_funding`` /
    ``rules.funding_change_ok``). Asserts, when enabled:

    - ``timestamp``: 0 <= timestamp < 2^32; ``after``: funding_time < timestamp;
      ``not_future``: timestamp <= now;
    - ``index<m>``: -2^56 < new_m < 2^56;
    - ``change<m>``: |new_m - old_m| * 10^12 <= max_rate_m * price_m * (timestamp -
      funding_time).

    A market slot the config does not use carries max_rate = price = 0 (and old index 0), so
    its new index must stay 0, as ``State._exec_funding`` requires of the record's padding.

    Assumes (root values, public input): |old_m| < 2^56, 0 <= max_rate_m < 2^40,
    0 <= price_m < 2^56, 0 <= funding_time, now < 2^32. Returns the elapsed time (an LC).
    Gates: ~360 a market (range checks of 57 and 128 bits, |d| of 58 bits); 1,460 for 4."""
    n = _n(old_indices, new_indices, max_rates, prices)
    with b.scope("funding_tick"):
        ts, ft = as_lc(timestamp), as_lc(funding_time)
        with b.scope("timestamp"):
            assert_range(b, ts, TIME_BITS, enabled)
        with b.scope("after"):
            assert_range(b, ts - ft - 1, TIME_BITS, enabled)
        with b.scope("not_future"):
            assert_range(b, as_lc(now) - ts, TIME_BITS, enabled)
        elapsed = b.materialize(ts - ft)
        for m in range(n):
            new, old = as_lc(new_indices[m]), as_lc(old_indices[m])
            with b.scope(f"index{m}"):
                assert_abs_below(b, new, INDEX_BITS, enabled)
            with b.scope(f"change{m}"):
                d = gated(b, enabled, new - old)
                abs_d, _ = bits.abs_value(b, d, INDEX_BITS + 2)
                cap = b.mul(b.mul(max_rates[m], prices[m]), elapsed)  # < 2^128
                assert_range(b, cap - abs_d * RATE_SCALE, 128, enabled)
    return elapsed


def native_funding_tick(
    old_indices: Sequence[int],
    new_indices: Sequence[int],
    max_rates: Sequence[int],
    prices: Sequence[int],
    funding_time: int,
    timestamp: int,
    now: int,
) -> list[str]:
    """The rules ``funding_tick`` asserts, on ints: the names of the violated ones."""
    v = []
    if not 0 <= timestamp < 1 << TIME_BITS:
        v.append("timestamp")
    if not funding_time < timestamp:
        v.append("after")
    if not timestamp <= now:
        v.append("not_future")
    elapsed = timestamp - funding_time
    for m, (old, new, rate, p) in enumerate(zip(old_indices, new_indices, max_rates, prices)):
        if not _strict_ok(new, INDEX_BITS):
            v.append(f"index{m}")
        if abs(new - old) * RATE_SCALE > rate * p * elapsed:
            v.append(f"change{m}")
    return v


# --- funding settlement --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """An account's funding settlement: the collateral after it, the charge (quanta; negative
    is a credit) and the dust to the insurance fund (2^-32 quanta, in [0, 2^32))."""

    collateral: LC | int
    charge: LC | int
    dust: LC | int


def funding_settlement(
    b: CircuitBuilder,
    *,
    collateral: Operand,
    positions: Sequence[Operand],
    cached: Sequence[Operand],
    indices: Sequence[Operand],
    enabled: Operand = 1,
) -> Settlement:
    """Settle an account's funding (StarkEx position/funding.cairo; ``rules.funding_settlement``,
    ``State._settle``): F = sum (g_m - f_m) s_m, charge = ceil(F / 2^32) (proven by
    ``fixedpoint.div_ceil``), dust = charge 2^32 - F in [0, 2^32), collateral - charge.
    Asserts, when enabled: ``collateral``: |collateral - charge| < 2^63.

    Assumes (root values): |collateral| < 2^63, |s_m| < 2^48, |f_m|, |g_m| < 2^56. Gates:
    2 per market, the quotient (~140) and the collateral bound (~88)."""
    n = _n(positions, cached, indices)
    with b.scope("settle"):
        owed = b.sum(
            b.mul(b.materialize(as_lc(indices[m]) - as_lc(cached[m])), positions[m])
            for m in range(n)
        )
        charge = fp.div_ceil(b, owed, PRICE_SCALE, q_bits=CHARGE_BITS, signed=True)
        dust = as_lc(charge) * PRICE_SCALE - owed
        c = as_lc(collateral) - charge
        with b.scope("collateral"):
            assert_abs_below(b, c, COLLATERAL_BITS, enabled)
    return Settlement(c, charge, dust)


def native_funding_settlement(
    collateral: int, positions: Sequence[int], cached: Sequence[int], indices: Sequence[int]
) -> tuple[Settlement, list[str]]:
    """What ``funding_settlement`` computes, and the violated rules."""
    owed = sum((g - f) * s for s, f, g in zip(positions, cached, indices))
    charge = -((-owed) // PRICE_SCALE)
    c = collateral - charge
    v = [] if _strict_ok(c, COLLATERAL_BITS) else ["collateral"]
    return Settlement(c, charge, charge * PRICE_SCALE - owed), v


# --- trade cash flows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cash:
    """A fill's cash: the buyer pays ``debit`` = ceil(size price / 2^32), the seller gets
    ``credit`` = floor(..), ``dust`` = (debit - credit) 2^32 goes to the fund."""

    debit: LC | int
    credit: LC | int
    dust: LC | int


def trade_cash(b: CircuitBuilder, size: Operand, price: Operand) -> Cash:
    """``rules.trade_cash`` in circuit. Assumes 0 <= size < 2^48, 0 <= price < 2^56 (checked
    by the caller, e.g. ``fill_bounds``). Gates: ~150 (the product, the quotient's 72-bit and the
    remainder's 32-bit range checks, a zero test)."""
    with b.scope("cash"):
        notional = b.mul(size, price)
        credit = fp.div_floor(b, notional, PRICE_SCALE, q_bits=72)
        rem = b.materialize(notional - as_lc(credit) * PRICE_SCALE)
        nz = 1 - b.is_zero(rem)
    return Cash(as_lc(credit) + nz, credit, nz * PRICE_SCALE)


def native_trade_cash(size: int, price: int) -> Cash:
    notional = size * price
    debit = -((-notional) // PRICE_SCALE)
    credit = notional // PRICE_SCALE
    return Cash(debit, credit, (debit - credit) * PRICE_SCALE)


# --- value and risk, the margin rule -------------------------------------------------------------


@dataclass(frozen=True)
class ValueRisk:
    """TV (scaled by 2^32), the risks sum_m f_m |s_m p_m| for each factor list (scaled by
    2^32 10^6), |s_m| and the signs of the positions (1 = negative)."""

    tv: LC | int
    risks: tuple
    abs: tuple
    neg: tuple
    unit_risks: tuple = ()  # per factor list, f_m p_m per market (the risk of one quantum)


def value_and_risk(
    b: CircuitBuilder,
    collateral: Operand,
    positions: Sequence[Operand],
    prices: Sequence[Operand],
    factors: Sequence[Sequence[Operand]],
) -> ValueRisk:
    """TV = c 2^32 + sum s_m p_m and, per factor list, sum f_m p_m |s_m|
    (``rules.total_value`` / ``rules.total_risk``). Proves |s_m| <= 2^48 (``abs_value`` of
    49 bits, 66 gates a market); assumes prices and factors non-negative and in bounds."""
    n = _n(positions, prices)
    absv, neg = [], []
    for m in range(n):
        a, ng = bits.abs_value(b, positions[m], SIZE_BITS + 1)
        absv.append(a)
        neg.append(ng)
    tv = as_lc(collateral) * PRICE_SCALE + b.sum(b.mul(positions[m], prices[m]) for m in range(n))
    risks, units = [], []
    for fl in factors:
        _n(fl, prices)
        unit = tuple(b.mul(fl[m], prices[m]) for m in range(n))
        risks.append(b.sum(b.mul(unit[m], absv[m]) for m in range(n)))
        units.append(unit)
    return ValueRisk(tv, tuple(risks), tuple(absv), tuple(neg), tuple(units))


def native_value_and_risk(
    collateral: int,
    positions: Sequence[int],
    prices: Sequence[int],
    factors: Sequence[Sequence[int]],
) -> ValueRisk:
    tv = collateral * PRICE_SCALE + sum(s * p for s, p in zip(positions, prices))
    risks = tuple(sum(f * abs(s * p) for s, p, f in zip(positions, prices, fl)) for fl in factors)
    units = tuple(tuple(f * p for f, p in zip(fl, prices)) for fl in factors)
    absv = tuple(abs(s) for s in positions)
    return ValueRisk(tv, risks, absv, tuple(int(s < 0) for s in positions), units)


@dataclass(frozen=True)
class MarginResult:
    """The margin rule's bit and the values it compared."""

    ok: LC | int
    tv_before: LC | int
    tr_before: LC | int
    tv_after: LC | int
    tr_after: LC | int
    tri_after: LC | int


def margin_rule(
    b: CircuitBuilder,
    *,
    collateral_before: Operand,
    positions_before: Sequence[Operand],
    collateral_after: Operand,
    positions_after: Sequence[Operand],
    prices: Sequence[Operand],
    mmf: Sequence[Operand],
    imf: Sequence[Operand],
    enabled: Operand = 1,
    assert_ok: bool = True,
) -> MarginResult:
    """D's margin rule for a change an account signed (``rules.margin_ok``; StarkEx
    validate_state_transition.cairo): ok iff TRi_after <= 10^6 TV_after (``initial``), or
    every position keeps its sign or becomes 0 and none grows (``reduce``) and TV/TR does not
    fall: TV_after TR_before >= TV_before TR_after, or TV_after >= TV_before when TR_before = 0
    (``ratio``). "before" is the settled account. With ``assert_ok`` asserts (``ok``)
    enabled => ok; returns the bit either way.

    Assumes: |c| < 2^63 (before and after: the caller bounds the new collateral), prices in
    [0, 2^56), 0 <= mmf, imf <= 10^6; proves |s| <= 2^48 for both position lists.
    Gates: 1,387 for 4 markets (see the module docstring)."""
    n = _n(positions_before, positions_after, prices, mmf, imf)
    with b.scope("margin"):
        with b.scope("before"):
            vb = value_and_risk(b, collateral_before, positions_before, prices, [mmf])
        with b.scope("after"):
            va = value_and_risk(b, collateral_after, positions_after, prices, [mmf, imf])
        tv_b, (tr_b,) = vb.tv, vb.risks
        tv_a, (tr_a, tri_a) = va.tv, va.risks
        with b.scope("initial"):
            ok_init = nonneg_bit(b, b.materialize(tv_a * RISK_SCALE - tri_a), LIQ_BITS)
        with b.scope("reduce"):
            reduce: LC = as_lc(1)
            for m in range(n):
                le = bits.less_or_equal(b, va.abs[m], vb.abs[m], SIZE_BITS + 1)
                flip = b.mul(b.xor(va.neg[m], vb.neg[m]), 1 - b.is_zero(positions_after[m]))
                reduce = b.mul(reduce, b.mul(le, 1 - flip))
        with b.scope("ratio"):
            trb = b.materialize(tr_b)
            cross = b.mul(b.materialize(tv_a), trb) - b.mul(
                b.materialize(tv_b), b.materialize(tr_a)
            )
            z = b.is_zero(trb)
            x = b.select(z, as_lc(tv_a) - tv_b, cross)
            ratio = nonneg_bit(b, x, RATIO_BITS)
        ok = b.or_(ok_init, b.mul(reduce, ratio))
        if assert_ok:
            with b.scope("ok"):
                b.assert_zero(gated(b, enabled, 1 - ok))
    return MarginResult(ok, tv_b, tr_b, tv_a, tr_a, tri_a)


def native_margin_rule(
    collateral_before: int,
    positions_before: Sequence[int],
    collateral_after: int,
    positions_after: Sequence[int],
    prices: Sequence[int],
    mmf: Sequence[int],
    imf: Sequence[int],
) -> MarginResult:
    """What ``margin_rule`` computes (``ok`` as 0/1)."""
    vb = native_value_and_risk(collateral_before, positions_before, prices, [mmf])
    va = native_value_and_risk(collateral_after, positions_after, prices, [mmf, imf])
    tv_b, tr_b, tv_a = vb.tv, vb.risks[0], va.tv
    tr_a, tri_a = va.risks
    ok = tri_a <= tv_a * RISK_SCALE
    if not ok:
        reduce = all(
            abs(a) <= abs(bb) and (a == 0 or (a < 0) == (bb < 0))
            for a, bb in zip(positions_after, positions_before)
        )
        ratio = tv_a >= tv_b if tr_b == 0 else tv_a * tr_b >= tv_b * tr_a
        ok = reduce and ratio
    return MarginResult(int(ok), tv_b, tr_b, tv_a, tr_a, tri_a)


def margin_rule_single(
    b: CircuitBuilder,
    *,
    collateral_before: Operand,
    positions_before: Sequence[Operand],
    collateral_after: Operand,
    market: Sequence[Operand],
    delta: Operand,
    prices: Sequence[Operand],
    mmf: Sequence[Operand],
    imf: Sequence[Operand],
    enabled: Operand = 1,
    assert_ok: bool = True,
) -> tuple[MarginResult, tuple]:
    """``margin_rule`` for a change of ONE position (a trade, a liquidator's fill): the
    position in the one-hot ``market`` moves by ``delta`` (signed, |delta| < 2^48), the others
    stay. The same rule (the untouched positions reduce trivially); after-values are derived from
    the before-values, so it costs about half of ``margin_rule``. Returns the result and the new
    positions. Assumes as ``margin_rule``; proves |new position| <= 2^49 (the caller checks
    |new| <= max_position)."""
    n = _n(positions_before, prices, mmf, imf, market)
    with b.scope("margin"):
        with b.scope("before"):
            vb = value_and_risk(b, collateral_before, positions_before, prices, [mmf, imf])
        tv_b, (tr_b, tri_b) = vb.tv, vb.risks
        with b.scope("after"):
            old_t = onehot_dot(b, market, positions_before)
            new_t = b.materialize(old_t + delta)
            abs_new, neg_new = bits.abs_value(b, new_t, SIZE_BITS + 2)
            d_abs = b.materialize(abs_new - onehot_dot(b, market, vb.abs))
            mp_t, ip_t = (onehot_dot(b, market, u) for u in vb.unit_risks)
            p_t = onehot_dot(b, market, prices)
            tr_a = tr_b + b.mul(mp_t, d_abs)
            tri_a = tri_b + b.mul(ip_t, d_abs)
            tv_a = tv_b + (as_lc(collateral_after) - collateral_before) * PRICE_SCALE
            tv_a = tv_a + b.mul(delta, p_t)
            moves = [b.mul(market[m], delta) for m in range(n)]
            new_pos = tuple(as_lc(positions_before[m]) + moves[m] for m in range(n))
        with b.scope("initial"):
            ok_init = nonneg_bit(b, b.materialize(tv_a * RISK_SCALE - tri_a), LIQ_BITS)
        with b.scope("reduce"):
            le = bits.less_or_equal(b, abs_new, onehot_dot(b, market, vb.abs), SIZE_BITS + 2)
            neg_t = onehot_dot(b, market, vb.neg)
            flip = b.mul(b.xor(neg_new, neg_t), 1 - b.is_zero(new_t))
            reduce = b.mul(le, 1 - flip)
        with b.scope("ratio"):
            trb = b.materialize(tr_b)
            cross = b.mul(b.materialize(tv_a), trb) - b.mul(
                b.materialize(tv_b), b.materialize(tr_a)
            )
            z = b.is_zero(trb)
            ratio = nonneg_bit(b, b.select(z, as_lc(tv_a) - tv_b, cross), RATIO_BITS + 2)
        ok = b.or_(ok_init, b.mul(reduce, ratio))
        if assert_ok:
            with b.scope("ok"):
                b.assert_zero(gated(b, enabled, 1 - ok))
    return MarginResult(ok, tv_b, tr_b, tv_a, tr_a, tri_a), new_pos


def free_collateral(
    b: CircuitBuilder,
    *,
    collateral: Operand,
    positions: Sequence[Operand],
    prices: Sequence[Operand],
    imf: Sequence[Operand],
    enabled: Operand = 1,
) -> ValueRisk:
    """Withdrawals and transfers (``rules.meets_initial_margin``, dYdX v3's free collateral):
    asserts (``free``) enabled => TRi <= 10^6 TV of the account after the change. Assumptions
    as ``margin_rule``."""
    with b.scope("free_collateral"):
        vr = value_and_risk(b, collateral, positions, prices, [imf])
        with b.scope("free"):
            assert_range(b, vr.tv * RISK_SCALE - vr.risks[0], LIQ_BITS, enabled)
    return vr


def native_free_collateral(
    collateral: int, positions: Sequence[int], prices: Sequence[int], imf: Sequence[int]
) -> list[str]:
    vr = native_value_and_risk(collateral, positions, prices, [imf])
    return [] if vr.risks[0] <= vr.tv * RISK_SCALE else ["free"]


# --- fills ---------------------------------------------------------------------------------------


def fill_bounds(
    b: CircuitBuilder, size: Operand, price: Operand, max_price: Operand, enabled: Operand = 1
) -> None:
    """A fill's bounds (``State._check_fill``): asserts (``fill``) enabled => 1 <= size < 2^48,
    1 <= price < 2^56, price <= max_price. Assumes max_price < 2^56 (a market parameter)."""
    with b.scope("fill"):
        assert_range(b, as_lc(size) - 1, SIZE_BITS, enabled)
        assert_range(b, as_lc(price) - 1, PRICE_BITS, enabled)
        assert_range(b, as_lc(max_price) - price, PRICE_BITS, enabled)


def native_fill_bounds(size: int, price: int, max_price: int) -> list[str]:
    ok = 1 <= size < 1 << SIZE_BITS and 1 <= price < 1 << PRICE_BITS and price <= max_price
    return [] if ok else ["fill"]


# --- 3. liquidation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiquidationResult:
    """The liquidated account after a liquidation: collateral (fill and penalty applied),
    positions; the fill's cash (the liquidator's side is the caller's: it pays ``debit`` when it
    buys, gets ``credit`` when it sells); the liquidated account's TV and TR before, and TV
    after the fill (before the penalty)."""

    collateral: LC | int
    positions: tuple
    cash: Cash
    tv: LC | int
    tr: LC | int
    tv_after_fill: LC | int


def liquidation(
    b: CircuitBuilder,
    *,
    collateral: Operand,
    positions: Sequence[Operand],
    prices: Sequence[Operand],
    mmf: Sequence[Operand],
    liquidation_fees: Sequence[Operand],
    max_prices: Sequence[Operand],
    market: Sequence[Operand],
    liquidator_side: Operand,
    size: Operand,
    price: Operand,
    penalty: Operand,
    enabled: Operand = 1,
) -> LiquidationResult:
    """The liquidated account's side of a liquidation (StarkEx liquidate.cairo;
    ``State._exec_liquidate``; the liquidator's order, fee and margin rule are the caller's:
    ``margin_rule``). The account is the SETTLED one. Asserts, when enabled:

    - ``fill``: 1 <= size < 2^48, 1 <= price <= max_price < 2^56; 0 <= penalty < 2^63;
    - ``liquidatable``: TR > 10^6 TV (``rules.is_liquidatable``);
    - ``shrink``: the position in the market is on the other side of the liquidator's and at
      least size: s >= size when the liquidator buys, -s >= size when it sells (no growth, no
      flip);
    - ``price``: ``rules.liquidation_price_ok`` (the liquidated side sells at no less than
      oracle (1 - mmf), buys at no more than oracle (1 + mmf));
    - ``collateral_fill``: |c + cash| < 2^63;
    - ``penalty_cap`` / ``penalty_value``: ``rules.liquidation_penalty_ok`` (penalty 2^32 10^6
      <= fee_ppm size price; penalty 2^32 <= max(0, TV after the fill));
    - ``collateral``: |c + cash - penalty| < 2^63.

    ``liquidator_side`` is 0 (buy) or 1 (sell), boolean-checked by the caller (it is a pubdata
    field). Assumes the root values in bounds (see the module docstring), 0 <= fee_ppm <= 10^6.
    """
    n = _n(positions, prices, mmf, liquidation_fees, max_prices, market)
    side = as_lc(liquidator_side)
    size, price, penalty = as_lc(size), as_lc(price), as_lc(penalty)
    with b.scope("liquidation"):
        p_t = onehot_dot(b, market, prices)
        fill_bounds(b, size, price, onehot_dot(b, market, max_prices), enabled)
        with b.scope("fill"):
            assert_range(b, penalty, AMOUNT_BITS, enabled)
            # disabled: a fill of 0 at 0 (in every assumed bound; the outputs are the inputs)
            size, price = gated(b, enabled, size), gated(b, enabled, price)
        with b.scope("value"):
            vr = value_and_risk(b, collateral, positions, prices, [mmf])
            tv, tr = vr.tv, vr.risks[0]
        with b.scope("liquidatable"):
            assert_range(b, tr - tv * RISK_SCALE - 1, LIQ_BITS, enabled)
        direction = 1 - 2 * side  # +1: the liquidator buys, the liquidated account sells
        with b.scope("shrink"):
            pos_t = b.materialize(onehot_dot(b, market, positions))
            assert_range(b, b.mul(direction, pos_t) - size, SIZE_BITS, enabled)
        with b.scope("price"):
            mp_t = b.mul(onehot_dot(b, market, mmf), p_t)
            gap = b.mul(direction, b.materialize(price * RISK_SCALE - p_t * RISK_SCALE))
            assert_range(b, gap + mp_t, 78, enabled)
        cash = trade_cash(b, size, price)
        with b.scope("move"):
            # the liquidated account gets credit when it sells (side 0), pays debit when it buys
            cash_v = as_lc(cash.credit) - b.mul(
                side, b.materialize(as_lc(cash.credit) + cash.debit)
            )
            ds = b.mul(direction, size)  # the liquidated position moves by -ds
            new_pos = tuple(as_lc(positions[m]) - b.mul(market[m], ds) for m in range(n))
            c1 = as_lc(collateral) + cash_v
        with b.scope("collateral_fill"):
            assert_abs_below(b, c1, COLLATERAL_BITS, enabled)
        tv1 = b.materialize(tv + cash_v * PRICE_SCALE - b.mul(ds, p_t))
        with b.scope("penalty_cap"):
            cap = b.mul(b.mul(onehot_dot(b, market, liquidation_fees), size), price)
            assert_range(b, cap - penalty * (PRICE_SCALE * RISK_SCALE), 125, enabled)
        with b.scope("penalty_value"):
            pos_tv = b.mul(nonneg_bit(b, tv1, TV_BITS), tv1)
            assert_range(b, pos_tv - penalty * PRICE_SCALE, TV_BITS, enabled)
        c2 = c1 - penalty
        with b.scope("collateral"):
            assert_abs_below(b, c2, COLLATERAL_BITS, enabled)
    return LiquidationResult(c2, new_pos, cash, tv, tr, tv1)


def native_liquidation(
    collateral: int,
    positions: Sequence[int],
    prices: Sequence[int],
    mmf: Sequence[int],
    liquidation_fees: Sequence[int],
    max_prices: Sequence[int],
    market: int,
    liquidator_side: int,
    size: int,
    price: int,
    penalty: int,
) -> tuple[LiquidationResult, list[str]]:
    """What ``liquidation`` computes (market as an index), and the violated rules."""
    v = native_fill_bounds(size, price, max_prices[market])
    if not 0 <= penalty < 1 << AMOUNT_BITS and "fill" not in v:
        v.append("fill")
    vr = native_value_and_risk(collateral, positions, prices, [mmf])
    tv, tr = vr.tv, vr.risks[0]
    if not tr > tv * RISK_SCALE:
        v.append("liquidatable")
    direction = 1 - 2 * liquidator_side
    if not direction * positions[market] >= size:
        v.append("shrink")
    oracle, f = prices[market], mmf[market]
    if liquidator_side == 0:  # the liquidated account sells
        price_ok = price * RISK_SCALE >= oracle * (RISK_SCALE - f)
    else:
        price_ok = price * RISK_SCALE <= oracle * (RISK_SCALE + f)
    if not price_ok:
        v.append("price")
    cash = native_trade_cash(size, price)
    cash_v = cash.credit if liquidator_side == 0 else -cash.debit
    new_pos = list(positions)
    new_pos[market] -= direction * size
    c1 = collateral + cash_v
    if not _strict_ok(c1, COLLATERAL_BITS):
        v.append("collateral_fill")
    tv1 = c1 * PRICE_SCALE + sum(s * p for s, p in zip(new_pos, prices))
    if penalty * PRICE_SCALE * RISK_SCALE > liquidation_fees[market] * size * price:
        v.append("penalty_cap")
    if penalty * PRICE_SCALE > max(0, tv1):
        v.append("penalty_value")
    c2 = c1 - penalty
    if not _strict_ok(c2, COLLATERAL_BITS):
        v.append("collateral")
    return LiquidationResult(c2, tuple(new_pos), cash, tv, tr, tv1), v


# --- 4. deleverage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleverageResult:
    """Both accounts after a deleverage, the fill's cash, the deleveraged account's TV before
    and after."""

    collateral: LC | int  # the deleveraged account's
    positions: tuple
    collateral_deleverager: LC | int
    positions_deleverager: tuple
    cash: Cash
    tv: LC | int
    tv_after: LC | int


def deleverage(
    b: CircuitBuilder,
    *,
    collateral: Operand,
    positions: Sequence[Operand],
    collateral_deleverager: Operand,
    positions_deleverager: Sequence[Operand],
    prices: Sequence[Operand],
    max_prices: Sequence[Operand],
    market: Sequence[Operand],
    deleveraged_side: Operand,
    size: Operand,
    price: Operand,
    enabled: Operand = 1,
) -> DeleverageResult:
    """A deleverage (StarkEx deleverage.cairo; ``State._exec_deleverage``), both accounts
    SETTLED. ``deleveraged_side`` is the deleveraged account's side, 1 = it sells (a long),
    0 = it buys (boolean-checked by the caller: a pubdata field). Asserts, when enabled:

    - ``fill``: 1 <= size < 2^48, 1 <= price <= max_price < 2^56;
    - ``deleveragable``: TV < 0 (``rules.is_deleveragable``);
    - ``shrink_deleveraged`` / ``shrink_deleverager``: selling, s >= size and -s' >= size;
      buying, -s >= size and s' >= size (both shrink by size, opposite signs, no flip);
    - ``price``: ``rules.deleverage_price_ok`` (sells at >= oracle, buys at <= oracle);
    - ``collateral`` / ``collateral_deleverager``: |c + cash| < 2^63 for both;
    - ``value_after``: the deleveraged account's TV after <= 0.

    Assumes the root values in bounds (module docstring)."""
    n = _n(positions, positions_deleverager, prices, max_prices, market)
    side = as_lc(deleveraged_side)
    size, price = as_lc(size), as_lc(price)
    with b.scope("deleverage"):
        p_t = onehot_dot(b, market, prices)
        fill_bounds(b, size, price, onehot_dot(b, market, max_prices), enabled)
        with b.scope("fill"):
            # disabled: a fill of 0 at 0 (in every assumed bound; the outputs are the inputs)
            size, price = gated(b, enabled, size), gated(b, enabled, price)
        tv = as_lc(collateral) * PRICE_SCALE + b.sum(
            b.mul(positions[m], prices[m]) for m in range(n)
        )
        with b.scope("deleveragable"):
            assert_range(b, -tv - 1, TV_BITS, enabled)
        sg = 2 * side - 1  # +1: the deleveraged account sells
        with b.scope("shrink_deleveraged"):
            vpos = b.materialize(onehot_dot(b, market, positions))
            assert_range(b, b.mul(sg, vpos) - size, SIZE_BITS, enabled)
        with b.scope("shrink_deleverager"):
            dpos = b.materialize(onehot_dot(b, market, positions_deleverager))
            assert_range(b, -b.mul(sg, dpos) - size, SIZE_BITS, enabled)
        with b.scope("price"):
            assert_range(b, b.mul(sg, b.materialize(price - p_t)), PRICE_BITS, enabled)
        cash = trade_cash(b, size, price)
        with b.scope("move"):
            t = b.mul(side, b.materialize(as_lc(cash.credit) + cash.debit))
            cash_v = t - cash.debit  # sells: + credit, buys: - debit
            cash_d = as_lc(cash.credit) - t  # the other side
            ds = b.mul(sg, size)  # the deleveraged position moves by -ds, the deleverager's +ds
            moves = [b.mul(market[m], ds) for m in range(n)]
            new_v = tuple(as_lc(positions[m]) - moves[m] for m in range(n))
            new_d = tuple(as_lc(positions_deleverager[m]) + moves[m] for m in range(n))
            c_v = as_lc(collateral) + cash_v
            c_d = as_lc(collateral_deleverager) + cash_d
        with b.scope("collateral"):
            assert_abs_below(b, c_v, COLLATERAL_BITS, enabled)
        with b.scope("collateral_deleverager"):
            assert_abs_below(b, c_d, COLLATERAL_BITS, enabled)
        with b.scope("value_after"):
            tv1 = tv + cash_v * PRICE_SCALE - b.mul(ds, p_t)
            assert_range(b, -tv1, TV_BITS, enabled)
    return DeleverageResult(c_v, new_v, c_d, new_d, cash, tv, tv1)


def native_deleverage(
    collateral: int,
    positions: Sequence[int],
    collateral_deleverager: int,
    positions_deleverager: Sequence[int],
    prices: Sequence[int],
    max_prices: Sequence[int],
    market: int,
    deleveraged_side: int,
    size: int,
    price: int,
) -> tuple[DeleverageResult, list[str]]:
    """What ``deleverage`` computes (market as an index), and the violated rules."""
    v = native_fill_bounds(size, price, max_prices[market])
    tv = collateral * PRICE_SCALE + sum(s * p for s, p in zip(positions, prices))
    if not tv < 0:
        v.append("deleveragable")
    vpos, dpos = positions[market], positions_deleverager[market]
    sg = 2 * deleveraged_side - 1
    if not sg * vpos >= size:
        v.append("shrink_deleveraged")
    if not -sg * dpos >= size:
        v.append("shrink_deleverager")
    oracle = prices[market]
    if not (price >= oracle if deleveraged_side == 1 else price <= oracle):
        v.append("price")
    cash = native_trade_cash(size, price)
    cash_v = cash.credit if deleveraged_side == 1 else -cash.debit
    cash_d = -cash.debit if deleveraged_side == 1 else cash.credit
    new_v, new_d = list(positions), list(positions_deleverager)
    new_v[market] -= sg * size
    new_d[market] += sg * size
    c_v, c_d = collateral + cash_v, collateral_deleverager + cash_d
    if not _strict_ok(c_v, COLLATERAL_BITS):
        v.append("collateral")
    if not _strict_ok(c_d, COLLATERAL_BITS):
        v.append("collateral_deleverager")
    tv1 = c_v * PRICE_SCALE + sum(s * p for s, p in zip(new_v, prices))
    if not tv1 <= 0:
        v.append("value_after")
    return DeleverageResult(c_v, tuple(new_v), c_d, tuple(new_d), cash, tv, tv1), v
