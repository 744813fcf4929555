"""prover.plonk.constraint_system: snarkjs's R1CS -> PLONK translation, witnesses, .zkpc files.

The golden reference is snarkjs 0.7.6 itself: its `plonk setup` writes the gates (wire maps,
selectors) and additions into the zkey, which these tests read back with plain binfile code and
compare with ``from_r1cs``, on circom circuits and on hand-made R1CS files that reach every
branch of ``processConstraints`` (constant A or B, empty A, zero coefficients, long sums).
"""

from __future__ import annotations

import random
import struct

import pytest

from prover import params
from prover.binfile import BinFile, encode_binfile
from prover.plonk.constraint_system import (
    CircuitFileError,
    ConstraintSystem,
    UnsatisfiedGate,
    check_satisfied,
    domain_power,
    encode_circuit,
    from_r1cs,
    internal_witness,
    load_circuit,
    load_circuit_any,
    parse_circuit,
    save_circuit,
)
from prover.r1cs import R1cs, read_r1cs, write_r1cs
from prover.wtns import read_wtns
from tests.interop import circom_witness, compile_circom, snarkjs, snarkjs_ptau

R = params.R_ORDER
MONT_R_INV = pow(2**256, -1, R)

LINEAR = """pragma circom 2.0.0;
template Linear() {
    signal input a[6];
    signal input k;
    signal output s;
    signal output p;
    signal m;
    s <== a[0] + 2*a[1] + 3*a[2] - a[3] + 5*a[4] + 6*a[5] + 11;
    m <== (a[0] + a[1] + a[2] + 4) * (k - a[3] + a[4] - 9);
    p <== m * 3 + s - 2 * k + 1;
}
component main {public [k]} = Linear();
"""
LINEAR_INPUTS = {"a": [1, 2, 3, 4, 5, 6], "k": 7}

NO_PUBLIC = """pragma circom 2.0.0;
template NoPublic() {
    signal input a;
    signal input b;
    signal c;
    signal d;
    c <== a * b;
    d <== c * c + a;
    (d + 1) * (a - 1) === c + 4 * a - 7;
}
component main = NoPublic();
"""

CIRCOMLIB = """pragma circom 2.0.0;
include "circomlib/comparators.circom";
template Cmp() {
    signal input x;
    signal input y;
    signal output lt;
    component c = LessThan(16);
    c.in[0] <== x;
    c.in[1] <== y;
    lt <== c.out;
}
component main {public [y]} = Cmp();
"""


# --- snarkjs's gates, read straight from its zkey ---------------------------------------------


def snarkjs_gates(zkey_path) -> tuple[int, ConstraintSystem]:
    """(nVars in the zkey header, the gates/additions snarkjs wrote), decoded with plain code."""
    bf = BinFile.read(zkey_path, "zkey")
    hdr = bytes(bf.section(2))
    n_vars, n_public, n, n_adds, n_gates = struct.unpack_from("<5I", hdr, 4 + 32 + 4 + 32)

    def fr(b: bytes) -> int:
        return int.from_bytes(b, "little") * MONT_R_INV % R

    sec3 = bytes(bf.section(3))
    additions = []
    for i in range(n_adds):
        o = 72 * i
        s1, s2 = struct.unpack_from("<II", sec3, o)
        additions.append((s1, s2, fr(sec3[o + 8 : o + 40]), fr(sec3[o + 40 : o + 72])))
    wires = [struct.unpack(f"<{n_gates}I", bytes(bf.section(sid))) for sid in (4, 5, 6)]
    selectors = []
    for sid in (7, 8, 9, 10, 11):
        body = bytes(bf.section(sid))
        evals = body[32 * n :]  # after the n coefficients: 4n evaluations, H = every 4th point
        column = [fr(evals[32 * 4 * i : 32 * 4 * i + 32]) for i in range(n)]
        assert not any(column[n_gates:]), "rows past the gates must be zero"
        selectors.append(column[:n_gates])
    cs = ConstraintSystem(n_vars - n_adds, n_public, *wires, *selectors, tuple(additions))
    return n, cs


