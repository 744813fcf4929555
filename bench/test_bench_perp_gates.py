"""Gate counts of the perpetual-rule gadgets (``circuits.gadgets.perp``, ``perp_oracle``): each
gadget alone on private inputs, 4 markets, with ``enabled`` a private boolean (what a universal
batch slot pays) and with the constant 1 (a slot of that one type), broken down by rule label.
The oracle tick is measured with 1, 2 and MAX_ORACLES = 8 signature slots (EdDSA dominates).

Run: ``pytest bench/test_bench_perp_gates.py -s`` (prints the table, writes
``bench/out/perp_gates.json``). Builders only (no compile, no witness): seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from circuits.builder import CircuitBuilder, gate_report
from circuits.gadgets import perp
from circuits.gadgets import perp_oracle as po

N = 4


def _gates(build: Callable[[CircuitBuilder, object], None], variable_enable: bool):
    b = CircuitBuilder()
    en = b.bool_input("en") if variable_enable else 1
    start = b.n_gates
    build(b, en)
    cs = b.compile().cs
    rep = gate_report(cs, 2)
    rep.pop("(unlabelled)", None)  # the enable flag's boolean gate
    return b.n_gates - start, rep


def _funding(b, en):
    v = {k: b.private_inputs(k, N) for k in ("old", "new", "rates", "prices")}
    perp.funding_tick(b, old_indices=v["old"], new_indices=v["new"], max_rates=v["rates"],
                      prices=v["prices"], funding_time=b.private_input("ft"),
                      timestamp=b.private_input("ts"), now=b.private_input("now"),
                      enabled=en)  # fmt: skip


def _settle(b, en):
    s, f, g = (b.private_inputs(k, N) for k in "sfg")
    perp.funding_settlement(b, collateral=b.private_input("c"), positions=s, cached=f, indices=g,
                            enabled=en)  # fmt: skip


def _cash(b, en):
    perp.trade_cash(b, b.private_input("size"), b.private_input("price"))


def _margin(b, en):
    sb, sa, p, mmf, imf = (b.private_inputs(k, N) for k in ("sb", "sa", "p", "mmf", "imf"))
    perp.margin_rule(b, collateral_before=b.private_input("cb"), positions_before=sb,
                     collateral_after=b.private_input("ca"), positions_after=sa, prices=p,
                     mmf=mmf, imf=imf, enabled=en)  # fmt: skip


def _margin_single(b, en):
    sb, p, mmf, imf, e = (b.private_inputs(k, N) for k in ("sb", "p", "mmf", "imf", "e"))
    perp.margin_rule_single(b, collateral_before=b.private_input("cb"), positions_before=sb,
                            collateral_after=b.private_input("ca"), market=e,
                            delta=b.private_input("delta"), prices=p, mmf=mmf, imf=imf,
                            enabled=en)  # fmt: skip


def _free(b, en):
    s, p, imf = (b.private_inputs(k, N) for k in ("s", "p", "imf"))
    perp.free_collateral(b, collateral=b.private_input("c"), positions=s, prices=p, imf=imf,
                         enabled=en)  # fmt: skip


def _liquidation(b, en):
    s, p, mmf, fees, mx, e = (b.private_inputs(k, N) for k in ("s", "p", "mmf", "f", "mx", "e"))
    perp.liquidation(b, collateral=b.private_input("c"), positions=s, prices=p, mmf=mmf,
                     liquidation_fees=fees, max_prices=mx, market=e,
                     liquidator_side=b.private_input("side"), size=b.private_input("size"),
                     price=b.private_input("price"), penalty=b.private_input("pen"),
                     enabled=en)  # fmt: skip


def _deleverage(b, en):
    s, sd, p, mx, e = (b.private_inputs(k, N) for k in ("s", "sd", "p", "mx", "e"))
    perp.deleverage(b, collateral=b.private_input("c"), positions=s,
                    collateral_deleverager=b.private_input("cd"), positions_deleverager=sd,
                    prices=p, max_prices=mx, market=e,
                    deleveraged_side=b.private_input("side"), size=b.private_input("size"),
                    price=b.private_input("price"), enabled=en)  # fmt: skip


def _oracle(n_slots: int, signatures: bool = True):
    def build(b, en):
        names = ("exchange_id", "market", "timestamp", "price", "now", "price_time",
                 "max_price", "quorum", "validity")  # fmt: skip
        kw = {k: b.private_input(k) for k in names}
        slots = [
            po.OracleSlot(
                b.private_input(f"en{j}"),
                b.private_inputs(f"o{j}", po.MAX_ORACLES),
                b.private_input(f"p{j}"),
                b.private_input(f"t{j}"),
                *b.private_inputs(f"sig{j}", 3),
            )  # fmt: skip
            for j in range(n_slots)
        ]
        if signatures:
            keys = [tuple(b.private_inputs(f"key{k}", 2)) for k in range(po.MAX_ORACLES)]
            po.oracle_price_tick(b, oracle_keys=keys, slots=slots, enabled=en, **kw)
        else:
            del kw["exchange_id"], kw["market"]
            po.oracle_rules(b, slots=slots, enabled=en, **kw)

    return build


GADGETS = {
    "funding_tick (4 markets)": _funding,
    "funding_settlement (4 markets)": _settle,
    "trade_cash": _cash,
    "margin_rule (4 markets)": _margin,
    "margin_rule_single (4 markets, one moves)": _margin_single,
    "free_collateral (4 markets)": _free,
    "liquidation (4 markets)": _liquidation,
    "deleverage (4 markets)": _deleverage,
    "oracle_rules (8 slots, no signatures)": _oracle(8, signatures=False),
    "oracle_price_tick (1 slot)": _oracle(1),
    "oracle_price_tick (2 slots)": _oracle(2),
    "oracle_price_tick (8 slots)": _oracle(8),
}


def test_perp_gadget_gates():
    out = {}
    for name, build in GADGETS.items():
        gated, parts = _gates(build, True)
        plain, _ = _gates(build, False)
        out[name] = {"gates_enabled_variable": gated, "gates_enabled_constant": plain,
                     "parts": parts}  # fmt: skip
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/perp_gates.json").write_text(json.dumps(out, indent=1))
    width = max(map(len, out))
    print(f"\n{'gadget':<{width}}  enabled=var  enabled=1")
    for name, r in out.items():
        var, const = r["gates_enabled_variable"], r["gates_enabled_constant"]
        print(f"{name:<{width}}  {var:>11,}  {const:>9,}")
        assert const <= var
