"""prover.ptau: snarkjs .ptau files: read, write a development SRS, verify.

Golden data: snarkjs-made files (``tests.interop.snarkjs_ptau``: one contribution of fixed
entropy, prepared for phase 2), whose hashes and proofs we recompute byte for byte; our own
development file with a FIXED tau, alpha, beta, whose points are checked against tau^i G computed
with Python ints and py_ecc; snarkjs judging our file (``powersoftau verify``, ``plonk setup``,
then a proof that ``plonk verify`` accepts). Corrupted copies must be rejected by our verifier
with a message naming the section.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover import params, ptau
from prover.binfile import write_binfile
from prover.curve import g1, g2, ref
from prover.ptau import PtauError, check_ptau, read_ptau, verify_ptau, write_dev_ptau

R = params.R_ORDER
P = params.P
G1 = params.G1_GENERATOR
G2 = params.G2_GENERATOR
POWER = 4
TAU = 0x1D2C3B4A_59687786_95A4B3C2_D1E0F0E1_D2C3B4A5_96877869_5A4B3C2D_1E0F1234 % R
ALPHA = 0x0A1B2C3D_4E5F6071_8293A4B5_C6D7E8F9 % R
BETA = 0x7766554433221100_FFEEDDCCBBAA9988 % R
KEY_S = (11, 12, 13)


class FixedRng:
    """Hands out fixed values in order: tau, alpha, beta, then the key scalars."""

    def __init__(self, values: list[int]) -> None:
        self.values = list(values)

    def randrange(self, lo: int, hi: int) -> int:
        v = self.values.pop(0)
        assert lo <= v < hi
        return v


@pytest.fixture(scope="module")
def dev_ptau(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ptau") / "dev4.ptau"
    write_dev_ptau(path, POWER, rng=FixedRng([TAU, ALPHA, BETA, *KEY_S]))
    return path


@pytest.fixture(scope="module")
def snarkjs4() -> Path:
    from tests.interop import snarkjs_ptau

    return snarkjs_ptau(POWER)


def _section_table(path: Path) -> dict[int, tuple[int, int]]:
    """{section id: (offset of its body, size)} read from the container header."""
    raw = path.read_bytes()
    _, _, count = struct.unpack_from("<4sII", raw, 0)
    pos, out = 12, {}
    for _ in range(count):
        sid, size = struct.unpack_from("<IQ", raw, pos)
        out[sid] = (pos + 12, size)
        pos += 12 + size
    return out


def _corrupt(src: Path, dst: Path, edits: list[tuple[int, int, bytes]]) -> Path:
    """Copy src to dst, overwriting bytes (section id, offset in its body, new bytes)."""
    table = _section_table(src)
    data = bytearray(src.read_bytes())
    for sid, off, new in edits:
        base, size = table[sid]
        assert off + len(new) <= size
        data[base + off : base + off + len(new)] = new
    dst.write_bytes(bytes(data))
    return dst


def _point(path: Path, sid: int, i: int) -> bytes:
    base, _ = _section_table(path)[sid]
    size = 128 if sid in (3, 6, 13) else 64
    raw = path.read_bytes()
    return raw[base + i * size : base + (i + 1) * size]


def _swap(src: Path, dst: Path, sid: int, i: int, j: int) -> Path:
    size = 128 if sid in (3, 6, 13) else 64
    a, b = _point(src, sid, i), _point(src, sid, j)
    return _corrupt(src, dst, [(sid, i * size, b), (sid, j * size, a)])


def _flip(src: Path, dst: Path, sid: int, off: int) -> Path:
    """Copy src to dst with one byte of a section inverted."""
    base, _ = _section_table(src)[sid]
    return _corrupt(src, dst, [(sid, off, bytes([src.read_bytes()[base + off] ^ 0xFF]))])


def _lagrange_ints(tau: int, q: int) -> list[int]:
    """L_i(tau) for the 2^q-th roots of unity, by the product formula (independent of ours)."""
    n, w = 1 << q, params.fr_root_of_unity(q)
    roots = [pow(w, i, R) for i in range(n)]
    out = []
    for i, wi in enumerate(roots):
        num = den = 1
        for j, wj in enumerate(roots):
            if j != i:
                num = num * (tau - wj) % R
                den = den * (wi - wj) % R
        out.append(num * pow(den, -1, R) % R)
    return out


# --- reading a snarkjs file ------------------------------------------------------------------


@pytest.mark.node
def test_read_snarkjs_ptau(snarkjs4):
    pt = read_ptau(snarkjs4)
    assert (pt.power, pt.ceremony_power, pt.prepared) == (POWER, POWER, True)
    t1 = pt.tau_g1_m()
    assert t1.shape == (2 * 16 - 1, 2, 4) and t1.dtype.name == "uint64"
    assert g1.affine_m_to_ints(t1[:1]) == [G1]
    assert pt.tau_g2(0) == G2
    tau_g1, tau_g2 = pt.tau_g1(1), pt.tau_g2(1)
    assert tau_g1 != G1  # a contribution was made: tau != 1
    # [tau]_1 and [tau]_2 carry the same tau; so do [tau^2]_1 and ([tau]_1, [tau]_2)
    assert ref.pairing_check([(tau_g1, G2), (ref.g1_neg(G1), tau_g2)])
    assert ref.pairing_check([(pt.tau_g1(2), G2), (ref.g1_neg(tau_g1), tau_g2)])
    # the file's bytes ARE the array (little-endian Montgomery affine): zero conversion
    assert t1[5].tobytes() == _point(snarkjs4, 2, 5)
    assert pt.lagrange_g1_m(3).tobytes() == b"".join(_point(snarkjs4, 12, 7 + i) for i in range(8))
    (c,) = pt.contributions()
    assert c.name == "zkperp tests" and c.type == 0
    assert (c.tau_g1, c.tau_g2) == (tau_g1, tau_g2)
    assert c.beta_g2 == pt.beta_g2()


@pytest.mark.node
def test_snarkjs_lagrange_sections_are_the_ifft_of_the_powers(snarkjs4):
    """Section 12 block q = IFFT of the first 2^q powers (natural order); block power + 1 has
    infinity in place of the missing [tau^(2^(power+1) - 1)]_1."""
    pt = read_ptau(snarkjs4)
    powers = g1.affine_m_to_ints(pt.tau_g1_m())
    for q in (0, 2, POWER + 1):
        n = 1 << q
        w_inv, n_inv = pow(params.fr_root_of_unity(q), -1, R), pow(n, -1, R)
        pts = powers[:n] if q <= POWER else [*powers[: n - 1], ref.G1_INFINITY]
        block = g1.affine_m_to_ints(pt.lagrange_g1_m(q))
        for i in (0, n - 1):
            scal = [n_inv * pow(w_inv, i * j, R) % R for j in range(n)]
            assert block[i] == ref.g1_lincomb(pts, scal), (q, i)


@pytest.mark.node
def test_contribution_hashes_reproduced(snarkjs4):
    """Our BLAKE2b state, compressed/uncompressed encodings and hash-to-G2 give snarkjs's own
    partial hash, next challenge and proof-of-knowledge points."""
    pt = read_ptau(snarkjs4)
    (c,) = pt.contributions()
    challenge = ptau.first_challenge_hash(POWER)
    response = ptau.Blake2b().update(challenge)
    uncompressed = []
    for arr in (pt.tau_g1_m(), pt.tau_g2_m(), pt.alpha_tau_g1_m(), pt.beta_tau_g1_m()):
        unc, comp = ptau._encodings(arr)
        response.update(comp)
        uncompressed.append(unc)
    unc, comp = ptau.g2_encodings(g2.affine_from_ints([pt.beta_g2()]))
    response.update(comp)
    uncompressed.append(unc)
    mine, theirs = response.partial(), c.partial_hash
    pos = response.pos
    assert mine[128:] == theirs[128:]  # h[0..7], length - pos, pos
    assert mine[:pos] == theirs[:pos]  # the buffered bytes (the rest of the buffer is stale)
    assert ptau.blake2b_512(c.response_hash, *uncompressed) == c.next_challenge
    k = c.key
    sp = ptau.g2_sp(0, challenge, k.tau_g1_s, k.tau_g1_sx)
    assert ref.pairing_check([(k.tau_g1_s, k.tau_g2_spx), (ref.g1_neg(k.tau_g1_sx), sp)])


def test_blake2b_partial_state_matches_hashlib():
    import hashlib

    rng = random.Random(5)
    for n in (0, 1, 64, 127, 128, 129, 256, 257, 5000):
        data = bytes(rng.randrange(256) for _ in range(n))
        h, i = ptau.Blake2b(), 0
        while i < n:
            step = rng.choice((1, 31, 128, 300))
            h.update(data[i : i + step])
            i += step
        assert h.digest() == hashlib.blake2b(data, digest_size=64).digest()
        resumed = ptau.Blake2b.from_partial(h.partial()).update(b"tail")
        assert resumed.digest() == hashlib.blake2b(data + b"tail", digest_size=64).digest()
    with pytest.raises(PtauError, match="216 bytes"):
        ptau.Blake2b.from_partial(bytes(10))


def test_first_challenge_hash_power_1():
    """calculateFirstChallengeHash, spelled out for power 1: 3 G1, 2 G2, 2 G1, 2 G1, 1 G2."""
    g1u, g2u = ref.g1_to_bytes_be(G1), ref.g2_to_bytes_be(G2)
    want = ptau.blake2b_512(ptau.blake2b_512(), g1u * 3, g2u * 2, g1u * 4, g2u)
    assert ptau.first_challenge_hash(1) == want


def test_fast_g2_mul_matches_py_ecc():
    outside = _twist_point_outside_g2()
    for pt, k in ((G2, 0), (G2, 1), (G2, R - 1), (G2, TAU), (outside, 2 * P - R), (outside, 7)):
        assert ptau.g2_mul(pt, k) == ref.g2_mul(pt, k), k
    with pytest.raises(ValueError, match="out of range"):
        ptau.g2_mul(G2, -1)


def test_hash_to_g2_lands_in_g2():
    for seed in (b"\x00" * 64, bytes(range(64))):
        pt = ptau.hash_to_g2(seed)
        assert ref.check_g2(pt) == pt and pt != ref.G2_INFINITY


# --- writing a development SRS ---------------------------------------------------------------


def test_dev_ptau_points_are_powers_of_the_fixed_tau(dev_ptau):
    pt = read_ptau(dev_ptau)
    n = 1 << POWER
    assert (pt.power, pt.ceremony_power, pt.prepared) == (POWER, POWER, True)
    t1 = g1.affine_m_to_ints(pt.tau_g1_m())
    for i in (0, 1, 2, 7, 2 * n - 2):
        assert t1[i] == ref.g1_mul(G1, pow(TAU, i, R)), i
    t2 = g2.affine_to_ints(pt.tau_g2_m())
    for i in (0, 1, n - 1):
        assert t2[i] == ref.g2_mul(G2, pow(TAU, i, R)), i
    alpha = g1.affine_m_to_ints(pt.alpha_tau_g1_m())
    beta = g1.affine_m_to_ints(pt.beta_tau_g1_m())
    for i in (0, 3, n - 1):
        assert alpha[i] == ref.g1_mul(G1, ALPHA * pow(TAU, i, R))
        assert beta[i] == ref.g1_mul(G1, BETA * pow(TAU, i, R))
    assert pt.beta_g2() == ref.g2_mul(G2, BETA)
    (c,) = pt.contributions()
    assert c.name == ptau.DEV_CONTRIBUTION_NAME and c.type == 0
    assert c.key.tau_g1_s == ref.g1_mul(G1, KEY_S[0])
    assert c.key.tau_g1_sx == ref.g1_mul(G1, KEY_S[0] * TAU)


def test_dev_ptau_lagrange_points(dev_ptau):
    pt = read_ptau(dev_ptau)
    for q in (0, 1, 3):
        want = [ref.g1_mul(G1, v) for v in _lagrange_ints(TAU, q)]
        assert g1.affine_m_to_ints(pt.lagrange_g1_m(q)) == want, q
    lag2 = _lagrange_ints(TAU, 2)
    assert g2.affine_to_ints(pt.lagrange_g2_m(2)) == [ref.g2_mul(G2, v) for v in lag2]
    assert g1.affine_m_to_ints(pt.lagrange_alpha_g1_m(2)) == [
        ref.g1_mul(G1, ALPHA * v) for v in lag2
    ]
    assert g1.affine_m_to_ints(pt.lagrange_beta_g1_m(2)) == [ref.g1_mul(G1, BETA * v) for v in lag2]
    # block power + 1 (snarkjs's quirk): the IFFT of tau^0 .. tau^(N-2) and 0
    q = POWER + 1
    n = 1 << q
    w_inv, n_inv = pow(params.fr_root_of_unity(q), -1, R), pow(n, -1, R)
    block = g1.affine_m_to_ints(pt.lagrange_g1_m(q))
    for i in (0, 5, n - 1):
        v = sum(pow(w_inv, i * j, R) * pow(TAU, j, R) for j in range(n - 1)) * n_inv % R
        assert block[i] == ref.g1_mul(G1, v), i
    with pytest.raises(PtauError, match="2\\^0 .. 2\\^4, not 2\\^5"):
        pt.lagrange_g2_m(POWER + 1)


def test_lagrange_scalars_when_tau_is_a_root_of_unity():
    from prover.field import convert
    from prover.field.kernels import FR_M

    tau = pow(params.fr_root_of_unity(3), 5, R)
    assert convert.from_mont(FR_M, ptau.lagrange_scalars_m(tau, 3)) == [0] * 5 + [1, 0, 0]
    assert convert.from_mont(FR_M, ptau.lagrange_scalars_m(tau, 4)) == [0] * 10 + [1] + [0] * 5
    assert convert.from_mont(FR_M, ptau.lagrange_scalars_m(tau, 2)) == _lagrange_ints(tau, 2)
    assert convert.from_mont(FR_M, ptau.lagrange_scalars_m(12345, 3)) == _lagrange_ints(12345, 3)


def test_write_dev_ptau_rejects_bad_power(tmp_path):
    for bad in (0, 28, 2.0, True):
        with pytest.raises(PtauError, match="power must be an int"):
            write_dev_ptau(tmp_path / "x.ptau", bad)
    assert not list(tmp_path.iterdir())


def test_default_entropy_differs(tmp_path):
    write_dev_ptau(tmp_path / "a.ptau", 1)
    write_dev_ptau(tmp_path / "b.ptau", 1)
    assert read_ptau(tmp_path / "a.ptau").tau_g1(1) != read_ptau(tmp_path / "b.ptau").tau_g1(1)


# --- verifying -------------------------------------------------------------------------------


def test_verify_accepts_ours(dev_ptau):
    report = check_ptau(dev_ptau, random.Random(1))
    assert report.ok and report.failures == [] and report.notes == []


@pytest.mark.node
def test_verify_accepts_snarkjs(snarkjs4):
    assert verify_ptau(snarkjs4, random.Random(2)) == []


@pytest.mark.node
def test_snarkjs_verifies_ours(dev_ptau):
    from tests.interop import snarkjs

    out = snarkjs("powersoftau", "verify", dev_ptau)
    assert "Powers of Tau Ok!" in out
    assert "Contribution #1: " + ptau.DEV_CONTRIBUTION_NAME in out


def _other_valid_g1(src: Path) -> bytes:
    return _point(src, 2, 3)  # a valid point that is wrong anywhere else


@pytest.mark.parametrize(
    "name, make, expect",
    [
        ("swap", lambda s, d: _swap(s, d, 2, 3, 4), ["section 2 (tau G1)", "successive powers"]),
        (
            "off-curve-and-non-canonical",
            lambda s, d: _corrupt(
                s,
                d,
                [
                    (4, 64 * 5 + 32, (7).to_bytes(32, "little")),
                    (5, 64 * 2, P.to_bytes(32, "little")),
                ],
            ),
            [
                "section 4 (alpha tau G1): point 5 is off G1",
                "section 5 (beta tau G1): point 2 has a coordinate >= p",
                "section 14 (Lagrange alpha tau G1): not checked",
            ],
        ),
        (
            "lagrange-g1",
            lambda s, d: _corrupt(s, d, [(12, 64 * (7 + 2), _other_valid_g1(s))]),
            ["section 12 (Lagrange tau G1), domain 2^3"],
        ),
        (
            "lagrange-g1-top",
            lambda s, d: _swap(s, d, 12, 31 + 1, 31 + 2),
            ["section 12 (Lagrange tau G1), domain 2^5", "Lagrange basis"],
        ),
        (
            "lagrange-g2",
            lambda s, d: _swap(s, d, 13, 3, 4),
            ["section 13 (Lagrange tau G2), domain 2^2"],
        ),
        (
            "lagrange-alpha",
            lambda s, d: _corrupt(s, d, [(14, 64 * 8, _point(s, 14, 7))]),
            ["section 14 (Lagrange alpha tau G1), domain 2^3"],
        ),
        (
            "beta-g2",
            lambda s, d: _corrupt(s, d, [(6, 0, _point(s, 3, 1))]),
            ["section 6 (beta G2)", "betaG2 differs"],
        ),
        (
            "next-challenge",
            lambda s, d: _flip(s, d, 7, 4 + 64 * 3 + 128 * 2 + 768 + 216),
            ["next-challenge hash does not match"],
        ),
    ],
)
def test_verify_rejects_corruption(dev_ptau, tmp_path, name, make, expect):
    bad = make(dev_ptau, tmp_path / f"{name}.ptau")
    report = check_ptau(bad, random.Random(3))
    text = "\n".join(report.failures + report.notes)
    assert report.failures, name
    for phrase in expect:
        assert phrase in text, (phrase, report)


def _twist_point_outside_g2() -> ref.G2Point:
    x = 1
    while True:
        rhs = ref.fq2_add(ref.fq2_mul(ref.fq2_sqr((x, 0)), (x, 0)), ref.TWIST_B)
        y = ref.fq2_sqrt(rhs)
        if y is not None and not ref.is_in_g2_subgroup(((x, 0), y)):
            return (x, 0), y
        x += 1


def test_verify_rejects_g2_point_outside_subgroup(dev_ptau, tmp_path):
    bad = _corrupt(
        dev_ptau, tmp_path / "sub.ptau", [(3, 128 * 2, ref.g2_to_lem(_twist_point_outside_g2()))]
    )
    failures = verify_ptau(bad)
    assert any("section 3 (tau G2): point 2 is on the twist but not in G2" in f for f in failures)
    with pytest.raises(PtauError, match="section 3 .*point 2 is on the twist but not in G2"):
        read_ptau(bad).tau_g2_m()


def test_batched_g2_subgroup_test():
    """Many points: random combinations must land in G2. A point whose only defect is a
    component of order 10069 (the cofactor's small prime) is caught too."""
    import numpy as np

    from prover.curve.fixed_base_g2 import fixed_base_g2
    from prover.field.kernels import FR_M

    nprng = np.random.default_rng(9)
    pts = fixed_base_g2(G2, FR_M.powers(TAU, 600))
    assert ptau.g2_all_in_subgroup(pts, nprng)
    outside = _twist_point_outside_g2()
    small = ref.g2_mul(outside, R * ((2 * P - R) // 10069))  # order 10069
    assert small != ref.G2_INFINITY and ref.g2_mul(small, 10069) == ref.G2_INFINITY
    for bad in (outside, ref.g2_add(ref.g2_mul(G2, 5), small)):
        corrupted = pts.copy()
        corrupted[321] = g2.affine_from_ints([bad])[0]
        assert not ptau.g2_all_in_subgroup(corrupted, nprng)
        assert not ptau.g2_all_in_subgroup(corrupted[300:400], nprng)  # the exact path


@pytest.mark.node
def test_verify_rejects_corrupted_snarkjs_file(snarkjs4, tmp_path):
    """One copy, three independent corruptions: each is named by its section."""
    bad = _swap(snarkjs4, tmp_path / "s.ptau", 13, 7, 8)  # Lagrange G2, domain 2^3
    bad = _corrupt(bad, tmp_path / "t.ptau", [(2, 64 * 9 + 32, (5).to_bytes(32, "little"))])
    bad = _corrupt(bad, tmp_path / "u.ptau", [(15, 64 * 4, _point(snarkjs4, 15, 5))])
    report = check_ptau(bad, random.Random(4))
    text = "\n".join(report.failures)
    assert "section 13 (Lagrange tau G2), domain 2^3" in text
    assert "section 2 (tau G1): point 9 is off G1" in text
    assert "section 15 (Lagrange beta tau G1), domain 2^2" in text
    assert any("section 12 (Lagrange tau G1): not checked" in n for n in report.notes)


@pytest.mark.node
def test_file_without_contribution(tmp_path):
    """`powersoftau new` writes tau = 1 and no contribution: snarkjs's verify refuses it, so
    does ours, saying why; it is not prepared for phase 2 either."""
    from tests.interop import SnarkjsError, snarkjs

    path = tmp_path / "new.ptau"
    snarkjs("powersoftau", "new", "bn128", "3", path)
    with pytest.raises(SnarkjsError, match="no contribution"):
        snarkjs("powersoftau", "verify", path)
    report = check_ptau(path)
    text = "\n".join(report.failures)
    assert "tau = 1" in text and "no contribution" in text
    assert any("not prepared for phase 2" in n for n in report.notes)
    with pytest.raises(PtauError, match="not prepared for phase 2"):
        read_ptau(path).lagrange_g1_m(2)


# --- malformed files -------------------------------------------------------------------------


def _header(n8: int = 32, q: int = P, power: int = 1, ceremony: int = 1) -> bytes:
    return struct.pack("<I", n8) + q.to_bytes(n8, "little") + struct.pack("<II", power, ceremony)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: {**s, 1: _header(n8=48, q=5)}, "n8 = 48"),
        (lambda s: {**s, 1: _header(q=R)}, "not BN254's p"),
        (lambda s: {**s, 1: _header(power=2, ceremony=2)}, "section 2 .* expected 448"),
        (lambda s: {**s, 1: _header(ceremony=0)}, "ceremony power 0 < power 1"),
        (lambda s: {**s, 1: _header()[:-4]}, "header has 40 bytes"),
        (lambda s: {k: v for k, v in s.items() if k != 3}, "section 3 .* is missing"),
        (lambda s: {**s, 12: s[12][:-64]}, "section 12 .* has 384 bytes"),
    ],
)
def test_read_rejects_malformed(tmp_path, edit, message):
    write_dev_ptau(tmp_path / "ok.ptau", 1, rng=FixedRng([3, 5, 7, 1, 2, 3]))
    table = _section_table(tmp_path / "ok.ptau")
    raw = (tmp_path / "ok.ptau").read_bytes()
    sections = {sid: raw[o : o + n] for sid, (o, n) in table.items()}
    write_binfile(tmp_path / "bad.ptau", "ptau", 1, sorted(edit(sections).items()))
    with pytest.raises(PtauError, match=message):
        read_ptau(tmp_path / "bad.ptau")
    assert len(verify_ptau(tmp_path / "bad.ptau")) == 1