def assert_same_as_snarkjs(r1cs_path, tmp_path, ptau_power=8) -> ConstraintSystem:
    ours = from_r1cs(read_r1cs(r1cs_path))
    zkey = tmp_path / "snarkjs.zkey"
    snarkjs("plonk", "setup", r1cs_path, snarkjs_ptau(ptau_power), zkey)
    n, theirs = snarkjs_gates(zkey)
    assert 1 << domain_power(ours) == n
    assert ours.n_vars == theirs.n_vars and ours.n_public == theirs.n_public
    assert ours.additions == theirs.additions
    for col in ("a", "b", "c", "qm", "ql", "qr", "qo", "qc"):
        assert getattr(ours, col) == getattr(theirs, col), col
    assert ours.same_gates(theirs)
    return ours


@pytest.mark.node
@pytest.mark.parametrize(
    "name, source",
    [("cs_linear", LINEAR), ("cs_nopublic", NO_PUBLIC), ("cs_circomlib", CIRCOMLIB)],
)
def test_from_r1cs_matches_snarkjs_on_circom_circuits(name, source, tmp_path):
    build = compile_circom(source, name)
    cs = assert_same_as_snarkjs(build.r1cs, tmp_path)
    if name == "cs_linear":
        assert len(cs.additions) >= 5  # the long sums were split
        assert cs.n_public == 3
    if name == "cs_nopublic":
        assert cs.n_public == 0


def random_lc(rng: random.Random, n_wires: int, size: int, constant: bool) -> dict[int, int]:
    wires = rng.sample(range(1, n_wires), size)
    lc = {w: rng.choice([1, R - 1, 2, rng.randrange(R), 0 if rng.random() < 0.15 else 3])
          for w in wires}  # fmt: skip
    if constant:
        lc[0] = rng.choice([0, 1, 7, R - 5, rng.randrange(R)])
    keys = list(lc)
    rng.shuffle(keys)  # file order is not ascending: snarkjs iterates ascending anyway
    return {k: lc[k] for k in keys}


def random_r1cs(seed: int, n_constraints: int = 60) -> R1cs:
    rng = random.Random(seed)
    n_wires = 24
    constraints = []

    def lc(lo: int, hi: int) -> dict[int, int]:
        return random_lc(rng, n_wires, rng.randint(lo, hi), rng.random() < 0.4)

    for _ in range(n_constraints):
        kind = rng.choice(["mul", "mul", "linear", "kA", "kB", "emptyA", "emptyB", "const0"])
        if kind == "mul":
            constraints.append((lc(1, 4), lc(1, 4), lc(0, 4)))
        elif kind == "linear":
            constraints.append(({}, {}, lc(1, 9)))
        elif kind == "kA":
            constraints.append(({0: rng.choice([3, R - 1, rng.randrange(R)])}, lc(1, 5), lc(0, 5)))
        elif kind == "kB":
            constraints.append((lc(1, 5), {0: rng.randrange(1, R)}, lc(1, 5)))
        elif kind == "emptyA":
            constraints.append(({}, lc(1, 3), lc(1, 6)))
        elif kind == "emptyB":
            constraints.append((lc(1, 3), {}, lc(0, 6)))
        else:  # A = {0: 0}: snarkjs still calls it a constant, and joins with k = 0
            constraints.append(({0: 0}, lc(1, 3), lc(1, 3)))
    return R1cs(R, n_wires, 2, 3, 4, n_wires, tuple(constraints))


@pytest.mark.node
@pytest.mark.parametrize("seed", [1, 2])
def test_from_r1cs_matches_snarkjs_on_every_branch(seed, tmp_path):
    path = tmp_path / "random.r1cs"
    write_r1cs(random_r1cs(seed), path)
    cs = assert_same_as_snarkjs(path, tmp_path)
    assert cs.n_public == 5 and len(cs.additions) > 20


# --- domain, witnesses, satisfaction ----------------------------------------------------------


def tiny(n_gates_extra: int = 0) -> ConstraintSystem:
    """x (public) * y = z, w = 3x + 2z (an addition), w + 5 = v; then n_gates_extra idle gates."""
    add = (1, 3, 3, 2)  # s[5] = 3 x + 2 z
    rows = [
        (1, 0, 0, 0, 1, 0, 0, 0),  # public row of x
        (1, 2, 3, 1, 0, 0, R - 1, 0),  # x * y - z = 0
        (5, 4, 0, 0, 1, R - 1, 0, 5),  # w + 5 - v = 0
    ] + [(0, 0, 0, 0, 0, 0, 0, 0)] * n_gates_extra
    cols = list(zip(*rows, strict=True))
    labels = ("public x", "mul", "affine") + (None,) * n_gates_extra
    return ConstraintSystem(5, 1, *cols, additions=(add,), labels=labels)


