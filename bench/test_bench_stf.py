"""Gates per transaction slot of the batch circuit (``circuits.state_transition``, layout v2 with
the offline account memory of ``circuits.gadgets.account_memory`` and the signature table of
``circuits.gadgets.signature_table``), broken down as Loopring publishes it: signatures (the
table's EdDSA-Poseidon units, its routing and checks, the slots' requests), order-slot Merkle
paths, the account memory (the units' leaf hashes and 4-ary paths, the access log with its sort,
compaction and chain checks, the top cache), message hashes, range checks, the pubdata binding,
the type rules (liquidation, funding tick, deleverage, oracle), the rest, and the batch level.

Every account a batch touches is loaded and stored once per batch (the memory), and every
distinct signed message is verified once per batch (the table: S = ``n_signatures`` EdDSA units,
``signatures/unit<u>/eddsa/...``, to which a Beneš network, ``signatures/benes``, routes the
slots' two requests each, checked by ``signatures/chain``). A slot holds no account path, leaf
hash nor EdDSA verification: its ``sig_a`` / ``sig_b`` parts are its *requests* (the message and
key selection, the oracle message hash). So a slot's cost is the batch's total over its slots,
``total / T``: each slot's own gates (the average of its ``slot<i>/...`` labels), the memory's
``account_memory/...``, the table's ``signatures/...`` and the batch level (``batch/...``: the
root, config, market and oracle-key openings, account 0's insurance update, the final root; the
public rows) amortised over the T slots.

Shapes (T, D, S): (8, 5, 9) (2^19), (16, 9, 17) and (16, 8, 17) (2^20), (20, 11, 21) (2^20, the
largest that fits), the defaults D = ``default_units(T)`` = T // 2 + 1 and S =
``default_signatures(T)`` = T + 1, and (16, 9, 25) (S = 1.5 T + 1, for comparison: what 8 more
units cost); account depth 8, order depth 2 (4-ary levels), 3 markets. ``marginal_per_slot`` is
the growth from (8, 5, 9) to (16, 9, 17) per slot added.

``used_by_type``: what each type exercises (``USED_BY``: the slot parts it needs, what a
type-specialised slot would cost) plus its shares of the memory and of the table. The memory's
share: the memory over the slots' 2 T accesses, times the type's accesses (``ACCESSES``: 2 for
trades, transfers, liquidations and deleverages, i.e. the memory per slot; 1 for deposits,
withdrawals and forced withdrawals; 0 for the funding and oracle ticks). The table's share: the
table (units, routing and checks) over the slots' 2 T requests, times the type's signed requests
(``REQUESTS``: 2 for trades and oracle ticks, i.e. the table per slot; 1 for withdrawals,
transfers and liquidations; 0 for the others, whose requests are the free dummy triple). Every
slot is universal, so every slot costs ``per_slot`` whatever its type.

Before the table (two EdDSA units in every slot, ``BEFORE_TABLE``): 451,461 gates at (8, 5),
56,433 a slot, a trade 45,301; 832,119 at (16, 9), 52,007 a slot, a trade 43,875; 812,864 at
(16, 8), 50,804 a slot, a trade 42,671. Before the memory (E5's universal slot, each slot
updating its two accounts' leaves and paths): 78,651 gates a slot plus 47,969 per batch
(``BEFORE_MEMORY_SLOT``); E1's layout v2 slot 72,670 (``E1_SLOT``); the first cut (binary tree of
depth 16) 82,735 a trade. Run: ``pytest bench/test_bench_stf.py -s`` (prints a table, writes
``bench/out/stf_gates.json``; builders and compiles only, a few minutes). Nothing is asserted
about the issue's 40,000 target (the figures are the point).
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
# before the signature table (two EdDSA units a slot), by (T, D): total, per slot, a trade
BEFORE_TABLE = {
    (8, 5): {"total_gates": 451_461, "per_slot": 56_433, "trade": 45_301},
    (16, 9): {"total_gates": 832_119, "per_slot": 52_007, "trade": 43_875},
    (16, 8): {"total_gates": 812_864, "per_slot": 50_804, "trade": 42_671},
}
SHAPES = ((8, 5, 9), (16, 9, 17), (16, 8, 17), (20, 11, 21), (16, 9, 25))  # (T, D, S)
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
# signed requests a type makes of the signature table (the others request the free triple)
REQUESTS = {"trade": 2, "deposit": 0, "withdrawal": 1, "transfer": 1, "forced": 0,
            "funding": 0, "oracle": 2, "liquidate": 1, "deleverage": 0}  # fmt: skip
TYPE_RULES = ("liquidate", "funding", "deleverage", "oracle", "oracle_close")

SIG_UNITS = "signatures: units (EdDSA, once per distinct message)"
SIG_TABLE = "signatures: table routing and checks"
SIG_REQUESTS = "signatures: requests (message, key selection)"
MEM_LEAVES = "account memory: unit leaves"
MEM_PATHS = "account memory: unit paths"
MEM_UNITS = "account memory: unit flags, index, empty"
MEM_SORT = "account memory: log, sort, compaction, chains"
MEM_TOP = "account memory: top cache"
BATCH = "batch level, amortized (roots, config, markets, account 0)"
CATEGORIES = (
    SIG_UNITS,
    SIG_TABLE,
    SIG_REQUESTS,
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
TABLE = (SIG_UNITS, SIG_TABLE)  # the batch-level signature table (the requests are the slots')


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


def table_key(label: str) -> str:
    """The table component of a label under ``signatures/``: ``signatures/unit<u>``, or the
    routing and checks (``signatures/benes``, ``signatures/chain``, anything else)."""
    parts = label.split("/")
    return "/".join(parts[:2]) if len(parts) > 1 else "signatures"


def category(label: str) -> str:
    """The category of one gate from its full label."""
    parts = label.split("/")
    if parts[0] == "account_memory":
        return memory_category(label)
    if parts[0] == "signatures":
        unit = len(parts) > 1 and re.fullmatch(r"unit\d+", parts[1]) is not None
        return SIG_UNITS if unit else SIG_TABLE
    if parts[0] == "public":
        slot_word = len(parts) > 1 and re.fullmatch(r"s\d+", parts[1]) is not None
        return "pubdata (words, L1 address bytes, deposit key)" if slot_word else BATCH
    if not parts[0].startswith("slot"):
        return BATCH
    part = parts[1] if len(parts) > 1 else ""
    if "account_memory" in parts:  # a slot's access (acct_a, acct_b): the log's rows
        return MEM_SORT
    if part.startswith("sig_"):
        return SIG_REQUESTS
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


def breakdown(n_slots: int, n_units: int, n_signatures: int) -> dict:
    """The gates of shape (T, D, S): total, per slot (total / T) by category, the slot parts
    (average over the slots), the memory, the signature table and the batch level, the use by
    type."""
    shape = BatchShape(n_slots, ACCOUNT_DEPTH, ORDER_DEPTH, N_MARKETS, n_units, n_signatures)
    cs = build_batch_builder(shape).compile().cs
    full = gate_report(cs, 64)
    totals = dict.fromkeys(CATEGORIES, 0)
    parts: dict[str, int] = {}
    memory: dict[str, int] = {}
    table: dict[str, int] = {}
    batch: dict[str, int] = {}
    for label, n in full.items():
        c = category(label)
        totals[c] += n
        head = label.split("/")
        if c in MEMORY:  # the memory's labels, and the slots' access rows
            key = "/".join(head[:3]) if head[0] == "account_memory" else "slot<i>/access"
            memory[key] = memory.get(key, 0) + n
        if head[0] == "signatures":
            key = table_key(label)
            table[key] = table.get(key, 0) + n
        elif head[0].startswith("slot"):
            part = head[1] if len(head) > 1 else "misc"
            parts[part] = parts.get(part, 0) + n
        elif head[0] != "account_memory":
            key = "/".join(head[:2]) if head[0] == "batch" else "public"
            batch[key] = batch.get(key, 0) + n
    t = n_slots
    mem_total = sum(totals[c] for c in MEMORY)
    table_total = sum(totals[c] for c in TABLE)
    per_access = mem_total / (2 * t)  # a slot's access (the log's padding rows shared out)
    per_request = table_total / (2 * t)  # a slot's request (the free rows shared out)
    part_avg = {p: round(n / t, 1) for p, n in parts.items()}
    used = {}
    for typ, ps in USED_BY.items():
        own = sum(n for p, n in parts.items() if p in ps) / t
        mem_share, sig_share = ACCESSES[typ] * per_access, REQUESTS[typ] * per_request
        used[typ] = {
            "slot_parts": round(own),
            "memory": round(mem_share),
            "signatures": round(sig_share),
            "total": round(own + mem_share + sig_share),
        }
    slot_own = sum(parts.values()) / t
    units = {k: n for k, n in table.items() if re.fullmatch(r"signatures/unit\d+", k)}
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
        "table_gates": table_total,  # the signature table: units, routing and checks
        "table_per_slot": round(table_total / t, 1),
        "table_per_request": round(per_request, 1),
        "table_unit_gates": sorted(set(units.values())),  # one EdDSA verification
        "table_parts": {
            "units": sum(units.values()),
            **{k: n for k, n in table.items() if k not in units},
        },
        "signatures_per_slot": round((table_total + totals[SIG_REQUESTS]) / t, 1),
        "batch_level_gates": totals[BATCH],
        "batch_level_per_slot": round(totals[BATCH] / t, 1),
        "batch_level": batch,  # batch/... by component, and the public rows
        "parts": part_avg,
        "used_by_type": used,
    }


def _name(s: dict) -> str:
    shape = s["shape"]
    return f"T={shape['n_slots']},D={shape['n_units']},S={shape['n_signatures']}"


def _table(shapes: list[dict]) -> str:
    lines = [f"{'per slot':<60}" + "".join(f"{_name(s):>16}" for s in shapes)]

    def row(name: str, values) -> None:
        cells = ("" if v is None else f"{v:,.0f}" for v in values)
        lines.append(f"{name:<60}" + "".join(f"{c:>16}" for c in cells))

    def before(key: str) -> list:
        shapes_td = ((s["shape"]["n_slots"], s["shape"]["n_units"]) for s in shapes)
        return [BEFORE_TABLE.get(td, {}).get(key) for td in shapes_td]

    row("total gates", [s["total_gates"] for s in shapes])
    row("  before the table", before("total_gates"))
    row("gates per slot (total / T)", [s["gates_per_slot"] for s in shapes])
    row("  before the table", before("per_slot"))
    for c in CATEGORIES:
        row(f"  {c}", [s["per_slot"][c] for s in shapes])
    row("  (signatures, all)", [s["signatures_per_slot"] for s in shapes])
    row("  (account memory, all)", [s["memory_per_slot"] for s in shapes])
    lines.append("used by type (slot parts + memory share + table share)")
    for typ in USED_BY:
        row(f"  {typ}", [s["used_by_type"][typ]["total"] for s in shapes])
    row("  trade before the table", before("trade"))
    return "\n".join(lines)


def test_gates_per_slot():
    shapes = [breakdown(t, d, s) for t, d, s in SHAPES]
    by = {(s["shape"]["n_slots"], s["shape"]["n_units"], s["shape"]["n_signatures"]): s
          for s in shapes}  # fmt: skip
    out = {
        "account_depth": ACCOUNT_DEPTH,
        "order_depth": ORDER_DEPTH,
        "n_markets": N_MARKETS,
        "first_cut_per_trade": FIRST_CUT_PER_TRADE,
        "e1_slot": E1_SLOT,
        "before_memory_slot": BEFORE_MEMORY_SLOT,
        "before_table": [{"n_slots": t, "n_units": d, **v} for (t, d), v in BEFORE_TABLE.items()],
        "marginal_per_slot": {
            "from": [8, 5, 9],
            "to": [16, 9, 17],
            "gates": round((by[16, 9, 17]["total_gates"] - by[8, 5, 9]["total_gates"]) / 8, 1),
        },
        "shapes": shapes,
    }
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/stf_gates.json").write_text(json.dumps(out, indent=1))
    print("\n" + _table(shapes))
    print(f"marginal per slot (8, 5, 9) -> (16, 9, 17): {out['marginal_per_slot']['gates']:,.0f}")
    for s in shapes:
        t, n_sig = s["shape"]["n_slots"], s["shape"]["n_signatures"]
        # every gate is in exactly one category, the memory's in one of its five
        assert sum(s["category_totals"].values()) == s["total_gates"]
        assert sum(s["memory_parts"].values()) == s["memory_gates"]
        assert sum(s["table_parts"].values()) == s["table_gates"]
        # the slots' labels, the memory's, the table's and the batch level's (public rows too)
        mem_labels = sum(n for k, n in s["memory_parts"].items() if k.startswith("account_"))
        assert (
            s["slot_gates"] + mem_labels + s["table_gates"] + sum(s["batch_level"].values())
            == s["total_gates"]
        )
        assert s["batch_level"]["public"] == 4 + 3 * t
        assert s["batch_level_gates"] == sum(s["batch_level"].values()) - 3 * t  # slot words
        # the slots hold no account path nor leaf hash any more: the memory's units do
        assert not {"leaf_a", "leaf_b"} & set(s["parts"])
        assert not any("path" in k or "leaf" in k for k in s["parts"] if k.startswith("acct"))
        assert s["parts"]["acct_a"] + s["parts"]["acct_b"] <= 3  # the access rows only
        assert s["memory_parts"]["account_memory/units/path"] > 0
        n_acc = s["shape"]["n_accesses"]
        assert n_acc >= 2 * t and n_acc & (n_acc - 1) == 0
        # the slots hold no EdDSA unit any more: S units of one verification each, the same
        assert len(s["table_unit_gates"]) == 1
        assert s["table_parts"]["units"] == n_sig * s["table_unit_gates"][0]
        assert s["category_totals"][SIG_UNITS] == s["table_parts"]["units"]
        assert s["parts"]["sig_a"] + s["parts"]["sig_b"] < s["table_unit_gates"][0] / 4
        assert s["table_parts"]["signatures/benes"] > 0
        assert s["table_parts"]["signatures/chain"] > 0
        # a trade's shares are the memory and the table per slot; no type needs more than the
        # universal slot's own gates
        used = s["used_by_type"]
        assert used["trade"]["memory"] == round(s["memory_per_slot"])
        assert used["trade"]["signatures"] == round(s["table_per_slot"])
        assert used["oracle"]["signatures"] == used["trade"]["signatures"]
        assert max(u["slot_parts"] for u in used.values()) <= s["slot_own_gates"] + 1
        assert used["funding"]["memory"] == used["oracle"]["memory"] == 0
        assert used["funding"]["signatures"] == used["deposit"]["signatures"] == 0
    # the table saves gates at every shape measured before it
    for (t, d), before in BEFORE_TABLE.items():
        assert by[t, d, t + 1]["total_gates"] < before["total_gates"]
