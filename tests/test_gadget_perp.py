"""The perpetual rules in circuit (circuits.gadgets.perp, perp_oracle): each gadget against its
native twin and against D's rules (rollup.rules) on random and edge inputs (hypothesis):
the circuit is satisfiable iff the native twin finds no violated rule, the first failing gate
is labelled with a violated rule, the outputs equal the natives', and the natives agree with
rollup.rules. Every gadget runs with ``enabled`` a private input, so the gated form is tested;
``enabled = 0`` voids every check."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, UnsatisfiedGate
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import eddsa, perp
from circuits.gadgets import perp_oracle as po
from circuits.gadgets.poseidon import poseidon
from circuits.witness import signed
from rollup import errors, rules
from rollup.state import State
from rollup.types import (
    DEMO_INSURANCE_KEY,
    Deleverage,
    Deposit,
    ExchangeConfig,
    FundingTick,
    Genesis,
    Liquidate,
    MarketParams,
    OraclePriceTick,
    Order,
    Side,
    Trade,
    sign_oracle_price,
    sign_order,
)

P = 1 << 32
N = 4  # markets
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(circuit, inputs):
    """(witness or None, the failing gate's label or None)."""
    try:
        return circuit.check(inputs), None
    except UnsatisfiedGate as e:
        return None, e.label


def rule_of(label: str, depth: int = 1) -> str:
    """The rule scope of a failing gate's label: its component at ``depth``."""
    return label.split("/")[depth]


def agree(circuit, inputs, violations, depth=1):
    """The circuit is satisfiable iff no violation; else it fails under a violated rule. With
    enabled = 0 it is satisfiable. Returns the witness (or None)."""
    w, label = run(circuit, {**inputs, "en": 1})
    event(f"violated: {violations[0]}" if violations else "satisfied")
    if violations:
        assert w is None, f"satisfiable despite {violations}"
        assert rule_of(label, depth) in violations, (label, violations)
    else:
        assert w is not None, f"unsatisfiable at {label} with no violation"
    w0, label0 = run(circuit, {**inputs, "en": 0})
    assert w0 is not None, f"enabled = 0 fails at {label0}"
    return w


def val(c, x, w):
    return signed(c.value(x, w))


positions = st.integers(-(1 << 48) + 1, (1 << 48) - 1) | st.sampled_from([0, 1, -1, 1000, -1000])
prices = st.integers(1, (1 << 56) - 1) | st.sampled_from([1, P, 600 * P, 3 * P])
indices = st.integers(-(1 << 56) + 1, (1 << 56) - 1) | st.integers(-(1 << 40), 1 << 40)
collaterals = st.integers(-(1 << 63) + 1, (1 << 63) - 1) | st.integers(-(10**12), 10**12)
factors = st.integers(1, 10**6)


# --- funding tick ----------------------------------------------------------------------------


@cache
def funding_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    old, new = b.private_inputs("old", N), b.private_inputs("new", N)
    rates, pr = b.private_inputs("rates", N), b.private_inputs("prices", N)
    ft, ts, now = b.private_input("ft"), b.private_input("ts"), b.private_input("now")
    perp.funding_tick(
        b,
        old_indices=old,
        new_indices=new,
        max_rates=rates,
        prices=pr,
        funding_time=ft,
        timestamp=ts,
        now=now,
        enabled=en,
    )
    return b.compile()


@st.composite
def funding_cases(draw):
    ft = draw(st.integers(0, (1 << 32) - 1))
    ts = draw(st.integers(max(0, ft - 2), min(ft + 10**6, (1 << 32) + 1)))
    now = draw(st.sampled_from([ts, ts + 1, ts, ts + 1, ts - 1, (1 << 32) - 1]))
    old = draw(st.lists(indices, min_size=N, max_size=N))
    rates = draw(st.lists(st.integers(0, (1 << 40) - 1) | st.just(277_778), min_size=N, max_size=N))
    pr = draw(st.lists(prices, min_size=N, max_size=N))
    new = []
    for m in range(N):
        cap = rates[m] * pr[m] * max(ts - ft, 0) // 10**12
        d = draw(st.sampled_from([cap, -cap, 0, cap // 2] * 8 + [cap + 1, -cap - 1]))
        edges = [(1 << 56) - 1, -(1 << 56) + 1, 1 << 56, -(1 << 56)]
        new.append(draw(st.sampled_from([old[m] + d] * 24 + edges)))
    return dict(old=old, new=new, rates=rates, prices=pr, ft=ft, ts=ts, now=now)


@SETTINGS
@given(funding_cases())
def test_funding_tick_matches_native_and_rules(case):
    v = perp.native_funding_tick(
        case["old"], case["new"], case["rates"], case["prices"], case["ft"], case["ts"], case["now"]
    )
    elapsed = case["ts"] - case["ft"]
    d_ok = case["ft"] < case["ts"] <= case["now"] and case["ts"] < 1 << 32
    d_ok = d_ok and all(
        -(1 << 56) < g < 1 << 56 and rules.funding_change_ok(o, g, r, p, elapsed)
        for o, g, r, p in zip(case["old"], case["new"], case["rates"], case["prices"])
    )
    assert (not v) == d_ok
    agree(funding_circuit(), case, v)


def test_funding_tick_edges():
    base = dict(
        old=[0, 5, -5, 0], rates=[277_778] * N, prices=[600 * P] * N, ft=100, ts=160, now=160
    )
    cap = 277_778 * 600 * P * 60 // 10**12
    c = funding_circuit()
    ok = {**base, "new": [cap, 5 - cap, -5 + cap, 0]}
    assert perp.native_funding_tick(**_fargs(ok)) == []
    assert run(c, {**ok, "en": 1})[0] is not None
    for new, ts, now, rule in [
        ([cap + 1, 5, -5, 0], 160, 160, "change0"),
        ([0, 5, -5 - cap - 1, 0], 160, 160, "change2"),
        ([0, 5, -5, 1 << 56], 160, 160, "index3"),
        ([0, 5, -5, 0], 100, 160, "after"),
        ([0, 5, -5, 0], 161, 160, "not_future"),
    ]:
        case = {**base, "new": new, "ts": ts, "now": now}
        assert perp.native_funding_tick(**_fargs(case))[0] == rule
        _, label = run(c, {**case, "en": 1})
        assert label.startswith(f"funding_tick/{rule}/"), label


def _fargs(case):
    return dict(
        old_indices=case["old"],
        new_indices=case["new"],
        max_rates=case["rates"],
        prices=case["prices"],
        funding_time=case["ft"],
        timestamp=case["ts"],
        now=case["now"],
    )


# --- funding settlement and trade cash ----------------------------------------------------------


@cache
def settlement_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    c = b.private_input("c")
    s, f, g = (b.private_inputs(k, N) for k in ("s", "f", "g"))
    out = perp.funding_settlement(b, collateral=c, positions=s, cached=f, indices=g, enabled=en)
    return b.compile(), out


@SETTINGS
@given(
    st.integers(-(1 << 63) + 1, (1 << 63) - 1) | st.sampled_from([(1 << 63) - 1, -(1 << 63) + 1]),
    st.lists(positions, min_size=N, max_size=N),
    st.lists(indices, min_size=N, max_size=N),
    st.lists(indices, min_size=N, max_size=N),
)
def test_funding_settlement_matches_rules(c, s, f, g):
    (circuit, out) = settlement_circuit()
    res, v = perp.native_funding_settlement(c, s, f, g)
    charge, dust = rules.funding_settlement(s, f, g)
    assert (res.charge, res.dust) == (charge, dust)
    assert 0 <= dust < P
    assert (not v) == (-(1 << 63) < c - charge < 1 << 63)
    w = agree(circuit, dict(c=c, s=s, f=f, g=g), v)
    if w is not None:
        assert [val(circuit, x, w) for x in (out.collateral, out.charge, out.dust)] == [
            c - charge,
            charge,
            dust,
        ]


def test_funding_settlement_collateral_bound():
    circuit, _ = settlement_circuit()
    # owes one quantum and a bit: the charge takes the collateral to -2^63
    case = dict(c=-(1 << 63) + 2, s=[1, 0, 0, 0], f=[0] * N, g=[P + 1, 0, 0, 0])
    assert perp.native_funding_settlement(case["c"], case["s"], case["f"], case["g"])[1] == [
        "collateral"
    ]
    assert run(circuit, {**case, "en": 1})[1].startswith("settle/collateral/")


@cache
def cash_circuit():
    b = CircuitBuilder()
    size, price = b.private_input("size"), b.private_input("price")
    cash = perp.trade_cash(b, size, price)
    return b.compile(), cash


@SETTINGS
@given(
    st.integers(0, (1 << 48) - 1) | st.sampled_from([0, 1]),
    st.integers(0, (1 << 56) - 1) | st.sampled_from([P, 3 * P]),
)
def test_trade_cash_matches_rules(size, price):
    circuit, cash = cash_circuit()
    w = circuit.check(dict(size=size, price=price))
    got = [val(circuit, x, w) for x in (cash.debit, cash.credit, cash.dust)]
    assert got == list(rules.trade_cash(size, price))
    n = perp.native_trade_cash(size, price)
    assert [n.debit, n.credit, n.dust] == got


def test_forged_hints_fail():
    """The quotients are hints: forging one (the witness solver's overrides) breaks its gate."""
    circuit, cash = cash_circuit()
    inputs = dict(size=1000, price=600 * P + 12345)
    w = circuit.check(inputs)
    credit = circuit.value(cash.credit, w)
    for forged in (credit + 1, credit - 1):
        with pytest.raises(UnsatisfiedGate) as e:
            circuit.check(inputs, overrides={cash.credit: forged})
        assert e.value.label.startswith("cash/div_floor/"), e.value.label
    circuit, out = settlement_circuit()
    inputs = dict(c=0, s=[3, 0, 0, 0], f=[0] * N, g=[P // 2, 0, 0, 0], en=1)
    w = circuit.check(inputs)
    assert val(circuit, out.charge, w) == 2  # ceil(1.5)
    with pytest.raises(UnsatisfiedGate) as e:
        circuit.check(inputs, overrides={out.charge: 1})  # floor: the user's favour
    assert e.value.label.startswith("settle/div_ceil/"), e.value.label


# --- the margin rule -------------------------------------------------------------------------


@cache
def margin_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    cb, ca = b.private_input("cb"), b.private_input("ca")
    sb, sa = b.private_inputs("sb", N), b.private_inputs("sa", N)
    pr, mmf, imf = (b.private_inputs(k, N) for k in ("prices", "mmf", "imf"))
    out = perp.margin_rule(
        b,
        collateral_before=cb,
        positions_before=sb,
        collateral_after=ca,
        positions_after=sa,
        prices=pr,
        mmf=mmf,
        imf=imf,
        enabled=en,
    )
    return b.compile(), out


@st.composite
def margin_cases(draw):
    pr = draw(st.lists(prices, min_size=N, max_size=N))
    mmf = draw(st.lists(factors, min_size=N, max_size=N))
    imf = [draw(st.integers(f, 10**6)) for f in mmf]
    sb = draw(st.lists(positions | st.just(0), min_size=N, max_size=N))
    sa = list(sb)
    for m in draw(st.lists(st.integers(0, N - 1), max_size=2)):
        sa[m] = draw(st.sampled_from([0, sb[m] // 2, -sb[m], sb[m] + 1, sb[m] - 1, -(sb[m] // 3)]))
        sa[m] = max(min(sa[m], (1 << 48) - 1), -(1 << 48) + 1)
    # collateral near the initial-margin boundary after, and a small move before -> after
    tv_pos = sum(s * p for s, p in zip(sa, pr))
    tri = sum(f * abs(s * p) for s, p, f in zip(sa, pr, imf))
    crit = (tri // 10**6 - tv_pos) // P
    ca = draw(st.sampled_from([crit - 1, crit, crit + 1, crit + 2]) | collaterals)
    ca = max(min(ca, (1 << 63) - 1), -(1 << 63) + 1)
    cb = draw(st.sampled_from([ca, ca + 1, ca - 1, ca + 10**6]) | collaterals)
    cb = max(min(cb, (1 << 63) - 1), -(1 << 63) + 1)
    return dict(cb=cb, ca=ca, sb=sb, sa=sa, prices=pr, mmf=mmf, imf=imf)


def margin_ok_rules(case):
    pr, mmf, imf = case["prices"], case["mmf"], case["imf"]
    return rules.margin_ok(
        rules.total_value(case["cb"], case["sb"], pr),
        rules.total_risk(case["sb"], pr, mmf),
        case["sb"],
        rules.total_value(case["ca"], case["sa"], pr),
        rules.total_risk(case["sa"], pr, mmf),
        rules.total_risk(case["sa"], pr, imf),
        case["sa"],
    )


@SETTINGS
@given(margin_cases())
@example(  # no positions before, none after: TR_before = 0, TV must not fall
    dict(cb=5, ca=4, sb=[0] * N, sa=[0] * N, prices=[P] * N, mmf=[1] * N, imf=[1] * N)
)
def test_margin_rule_matches_rules(case):
    circuit, out = margin_circuit()
    ok = margin_ok_rules(case)
    n = perp.native_margin_rule(
        case["cb"], case["sb"], case["ca"], case["sa"], case["prices"], case["mmf"], case["imf"]
    )
    assert n.ok == int(ok)
    w = agree(circuit, case, [] if ok else ["ok"], depth=1)
    if w is not None:
        assert val(circuit, out.ok, w) == 1
        assert val(circuit, out.tv_after, w) == n.tv_after
        assert val(circuit, out.tri_after, w) == n.tri_after


def test_margin_rule_reduce_only_branch():
    circuit, _ = margin_circuit()
    base = dict(prices=[600 * P, P, P, P], mmf=[30_000] * N, imf=[50_000] * N)
    # under-margined long of 100 at 600: closing half at the oracle price keeps TV/TR
    sb, cb = [100, 0, 0, 0], -58_000
    ok = {**base, "cb": cb, "sb": sb, "sa": [50, 0, 0, 0], "ca": cb + 30_000}
    assert margin_ok_rules(ok) and run(circuit, {**ok, "en": 1})[0] is not None
    for sa, ca in [
        ([150, 0, 0, 0], cb - 30_000),
        ([-10, 0, 0, 0], cb + 60_000),
        ([50, 0, 0, 0], cb),
    ]:
        bad = {**ok, "sa": sa, "ca": ca}
        assert not margin_ok_rules(bad)
        assert run(circuit, {**bad, "en": 1})[1] == "margin/ok"


@cache
def margin_single_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    cb, ca, delta = b.private_input("cb"), b.private_input("ca"), b.private_input("delta")
    sb, e = b.private_inputs("sb", N), b.private_inputs("e", N)
    pr, mmf, imf = (b.private_inputs(k, N) for k in ("prices", "mmf", "imf"))
    out, new = perp.margin_rule_single(
        b,
        collateral_before=cb,
        positions_before=sb,
        collateral_after=ca,
        market=e,
        delta=delta,
        prices=pr,
        mmf=mmf,
        imf=imf,
        enabled=en,
    )
    return b.compile(), out, new


@SETTINGS
@given(margin_cases(), st.integers(0, N - 1))
def test_margin_rule_single_matches_rules(case, m):
    case = {**case, "sa": [x if k != m else case["sa"][m] for k, x in enumerate(case["sb"])]}
    ok = margin_ok_rules(case)
    circuit, out, new = margin_single_circuit()
    inputs = {k: v for k, v in case.items() if k != "sa"}
    inputs.update(delta=case["sa"][m] - case["sb"][m], e=[int(k == m) for k in range(N)])
    w = agree(circuit, inputs, [] if ok else ["ok"])
    if w is not None:
        n = perp.native_margin_rule(case["cb"], case["sb"], case["ca"], case["sa"],
                                    case["prices"], case["mmf"], case["imf"])  # fmt: skip
        assert [val(circuit, x, w) for x in new] == case["sa"]
        assert val(circuit, out.tv_after, w) == n.tv_after
        assert val(circuit, out.tr_after, w) == n.tr_after
        assert val(circuit, out.tri_after, w) == n.tri_after


@cache
def free_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    c, s = b.private_input("c"), b.private_inputs("s", N)
    pr, imf = b.private_inputs("prices", N), b.private_inputs("imf", N)
    perp.free_collateral(b, collateral=c, positions=s, prices=pr, imf=imf, enabled=en)
    return b.compile()


@SETTINGS
@given(margin_cases())
def test_free_collateral_matches_rules(case):
    pr, imf = case["prices"], case["imf"]
    ok = rules.meets_initial_margin(
        rules.total_value(case["ca"], case["sa"], pr), rules.total_risk(case["sa"], pr, imf)
    )
    v = perp.native_free_collateral(case["ca"], case["sa"], pr, imf)
    assert (not v) == ok
    inputs = dict(c=case["ca"], s=case["sa"], prices=pr, imf=imf)
    agree(free_circuit(), inputs, v, depth=1)


# --- liquidation -----------------------------------------------------------------------------


@cache
def liquidation_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    c, s = b.private_input("c"), b.private_inputs("s", N)
    pr, mmf, fees, mx = (b.private_inputs(k, N) for k in ("prices", "mmf", "fees", "max_prices"))
    e = b.private_inputs("e", N)
    side, size, price, pen = (b.private_input(k) for k in ("side", "size", "price", "penalty"))
    out = perp.liquidation(
        b,
        collateral=c,
        positions=s,
        prices=pr,
        mmf=mmf,
        liquidation_fees=fees,
        max_prices=mx,
        market=e,
        liquidator_side=side,
        size=size,
        price=price,
        penalty=pen,
        enabled=en,
    )
    return b.compile(), out


def with_onehot(case):
    """The case's inputs with the market index as a one-hot ``e``."""
    out = {k: v for k, v in case.items() if k != "market"}
    out["e"] = [int(m == case["market"]) for m in range(N)]
    return out


liq_inputs = with_onehot


def liq_native(case):
    return perp.native_liquidation(
        case["c"],
        case["s"],
        case["prices"],
        case["mmf"],
        case["fees"],
        case["max_prices"],
        case["market"],
        case["side"],
        case["size"],
        case["price"],
        case["penalty"],
    )


@st.composite
def liquidation_cases(draw):
    pr = draw(st.lists(st.integers(1, 1 << 44) | st.just(600 * P), min_size=N, max_size=N))
    mmf = draw(st.lists(factors, min_size=N, max_size=N))
    fees = draw(st.lists(st.integers(0, 10**6), min_size=N, max_size=N))
    mx = [draw(st.sampled_from([p, p + 1] + [(1 << 56) - 1] * 6)) for p in pr]
    s = draw(st.lists(st.integers(-(10**9), 10**9), min_size=N, max_size=N))
    market = draw(st.integers(0, N - 1))
    side = draw(st.integers(0, 1))  # the liquidator's
    if draw(st.integers(0, 4)):  # mostly on the side the liquidation shrinks
        s[market] = abs(s[market]) * (1 if side == 0 else -1) or (1 if side == 0 else -1)
    tv_pos = sum(x * p for x, p in zip(s, pr))
    tr = sum(f * abs(x * p) for x, p, f in zip(s, pr, mmf))
    crit = (tr // 10**6 - tv_pos) // P  # TR > 10^6 TV iff c <= about crit
    c = draw(st.sampled_from([crit - 1, crit - 10**6, crit - 1, crit - 10**6, crit, crit + 1]))
    c = max(min(c, (1 << 63) - 1), -(1 << 63) + 1)
    pos = abs(s[market])
    size = draw(st.sampled_from([pos, max(pos // 2, 1), 1] * 6 + [pos + 1, 0]))
    oracle, f = pr[market], mmf[market]
    if side == 0:  # the liquidated account sells at >= bound
        bound = -((-oracle * (10**6 - f)) // 10**6)
        good, bad = [bound, oracle, bound + 1], [bound - 1]
    else:  # it buys at <= bound
        bound = oracle * (10**6 + f) // 10**6
        good, bad = [bound, oracle, bound - 1], [bound + 1]
    price = draw(st.sampled_from(good * 6 + bad + [mx[market] + 1, 0]))
    price = max(min(price, (1 << 56) - 1), 0)
    cap = fees[market] * size * price // (P * 10**6)
    penalty = draw(st.sampled_from([0, 0, 0, cap, cap + 1, cap // 2]))
    return dict(
        c=c,
        s=s,
        prices=pr,
        mmf=mmf,
        fees=fees,
        max_prices=mx,
        market=market,
        side=side,
        size=size,
        price=price,
        penalty=penalty,
    )


@SETTINGS
@given(liquidation_cases())
def test_liquidation_matches_native_and_rules(case):
    res, v = liq_native(case)
    m = case["market"]
    # the natives agree with rollup.rules (and State._exec_liquidate's shrink and bounds)
    victim_side = 1 - case["side"]
    assert ("liquidatable" not in v) == rules.is_liquidatable(res.tv, res.tr)
    assert ("price" not in v) == rules.liquidation_price_ok(
        victim_side, case["price"], case["prices"][m], case["mmf"][m]
    )
    assert ("penalty_cap" not in v and "penalty_value" not in v) == rules.liquidation_penalty_ok(
        case["penalty"], case["size"], case["price"], case["fees"][m], res.tv_after_fill
    )
    pos = case["s"][m]
    shrinks = case["size"] <= pos if victim_side == 1 else case["size"] <= -pos
    assert ("shrink" not in v) == shrinks
    assert res.tv == rules.total_value(case["c"], case["s"], case["prices"])
    assert res.tv_after_fill == rules.total_value(
        res.collateral + case["penalty"], res.positions, case["prices"]
    )
    circuit, out = liquidation_circuit()
    w = agree(circuit, liq_inputs(case), v)
    if w is not None:
        assert val(circuit, out.collateral, w) == res.collateral
        assert [val(circuit, x, w) for x in out.positions] == list(res.positions)
        assert val(circuit, out.tv_after_fill, w) == res.tv_after_fill


LIQ_OK = dict(
    c=-58_000,  # long 100 at 600: TV = 2,000 quanta, TR = 3% of 60,000 = 1,800... then fall
    s=[100, 0, -3, 0],
    prices=[590 * P, P, 2 * P, P],
    mmf=[30_000, 30_000, 50_000, 30_000],
    fees=[10_000] * N,
    max_prices=[1000 * P] * N,
    market=0,
    side=0,
    size=40,
    price=580 * P,
    penalty=200,
)


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"c": -57_000}, "liquidatable"),
        ({"size": 101}, "shrink"),
        ({"side": 1}, "shrink"),
        ({"price": 572 * P}, "price"),
        ({"penalty": 233}, "penalty_cap"),
        ({"size": 0}, "fill"),
        ({"price": 1001 * P}, "fill"),
        # a short near the collateral floor buys back: its collateral would pass -2^63
        ({"c": -(1 << 63) + 1, "s": [-100, 0, 0, 0], "side": 1, "penalty": 0}, "collateral_fill"),
    ],
)
def test_liquidation_each_rule_fails_at_its_label(change, rule):
    ok = {**LIQ_OK}
    assert liq_native(ok)[1] == []
    assert run(liquidation_circuit()[0], {**liq_inputs(ok), "en": 1})[0] is not None
    bad = {**ok, **change}
    assert rule in liq_native(bad)[1]
    _, label = run(liquidation_circuit()[0], {**liq_inputs(bad), "en": 1})
    assert label.startswith(f"liquidation/{rule}/"), label


def test_liquidation_penalty_limited_by_value():
    # TV after the fill is ~ 2,000 - 40 * 10 quanta of slippage: a penalty above it fails
    ok = {**LIQ_OK, "fees": [10**6] * N}
    res, v = liq_native(ok)
    assert v == []
    top = res.tv_after_fill // P
    assert liq_native({**ok, "penalty": top})[1] == []
    bad = {**ok, "penalty": top + 1}
    assert liq_native(bad)[1] == ["penalty_value"]
    _, label = run(liquidation_circuit()[0], {**liq_inputs(bad), "en": 1})
    assert label.startswith("liquidation/penalty_value/"), label


# --- deleverage ------------------------------------------------------------------------------


@cache
def deleverage_circuit():
    b = CircuitBuilder()
    en = b.bool_input("en")
    c, s = b.private_input("c"), b.private_inputs("s", N)
    cd, sd = b.private_input("cd"), b.private_inputs("sd", N)
    pr, mx, e = (b.private_inputs(k, N) for k in ("prices", "max_prices", "e"))
    side, size, price = (b.private_input(k) for k in ("side", "size", "price"))
    out = perp.deleverage(
        b,
        collateral=c,
        positions=s,
        collateral_deleverager=cd,
        positions_deleverager=sd,
        prices=pr,
        max_prices=mx,
        market=e,
        deleveraged_side=side,
        size=size,
        price=price,
        enabled=en,
    )
    return b.compile(), out


def del_native(case):
    return perp.native_deleverage(
        case["c"],
        case["s"],
        case["cd"],
        case["sd"],
        case["prices"],
        case["max_prices"],
        case["market"],
        case["side"],
        case["size"],
        case["price"],
    )


@st.composite
def deleverage_cases(draw):
    pr = draw(st.lists(st.integers(1, 1 << 44) | st.just(600 * P), min_size=N, max_size=N))
    mx = [draw(st.sampled_from([p] + [(1 << 56) - 1] * 4)) for p in pr]
    s = draw(st.lists(st.integers(-(10**9), 10**9), min_size=N, max_size=N))
    sd = draw(st.lists(st.integers(-(10**9), 10**9), min_size=N, max_size=N))
    market = draw(st.integers(0, N - 1))
    side = draw(st.integers(0, 1))  # the deleveraged account's: 1 sells (a long)
    sg = 2 * side - 1
    if draw(st.integers(0, 4)):  # mostly the sides a deleverage shrinks
        s[market] = sg * (abs(s[market]) or 1)
        sd[market] = -sg * (abs(sd[market]) or 1)
    tv_pos = sum(x * p for x, p in zip(s, pr))
    c = draw(st.sampled_from([-(tv_pos // P) - 1, -(tv_pos // P), -(tv_pos // P) - 10**6]))
    c = max(min(c, (1 << 63) - 1), -(1 << 63) + 1)
    cd = draw(collaterals)
    lim = min(sg * s[market], -sg * sd[market])
    size = draw(st.sampled_from([lim, 1, max(lim // 2, 1)] * 6 + [lim + 1, 0]))
    oracle = pr[market]
    good = [oracle, oracle + 1] if side == 1 else [oracle, oracle - 1]
    price = draw(st.sampled_from(good * 4 + [oracle - 1, oracle + 1, mx[market] + 1]))
    price = min(price, mx[market]) if draw(st.integers(0, 5)) else price
    return dict(c=c, s=s, cd=cd, sd=sd, prices=pr, max_prices=mx, market=market, side=side,
                size=size, price=max(price, 0))  # fmt: skip


@SETTINGS
@given(deleverage_cases())
def test_deleverage_matches_native_and_rules(case):
    res, v = del_native(case)
    m = case["market"]
    assert ("deleveragable" not in v) == rules.is_deleveragable(res.tv)
    assert ("price" not in v) == rules.deleverage_price_ok(
        case["side"], case["price"], case["prices"][m]
    )
    assert res.tv_after == rules.total_value(res.collateral, res.positions, case["prices"])
    assert ("value_after" not in v) == (res.tv_after <= 0)
    circuit, out = deleverage_circuit()
    w = agree(circuit, with_onehot(case), v)
    if w is not None:
        assert val(circuit, out.collateral, w) == res.collateral
        assert val(circuit, out.collateral_deleverager, w) == res.collateral_deleverager
        assert [val(circuit, x, w) for x in out.positions] == list(res.positions)
        assert [val(circuit, x, w) for x in out.positions_deleverager] == list(
            res.positions_deleverager
        )


DEL_OK = dict(
    c=-61_000,  # long 100 at 600: TV = -1,000 quanta
    s=[100, 0, 0, 0],
    cd=10**6,
    sd=[-300, 0, 0, 0],
    prices=[600 * P, P, P, P],
    max_prices=[1000 * P] * N,
    market=0,
    side=1,
    size=60,
    price=600 * P,
)


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"c": -60_000}, "deleveragable"),
        ({"size": 101}, "shrink_deleveraged"),
        ({"sd": [-50, 0, 0, 0]}, "shrink_deleverager"),
        ({"side": 0}, "shrink_deleveraged"),
        ({"price": 600 * P - 1}, "price"),
        ({"price": 1001 * P}, "fill"),
        ({"size": 100, "price": 611 * P}, "value_after"),
        ({"cd": -(1 << 63) + 10_000}, "collateral_deleverager"),
    ],
)
def test_deleverage_each_rule_fails_at_its_label(change, rule):
    circuit, _ = deleverage_circuit()
    inputs = lambda case: {**with_onehot(case), "en": 1}  # noqa: E731
    assert del_native(DEL_OK)[1] == []
    assert run(circuit, inputs(DEL_OK))[0] is not None
    bad = {**DEL_OK, **change}
    assert rule in del_native(bad)[1]
    _, label = run(circuit, inputs(bad))
    assert label.startswith(f"deleverage/{rule}/"), label


# --- oracle ticks ----------------------------------------------------------------------------


@cache
def oracle_rules_circuit(n_slots: int = po.MAX_ORACLES):
    b = CircuitBuilder()
    en = b.bool_input("en")
    kw = {k: b.private_input(k) for k in ("timestamp", "price", "now", "price_time", "max_price",
                                          "quorum", "validity")}  # fmt: skip
    slots = [
        po.OracleSlot(
            b.private_input(f"en{j}"),
            b.private_inputs(f"o{j}", po.MAX_ORACLES),
            b.private_input(f"p{j}"),
            b.private_input(f"t{j}"),
            0,
            0,
            0,
        )
        for j in range(n_slots)
    ]
    po.oracle_rules(b, slots=slots, enabled=en, **kw)
    return b.compile()


def oracle_inputs(tick, sigs, n_slots):
    inputs = dict(tick)
    for j in range(n_slots):
        s = sigs[j] if j < len(sigs) else None
        inputs[f"en{j}"] = int(s is not None)
        inputs[f"o{j}"] = [int(s is not None and s.oracle == k) for k in range(po.MAX_ORACLES)]
        inputs[f"p{j}"] = s.price if s else 0
        inputs[f"t{j}"] = s.timestamp if s else 0
    return inputs


@st.composite
def oracle_cases(draw):
    ts = draw(st.integers(0, (1 << 32) - 1))
    validity = draw(st.integers(1, 3600))
    n = draw(st.integers(0, po.MAX_ORACLES))
    oracles = sorted(draw(st.lists(st.integers(0, 7), min_size=n, max_size=n, unique=True)))
    if n >= 2 and not draw(st.integers(0, 3)):
        j = draw(st.integers(1, n - 1))
        oracles[j] = oracles[j - 1]  # a duplicate (or, below, a swap)
        if draw(st.booleans()):
            oracles[j - 1], oracles[j] = oracles[j] + 1 if oracles[j] < 7 else 7, oracles[j - 1]
    sig_prices = [draw(st.sampled_from([*range(1, 9)] * 4 + [(1 << 56) - 1, 0])) for _ in range(n)]
    stamps = [draw(st.sampled_from([ts, ts - validity, ts - 1] * 8 + [ts - validity - 1, ts + 1]))
              for _ in range(n)]  # fmt: skip
    sigs = [po.NativeOracleSignature(o, p, t, None) for o, p, t in zip(oracles, sig_prices, stamps)]
    srt = sorted(sig_prices) or [5]
    price = draw(st.sampled_from([srt[len(srt) // 2], srt[(len(srt) - 1) // 2], srt[0], srt[-1],
                                  srt[len(srt) // 2] + 1]))  # fmt: skip
    tick = dict(
        timestamp=ts,
        price=price,
        now=draw(st.sampled_from([ts, ts + 5] * 4 + [ts - 1])),
        price_time=draw(st.sampled_from([ts, 0] * 4 + [ts + 1])),
        max_price=draw(st.sampled_from([price, (1 << 56) - 1] * 4 + [price - 1])),
        quorum=draw(st.integers(1, 8) | st.integers(1, max(n, 1))),
        validity=validity,
    )
    return tick, sigs


def native_rules(tick, sigs, n_slots=po.MAX_ORACLES):
    return po.native_oracle_tick(
        exchange_id=0, market=0, oracle_keys=[], signatures=sigs, n_slots=n_slots, verify=False,
        **tick,
    )  # fmt: skip


@SETTINGS
@given(oracle_cases())
def test_oracle_rules_match_native_and_rules(case):
    tick, sigs = case
    v = native_rules(tick, sigs)
    if sigs:
        med = rules.median_ok([s.price for s in sigs], tick["price"])
        assert ("median" not in v) == med
    assert ("quorum" not in v) == (len(sigs) >= tick["quorum"])
    inputs = oracle_inputs(tick, sigs, po.MAX_ORACLES)
    w, label = run(oracle_rules_circuit(), {**inputs, "en": 1})
    event(f"violated: {v[0]}" if v else "satisfied")
    if v:
        assert w is None
        assert rule_of(label, 0) in v, (label, v)
    else:
        assert w is not None, label
    # a disabled tick forbids enabled slots; with none it is satisfiable whatever the tick says
    off = oracle_inputs(tick, [], po.MAX_ORACLES)
    assert run(oracle_rules_circuit(), {**off, "en": 0})[0] is not None
    if sigs:
        assert run(oracle_rules_circuit(), {**inputs, "en": 0})[1].startswith("slots/prefix")


def test_oracle_slots_must_be_a_prefix_and_one_hot():
    tick = dict(timestamp=100, price=5, now=100, price_time=0, max_price=10, quorum=1, validity=10)
    sigs = [po.NativeOracleSignature(2, 5, 100, None)]
    c = oracle_rules_circuit()
    inputs = oracle_inputs(tick, sigs, po.MAX_ORACLES)
    assert run(c, {**inputs, "en": 1})[0] is not None
    gap = {**inputs, "en0": 0, "o0": [0] * 8, "en1": 1, "o1": inputs["o0"], "p1": 5, "t1": 100}
    assert run(c, {**gap, "en": 1})[1].startswith("slots/prefix")
    two = {**inputs, "o0": [0, 1, 1, 0, 0, 0, 0, 0]}
    assert run(c, {**two, "en": 1})[1].startswith("slots/flags")


ORACLE_KEYS = [bytes([k]) * 32 for k in range(3)]


@cache
def oracle_tick_circuit(n_slots: int = 2):
    b = CircuitBuilder()
    en = b.bool_input("en")
    names = ("exchange_id", "market", "timestamp", "price", "now", "price_time", "max_price",
             "quorum", "validity")  # fmt: skip
    kw = {k: b.private_input(k) for k in names}
    keys = [tuple(b.private_inputs(f"key{k}", 2)) for k in range(po.MAX_ORACLES)]
    slots = [
        po.OracleSlot(
            b.private_input(f"en{j}"),
            b.private_inputs(f"o{j}", po.MAX_ORACLES),
            b.private_input(f"p{j}"),
            b.private_input(f"t{j}"),
            *b.private_inputs(f"sig{j}", 3),
        )
        for j in range(n_slots)
    ]
    po.oracle_price_tick(b, oracle_keys=keys, slots=slots, enabled=en, **kw)
    return b.compile()


def signed_tick(exchange_id, market, price, stamps_prices, oracles):
    sigs = []
    for o, (p, t) in zip(oracles, stamps_prices):
        m = po.native_oracle_message(exchange_id, market, p, t)
        sigs.append(po.NativeOracleSignature(o, p, t, eddsa.sign_poseidon(ORACLE_KEYS[o], m)))
    return sigs


def tick_inputs(tick, sigs, n_slots=2, keys=None):
    if keys is None:
        keys = [eddsa.prv2pub(k) for k in ORACLE_KEYS]
    keys = list(keys) + [(0, 0)] * (po.MAX_ORACLES - len(keys))
    base = {k: v for k, v in tick.items() if k not in ("exchange_id", "market")}
    inputs = oracle_inputs(base, sigs, n_slots)
    inputs.update(exchange_id=tick["exchange_id"], market=tick["market"])
    for k, key in enumerate(keys):
        inputs[f"key{k}"] = list(key)
    dpk, dsig = po.dummy_oracle_signature()
    for j in range(n_slots):
        sig = sigs[j].signature if j < len(sigs) else dsig
        inputs[f"sig{j}"] = [sig.r8[0], sig.r8[1], sig.s]
    return inputs, keys


TICK = dict(exchange_id=7, market=2, timestamp=1_000, price=600 * P, now=1_010, price_time=900,
            max_price=1000 * P, quorum=2, validity=60)  # fmt: skip


def test_oracle_message_is_the_spec_word():
    w = po.native_oracle_word(7, 2, 600 * P, 1_000)
    assert w == 4 + 7 * 256 + (2 << 40) + (1_000 << 48) + ((600 * P) << 80)
    assert po.native_oracle_message(7, 2, 600 * P, 1_000) == poseidon([w])
    from rollup import types

    words = types.oracle_message(2, 600 * P, 1_000, 7)
    if len(words) == 1:  # layout v2 (rollup.types ports to it in this session)
        assert words == (w,)


def test_oracle_tick_with_signatures():
    sigs = signed_tick(7, 2, 600 * P, [(600 * P, 1_000), (601 * P, 950)], [0, 2])
    inputs, keys = tick_inputs(TICK, sigs)
    assert po.native_oracle_tick(**TICK, oracle_keys=keys, signatures=sigs, n_slots=2) == []
    c = oracle_tick_circuit()
    assert run(c, {**inputs, "en": 1})[0] is not None
    # a disabled tick with disabled slots verifies only the dummy signatures
    off, _ = tick_inputs(TICK, [])
    assert run(c, {**off, "en": 0})[0] is not None
    # one signature below the quorum of 2; with quorum 1 and the second slot disabled: fine
    one, _ = tick_inputs(TICK, sigs[:1])
    assert run(c, {**one, "en": 1})[1].startswith("oracle_tick/quorum/")
    assert run(c, {**one, "quorum": 1, "en": 1})[0] is not None
    assert po.native_oracle_tick(**{**TICK, "quorum": 1}, oracle_keys=keys, signatures=sigs[:1],
                                 n_slots=2) == []  # fmt: skip


@pytest.mark.parametrize(
    "mutate, rule",
    [
        (lambda i: {**i, "sig0": [*i["sig0"][:2], (i["sig0"][2] + 1)]}, "sig0/eddsa/check"),
        (lambda i: {**i, "p1": i["p1"] + 1}, "sig1/eddsa/check"),  # not what oracle 2 signed
        (lambda i: {**i, "market": 1}, "sig0/eddsa/check"),
        (lambda i: {**i, "o1": [0, 1] + [0] * 6}, "sig1/eddsa/check"),  # another oracle's key
        (lambda i: {**i, "o1": [0, 0, 0, 1] + [0] * 4}, "sig1/eddsa/A_on_curve"),  # unused key
        (lambda i: {**i, "o1": [1] + [0] * 7}, "order1"),  # a duplicate signer
        (lambda i: {**i, "timestamp": 1_011, "now": 1_011}, "fresh1"),  # 950 < 1011 - 60
        (lambda i: {**i, "price": 602 * P}, "median"),
        (lambda i: {**i, "price_time": 1_001}, "tick"),
        (lambda i: {**i, "now": 999}, "tick"),
    ],
)
def test_oracle_tick_each_rule_fails_at_its_label(mutate, rule):
    sigs = signed_tick(7, 2, 600 * P, [(600 * P, 1_000), (601 * P, 950)], [0, 2])
    inputs, _ = tick_inputs(TICK, sigs)
    _, label = run(oracle_tick_circuit(), {**mutate(inputs), "en": 1})
    assert label.startswith(f"oracle_tick/{rule}"), label


# --- against rollup.state: the same transactions accepted or rejected -------------------------

SX = 3  # exchange id
T0 = 1_700_000_000
S_KEYS = [DEMO_INSURANCE_KEY] + [bytes([i + 1]) * 32 for i in range(1, 4)]
S_ORACLES = [bytes([0x40 + i]) * 32 for i in range(3)]
S_MARKETS = (
    MarketParams("BTC", 8, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
    MarketParams("ETH", 9, 50_000, 100_000, 10_000, 10**9, 10**6, 10**4 * P),
)


def s_order(i, side, size, limit, *, oid=1, max_fee=100):
    return sign_order(S_KEYS[i], Order(i, 0, side, size, limit * P, max_fee, T0 + 1000, oid), SX)


def s_oracle_tick(market, price, ts, signers=(0, 1), prices=None, stamps=None):
    prices = prices or [price] * len(signers)
    stamps = stamps or [ts] * len(signers)
    sigs = tuple(
        sign_oracle_price(S_ORACLES[o], o, market, p * P, t, SX)
        for o, p, t in zip(signers, prices, stamps)
    )
    return OraclePriceTick(market, ts, price * P, sigs)


@pytest.fixture(scope="module")
def leveraged():
    """rollup.state with accounts 0..3 (10,000 quanta each); account 0 long 900 at 100,
    account 1 short 900; the time T0 + 20."""
    config = ExchangeConfig(
        exchange_id=SX,
        markets=S_MARKETS,
        oracle_keys=tuple(eddsa.prv2pub(k) for k in S_ORACLES),
        oracle_quorum=2,
        oracle_validity=60,
        account_depth=4,
        order_depth=2,
    )
    s = State(Genesis(config, (100 * P, 10 * P), T0, insurance_l1_address=0x1000))
    for i in range(4):
        s.apply(Deposit(bj.pack_point(eddsa.prv2pub(S_KEYS[i])), 0x1000 + i, 10_000))
    s.set_time(T0 + 10)
    buy, sell = s_order(0, Side.BUY, 900, 100), s_order(1, Side.SELL, 900, 100)
    s.apply(Trade(buy, sell, 900, 100 * P, 0, 0))
    s.set_time(T0 + 20)
    return s


def verdict(s: State, tx, now=None):
    """None if rollup.state accepts tx, else the rejection's class."""
    try:
        s.check(tx, now)
    except errors.RollupError as e:
        return type(e)
    return None


def pad(xs, fill=0):
    return list(xs) + [fill] * (N - len(xs))


def market_lists(s: State):
    ms = s.config.markets
    return dict(
        prices=pad(s.prices[: len(ms)]),
        mmf=pad([m.maintenance_margin for m in ms]),
        fees=pad([m.liquidation_fee for m in ms]),
        max_prices=pad([m.max_price for m in ms]),
    )


def settled(s: State, i: int):
    """Account i settled by the native twin; its TV checked against State.value_and_risk."""
    a = s.account(i)
    res, v = perp.native_funding_settlement(
        a.collateral, pad(a.positions), pad(a.funding), pad(s.funding_indices)
    )
    assert v == []
    ml = market_lists(s)
    tv = rules.total_value(res.collateral, pad(a.positions), ml["prices"])
    assert tv == s.value_and_risk(i)[0]
    return res.collateral, pad(a.positions)


def test_funding_tick_against_state(leveraged):
    s = leveraged.snapshot()
    s.set_time(T0 + 100)
    ms = s.config.markets
    base = dict(
        old=pad([m.funding_index for m in s.markets]),
        rates=pad([m.max_funding_rate for m in ms]),
        prices=pad(s.prices[: len(ms)]),
        ft=s.funding_time,
    )
    c = funding_circuit()
    seen = set()
    for ts, new, now in [
        (T0 + 100, (10 * P, -P), None),
        (T0 + 100, (10 * P + 1, 0), None),
        (T0 + 100, (0, -P - 1), None),
        (T0 + 101, (0, 0), None),
        (T0, (0, 0), None),
        (T0 + 200, (1 << 56, 0), T0 + 10**6),
        (T0 + 200, ((1 << 56) - 1, 0), T0 + 10**6),
    ]:
        tx = FundingTick(ts, new)
        ok = verdict(s, tx, now) is None
        seen.add(verdict(s, tx, now))
        case = {**base, "new": pad(new), "ts": ts, "now": s.now if now is None else now}
        assert (perp.native_funding_tick(**_fargs(case)) == []) == ok, (tx, verdict(s, tx, now))
        assert (run(c, {**case, "en": 1})[0] is not None) == ok
    assert seen == {None, errors.FundingTooLargeError, errors.TimestampError,
                    errors.OutOfBoundsError}  # fmt: skip


def test_oracle_tick_against_state(leveraged):
    s = leveraged.snapshot()
    ts = T0 + 20
    keys = list(s.config.oracle_keys)
    st0 = s.markets[0]
    seen = set()
    for tx in [
        s_oracle_tick(0, 110, ts, signers=(0, 2), prices=[100, 110]),
        s_oracle_tick(0, 110, ts, signers=(0, 1, 2), prices=[100, 110, 120]),
        s_oracle_tick(0, 121, ts, signers=(0, 1, 2), prices=[100, 110, 120]),
        s_oracle_tick(0, 111, ts, signers=(0, 1), prices=[100, 110]),
        s_oracle_tick(0, 110, ts, signers=(1,)),
        s_oracle_tick(0, 110, ts, signers=(1, 0)),
        s_oracle_tick(0, 110, ts, signers=(1, 1)),
        s_oracle_tick(0, 110, ts, stamps=[ts, ts - 61]),
        s_oracle_tick(0, 110, ts, stamps=[ts, ts - 60]),
        s_oracle_tick(0, 110, ts + 1),
        s_oracle_tick(0, 10**4 + 1, ts),
        s_oracle_tick(1, 110, ts),
    ]:
        ok = verdict(s, tx) is None
        seen.add(verdict(s, tx))
        tick = dict(exchange_id=SX, market=tx.market, timestamp=tx.timestamp, price=tx.price,
                    now=s.now, price_time=s.markets[tx.market].price_time,
                    max_price=s.config.markets[tx.market].max_price,
                    quorum=s.config.oracle_quorum, validity=s.config.oracle_validity)  # fmt: skip
        v = po.native_oracle_tick(**tick, oracle_keys=keys, signatures=tx.signatures)
        assert (v == []) == ok, (tx.price, [(x.oracle, x.price) for x in tx.signatures], v)
        if len(tx.signatures) <= 2:
            inputs, _ = tick_inputs(tick, list(tx.signatures), 2, keys)
            assert (run(oracle_tick_circuit(), {**inputs, "en": 1})[0] is not None) == ok
    assert s.markets[0] == st0
    assert seen == {None, errors.OracleMedianError, errors.OracleQuorumError,
                    errors.OracleSignersError, errors.OracleStaleError, errors.TimestampError,
                    errors.PriceOutsideLimitError}  # fmt: skip


def test_liquidation_against_state(leveraged):
    s = leveraged.snapshot()
    liq = s_order(2, Side.BUY, 1000, 95, oid=3)
    txs = [Liquidate(liq, 0, 500, 89 * P, 0, 0)]
    s2 = s.snapshot()
    s2.apply(s_oracle_tick(0, 90, T0 + 20))  # account 0: TV 1,000 < TR 4,050
    assert s2.is_liquidatable(0)
    txs2 = [
        Liquidate(liq, 0, 500, 89 * P, 0, 0),
        Liquidate(liq, 0, 500, 85 * P, 0, 0),
        Liquidate(liq, 0, 500, 86 * P, 0, 0),
        Liquidate(liq, 0, 901, 89 * P, 0, 0),
        Liquidate(liq, 0, 900, 89 * P, 0, 0),
        Liquidate(s_order(2, Side.SELL, 900, 80, oid=2), 0, 10, 89 * P, 0, 0),
        Liquidate(liq, 0, 500, 89 * P, 0, 446),
        Liquidate(liq, 0, 500, 89 * P, 5, 445),
        Liquidate(liq, 1, 500, 89 * P, 0, 0),
        Liquidate(liq, 0, 900, 86 * P, 0, 100),
    ]
    c, _ = liquidation_circuit()
    seen = set()
    for state, tx in [(s, t) for t in txs] + [(s2, t) for t in txs2]:
        why = verdict(state, tx)
        seen.add(why)
        col, pos = settled(state, tx.liquidated)
        case = dict(c=col, s=pos, **market_lists(state), market=0, side=tx.liquidator.order.side,
                    size=tx.size, price=tx.price, penalty=tx.insurance_fee)  # fmt: skip
        res, v = liq_native(case)
        assert (v == []) == (why is None), (tx, why, v)
        assert (run(c, {**liq_inputs(case), "en": 1})[0] is not None) == (why is None)
        if why is None:
            after = state.snapshot()
            after.apply(tx)
            acc = after.account(tx.liquidated)
            assert (acc.collateral, pad(acc.positions)) == (res.collateral, list(res.positions))
    assert seen == {None, errors.AccountNotLiquidatableError, errors.PriceOutsideLimitError,
                    errors.InvalidReductionError, errors.FeeTooHighError}  # fmt: skip


def test_deleverage_against_state(leveraged):
    s = leveraged.snapshot()
    s2 = s.snapshot()
    s2.apply(s_oracle_tick(0, 85, T0 + 20))  # account 0: TV = -80,000 + 76,500 = -3,500
    c, _ = deleverage_circuit()
    cases = [(s, Deleverage(0, 0, 1, 900, 100 * P))] + [
        (s2, tx)
        for tx in [
            Deleverage(0, 0, 1, 900, 85 * P),
            Deleverage(0, 0, 1, 900, 84 * P),
            Deleverage(0, 0, 1, 900, 89 * P),
            Deleverage(0, 0, 1, 901, 85 * P),
            Deleverage(0, 0, 1, 400, 85 * P),
            Deleverage(0, 0, 2, 100, 85 * P),
        ]
    ]
    seen = set()
    for state, tx in cases:
        why = verdict(state, tx)
        seen.add(why)
        col, pos = settled(state, tx.deleveraged)
        cold, posd = settled(state, tx.deleverager)
        ml = market_lists(state)
        side = int(Side.SELL if pos[tx.market] > 0 else Side.BUY)  # as the record says
        case = dict(c=col, s=pos, cd=cold, sd=posd, prices=ml["prices"],
                    max_prices=ml["max_prices"], market=tx.market, side=side, size=tx.size,
                    price=tx.price)  # fmt: skip
        res, v = del_native(case)
        assert (v == []) == (why is None), (tx, why, v)
        assert (run(c, {**with_onehot(case), "en": 1})[0] is not None) == (why is None)
        if why is None:
            after = state.snapshot()
            after.apply(tx)
            a, d = after.account(tx.deleveraged), after.account(tx.deleverager)
            assert (a.collateral, pad(a.positions)) == (res.collateral, list(res.positions))
            assert (d.collateral, pad(d.positions)) == (
                res.collateral_deleverager,
                list(res.positions_deleverager),
            )
    assert seen == {None, errors.AccountNotDeleveragableError, errors.UnfairDeleverageError,
                    errors.InvalidReductionError}  # fmt: skip


def test_margin_rule_against_state(leveraged):
    """Account 0 (long 900 at 100, TV 10,000) trades; rollup.state's margin verdict for it
    equals the gadget's on the settled account before and the moved account after."""
    s = leveraged.snapshot()
    s.apply(s_oracle_tick(0, 95, T0 + 20))  # TV 5,500, TRi 8,550: below initial margin
    circuit, _ = margin_circuit()
    ml = market_lists(s)
    oid = iter(range(10, 100))
    seen = set()
    for side, size, price in [(0, 10, 95), (1, 500, 50), (1, 500, 95), (1, 900, 95),
                              (1, 1000, 95), (1, 100, 94), (0, 1, 95)]:  # fmt: skip
        mine = s_order(0, side, 2000, 1 if side else 1000, oid=next(oid))
        other = s_order(2, 1 - side, 2000, 1000 if side else 1, oid=next(oid))
        why = verdict(s, Trade(mine, other, size, price * P, 0, 0))
        assert why in (None, errors.InsufficientMarginError)
        seen.add(why)
        cb, sb = settled(s, 0)
        cash = rules.trade_cash(size, price * P)
        ca = cb + (cash[1] if side else -cash[0])
        sa = list(sb)
        sa[0] += -size if side else size
        case = dict(cb=cb, ca=ca, sb=sb, sa=sa, prices=ml["prices"], mmf=ml["mmf"],
                    imf=pad([m.initial_margin for m in s.config.markets]))  # fmt: skip
        ok = margin_ok_rules(case)
        # the other side (account 2, 10,000 quanta, flat) always passes here
        assert ok == (why is None), (side, size, price, why)
        assert (run(circuit, {**case, "en": 1})[0] is not None) == ok
    assert seen == {None, errors.InsufficientMarginError}