def tiny_witness(x=3, y=4) -> list[int]:
    z = x * y
    return [1, x, y, z, 3 * x + 2 * z + 5]


def test_domain_power():
    for extra, power in [(0, 3), (5, 3), (6, 4), (13, 4), (14, 5)]:
        assert domain_power(tiny(extra)) == power, extra  # 3 + extra gates
    assert domain_power(ConstraintSystem(1, 0, (), (), (), (), (), (), (), ())) == 3


def test_internal_witness_and_satisfied():
    cs = tiny()
    s = internal_witness(cs, tiny_witness())
    assert s == [0, 3, 4, 12, 38, (9 + 24) % R]  # slot 0 zeroed, as snarkjs's prover does
    check_satisfied(cs, tiny_witness())
    with pytest.raises(ValueError, match="witness has 4 values"):
        internal_witness(cs, tiny_witness()[:4])
    with pytest.raises(ValueError, match="witness\\[2\\] is not a canonical"):
        internal_witness(cs, [1, 3, R, 12, 38])


def test_check_satisfied_names_the_gate():
    cs = tiny()
    bad = tiny_witness()
    bad[3] += 1  # z
    with pytest.raises(UnsatisfiedGate) as info:
        check_satisfied(cs, bad)
    assert info.value.row == 1 and info.value.label == "mul"
    msg = str(info.value)
    assert "gate 1 (mul)" in msg and "a = s[1] = 3" in msg and "c = s[3] = 13" in msg
    assert "= 21888242871839275222246405745257275088548364400416034343698204186575808495616" in msg
    bad = tiny_witness()
    bad[4] -= 1  # v: the affine gate fails
    with pytest.raises(UnsatisfiedGate, match="gate 2 \\(affine\\)") as info:
        check_satisfied(cs, bad)
    assert info.value.row == 2


def test_constraint_system_validation():
    cs = tiny()
    cols = [cs.a, cs.b, cs.c, cs.qm, cs.ql, cs.qr, cs.qo, cs.qc]

    def build(n_vars=5, n_public=1, cols=cols, additions=cs.additions, labels=None):
        return ConstraintSystem(n_vars, n_public, *cols, additions=additions, labels=labels)

    build()
    with pytest.raises(ValueError, match="not an internal signal"):
        build(cols=[(1, 1, 6), *cols[1:]])
    with pytest.raises(ValueError, match="selector qc is not a canonical"):
        build(cols=[*cols[:7], (0, 0, R)])
    with pytest.raises(ValueError, match="gate column b has 2 rows"):
        build(cols=[cols[0], (0, 2), *cols[2:]])
    with pytest.raises(ValueError, match="must be a witness signal or an earlier addition"):
        build(additions=((1, 5, 1, 1),))
    with pytest.raises(ValueError, match="must be the public row of signal 1"):
        build(cols=[*cols[:4], (2, 0, 0), *cols[5:]])
    with pytest.raises(ValueError, match="2 labels for 3 gates"):
        build(labels=("a", "b"))
    with pytest.raises(ValueError, match="n_public"):
        build(n_public=5)


@pytest.mark.node
def test_circom_witness_satisfies_and_a_broken_one_fails():
    build = compile_circom(LINEAR, "cs_linear")
    cs = from_r1cs(read_r1cs(build.r1cs))
    witness = read_wtns(circom_witness(build, LINEAR_INPUTS))
    check_satisfied(cs, witness)
    s = internal_witness(cs, witness)
    assert len(s) == cs.n_internal
    for i in range(cs.n_vars, cs.n_internal):  # every addition output is on some wire
        assert i in cs.a or i in cs.b or i in cs.c
    broken = list(witness)
    broken[-1] = (broken[-1] + 1) % R  # the last signal (m)
    with pytest.raises(UnsatisfiedGate) as info:
        check_satisfied(cs, broken)
    row = info.value.row
    assert info.value.label.startswith("r1cs constraint")
    assert len(witness) - 1 in (cs.a[row], cs.b[row], cs.c[row]) or cs.a[row] >= cs.n_vars


# --- .zkpc files ------------------------------------------------------------------------------


