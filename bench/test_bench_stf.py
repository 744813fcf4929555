"""Gates per transaction slot of the batch circuit (``circuits.state_transition``, layout v2),
broken down as Loopring publishes it: Merkle paths (account and order-slot trees), leaf hashes
(the account leaf's P5 and P4 sub-hashes, read and written), signatures (EdDSA-Poseidon),
message hashes, range checks, the pubdata binding, and the rest.

The slot cost is the difference between a 2-slot and a 1-slot circuit of the default shape
(account depth 8, order depth 2 in 4-ary levels, 3 markets); every slot is universal, so this
is the cost of a trade and of every other type (``used_by`` says which parts each type needs:
what a type-specialised slot would cost). The batch-level part (state-root, config and
market openings, the funding hash, account 0's insurance update, the final root) is reported
apart. The first cut (binary tree of depth 16, 14-input leaf, Poseidon-chain pubdata) cost
82,735 gates a trade; E1's layout v2 slot (Deposit, Trade, Withdrawal, Transfer,
ForcedWithdrawal) 72,670 (``E1_SLOT``); E5's adds FundingTick, OraclePriceTick (two
signatures), Liquidate and Deleverage to the same universal slot. Run:
``pytest bench/test_bench_stf.py -s`` (writes ``bench/out/stf_gates.json``). Nothing is
asserted about the issue's 40,000 target (the figures are the point).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from circuits.builder import gate_report
from circuits.state_transition import BatchShape, build_batch_builder

FIRST_CUT_PER_TRADE = 82_735
E1_SLOT = 72_670  # layout v2 with the five first slot types
_RANGE = re.compile(r"^(range|split|srange|assert_le|assert_lt|abs|le|lt|bits)\d+$|^div_ceil$")

# the parts (second label component) each type needs in a specialised slot
_COMMON = "misc type insurance rules acct_a settle_a collateral_a leaf_a pubdata prices"
_FILL = "acct_b fill cash settle_b position_a position_b collateral_b leaf_b"
_ORDER_A = "orders_a limit_a fee_a expiry_a msg_a sig_a margin_a"
_ORDER_B = "orders_b limit_b fee_b expiry_b msg_b sig_b margin_b"
USED_BY = {
    "trade": set(f"{_COMMON} {_FILL} {_ORDER_A} {_ORDER_B}".split()),
    "deposit": set(f"{_COMMON} refusal next_account".split()),
    "withdrawal": set(f"{_COMMON} msg_a sig_a margin_a".split()),
    "transfer": set(f"{_COMMON} acct_b msg_a sig_a settle_b collateral_b margin_a leaf_b".split()),
    "forced": set(f"{_COMMON} margin_a refusal".split()),
    "funding": set("misc type leaf_a funding running pubdata".split()),
    "oracle": set("misc type fill sig_a sig_b oracle oracle_close running pubdata".split()),
    "liquidate": set(f"{_COMMON} {_FILL} {_ORDER_A} liquidate".split()),
    "deleverage": set(f"{_COMMON} {_FILL} deleverage".split()),
}


def category(label: str) -> str:
    """The category of one gate from its full label (slot<i>/<part>/...)."""
    parts = label.split("/")
    part = parts[1] if len(parts) > 1 else ""
    if part.startswith("sig_"):
        return "signatures"
    if part.startswith("msg_"):
        return "message hashes"
    if "path" in parts or any(p.startswith("quad_update") for p in parts):
        return "merkle paths (orders)" if part.startswith("orders") else "merkle paths (accounts)"
    if part.startswith("leaf_") or "leaf" in parts:
        return "leaf hashes"
    if part == "pubdata":
        return "pubdata (words, L1 address bytes, deposit key)"
    if any(_RANGE.match(p) for p in parts):
        return "range checks"
    return "rest"


def slot_breakdown(shape: BatchShape) -> dict:
    b2 = build_batch_builder(shape)
    b1 = build_batch_builder(BatchShape(1, shape.account_depth, shape.order_depth, shape.n_markets))
    cs = b2.compile().cs
    per_slot = cs.n_gates - b1.compile().cs.n_gates
    full = gate_report(cs, 64)
    cats: dict[str, int] = {}
    parts: dict[str, int] = {}
    batch: dict[str, int] = {}
    for label, n in full.items():
        if label == "slot1" or label.startswith("slot1/"):
            c = category(label)
            cats[c] = cats.get(c, 0) + n
            part = label.split("/")[1] if "/" in label else "misc"
            parts[part] = parts.get(part, 0) + n
        elif not label.startswith("slot"):
            key = "/".join(label.split("/")[:2])
            batch[key] = batch.get(key, 0) + n
    used = {t: sum(n for p, n in parts.items() if p in ps) for t, ps in USED_BY.items()}
    return {
        "shape": shape.__dict__,
        "gates_per_slot": per_slot,
        "first_cut_per_trade": FIRST_CUT_PER_TRADE,
        "e1_slot": E1_SLOT,
        "categories": dict(sorted(cats.items(), key=lambda kv: -kv[1])),
        "parts": parts,
        "used_by_type": used,
        "batch_level": batch,
        "batch_gates_2_slots": cs.n_gates,
    }


def test_gates_per_slot():
    out = slot_breakdown(BatchShape(n_slots=2, account_depth=8, order_depth=2, n_markets=3))
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/stf_gates.json").write_text(json.dumps(out, indent=1))
    show = {k: out[k] for k in ("gates_per_slot", "categories", "used_by_type", "batch_level")}
    print(json.dumps(show, indent=1))
    # + 3 public rows (the slot's words)
    assert sum(out["parts"].values()) + 3 == out["gates_per_slot"]
    assert sum(out["categories"].values()) + 3 == out["gates_per_slot"]