def test_read_rejects_other_containers(tmp_path):
    write_binfile(tmp_path / "z.ptau", "zkey", 1, [])
    with pytest.raises(PtauError, match="not a 'ptau' file"):
        read_ptau(tmp_path / "z.ptau")
    assert "not a 'ptau' file" in verify_ptau(tmp_path / "z.ptau")[0]


# --- snarkjs PLONK on our SRS ------------------------------------------------------------------

PLONK_CIRCUIT = """pragma circom 2.0.0;

template Cube() {
    signal input x;
    signal input k;
    signal output y;
    signal x2;
    x2 <== x * x;
    y <== x2 * x + k;
}

component main {public [k]} = Cube();
"""


@pytest.mark.node
def test_snarkjs_plonk_setup_and_proof_with_our_ptau(dev_ptau, tmp_path):
    from tests.interop import circom_witness, compile_circom, snarkjs, snarkjs_ok

    build = compile_circom(PLONK_CIRCUIT, "ptau_cube")
    wtns = circom_witness(build, {"x": "3", "k": "5"})
    zkey, vk = tmp_path / "c.zkey", tmp_path / "vk.json"
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    snarkjs("plonk", "setup", build.r1cs, dev_ptau, zkey)
    snarkjs("plonk", "prove", zkey, wtns, proof, public)
    snarkjs("zkey", "export", "verificationkey", zkey, vk)
    assert json.loads(public.read_text()) == ["32", "5"]
    assert "OK!" in snarkjs("plonk", "verify", vk, public, proof)
    # the key is ours: X_2 is our [tau]_2
    (x0, x1), (y0, y1) = ref.g2_mul(G2, TAU)
    assert json.loads(vk.read_text())["X_2"] == [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]
    # and the check is not vacuous: another public signal is rejected
    public.write_text(json.dumps(["33", "5"]))
    assert not snarkjs_ok("plonk", "verify", vk, public, proof)


