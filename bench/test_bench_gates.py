"""Gate counts: our gadgets (``circuits.gadgets.*_circuit``, ``bits``) beside circomlib 2.0.5's
templates compiled by circom2 at ``--O1`` and translated to PLONK gates the way ``snarkjs plonk
setup`` does it (``prover.plonk.constraint_system.from_r1cs``, equal to snarkjs's
"Plonk constraints" log line; checked against snarkjs itself for the small ones).

Each row compares circuits with the same public signals (every public signal is one PLONK row in
both systems):

- Poseidon(2): circomlib's ``Poseidon(2)`` as main (the output public) vs ``poseidon_circuit.
  hash_var`` with the hash exposed.
- Merkle update, depth 20 and 32: circomlib has no update template with one shared path
  (``SMTProcessor`` is a different, key-value tree), so the circom side is the natural
  equivalent written here from circomlib's ``Poseidon(2)`` and ``Switcher`` (old and new paths,
  siblings and path bits shared, bits constrained boolean, both roots public) vs
  ``merkle_circuit.assert_update``.
- 64-bit range check: circomlib's ``Num2Bits(64)`` as main (its 64 bits are public outputs, as
  the issue measured it), and the same inside a template that only range-checks (no public
  signal), vs ``bits.range_check(x, 64)`` (and ``bits.to_bits``, which returns the bits).
- EdDSAPoseidonVerifier: circomlib's template as main (no public signal) vs
  ``eddsa_circuit.verify``, with and without the subgroup check of A.

Run: ``pytest bench/test_bench_gates.py -s`` (the table is printed and written to
``bench/out/gates.json``). Nothing is asserted about sizes beyond the issue's targets being
reported; the circom compilations are cached under ``.cache/tests/circom``.
"""

from __future__ import annotations

import json

import pytest

from circuits.builder import CircuitBuilder
from circuits.gadgets import bits
from circuits.gadgets import eddsa_circuit as ec
from circuits.gadgets import merkle_circuit as mc
from circuits.gadgets import poseidon_circuit as pc
from prover.plonk.constraint_system import from_r1cs
from prover.r1cs import read_r1cs

pytestmark = pytest.mark.node

CIRCOM = {
    "poseidon2": """pragma circom 2.0.0;
include "circomlib/poseidon.circom";
component main = Poseidon(2);
""",
    "num2bits64": """pragma circom 2.0.0;
include "circomlib/bitify.circom";
component main = Num2Bits(64);
""",
    "range64": """pragma circom 2.0.0;
include "circomlib/bitify.circom";
template Range64() {
    signal input in;
    component n2b = Num2Bits(64);
    n2b.in <== in;
}
component main = Range64();
""",
    "eddsa": """pragma circom 2.0.0;
include "circomlib/eddsaposeidon.circom";
component main = EdDSAPoseidonVerifier();
""",
}

MERKLE_UPDATE = """pragma circom 2.0.0;
include "circomlib/poseidon.circom";
include "circomlib/switcher.circom";

// One leaf updated along one path: the siblings and path bits are shared by the old and new
// paths (bit i = 1: the level-i node is a right child).
template MerkleUpdate(n) {
    signal input oldRoot;
    signal input newRoot;
    signal input oldLeaf;
    signal input newLeaf;
    signal input siblings[n];
    signal input pathBits[n];
    component swO[n];
    component swN[n];
    component hO[n];
    component hN[n];
    signal curO[n + 1];
    signal curN[n + 1];
    curO[0] <== oldLeaf;
    curN[0] <== newLeaf;
    for (var i = 0; i < n; i++) {
        pathBits[i] * (pathBits[i] - 1) === 0;
        swO[i] = Switcher();
        swO[i].sel <== pathBits[i];
        swO[i].L <== curO[i];
        swO[i].R <== siblings[i];
        hO[i] = Poseidon(2);
        hO[i].inputs[0] <== swO[i].outL;
        hO[i].inputs[1] <== swO[i].outR;
        curO[i + 1] <== hO[i].out;
        swN[i] = Switcher();
        swN[i].sel <== pathBits[i];
        swN[i].L <== curN[i];
        swN[i].R <== siblings[i];
        hN[i] = Poseidon(2);
        hN[i].inputs[0] <== swN[i].outL;
        hN[i].inputs[1] <== swN[i].outR;
        curN[i + 1] <== hN[i].out;
    }
    oldRoot === curO[n];
    newRoot === curN[n];
}

component main {public [oldRoot, newRoot]} = MerkleUpdate(NN);
"""


