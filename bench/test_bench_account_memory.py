"""Gate counts of the offline memory checker (``circuits.gadgets.account_memory``) on layout
v2's accounts tree (depth 8 = 65,536 accounts, spec section 2's leaf, 4 markets): each batch
shape split into routing (the sort and the compaction networks), the sort's order checks, the
chain checks and carries, and the Merkle units (leaf hashing, paths, the rest); then the
memory cost per trade for T trade slots (2 accounts each: 2T accesses) and D = T/4, T/2, T
distinct accounts, against the per-slot baseline (each access its own read and write: two
leaves and one 4-ary update path per account a trade touches).

Two leaf variants: ``plain`` hashes every leaf in full (old: P5 + 3 P4, new: P5 + 3 P4);
``shared funding`` uses one P4(global funding indices) per batch for the written leaves (spec
section 2: every written account holds the current indices), a write P5 + 2 P4.

Run: ``pytest bench/test_bench_account_memory.py -s`` (prints the tables, writes
``bench/out/account_memory_gates.json``). Builders and compile only (no witness): about a minute.
"""

from __future__ import annotations

import json
from pathlib import Path

from circuits.builder import CircuitBuilder, gate_report
from circuits.gadgets.account_memory import AccountMemory, spec2_leaf

DEPTH = 8
TRADES = (16, 32, 64)

PARTS = {
    "routing": (
        "account_memory/log",
        "account_memory/sort/benes",
        "account_memory/compact/butterfly",
    ),
    "sort order": ("account_memory/sort/order",),
    "chain": ("account_memory/chain", "account_memory/compact/overflow"),
    "unit leaves": ("account_memory/units/leaf",),
    "unit paths": ("account_memory/units/path",),
    "top cache": ("account_memory/units/top", "account_memory/top"),
    "unit rest": ("account_memory/units",),
}


def _split(report: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(PARTS, 0)
    for label, n in report.items():
        if not label.startswith("account_memory"):
            continue
        part = next(p for p, prefixes in PARTS.items() if label.startswith(prefixes))
        out[part] += n
    return out


def measure(
    n_accesses: int, n_units: int, *, shared_funding: bool = False, top_levels: int | None = None
) -> dict[str, int]:
    """The gadget's gates for one shape, split into PARTS (enabled, index, is_new and the
    written fields are the caller's private inputs, as a batch slot's would be)."""
    b = CircuitBuilder()
    root = b.private_input("old_root")
    fh = b.private_input("funding_hash") if shared_funding else None
    mem = AccountMemory(b, n_accesses=n_accesses, n_units=n_units, depth=DEPTH,
                        leaf=spec2_leaf(new_funding_hash=fh), top_levels=top_levels)  # fmt: skip
    for k in range(n_accesses):
        acc = mem.access(b.private_input(f"en{k}"), index=b.private_input(f"idx{k}"),
                         is_new=b.private_input(f"new{k}"))  # fmt: skip
        mem.write(acc, b.private_inputs(f"after{k}", mem.leaf.dynamic_width))
    mem.finish(root)
    parts = _split(gate_report(b.compile().cs, 3))
    parts["total"] = sum(parts.values())
    parts["top_levels"] = mem.top_levels
    return parts


def test_account_memory_gates():
    out: dict[str, object] = {"depth": DEPTH, "leaf": "layout v2 section 2, 4 markets"}
    unit = {}
    for shared in (False, True):
        one = measure(2, 1, shared_funding=shared, top_levels=0)
        two = measure(2, 2, shared_funding=shared, top_levels=0)
        unit["shared funding" if shared else "plain"] = two["total"] - one["total"]
    out["unit_gates"] = unit
    shapes = []
    for t in TRADES:
        for d in (t // 4, t // 2, t):
            parts = measure(2 * t, d)
            shared = measure(2 * t, d, shared_funding=True)["total"]
            flat = measure(2 * t, d, top_levels=0)["total"]
            shapes.append({"trades": t, "accesses": 2 * t, "units": d, "parts": parts,
                           "total_shared_funding": shared, "total_without_top_cache": flat,
                           "per_trade_without_top_cache": flat / t,
                           "per_trade": parts["total"] / t,
                           "per_trade_shared_funding": shared / t,
                           "per_slot_baseline_per_trade": 2 * unit["plain"]})  # fmt: skip
    out["shapes"] = shapes
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/account_memory_gates.json").write_text(json.dumps(out, indent=1))

    print(f"\nMerkle unit (depth {DEPTH}): {unit['plain']:,} gates plain, "
          f"{unit['shared funding']:,} with the shared funding hash")  # fmt: skip
    cols = list(PARTS) + ["total"]
    print(f"{'T':>3} {'2T':>4} {'D':>3} {'L':>2} " + " ".join(f"{c:>11}" for c in cols)
          + f" {'per trade':>9} {'shared fh':>9} {'no cache':>9} {'per slot':>9}")  # fmt: skip
    for s in shapes:
        p = s["parts"]
        print(f"{s['trades']:>3} {s['accesses']:>4} {s['units']:>3} {p['top_levels']:>2} "
              + " ".join(f"{p[c]:>11,}" for c in cols)
              + f" {s['per_trade']:>9,.0f} {s['per_trade_shared_funding']:>9,.0f}"
              f" {s['per_trade_without_top_cache']:>9,.0f}"
              f" {s['per_slot_baseline_per_trade']:>9,}")  # fmt: skip
        assert s["per_trade"] < s["per_slot_baseline_per_trade"]
