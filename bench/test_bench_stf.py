"""Gates per transaction slot of the batch circuit (``circuits.state_transition``), broken down
as Loopring publishes it: Merkle hashing (account paths, order-slot paths), leaf hashing,
signatures (EdDSA-Poseidon), order message hashes, pubdata, and range checks / arithmetic.

The slot cost is the difference between a 2-slot and a 1-slot circuit of D's default shape
(account depth 16, order depth 4, 3 markets); the batch-level part (state-root and market
openings, the final root) is reported apart. Run: ``pytest bench/test_bench_stf.py -s``
(writes ``bench/out/stf_gates.json``). The issue's target is 40,000 gates a trade; nothing is
asserted about it here (the figures are the point).
"""

from __future__ import annotations

import json
from pathlib import Path

from circuits.builder import gate_report
from circuits.state_transition import BatchShape, build_batch_builder

CATEGORY = {
    "acct": "merkle+leaf (accounts)",
    "orders": "merkle (order slots) + slot rules",
    "sig": "signatures",
    "msg": "order message hashes",
    "pubdata": "pubdata binding",
}


def _category(part: str) -> str:
    for prefix, name in CATEGORY.items():
        if part.startswith(prefix):
            return name
    return "range checks and arithmetic"


def test_gates_per_slot():
    shape = BatchShape(n_slots=2, account_depth=16, order_depth=4, n_markets=3)
    b2 = build_batch_builder(shape)
    b1 = build_batch_builder(BatchShape(1, 16, 4, 3))
    per_slot = b2.n_gates - b1.n_gates
    rep = gate_report(b2.compile().cs, 2)
    parts = {k.split("/", 1)[1]: v for k, v in rep.items() if k.startswith("slot1/")}
    cats: dict[str, int] = {}
    for part, n in parts.items():
        cats[_category(part)] = cats.get(_category(part), 0) + n
    batch = {k: v for k, v in rep.items() if not k.startswith("slot")}
    out = {
        "shape": shape.__dict__,
        "gates_per_slot": per_slot,
        "categories": cats,
        "parts": parts,
        "batch_level": batch,
    }
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/stf_gates.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({"gates_per_slot": per_slot, "categories": cats}, indent=1))
    assert sum(parts.values()) <= per_slot + 1
