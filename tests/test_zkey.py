"""prover.zkey: snarkjs PLONK zkeys, read / write / compare, and the vk.json export."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from prover import params
from prover.binfile import BinFile, encode_binfile
from prover.field import convert
from prover.field.kernels import FR_M
from prover.kzg import KnownTauPowers
from prover.plonk.constraint_system import ConstraintSystem, from_r1cs
from prover.plonk.setup import setup
from prover.poly.domain import Domain
from prover.poly.ntt import intt, ntt
from prover.ptau import read_ptau
from prover.r1cs import read_r1cs
from prover.zkey import (
    WRITE_ORDER,
    ZkeyError,
    compare_zkey,
    dumps_verification_key,
    read_verifying_key,
    read_zkey,
    read_zkey_header,
    section_parts,
    verification_key_json,
    write_zkey,
    zkey_sections,
)
from tests.interop import compile_circom, snarkjs, snarkjs_ptau

R = params.R_ORDER
MONT_R_INV = pow(2**256, -1, R)

CIRCUIT = """pragma circom 2.0.0;
template T() {
    signal input a;
    signal input b;
    signal input c;
    signal output d;
    signal output e;
    signal t;
    t <== a * b;
    d <== t * c + a + b + c + 2;
    e <== d * d;
}
component main {public [a]} = T();
"""


def small_cs(n_public: int = 3) -> ConstraintSystem:
    """n_public public rows, then s4 * s5 = s6 and an addition s7 = 2 s4 + 3 s6 (qC = 0: Qc is
    the point at infinity): 8 gates with 3 public signals."""
    rows = [(i + 1, 0, 0, 0, 1, 0, 0, 0) for i in range(n_public)]
    mul, add = (4, 5, 6, 1, 0, 0, R - 1, 0), (7, 4, 6, 0, 1, 0, 0, 0)
    rows += [mul, add, mul, add, mul]
    return ConstraintSystem(7, n_public, *zip(*rows, strict=True), additions=((4, 6, 2, 3),))


@pytest.fixture(scope="module")
def key():
    return setup(small_cs(), KnownTauPowers(10, 77777))


@pytest.fixture
def zkey_file(key, tmp_path):
    path = tmp_path / "k.zkey"
    write_zkey(key, path)
    return path


def fr_words(blob: bytes) -> list[int]:
    return [int.from_bytes(blob[i : i + 32], "little") * MONT_R_INV % R
            for i in range(0, len(blob), 32)]  # fmt: skip


def test_round_trip(key, zkey_file, tmp_path):
    back = read_zkey(zkey_file)
    assert back.vk == key.vk and back.additions == key.additions
    assert (back.n_vars, back.n_public, back.power, back.n_constraints) == (7, 3, 3, 8)
    for field in ("a_map", "b_map", "c_map", "qm_m", "ql_m", "qr_m", "qo_m", "qc_m", "s1_m",
                  "s2_m", "s3_m", "srs_g1_m"):  # fmt: skip
        assert np.array_equal(getattr(back, field), getattr(key, field)), field
    write_zkey(back, tmp_path / "again.zkey")
    assert (tmp_path / "again.zkey").read_bytes() == zkey_file.read_bytes()
    assert read_verifying_key(zkey_file) == key.vk
    hdr = read_zkey_header(zkey_file)
    assert (hdr.n_vars, hdr.n_additions, hdr.n_constraints) == (7, 1, 8)


def test_layout(key, zkey_file):
    """Section order, nVars counting the additions, P4 = n coefficients + 4n evaluations on the
    4n-th roots (not a coset), the Lagrange polynomials of the public rows."""
    data = zkey_file.read_bytes()
    assert data[:12] == b"zkey" + struct.pack("<II", 1, 14)
    bf = BinFile.parse(data, "zkey")
    assert list(bf.sections) == list(WRITE_ORDER)  # 3 .. 14, then 1, 2 (snarkjs writes so)
    hdr = bytes(bf.section(2))
    assert struct.unpack_from("<5I", hdr, 72) == (8, 3, 8, 1, 8)  # nVars = 7 + 1 addition
    n = 8
    ext = Domain(5)
    for sid, coeffs_m in ((7, key.qm_m), (12, key.s1_m)):
        words = fr_words(bytes(bf.section(sid))[: 5 * n * 32])
        assert words[:n] == convert.from_mont(FR_M, coeffs_m)
        padded = np.zeros((4 * n, 4), dtype=np.uint64)
        padded[:n] = coeffs_m
        assert words[n:] == convert.from_mont(FR_M, ntt(padded, ext))
        on_h = convert.from_mont(FR_M, ntt(coeffs_m.copy(), Domain(3)))
        assert words[n::4] == on_h  # every 4th point of the 4n domain is a point of H
    lag = fr_words(bytes(bf.section(13)))
    assert len(lag) == 3 * 5 * n
    for i in range(3):
        unit = convert.to_mont(FR_M, [int(j == i) for j in range(n)])
        coeffs = intt(unit, Domain(3))
        assert lag[5 * n * i : 5 * n * i + n] == convert.from_mont(FR_M, coeffs)
        padded = np.zeros((4 * n, 4), dtype=np.uint64)
        padded[:n] = coeffs
        assert lag[5 * n * i + n : 5 * n * (i + 1)] == convert.from_mont(FR_M, ntt(padded, ext))
    assert len(bytes(bf.section(14))) == (n + 6) * 64


def test_no_public_still_one_lagrange_polynomial(tmp_path):
    pk = setup(small_cs(0), KnownTauPowers(10, 77777))
    sections = dict(zkey_sections(pk))
    assert len(sections[13]) == 5 * 8 * 32  # max(nPublic, 1)
    write_zkey(pk, tmp_path / "z.zkey")
    assert read_zkey(tmp_path / "z.zkey").n_public == 0


def test_verification_key_json(key):
    vk = verification_key_json(key.vk)
    assert list(vk) == ["protocol", "curve", "nPublic", "power", "k1", "k2", "Qm", "Ql", "Qr",
                        "Qo", "Qc", "S1", "S2", "S3", "X_2", "w"]  # fmt: skip
    assert vk["protocol"] == "plonk" and vk["curve"] == "bn128"
    assert (vk["nPublic"], vk["power"], vk["k1"], vk["k2"]) == (3, 3, "2", "3")
    assert vk["Qc"] == ["0", "1", "0"]  # the zero polynomial commits to infinity
    assert vk["Qm"] == [str(key.vk.Qm[0]), str(key.vk.Qm[1]), "1"]
    (x0, x1), (y0, y1) = key.vk.X_2
    assert vk["X_2"] == [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]
    assert vk["w"] == str(params.fr_root_of_unity(3))
    assert json.loads(dumps_verification_key(key.vk)) == vk
    assert dumps_verification_key(key.vk).startswith('{\n "protocol": "plonk",\n "curve"')


# --- bad files --------------------------------------------------------------------------------


def rebuilt(path, sid: int, body: bytes | None, drop: bool = False, version: int = 1) -> bytes:
    """The zkey at ``path`` with section ``sid`` replaced by ``body`` (or dropped)."""
    bf = BinFile.parse(path.read_bytes(), "zkey")
    sections = []
    for s, bodies in bf.sections.items():
        if s == sid:
            if not drop:
                sections.append((s, body))
        else:
            sections.append((s, bytes(bodies[0])))
    if sid not in bf.sections and body is not None:
        sections.append((sid, body))
    return encode_binfile("zkey", version, sections)


def patched(path, sid: int, offset: int, new: bytes) -> bytes:
    body = bytearray(BinFile.parse(path.read_bytes(), "zkey").section(sid))
    body[offset : offset + len(new)] = new
    return rebuilt(path, sid, bytes(body))


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda p: b"ptau" + p.read_bytes()[4:], "not a 'zkey' file"),
        (lambda p: p.read_bytes()[:-100], "claims"),
        (lambda p: patched(p, 1, 0, struct.pack("<I", 1)), "Groth16 zkey; zkperp reads PLONK"),
        (lambda p: patched(p, 1, 0, struct.pack("<I", 10)), "FFLONK zkey"),
        (lambda p: patched(p, 1, 0, struct.pack("<I", 7)), "unknown protocol id 7"),
        (lambda p: rebuilt(p, 0, None, version=3), "version 3 > 2"),
        (lambda p: patched(p, 2, 4, (params.P + 2).to_bytes(32, "little")), "not BN254"),
        (lambda p: patched(p, 2, 40, params.P.to_bytes(32, "little")), "r differs"),
        (lambda p: patched(p, 2, 0, struct.pack("<I", 48)), "n8q = 48"),
        (lambda p: patched(p, 2, 80, struct.pack("<I", 12)), "12 is not a power of two"),
        (lambda p: patched(p, 2, 88, struct.pack("<I", 9)), "9 gates do not fit"),
        (lambda p: patched(p, 2, 156, bytes(64)), None),  # Qm at infinity: a valid point
        (lambda p: patched(p, 2, 156, (5).to_bytes(32, "little")), "commitment Qm"),
        (lambda p: patched(p, 2, 668, bytes(128)), "X_2 is the point at infinity"),
        (lambda p: patched(p, 2, 668, (5).to_bytes(32, "little")), "X_2"),
        (lambda p: patched(p, 2, 84, struct.pack("<I", 0)), "section 3 has 72 bytes, expected 0"),
        (lambda p: patched(p, 3, 0, struct.pack("<I", 8)), "addition 0 uses signal 8"),
        (lambda p: patched(p, 4, 4 * 5, struct.pack("<I", 8)), "row 5 names signal 8 >= 8"),
        (lambda p: patched(p, 7, 0, b"\xff" * 32), "section 7 \\(Qm\\).*not a canonical"),
        (lambda p: rebuilt(p, 9, b"\0" * 32), "section 9 has 32 bytes"),
        (lambda p: rebuilt(p, 13, None, drop=True), "section 13 is missing"),
        (lambda p: patched(p, 14, 64 * 3, (1).to_bytes(32, "little")), "section 14.*point"),
    ],
)
def test_bad_files(zkey_file, tmp_path, change, match):
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(change(zkey_file))
    if match is None:
        read_zkey(bad)
        return
    with pytest.raises(ZkeyError, match=match):
        read_zkey(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ZkeyError, match="cannot read"):
        read_zkey(tmp_path / "none.zkey")


@pytest.mark.parametrize(
    "sid, offset, expected",
    [
        (2, 156 + 64, "section 2 (PLONK header): Ql differs"),
        (2, 72, "section 2 (PLONK header): nVars differs"),
        (3, 40, "section 3 (additions): addition 0 differs"),
        (5, 4 * 4, "section 5 (B wire map): row 4 differs"),
        (7, 32 * 3, "section 7 (Qm): Qm coefficient 3 differs"),
        (7, 32 * (8 + 6), "section 7 (Qm): Qm evaluation 6 differs"),
        (12, 32 * (40 + 9), "section 12 (S1 S2 S3): S2 evaluation 1 differs"),
        (13, 32 * (40 + 2), "section 13 (public-row Lagrange polynomials): L_1 coefficient 2"),
        (14, 64 * 13, "section 14 (tau^i G1 points): point 13 differs"),
    ],
)
def test_compare_names_the_difference(key, zkey_file, tmp_path, sid, offset, expected):
    assert compare_zkey(key, zkey_file) is None
    body = bytes(BinFile.parse(zkey_file.read_bytes(), "zkey").section(sid))
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(patched(zkey_file, sid, offset, bytes([body[offset] ^ 1])))
    assert compare_zkey(key, bad).startswith(expected)


def test_compare_structure(key, zkey_file, tmp_path):
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(rebuilt(zkey_file, 12, None, drop=True))
    assert compare_zkey(key, bad) == "section 12 (S1 S2 S3) is missing"
    bad.write_bytes(rebuilt(zkey_file, 15, b"extra"))
    assert compare_zkey(key, bad) == "unexpected section(s) [15]"
    bad.write_bytes(rebuilt(zkey_file, 4, b"\0" * 8))
    assert compare_zkey(key, bad) == "section 4 (A wire map) has 8 bytes, expected 32"
    # the same sections in another order are the same zkey
    bf = BinFile.parse(zkey_file.read_bytes(), "zkey")
    bad.write_bytes(encode_binfile("zkey", 1, [(s, bytes(bf.section(s))) for s in range(1, 15)]))
    assert compare_zkey(key, bad) is None
    assert "cannot read" in compare_zkey(key, tmp_path / "none.zkey")


# --- snarkjs's files --------------------------------------------------------------------------


@pytest.mark.node
def test_snarkjs_zkey_round_trip_and_export(tmp_path):
    build = compile_circom(CIRCUIT, "zkey_t")
    ptau = snarkjs_ptau(8)
    zkey = tmp_path / "s.zkey"
    snarkjs("plonk", "setup", build.r1cs, ptau, zkey)
    snarkjs("zkey", "export", "verificationkey", zkey, tmp_path / "vk.json")
    pk = read_zkey(zkey)
    write_zkey(pk, tmp_path / "ours.zkey")
    assert (tmp_path / "ours.zkey").read_bytes() == zkey.read_bytes()
    assert dumps_verification_key(pk.vk) == (tmp_path / "vk.json").read_text()
    assert pk.vk == setup(from_r1cs(read_r1cs(build.r1cs)), read_ptau(ptau)).vk


@pytest.mark.node
def test_groth16_zkey_is_refused_clearly(tmp_path):
    build = compile_circom(CIRCUIT, "zkey_t")
    snarkjs("groth16", "setup", build.r1cs, snarkjs_ptau(8), tmp_path / "g.zkey")
    with pytest.raises(ZkeyError, match="Groth16 zkey; zkperp reads PLONK zkeys only"):
        read_zkey(tmp_path / "g.zkey")
    with pytest.raises(ZkeyError, match="Groth16"):
        read_verifying_key(tmp_path / "g.zkey")


def test_large_sections_stream_one_polynomial_at_a_time(key, zkey_file):
    """write_zkey writes sections 12 and 13 a polynomial (n + 4n elements) at a time: the file is
    the same bytes as the sections joined (section 13 is n_public x 5n elements, 10 GB at 2^20
    with 64 public inputs)."""
    poly = 5 * key.domain_size * 32
    joined = dict(zkey_sections(key))
    for sid, size, parts in section_parts(key):
        parts = list(parts)
        assert b"".join(parts) == joined[sid] and len(joined[sid]) == size
        if sid in (12, 13):
            assert [len(p) for p in parts] == [poly] * (3 if sid == 12 else key.n_public)
    assert compare_zkey(key, zkey_file) is None