def circom_gates(name: str, source: str) -> int:
    from tests.interop import compile_circom

    build = compile_circom(source, f"gates_{name}")
    return from_r1cs(read_r1cs(build.r1cs), labels=False).n_gates


def ours_poseidon2() -> int:
    b = CircuitBuilder()
    x = b.private_inputs("x", 2)
    b.expose(pc.hash_var(b, x), "out")
    return b.compile().n_gates


def ours_update(depth: int) -> int:
    b = CircuitBuilder()
    old_root, new_root = b.public_input("old_root"), b.public_input("new_root")
    leaves = b.private_inputs("leaves", 2)
    sibs, path = b.private_inputs("siblings", depth), b.private_inputs("bits", depth)
    mc.assert_update(b, old_root, new_root, leaves[0], leaves[1], sibs, path)
    return b.compile().n_gates


def ours_range64(to_bits: bool = False) -> int:
    b = CircuitBuilder()
    x = b.private_input("x")
    if to_bits:
        bits.to_bits(b, x, 64)
    else:
        bits.range_check(b, x, 64)
    return b.compile().n_gates


def ours_eddsa(subgroup_check: bool = False) -> int:
    b = CircuitBuilder()
    v = [b.private_input(n) for n in ("msg", "ax", "ay", "r8x", "r8y", "s")]
    ec.verify(b, *v, subgroup_check=subgroup_check)
    return b.compile().n_gates


def test_gate_table(bench_out):
    range64 = circom_gates("range64", CIRCOM["range64"])
    verifier = circom_gates("eddsa", CIRCOM["eddsa"])
    rows = [
        ("Poseidon(2)", ours_poseidon2(), circom_gates("poseidon2", CIRCOM["poseidon2"]), 0.7),
        (
            "Merkle update, depth 20",
            ours_update(20),
            circom_gates("merkle20", MERKLE_UPDATE.replace("NN", "20")),
            None,
        ),
        (
            "Merkle update, depth 32",
            ours_update(32),
            circom_gates("merkle32", MERKLE_UPDATE.replace("NN", "32")),
            None,
        ),
        (
            "64-bit range check (Num2Bits(64) main, 64 public bits)",
            ours_range64(),
            circom_gates("num2bits64", CIRCOM["num2bits64"]),
            0.7,
        ),
        ("64-bit range check (no public)", ours_range64(), range64, 0.7),
        ("64-bit decomposition, bits returned (to_bits)", ours_range64(True), range64, None),
        ("EdDSAPoseidonVerifier", ours_eddsa(), verifier, 0.5),
        ("EdDSAPoseidonVerifier + subgroup check of A", ours_eddsa(True), verifier, None),
    ]
    poseidon2 = rows[0][1] - 1  # without its public row
    width = max(len(r[0]) for r in rows)
    lines = [
        f"{'circuit':<{width}}  {'ours':>7}  {'circomlib':>9}  {'ratio':>6}  target",
        "-" * (width + 40),
    ]
    out = []
    for name, ours, theirs, target in rows:
        ratio = ours / theirs
        note = ""
        if target is not None:
            note = f"<= {target}x: {'met' if ratio <= target else 'NOT met'}"
        if name.startswith("Merkle"):
            depth = int(name.rsplit(" ", 1)[1])
            budget = 2 * depth * poseidon2 + 10 * depth
            note = f"<= 2 d P2 + 10 d = {budget}: {'met' if ours - 2 <= budget else 'NOT met'}"
        lines.append(f"{name:<{width}}  {ours:>7,}  {theirs:>9,}  {ratio:>6.3f}  {note}")
        out.append({"circuit": name, "ours": ours, "circomlib": theirs, "ratio": round(ratio, 4)})
    table = "\n".join(lines)
    print("\n" + table)
    (bench_out / "gates.json").write_text(json.dumps(out, indent=2) + "\n")
    assert all(r["ours"] > 0 and r["circomlib"] > 0 for r in out)


def test_from_r1cs_counts_equal_snarkjs():
    """The translation counts what snarkjs logs ("Plonk constraints: N") for the small rows."""
    import re
    import tempfile
    from pathlib import Path

    from tests.interop import compile_circom, snarkjs, snarkjs_ptau

    for name in ("poseidon2", "num2bits64"):
        build = compile_circom(CIRCOM[name], f"gates_{name}")
        with tempfile.TemporaryDirectory() as d:
            log = snarkjs("plonk", "setup", build.r1cs, snarkjs_ptau(12), Path(d) / "c.zkey", "-v")
        m = re.search(r"Plonk constraints: (\d+)", log)
        assert m, log[-2000:]
        assert int(m.group(1)) == circom_gates(name, CIRCOM[name])
