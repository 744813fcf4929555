"""The int reference for BN254 G1/G2 (prover.curve.ref): Fq2 on ints, validation, group law
against py_ecc, the pairing check, and the EIP-197 / snarkjs encodings (known vectors and, with
Node, ffjavascript itself)."""

from __future__ import annotations

import json
import random
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import bn128 as slow_bn
from py_ecc import optimized_bn128 as bn

from prover import params
from prover.curve import ref

P, R = params.P, params.R_ORDER
G1, G2 = ref.G1_GENERATOR, ref.G2_GENERATOR

# The G2 generator as ffjavascript writes it (curve.G2.oneAffine, toUncompressed): LEM is
# x.c0 || x.c1 || y.c0 || y.c1 little-endian Montgomery; the uncompressed form is EIP-197's.
G2_GEN_LEM_HEX = (
    "2620bc02d1b5838e72017b493519ebdcdf1a81974726b8fb3b5096af41385719"
    "40614ca87d73b4afc4d802585add4360862fa052fc50e9096b7bea3a83f0fe14"
    "f6e96b889dfa9d61789b9ef597d27ffefe7d1b23621a9eff06429eaeeb7efd28"
    "ee5618c7565b0964bb3c7d3222f957dc76103533be35f9558264fd93e6a0a40d"
)
G2_GEN_EIP197_HEX = (
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
)

