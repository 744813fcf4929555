"""Gates per transaction slot of the batch circuit (``circuits.state_transition``, layout v2 with
the offline account memory of ``circuits.gadgets.account_memory``), broken down as Loopring
publishes it: signatures (EdDSA-Poseidon), order-slot Merkle paths, the account memory (the
units' leaf hashes and 4-ary paths, the access log with its sort, compaction and chain checks,
the top cache), message hashes, range checks, the pubdata binding, the type rules (liquidation,
funding tick, deleverage, oracle), the rest, and the batch level.

Since the memory, every account a batch touches is loaded and stored once per batch: the slots
hold no account path nor leaf hash, and the memory's cost (per access: the routing and the
chain checks; per unit, i.e. distinct account: two leaves and one path) is shared by the
batch. So a slot's cost is the batch's total over its slots, ``total / T``, with each slot's own
gates (the average of its ``slot<i>/...`` labels), the memory's ``account_memory/...`` and the
batch level (``batch/...``: the root, config, market and oracle-key openings, account 0's
insurance update, the final root; the public rows) amortised over the T slots. Shapes: (T, D) =
(8, 5) (2^19) and (16, 9) (2^20), the default ``n_units`` = T // 2 + 1, and (16, 8); account
depth 8, order depth 2 (4-ary levels), 3 markets. ``marginal_per_slot`` is the growth from
(8, 5) to (16, 9) per slot added.

``used_by_type``: what each type exercises (``USED_BY``: the slot parts it needs, what a
type-specialised slot would cost) plus its share of the memory: the memory per access times
its accesses (2 for trades, transfers, liquidations and deleverages: the memory per slot; 1
for deposits, withdrawals and forced withdrawals; 0 for the funding and oracle ticks). Every
slot is universal, so every slot costs ``per_slot`` whatever its type.

Before the memory (E5's universal slot, each slot updating its two accounts' leaves and
paths): 78,651 gates a slot plus 47,969 per batch (``BEFORE_MEMORY_SLOT``); E1's layout v2 slot
72,670 (``E1_SLOT``); the first cut (binary tree of depth 16) 82,735 a trade. Run:
``pytest bench/test_bench_stf.py -s`` (prints a table, writes ``bench/out/stf_gates.json``;
builders and compiles only, about a minute). Nothing is asserted about the issue's 40,000
target (the figures are the point).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from circuits.builder import gate_report
from circuits.state_transition import BatchShape, build_batch_builder

FIRST_CUT_PER_TRADE = 82_735
E1_SLOT = 72_670  # layout v2 with the five first slot types
BEFORE_MEMORY_SLOT = 78_651  # E5's universal slot with per-slot account paths and leaves
SHAPES = ((8, 5), (16, 9), (16, 8))  # (T, D)
ACCOUNT_DEPTH, ORDER_DEPTH, N_MARKETS = 8, 2, 3
_RANGE = re.compile(r"^(range|split|srange|assert_le|assert_lt|abs|le|lt|bits)\d+$|^div_ceil$")

# the parts (second label component) each type needs in a specialised slot
_COMMON = "misc type insurance rules accounts acct_a settle_a collateral_a write_a pubdata prices"
_FILL = "acct_b fill cash settle_b position_a position_b collateral_b write_b"
_ORDER_A = "orders_a limit_a fee_a expiry_a msg_a sig_a margin_a"
_ORDER_B = "orders_b limit_b fee_b expiry_b msg_b sig_b margin_b"
USED_BY = {
    "trade": set(f"{_COMMON} {_FILL} {_ORDER_A} {_ORDER_B}".split()),
    "deposit": set(f"{_COMMON} refusal next_account".split()),
    "withdrawal": set(f"{_COMMON} msg_a sig_a margin_a".split()),
    "transfer": set(f"{_COMMON} acct_b msg_a sig_a settle_b collateral_b margin_a write_b".split()),
    "forced": set(f"{_COMMON} margin_a refusal".split()),
    "funding": set("misc type funding running pubdata".split()),
    "oracle": set("misc type fill sig_a sig_b oracle oracle_close running pubdata".split()),
    "liquidate": set(f"{_COMMON} {_FILL} {_ORDER_A} liquidate".split()),
    "deleverage": set(f"{_COMMON} {_FILL} deleverage".split()),
}
# accesses of the account memory a type enables (A and B for two-account types)
ACCESSES = {"trade": 2, "deposit": 1, "withdrawal": 1, "transfer": 2, "forced": 1,
            "funding": 0, "oracle": 0, "liquidate": 2, "deleverage": 2}  # fmt: skip
TYPE_RULES = ("liquidate", "funding", "deleverage", "oracle", "oracle_close")

MEM_LEAVES = "account memory: unit leaves"
MEM_PATHS = "account memory: unit paths"
MEM_UNITS = "account memory: unit flags, index, empty"
MEM_SORT = "account memory: log, sort, compaction, chains"
MEM_TOP = "account memory: top cache"
BATCH = "batch level, amortized (roots, config, markets, account 0)"
CATEGORIES = (
    "signatures",
    "merkle paths (orders)",
    MEM_LEAVES,
    MEM_PATHS,
    MEM_UNITS,
    MEM_SORT,
    MEM_TOP,
    "message hashes",
    "range checks",
    "pubdata (words, L1 address bytes, deposit key)",
    "type rules (liquidate, funding, deleverage, oracle)",
    "rest",
    BATCH,
)
MEMORY = (MEM_LEAVES, MEM_PATHS, MEM_UNITS, MEM_SORT, MEM_TOP)


def memory_category(label: str) -> str:
    """The account-memory category of a label under ``account_memory/``."""
    parts = label.split("/")
    sub = parts[1] if len(parts) > 1 else ""
    if sub == "top" or (sub == "units" and parts[2:3] == ["top"]):
        return MEM_TOP
    if sub == "units":
        return {"leaf": MEM_LEAVES, "path": MEM_PATHS}.get(parts[2] if len(parts) > 2 else "",
                                                           MEM_UNITS)  # fmt: skip
    return MEM_SORT  # log, sort, chain, compact


def category(label: str) -> str:
    """The category of one gate from its full label."""
    parts = label.split("/")
    if parts[0] == "account_memory":
        return memory_category(label)
    if parts[0] == "public":
        slot_word = len(parts) > 1 and re.fullmatch(r"s\d+", parts[1]) is not None
        return "pubdata (words, L1 address bytes, deposit key)" if slot_word else BATCH
    if not parts[0].startswith("slot"):
        return BATCH
    part = parts[1] if len(parts) > 1 else ""
    if "account_memory" in parts:  # a slot's access (acct_a, acct_b): the log's rows
        return MEM_SORT
    if part.startswith("sig_"):
        return "signatures"
    if part.startswith("msg_"):
        return "message hashes"
    if part.startswith("orders") and any(p == "path" or p.startswith("quad_update") for p in parts):
        return "merkle paths (orders)"
    if part == "pubdata":
        return "pubdata (words, L1 address bytes, deposit key)"
    if part in TYPE_RULES:
        return "type rules (liquidate, funding, deleverage, oracle)"
    if any(_RANGE.match(p) for p in parts):
        return "range checks"
    return "rest"


def breakdown(n_slots: int, n_units: int) -> dict:
    """The gates of shape (n_slots, n_units): total, per slot (total / T) by category, the
    slot parts (average over the slots), the memory and batch level, the use by type."""
    shape = BatchShape(n_slots, ACCOUNT_DEPTH, ORDER_DEPTH, N_MARKETS, n_units)
    cs = build_batch_builder(shape).compile().cs
    full = gate_report(cs, 64)
    totals = dict.fromkeys(CATEGORIES, 0)
    parts: dict[str, int] = {}
    memory: dict[str, int] = {}
    batch: dict[str, int] = {}
    for label, n in full.items():
        c = category(label)
        totals[c] += n
        head = label.split("/")
        if c in MEMORY:  # the memory's labels, and the slots' access rows
            key = "/".join(head[:3]) if head[0] == "account_memory" else "slot<i>/access"
            memory[key] = memory.get(key, 0) + n
        if head[0].startswith("slot"):
            part = head[1] if len(head) > 1 else "misc"
            parts[part] = parts.get(part, 0) + n
        elif head[0] != "account_memory":
            key = "/".join(head[:2]) if head[0] == "batch" else "public"
            batch[key] = batch.get(key, 0) + n
    t = n_slots
    mem_total = sum(totals[c] for c in MEMORY)
    per_access = mem_total / shape.n_accesses
    part_avg = {p: round(n / t, 1) for p, n in parts.items()}
    used = {}
    for typ, ps in USED_BY.items():
        own = sum(n for p, n in parts.items() if p in ps) / t
        share = ACCESSES[typ] * per_access
        used[typ] = {"slot_parts": round(own), "memory": round(share), "total": round(own + share)}
    slot_own = sum(parts.values()) / t
    return {
        "shape": {**shape.__dict__, "n_accesses": shape.n_accesses},
        "total_gates": cs.n_gates,
        "gates_per_slot": round(cs.n_gates / t, 1),
        "category_totals": totals,
        "per_slot": {c: round(n / t, 1) for c, n in totals.items()},
        "slot_gates": sum(parts.values()),  # every slot<i>/... label
        "slot_own_gates": round(slot_own, 1),  # the slot's own labels, averaged
        "memory_gates": mem_total,
        "memory_per_slot": round(mem_total / t, 1),
        "memory_per_access": round(per_access, 1),
        "memory_parts": memory,
        "batch_level_gates": totals[BATCH],
        "batch_level_per_slot": round(totals[BATCH] / t, 1),
        "batch_level": batch,  # batch/... by component, and the public rows
        "parts": part_avg,
        "used_by_type": used,
    }


def _table(shapes: list[dict]) -> str:
    heads = [f"T={s['shape']['n_slots']},D={s['shape']['n_units']}" for s in shapes]
    lines = [f"{'per slot':<60}" + "".join(f"{h:>13}" for h in heads)]

    def row(name: str, values) -> None:
        lines.append(f"{name:<60}" + "".join(f"{v:>13,.0f}" for v in values))

    row("total gates", [s["total_gates"] for s in shapes])
    row("gates per slot (total / T)", [s["gates_per_slot"] for s in shapes])
    for c in CATEGORIES:
        row(f"  {c}", [s["per_slot"][c] for s in shapes])
    row("  (account memory, all)", [s["memory_per_slot"] for s in shapes])
    lines.append("used by type (slot parts + memory share)")
    for typ in USED_BY:
        row(f"  {typ}", [s["used_by_type"][typ]["total"] for s in shapes])
    return "\n".join(lines)


def test_gates_per_slot():
    shapes = [breakdown(t, d) for t, d in SHAPES]
    by = {(s["shape"]["n_slots"], s["shape"]["n_units"]): s for s in shapes}
    out = {
        "account_depth": ACCOUNT_DEPTH,
        "order_depth": ORDER_DEPTH,
        "n_markets": N_MARKETS,
        "first_cut_per_trade": FIRST_CUT_PER_TRADE,
        "e1_slot": E1_SLOT,
        "before_memory_slot": BEFORE_MEMORY_SLOT,
        "marginal_per_slot": {
            "from": [8, 5],
            "to": [16, 9],
            "gates": round((by[16, 9]["total_gates"] - by[8, 5]["total_gates"]) / 8, 1),
        },
        "shapes": shapes,
    }
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/stf_gates.json").write_text(json.dumps(out, indent=1))
    print("\n" + _table(shapes))
    print(f"marginal per slot (8, 5) -> (16, 9): {out['marginal_per_slot']['gates']:,.0f}")
    for s in shapes:
        t = s["shape"]["n_slots"]
        # every gate is in exactly one category, the memory's in one of its five
        assert sum(s["category_totals"].values()) == s["total_gates"]
        assert sum(s["memory_parts"].values()) == s["memory_gates"]
        # the slots' labels, the memory's and the batch level's (public rows included)
        mem_labels = sum(n for k, n in s["memory_parts"].items() if k.startswith("account_"))
        assert s["slot_gates"] + mem_labels + sum(s["batch_level"].values()) == s["total_gates"]
        assert s["batch_level"]["public"] == 4 + 3 * t
        assert s["batch_level_gates"] == sum(s["batch_level"].values()) - 3 * t  # slot words
        # the slots hold no account path nor leaf hash any more: the memory's units do
        assert not {"leaf_a", "leaf_b"} & set(s["parts"])
        assert not any("path" in k or "leaf" in k for k in s["parts"] if k.startswith("acct"))
        assert s["parts"]["acct_a"] + s["parts"]["acct_b"] <= 3  # the access rows only
        assert s["memory_parts"]["account_memory/units/path"] > 0
        assert s["shape"]["n_accesses"] == 2 * t
        # a trade's share of the memory is the memory per slot; no type needs more than the
        # universal slot's own gates
        used = s["used_by_type"]
        assert used["trade"]["memory"] == round(s["memory_per_slot"])
        assert max(u["slot_parts"] for u in used.values()) <= s["slot_own_gates"] + 1
        assert used["funding"]["memory"] == used["oracle"]["memory"] == 0