def test_zkpc_round_trip(tmp_path):
    cs = tiny(4)
    labelled = ConstraintSystem(
        cs.n_vars, cs.n_public, cs.a, cs.b, cs.c, cs.qm, cs.ql, cs.qr, cs.qo, cs.qc,
        cs.additions, ("public x", "mul ✓", None, "mul ✓", None, None, "idle"),
    )  # fmt: skip
    for system in (cs, labelled, from_r1cs(random_r1cs(5), labels=False)):
        path = tmp_path / "c.zkpc"
        save_circuit(system, path)
        assert load_circuit(path) == system
        assert load_circuit_any(path) == system
    empty = ConstraintSystem(1, 0, (), (), (), (), (), (), (), ())
    assert parse_circuit(encode_circuit(empty)) == empty
    # the documented layout: 172-byte gates, canonical little-endian selectors
    bf = BinFile.parse(encode_circuit(cs), "zkpc")
    assert bf.version == 1
    assert struct.unpack("<4I", bytes(bf.section(1))) == (5, 1, 7, 1)
    gates = bytes(bf.section(2))
    assert len(gates) == 7 * 172
    assert struct.unpack_from("<3I", gates, 172) == (1, 2, 3)
    assert int.from_bytes(gates[172 + 12 + 3 * 32 : 172 + 12 + 4 * 32], "little") == R - 1
    assert bytes(bf.section(3))[:8] == struct.pack("<II", 1, 3)


def test_load_circuit_any_reads_r1cs(tmp_path):
    r1cs = random_r1cs(7, 10)
    write_r1cs(r1cs, tmp_path / "c.r1cs")
    assert load_circuit_any(tmp_path / "c.r1cs") == from_r1cs(r1cs)
    (tmp_path / "x.bin").write_bytes(b"zkey" + bytes(40))
    with pytest.raises(CircuitFileError, match="not a circuit file"):
        load_circuit_any(tmp_path / "x.bin")
    with pytest.raises(CircuitFileError, match="cannot read"):
        load_circuit_any(tmp_path / "missing.zkpc")


def _zkpc(sections, version=1) -> bytes:
    return encode_binfile("zkpc", version, sections)


def test_zkpc_errors(tmp_path):
    cs = tiny()
    good = encode_circuit(cs)
    bf = BinFile.parse(good, "zkpc")
    header, gates, adds = (bytes(bf.section(i)) for i in (1, 2, 3))

    def expect(data: bytes, match: str) -> None:
        with pytest.raises(CircuitFileError, match=match):
            parse_circuit(data)

    expect(b"r1cs" + good[4:], "not a 'zkpc' file")
    expect(good[:-3], "claims")
    expect(_zkpc([(1, header), (2, gates), (3, adds)], version=2), "version 2")
    expect(_zkpc([(1, header), (2, gates), (3, adds), (9, b"")]), "unknown section")
    expect(_zkpc([(1, header), (2, gates[:-1]), (3, adds)]), "section 2 has 515 bytes")
    expect(_zkpc([(1, header), (3, adds)]), "section 2 is missing")
    bad = bytearray(gates)
    bad[12 + 31] = 0xFF  # qM of gate 0 >= r
    expect(_zkpc([(1, header), (2, bytes(bad)), (3, adds)]), "gate selector #0 is not a canonical")
    bad = bytearray(gates)
    bad[172 : 172 + 4] = struct.pack("<I", 99)  # wire a of gate 1
    expect(_zkpc([(1, header), (2, bytes(bad)), (3, adds)]), "wire a = 99")
    labels = struct.pack("<I", 1) + struct.pack("<I", 2) + b"ok" + struct.pack("<3I", 0, 0, 5)
    expect(_zkpc([(1, header), (2, gates), (3, adds), (4, labels)]), "label id 5 >= 1")
    labels = struct.pack("<I", 1) + struct.pack("<I", 2) + b"\xff\xfe" + struct.pack("<3I", 0, 0, 0)
    expect(_zkpc([(1, header), (2, gates), (3, adds), (4, labels)]), "not UTF-8")
    labels = struct.pack("<I", 1) + struct.pack("<I", 2) + b"ok" + struct.pack("<2I", 0, 0)
    expect(_zkpc([(1, header), (2, gates), (3, adds), (4, labels)]), "8 bytes of label ids for 3")
    with pytest.raises(CircuitFileError, match="not a 'zkpc' file"):
        path = tmp_path / "c.r1cs"
        write_r1cs(random_r1cs(3, 4), path)
        load_circuit(path)
