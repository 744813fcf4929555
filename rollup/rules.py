"""The exchange's rules in integer fixed point: value, risk, the margin rule, funding, trade
cash flows, fee caps, liquidation and deleverage prices, oracle medians.

Pure functions of Python ints (scales and bounds in ``rollup.types``), one per rule, so that
issue E's circuit can mirror each one. No division appears in a comparison: ratios are compared
by cross-multiplication. The only divisions are by the constant 2^32 (``PRICE_SCALE``), and
every one rounds against the user: debits round up (ceil), credits round down (floor), and the
difference goes to the insurance fund, so the system never creates value.

Definitions (StarkEx Perpetual, position/status.cairo; see ../shared/notes/perpetual-rules.md),
for an account with collateral c, positions s_m, cached funding indices f_m, and market prices
p_m, global funding indices g_m, maintenance factors mmf_m, initial factors imf_m:

- unsettled funding (scaled by 2^32):  F  = sum_m (g_m - f_m) * s_m   (owed by the account)
- total value (scaled by 2^32):        TV = c * 2^32 + sum_m s_m * p_m - F
- total risk (scaled by 2^32 * 10^6):  TR = sum_m mmf_m * |s_m * p_m|   (maintenance)
                                       TRi = sum_m imf_m * |s_m * p_m|  (initial)
- liquidatable:           TR > TV * 10^6
- deleveragable:          TV < 0
- the margin rule for a change (before -> after) an account signed (a trade, its side of a
  liquidation): valid iff TRi_after <= TV_after * 10^6, or the change only reduces risk (every
  position keeps its sign or becomes 0 and none grows) and TV/TR does not fall:
  TV_after * TR_before >= TV_before * TR_after (TR > 0 for both ratios, both sides positive
  denominators); when TR_before = 0, TV_after >= TV_before. Funding is settled before the
  change, so "before" is the settled account.
- withdrawals and transfers need free collateral: TRi_after <= TV_after * 10^6 (so an account
  without positions keeps c >= 0).
"""

from __future__ import annotations

from collections.abc import Sequence

from rollup.types import PRICE_SCALE, RATE_SCALE, RISK_SCALE, Side