# --- the command line ------------------------------------------------------------------------


def test_cli_new_and_verify(tmp_path):
    from cli.main import zkperp

    runner = CliRunner()
    out = tmp_path / "cli.ptau"
    res = runner.invoke(zkperp, ["ptau", "new", "--power", "2", str(out)])
    assert res.exit_code == 0, res.output
    assert "insecure for production" in res.output
    assert "powersOfTau28_hez_final" in res.output and "prepare phase2" in res.output
    assert "section 12 (Lagrange tau G1)" in res.output and "total" in res.output
    assert read_ptau(out).power == 2
    res = runner.invoke(zkperp, ["ptau", "verify", str(out)])
    assert res.exit_code == 0, res.output
    assert "ptau OK" in res.output

    # a file whose header claims power 3: read fails at once, naming the section
    bad = _corrupt(out, tmp_path / "bad.ptau", [(1, 36, struct.pack("<II", 3, 3))])
    res = runner.invoke(zkperp, ["ptau", "verify", str(bad)])
    assert res.exit_code == 1
    assert "ptau INVALID" in res.output and "section 2 (tau G1) has 448 bytes" in res.output
    assert "Traceback" not in res.output


def test_cli_errors(tmp_path):
    from cli.main import zkperp

    runner = CliRunner()
    res = runner.invoke(zkperp, ["ptau", "new", "--power", "0", str(tmp_path / "x.ptau")])
    assert res.exit_code == 2 and "--power" in res.output
    res = runner.invoke(zkperp, ["ptau", "new", str(tmp_path / "x.ptau")])
    assert res.exit_code == 2
    res = runner.invoke(zkperp, ["ptau", "verify", str(tmp_path / "missing.ptau")])
    assert res.exit_code == 2 and "does not exist" in res.output
    (tmp_path / "junk.ptau").write_bytes(b"not a ptau file at all")
    res = runner.invoke(zkperp, ["ptau", "verify", str(tmp_path / "junk.ptau")])
    assert res.exit_code == 1 and "not a 'ptau' file" in res.output
    res = runner.invoke(zkperp, ["ptau", "new", "--power", "2", str(tmp_path / "no" / "x.ptau")])
    assert res.exit_code == 1 and "Error:" in res.output and "Traceback" not in res.output