fq = st.one_of(st.sampled_from([0, 1, 2, P - 1, P - 2, (P - 1) // 2]), st.integers(0, P - 1))
fq2 = st.tuples(fq, fq)


def twist_point_outside_g2(seed: int) -> ref.G2Point:
    """A random point of the twist E'(Fq2) (x random, y by an Fq2 square root): its order is
    almost surely not r, since the twist has r * (2p - r) points."""
    rnd = random.Random(seed)
    while True:
        x = (rnd.randrange(P), rnd.randrange(P))
        y = ref.fq2_sqrt(ref.fq2_add(ref.fq2_mul(ref.fq2_sqr(x), x), ref.TWIST_B))
        if y is not None:
            return (x, y)


def g1_point(k: int) -> ref.G1Point:
    return ref.g1_mul(G1, k)


def g2_point(k: int) -> ref.G2Point:
    return ref.g2_mul(G2, k)


# --- Fq2 on ints ---------------------------------------------------------------------------------


@settings(deadline=None, max_examples=60)
@given(fq2, fq2)
def test_fq2_ops_vs_py_ecc(a, b):
    fa, fb = bn.FQ2(list(a)), bn.FQ2(list(b))
    assert ref.fq2_mul(a, b) == tuple(int(c) for c in (fa * fb).coeffs)
    assert ref.fq2_add(a, b) == tuple(int(c) for c in (fa + fb).coeffs)
    assert ref.fq2_sub(a, b) == tuple(int(c) for c in (fa - fb).coeffs)
    assert ref.fq2_sqr(a) == ref.fq2_mul(a, a)
    assert ref.fq2_add(a, ref.fq2_neg(a)) == (0, 0)
    if a != (0, 0):
        assert ref.fq2_mul(a, ref.fq2_inv(a)) == (1, 0)
        assert ref.fq2_inv(a) == tuple(int(c) for c in (fa.inv()).coeffs)


@settings(deadline=None, max_examples=25)
@given(fq2)
def test_fq2_sqrt(a):
    sq = ref.fq2_sqr(a)
    root = ref.fq2_sqrt(sq)
    assert root is not None and ref.fq2_sqr(root) == sq
    # exactly one of a, a * (non-square) is a square: xi = 9 + u is a non-square in Fq2
    other = ref.fq2_mul(sq, ref.XI)
    assert ref.fq2_sqrt(other) is None or other == (0, 0)


def test_fq2_inverse_of_zero():
    with pytest.raises(ZeroDivisionError):
        ref.fq2_inv((0, 0))


# --- validation -----------------------------------------------------------------------------------


def test_generators_and_infinity_are_valid():
    assert ref.check_g1(G1) == G1 and ref.check_g2(G2) == G2
    assert ref.check_g1(ref.G1_INFINITY) == ref.G1_INFINITY
    assert ref.check_g2(ref.G2_INFINITY) == ref.G2_INFINITY
    assert ref.g1_mul(G1, R) == ref.G1_INFINITY and ref.g2_mul(G2, R) == ref.G2_INFINITY


@pytest.mark.parametrize(
    "bad,match",
    [
        ((1, 2 + P), "canonical"),
        ((1 + P, 2), "canonical"),
        ((-1, 2), "canonical"),
        ((1, 3), "not on the curve"),
        ((0, 1), "not on the curve"),
        ((1, 2, 1), "pair"),
        ((1,), "pair"),
        ([1.0, 2], "must be an int"),
        ((True, 2), "must be an int"),
        (None, "pair"),
    ],
)
def test_check_g1_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        ref.check_g1(bad)


def test_check_g2_rejects():
    (x0, x1), (y0, y1) = G2
    with pytest.raises(ValueError, match="canonical"):
        ref.check_g2(((x0 + P, x1), (y0, y1)))
    with pytest.raises(ValueError, match="canonical"):
        ref.check_g2(((x0, x1), (y0, y1 + P)))
    with pytest.raises(ValueError, match="not on the twist"):
        ref.check_g2(((x0, x1), (y0, (y1 + 1) % P)))
    with pytest.raises(ValueError, match="pair"):
        ref.check_g2(((x0, x1, 0), (y0, y1)))
    with pytest.raises(ValueError, match="pair"):
        ref.check_g2((x0, x1, y0, y1))
    # (1, 2) as G2 coordinates: the G1 generator is no G2 point
    with pytest.raises(ValueError, match="not on the twist"):
        ref.check_g2(((1, 0), (2, 0)))


def test_twist_point_outside_subgroup_is_rejected():
    q = twist_point_outside_g2(7)
    assert ref.is_on_twist(q) and not ref.is_in_g2_subgroup(q)
    assert ref.check_g2(q, subgroup=False) == q
    with pytest.raises(ValueError, match="subgroup"):
        ref.check_g2(q)
    # a pure cofactor-torsion point (order | 2p - r) and G2 + torsion are outside G2 too
    torsion = ref.g2_mul(q, R)
    assert torsion != ref.G2_INFINITY and not ref.is_in_g2_subgroup(torsion)
    assert not ref.is_in_g2_subgroup(ref.g2_add(G2, torsion))
    with pytest.raises(ValueError, match="subgroup"):
        ref.g2_from_bytes_be(ref.g2_to_bytes_be(q))


def test_psi_endomorphism():
    """psi acts on G2 as [p] = [6u^2] (p = 6u^2 mod r), and not on other twist points."""
    assert (P - ref.PSI_EIGENVALUE) % R == 0
    for k in (1, 12345, R - 1):
        q = g2_point(k)
        assert ref.g2_psi(q) == ref.g2_mul(q, ref.PSI_EIGENVALUE)
    q = twist_point_outside_g2(8)
    assert ref.is_on_twist(ref.g2_psi(q))
    assert ref.g2_psi(q) != ref.g2_mul(q, ref.PSI_EIGENVALUE)


# --- group law against py_ecc ---------------------------------------------------------------------


def test_g1_group_law_vs_py_ecc():
    rnd = random.Random(1)
    a, b = rnd.randrange(R), rnd.randrange(R)
    pa, pb = g1_point(a), g1_point(b)
    assert pa == ref.g1_from_py_ecc(slow_bn.multiply(slow_bn.G1, a))
    assert ref.g1_add(pa, pb) == g1_point(a + b)
    assert ref.g1_add(pa, pa) == g1_point(2 * a)
    assert ref.g1_add(pa, ref.g1_neg(pa)) == ref.G1_INFINITY
    assert ref.g1_add(pa, ref.G1_INFINITY) == pa and ref.g1_add(ref.G1_INFINITY, pa) == pa
    assert ref.g1_mul(pa, -1) == ref.g1_neg(pa) and ref.g1_mul(pa, 0) == ref.G1_INFINITY
    assert ref.g1_neg(ref.G1_INFINITY) == ref.G1_INFINITY
    assert ref.g1_sum([pa, pb, ref.G1_INFINITY]) == g1_point(a + b)
    assert ref.g1_lincomb([pa, pb], [3, R - 1]) == g1_point(3 * a - b)
    with pytest.raises(ValueError):
        ref.g1_lincomb([pa], [1, 2])


def test_g2_group_law_vs_py_ecc():
    rnd = random.Random(2)
    a, b = rnd.randrange(R), rnd.randrange(R)
    qa, qb = g2_point(a), g2_point(b)
    assert qa == ref.g2_from_py_ecc(slow_bn.multiply(slow_bn.G2, a))
    assert ref.g2_add(qa, qb) == g2_point((a + b) % R)
    assert ref.g2_add(qa, qa) == g2_point(2 * a % R)
    assert ref.g2_add(qa, ref.g2_neg(qa)) == ref.G2_INFINITY
    assert ref.g2_add(qa, ref.G2_INFINITY) == qa
    assert ref.g2_mul(qa, -1) == ref.g2_neg(qa)
    assert ref.g2_mul(ref.G2_INFINITY, 5) == ref.G2_INFINITY


def test_py_ecc_conversions():
    assert ref.g1_from_py_ecc(None) == ref.G1_INFINITY
    assert ref.g2_from_py_ecc(None) == ref.G2_INFINITY
    assert ref.g1_from_py_ecc(bn.Z1) == ref.G1_INFINITY
    assert ref.g2_from_py_ecc(bn.Z2) == ref.G2_INFINITY
    assert ref.g1_from_py_ecc(bn.G1) == G1 and ref.g2_from_py_ecc(bn.G2) == G2
    assert ref.g1_from_py_ecc(slow_bn.G1) == G1 and ref.g2_from_py_ecc(slow_bn.G2) == G2
    assert bn.eq(ref.g2_to_py_ecc(G2), bn.G2) and bn.eq(ref.g1_to_py_ecc(G1), bn.G1)
    assert bn.is_inf(ref.g1_to_py_ecc(ref.G1_INFINITY))
    assert bn.is_inf(ref.g2_to_py_ecc(ref.G2_INFINITY))


# --- pairing --------------------------------------------------------------------------------------


def test_pairing_check_bilinearity():
    """e(aP, bQ) == e(abP, Q), written as e(aP, bQ) * e(-abP, Q) == 1; a false relation fails."""
    rnd = random.Random(3)
    a, b = rnd.randrange(1, R), rnd.randrange(1, R)
    p_a, q_b, p_ab = g1_point(a), g2_point(b), g1_point(a * b)
    assert ref.pairing_check([(p_a, q_b), (ref.g1_neg(p_ab), G2)])
    assert not ref.pairing_check([(p_a, q_b), (ref.g1_neg(g1_point(a * b + 1)), G2)])


def test_final_exponentiation_matches_py_ecc():
    f = ref.miller_loop(g1_point(7), g2_point(5))
    assert ref.final_exponentiate(f) == bn.final_exponentiate(f)
    assert ref.pairing(g1_point(7), g2_point(5)) == bn.pairing(
        bn.multiply(bn.G2, 5), bn.multiply(bn.G1, 7)
    )


def test_pairing_values():
    assert ref.pairing(G1, G2) != bn.FQ12.one()  # non-degenerate
    assert ref.pairing(ref.G1_INFINITY, G2) == bn.FQ12.one()
    assert ref.pairing(g1_point(2), G2) == ref.pairing(G1, g2_point(2))


def test_pairing_check_edge_cases():
    assert ref.pairing_check([])
    assert ref.pairing_check([(ref.G1_INFINITY, G2), (G1, ref.G2_INFINITY)])
    assert not ref.pairing_check([(G1, G2)])
    with pytest.raises(ValueError, match="not on the curve"):
        ref.pairing_check([((1, 3), G2)])
    with pytest.raises(ValueError, match="subgroup"):
        ref.pairing_check([(G1, twist_point_outside_g2(9))])
    with pytest.raises(ValueError, match="pairs"):
        ref.pairing_check([(G1, G2, G1)])


# --- encodings ------------------------------------------------------------------------------------


def test_known_vectors():
    assert ref.g1_to_bytes_be(G1) == (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
    assert ref.g2_to_bytes_be(G2).hex() == G2_GEN_EIP197_HEX
    assert ref.g2_to_lem(G2).hex() == G2_GEN_LEM_HEX
    assert ref.g2_from_bytes_be(bytes.fromhex(G2_GEN_EIP197_HEX)) == G2
    assert ref.g2_from_lem(bytes.fromhex(G2_GEN_LEM_HEX)) == G2
    r256 = 1 << 256
    assert ref.g1_to_lem(G1) == (r256 % P).to_bytes(32, "little") + (2 * r256 % P).to_bytes(
        32, "little"
    )
    assert ref.g1_to_bytes_be(ref.G1_INFINITY) == bytes(64)
    assert ref.g2_to_bytes_be(ref.G2_INFINITY) == bytes(128)
    assert ref.g2_to_lem(ref.G2_INFINITY) == bytes(128)


def test_encodings_round_trip():
    rnd = random.Random(4)
    for k in [0, 1, R - 1, rnd.randrange(R)]:
        p, q = g1_point(k), g2_point(k)
        assert ref.g1_from_bytes_be(ref.g1_to_bytes_be(p)) == p
        assert ref.g1_from_lem(ref.g1_to_lem(p)) == p
        assert ref.g2_from_bytes_be(ref.g2_to_bytes_be(q)) == q
        assert ref.g2_from_lem(ref.g2_to_lem(q)) == q


def test_decoders_reject():
    be1, be2 = ref.g1_to_bytes_be(G1), ref.g2_to_bytes_be(G2)
    with pytest.raises(ValueError, match="64 bytes"):
        ref.g1_from_bytes_be(be1[:-1])
    with pytest.raises(ValueError, match="128 bytes"):
        ref.g2_from_bytes_be(be2 + b"\0")
    with pytest.raises(ValueError, match="must be bytes"):
        ref.g1_from_bytes_be("00" * 64)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="canonical"):
        ref.g1_from_bytes_be(P.to_bytes(32, "big") + (2).to_bytes(32, "big"))
    with pytest.raises(ValueError, match="not on the curve"):
        ref.g1_from_bytes_be((1).to_bytes(32, "big") + (3).to_bytes(32, "big"))
    with pytest.raises(ValueError, match="canonical"):  # x.c1 (first word) = p
        ref.g2_from_bytes_be(P.to_bytes(32, "big") + be2[32:])
    with pytest.raises(ValueError, match="not on the twist"):  # c0/c1 swapped: wrong order
        ref.g2_from_bytes_be(be2[32:64] + be2[:32] + be2[96:] + be2[64:96])
    with pytest.raises(ValueError, match="not canonical"):
        ref.g1_from_lem(P.to_bytes(32, "little") + ref.g1_to_lem(G1)[32:])
    with pytest.raises(ValueError, match="not canonical"):
        ref.g2_from_lem(ref.g2_to_lem(G2)[:96] + (P + 1).to_bytes(32, "little"))
    with pytest.raises(ValueError, match="128 bytes"):
        ref.g2_from_lem(bytes(127))
    with pytest.raises(ValueError, match="pair"):
        ref.g2_to_bytes_be((1, 2))  # type: ignore[arg-type]


@pytest.mark.node
def test_encodings_match_ffjavascript(node_tools):
    """ffjavascript's own G1/G2 multiples, in its LEM and uncompressed encodings, equal ours."""
    ks = [0, 1, 2, 5, R - 1, 0xDEADBEEF12345678]
    script = """
import { buildBn128 } from "ffjavascript";
const curve = await buildBn128(true);
const ks = JSON.parse(process.argv[1]).map(BigInt);
const hex = (b) => Buffer.from(b).toString("hex");
const out = [];
for (const k of ks) {
  const p1 = curve.G1.timesScalar(curve.G1.g, k), p2 = curve.G2.timesScalar(curve.G2.g, k);
  const l1 = new Uint8Array(64), l2 = new Uint8Array(128);
  curve.G1.toRprLEM(l1, 0, p1); curve.G2.toRprLEM(l2, 0, p2);
  out.push([hex(l1), hex(l2), hex(curve.G1.toUncompressed(p1)), hex(curve.G2.toUncompressed(p2))]);
}
await curve.terminate();
console.log(JSON.stringify(out));
"""
    proc = subprocess.run(
        [node_tools.node, "--input-type=module", "-e", script, json.dumps([str(k) for k in ks])],
        cwd=node_tools.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    for k, (lem1, lem2, u1, u2) in zip(ks, rows, strict=True):
        p, q = g1_point(k), g2_point(k)
        assert ref.g1_to_lem(p).hex() == lem1 and ref.g2_to_lem(q).hex() == lem2
        assert ref.g1_to_bytes_be(p).hex() == u1 and ref.g2_to_bytes_be(q).hex() == u2