__all__ = [
    "ceil_div",
    "deleverage_price_ok",
    "fee_within_limit",
    "funding_change_ok",
    "funding_settlement",
    "is_deleveragable",
    "is_liquidatable",
    "liquidation_penalty_ok",
    "liquidation_price_ok",
    "margin_ok",
    "meets_initial_margin",
    "median_ok",
    "price_within_limit",
    "reduces_only",
    "total_risk",
    "total_value",
    "trade_cash",
]


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for b > 0 (any sign of a)."""
    return -((-a) // b)


def trade_cash(size: int, price: int) -> tuple[int, int, int]:
    """The collateral moved by a fill of ``size`` at ``price``: (debit of the buyer, credit of
    the seller, dust to the insurance fund scaled by 2^32). The buyer pays
    ceil(size * price / 2^32), the seller gets floor(size * price / 2^32); the dust is their
    difference (0 or 1 quantum), so sum of changes + dust = 0 exactly."""
    notional = size * price
    debit = ceil_div(notional, PRICE_SCALE)
    credit = notional // PRICE_SCALE
    return debit, credit, (debit - credit) * PRICE_SCALE


def funding_settlement(
    positions: Sequence[int], cached: Sequence[int], indices: Sequence[int]
) -> tuple[int, int]:
    """(charge, dust): settling an account's funding charges ``charge`` = ceil(F / 2^32)
    quanta (negative: a credit, rounded down), F = sum (g - f) * s; ``dust`` = charge * 2^32 - F
    in [0, 2^32) goes to the insurance fund (scaled by 2^32)."""
    owed = sum((g - f) * s for s, f, g in zip(positions, cached, indices))
    charge = ceil_div(owed, PRICE_SCALE)
    return charge, charge * PRICE_SCALE - owed


def total_value(
    collateral: int,
    positions: Sequence[int],
    prices: Sequence[int],
    cached: Sequence[int] | None = None,
    indices: Sequence[int] | None = None,
) -> int:
    """TV scaled by 2^32: c * 2^32 + sum s * p - unsettled funding (when cached/indices are
    given; a settled account has none)."""
    tv = collateral * PRICE_SCALE + sum(s * p for s, p in zip(positions, prices))
    if cached is not None and indices is not None:
        tv -= sum((g - f) * s for s, f, g in zip(positions, cached, indices))
    return tv


def total_risk(positions: Sequence[int], prices: Sequence[int], factors: Sequence[int]) -> int:
    """TR scaled by 2^32 * 10^6: sum factor * |s * p| (factors in ppm)."""
    return sum(f * abs(s * p) for s, p, f in zip(positions, prices, factors))


def meets_initial_margin(tv: int, tr_initial: int) -> bool:
    """TRi <= TV (both as scaled above)."""
    return tr_initial <= tv * RISK_SCALE


def is_liquidatable(tv: int, tr: int) -> bool:
    """TR > TV: the maintenance requirement is not met."""
    return tr > tv * RISK_SCALE


def is_deleveragable(tv: int) -> bool:
    return tv < 0


def reduces_only(before: Sequence[int], after: Sequence[int]) -> bool:
    """Every position keeps its sign (or becomes 0) and none grows in size."""
    for b, a in zip(before, after):
        if a == b:
            continue
        if b > 0 and not 0 <= a <= b:
            return False
        if b < 0 and not b <= a <= 0:
            return False
        if b == 0:
            return False
    return True


def margin_ok(
    tv_before: int,
    tr_before: int,
    positions_before: Sequence[int],
    tv_after: int,
    tr_after: int,
    tri_after: int,
    positions_after: Sequence[int],
) -> bool:
    """The margin rule for a change an account signed (see the module docstring)."""
    if meets_initial_margin(tv_after, tri_after):
        return True
    if not reduces_only(positions_before, positions_after):
        return False
    if tr_before == 0:
        return tv_after >= tv_before
    return tv_after * tr_before >= tv_before * tr_after


def price_within_limit(side: int, price: int, limit: int) -> bool:
    """A buy fills at most at its limit, a sell at least at its limit."""
    return price <= limit if side == Side.BUY else price >= limit


def fee_within_limit(fee: int, max_fee: int, fill: int, order_size: int) -> bool:
    """fee / fill <= max_fee / order_size, cross-multiplied: a fill pays at most its pro-rata
    share of the order's maximum fee."""
    return fee * order_size <= max_fee * fill


def funding_change_ok(old: int, new: int, max_rate: int, price: int, elapsed: int) -> bool:
    """|new - old| <= max_rate * price * elapsed / 10^12 (cross-multiplied)."""
    return abs(new - old) * RATE_SCALE <= max_rate * price * elapsed


def liquidation_price_ok(liquidated_side: int, price: int, oracle: int, mmf: int) -> bool:
    """The liquidated account sells at no less than oracle * (1 - mmf) or buys at no more
    than oracle * (1 + mmf): the liquidator's discount is at most the maintenance fraction."""
    if liquidated_side == Side.SELL:
        return price * RISK_SCALE >= oracle * (RISK_SCALE - mmf)
    return price * RISK_SCALE <= oracle * (RISK_SCALE + mmf)


def liquidation_penalty_ok(
    penalty: int, size: int, price: int, fee_ppm: int, tv_after_fill: int
) -> bool:
    """The penalty (quanta) is at most fee_ppm of the liquidated notional and never takes the
    account's value below 0: penalty * 2^32 * 10^6 <= fee_ppm * size * price and
    penalty * 2^32 <= max(0, TV after the fill)."""
    if penalty * PRICE_SCALE * RISK_SCALE > fee_ppm * size * price:
        return False
    return penalty * PRICE_SCALE <= max(0, tv_after_fill)


def deleverage_price_ok(deleveraged_side: int, price: int, oracle: int) -> bool:
    """The deleveraged account closes at a price no worse than the oracle's."""
    if deleveraged_side == Side.SELL:
        return price >= oracle
    return price <= oracle


def median_ok(prices: Sequence[int], price: int) -> bool:
    """``price`` is a median of ``prices`` by counting (StarkEx oracle_price.cairo):
    n <= 2 * #{p <= price} and n <= 2 * #{p >= price}."""
    n = len(prices)
    le = sum(1 for p in prices if p <= price)
    ge = sum(1 for p in prices if p >= price)
    return n <= 2 * le and n <= 2 * ge
