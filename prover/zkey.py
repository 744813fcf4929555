"""snarkjs PLONK ``.zkey`` files (read and write, byte for byte) and ``verification_key.json``.

Mirrors snarkjs 0.7.6: ``plonk_setup.js`` (what it writes, and in which order), ``zkey_utils.js``
(``readHeader``, ``readHeaderPlonk``) and ``zkey_export_verificationkey.js`` (``plonkVk``). An
iden3 binfile container (``prover.binfile``), magic ``"zkey"``, version 1, 14 sections. Field
elements and points are little-endian **Montgomery** words (R = 2^256); a G1 point is x || y
(64 bytes, infinity all zeros), a G2 point x.c0 || x.c1 || y.c0 || y.c1 (128 bytes):

    1   protocol id u32: 1 Groth16, 2 PLONK, 10 FFLONK (only 2 is read here)
    2   n8q u32, q, n8r u32, r, nVars u32 (witness + additions!), nPublic u32, domainSize u32,
        nAdditions u32, nConstraints u32, k1, k2 (Fr), Qm, Ql, Qr, Qo, Qc, S1, S2, S3 (G1), X_2 (G2)
    3   additions: nAdditions x { sig1 u32, sig2 u32, f1, f2 (Fr) }
    4-6 wire maps A, B, C: nConstraints x u32 (internal-signal index per gate row)
    7-11 Qm, Ql, Qr, Qo, Qc; then 12 = S1 || S2 || S3: each polynomial is n coefficients followed
        by its 4n evaluations on the 4n-th roots of unity (natural order; NOT a coset)
    13  the Lagrange polynomials L_i of the public rows, i < max(nPublic, 1), each n + 4n as above
    14  [tau^i]_1 for i < n + 6 (n + 6: the quotient pieces T1..T3 need them)

snarkjs writes sections 3 .. 14 first and the headers 1 and 2 last; ``write_zkey`` does the same,
so a key computed from the same circuit and ptau is byte-identical to snarkjs's file.

``verification_key_json`` is the dict ``snarkjs zkey export verificationkey`` writes (key order
included: protocol, curve, nPublic, power, k1, k2, Qm .. S3, X_2, w; scalars as decimal strings,
G1 points [x, y, "1"] (infinity ["0", "1", "0"]), X_2 as [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prover import params
from prover.binfile import BinFile, BinFileError
from prover.curve import ref as curve
from prover.curve.g1 import validate_g1_affine_m
from prover.field import convert
from prover.field.kernels import FR_M
from prover.plonk.keys import COMMITMENT_NAMES, G1Point, ProvingKey, VerifyingKey
from prover.poly.domain import Domain
from prover.poly.ntt import ntt

ZKEY_MAGIC = "zkey"
ZKEY_VERSION = 1
GROTH16_PROTOCOL_ID = 1
PLONK_PROTOCOL_ID = 2
FFLONK_PROTOCOL_ID = 10
_PROTOCOL_NAMES = {GROTH16_PROTOCOL_ID: "Groth16", FFLONK_PROTOCOL_ID: "FFLONK"}

N8 = 32
G1_SIZE = 2 * N8
G2_SIZE = 4 * N8
ADDITION_SIZE = 8 + 2 * N8
HEADER_SIZE = 4 + N8 + 4 + N8 + 5 * 4 + 2 * N8 + 8 * G1_SIZE + G2_SIZE  # 796

SECTION_NAMES = {
    1: "protocol id",
    2: "PLONK header",
    3: "additions",
    4: "A wire map",
    5: "B wire map",
    6: "C wire map",
    7: "Qm",
    8: "Ql",
    9: "Qr",
    10: "Qo",
    11: "Qc",
    12: "S1 S2 S3",
    13: "public-row Lagrange polynomials",
    14: "tau^i G1 points",
}
WRITE_ORDER = (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 1, 2)  # snarkjs writes headers last
_SELECTORS = {7: "qm_m", 8: "ql_m", 9: "qr_m", 10: "qo_m", 11: "qc_m"}
_HEADER_FIELDS = (
    ("n8q", 4), ("q", N8), ("n8r", 4), ("r", N8), ("nVars", 4), ("nPublic", 4),
    ("domainSize", 4), ("nAdditions", 4), ("nConstraints", 4), ("k1", N8), ("k2", N8),
    *((name, G1_SIZE) for name in COMMITMENT_NAMES), ("X_2", G2_SIZE),
)  # fmt: skip


class ZkeyError(ValueError):
    """A .zkey file that is not a usable snarkjs PLONK zkey for BN254."""


@dataclass(frozen=True)
class ZkeyHeader:
    """Sections 1-2 of a PLONK zkey, decoded."""

    n_vars: int  # witness length (the file's nVars minus nAdditions)
    n_additions: int
    n_constraints: int
    vk: VerifyingKey

    @property
    def domain_size(self) -> int:
        return self.vk.domain_size


# --- small encoders ---------------------------------------------------------------------------


def _fr_lem(x: int) -> bytes:
    return (x * params.R_MONT_R % params.R_ORDER).to_bytes(N8, "little")


def _fr_from_lem(data: bytes, what: str, where: str) -> int:
    w = int.from_bytes(data, "little")
    if w >= params.R_ORDER:
        raise ZkeyError(f"{where}: {what} is not a canonical Fr Montgomery word")
    return w * pow(params.R_MONT_R, -1, params.R_ORDER) % params.R_ORDER


def _mont_bytes(a_m: np.ndarray) -> bytes:
    return np.ascontiguousarray(a_m).astype("<u8", copy=False).tobytes()


def _p4(coeffs_m: np.ndarray, power: int) -> bytes:
    """n coefficients then the 4n evaluations on the 4n-th roots of unity (snarkjs writeP4)."""
    n = 1 << power
    ext = np.zeros((4 * n, 4), dtype=np.uint64)
    ext[:n] = coeffs_m
    ntt(ext, Domain(power + 2))
    return _mont_bytes(coeffs_m) + _mont_bytes(ext)


def _lagrange_section(n_public: int, power: int) -> Iterator[bytes]:
    """L_i for i < max(n_public, 1): coefficients w^(-ij) / n; on the 4n-th roots w4^j,
    L_i(w4^j) = L_0(w4^(j - 4i)) (w4^4 = w), so its evaluations are L_0's rolled by 4i."""
    n = 1 << power
    dom = Domain(power)
    ext = np.zeros((4 * n, 4), dtype=np.uint64)
    ext[:n] = np.array(FR_M.element(dom.n_inv), dtype=np.uint64)
    ntt(ext, Domain(power + 2))
    for i in range(max(n_public, 1)):
        step = pow(dom.omega_inv, i, params.R_ORDER)
        coeffs = FR_M.scale(FR_M.powers(step, n), dom.n_inv)
        yield _mont_bytes(coeffs) + _mont_bytes(np.roll(ext, 4 * i, axis=0))


def _header_bytes(pk: ProvingKey) -> bytes:
    vk = pk.vk
    parts = [
        struct.pack("<I", N8),
        params.P.to_bytes(N8, "little"),
        struct.pack("<I", N8),
        params.R_ORDER.to_bytes(N8, "little"),
        struct.pack(
            "<5I",
            pk.n_vars + len(pk.additions),  # snarkjs's plonkNVars: witness + additions
            pk.n_public,
            pk.domain_size,
            len(pk.additions),
            pk.n_constraints,
        ),
        _fr_lem(vk.k1),
        _fr_lem(vk.k2),
        *(curve.g1_to_lem(p) for p in vk.commitments()),
        curve.g2_to_lem(vk.X_2),
    ]
    return b"".join(parts)


def zkey_sections(pk: ProvingKey) -> Iterator[tuple[int, bytes]]:
    """(section id, body) in snarkjs's write order, one section at a time (the 4n evaluations
    are computed here: a proving key holds coefficients only). Section 13 is n_public x 5n
    field elements (10 GB at 2^20 and 64 public inputs): ``write_zkey`` and ``compare_zkey``
    stream it by ``section_parts`` instead."""
    for sid, _, parts in section_parts(pk):
        yield sid, b"".join(parts)


def section_parts(pk: ProvingKey) -> Iterator[tuple[int, int, Iterator[bytes]]]:
    """(section id, its size in bytes, its body as parts computed one at a time) in snarkjs's
    write order: sections 12 and 13 a polynomial (n coefficients and 4n evaluations) a part,
    the others one part."""
    if pk.srs_g1_m.shape[0] < pk.domain_size + 6:
        raise ValueError("the proving key lacks the n + 6 SRS points of section 14")
    poly_size = 5 * pk.domain_size * N8
    for sid in WRITE_ORDER:
        if sid == 12:
            sigmas = (pk.s1_m, pk.s2_m, pk.s3_m)
            yield sid, 3 * poly_size, (_p4(s, pk.power) for s in sigmas)
        elif sid == 13:
            count = max(pk.n_public, 1)
            yield sid, count * poly_size, _lagrange_section(pk.n_public, pk.power)
        else:
            body = _small_section(pk, sid)
            yield sid, len(body), iter((body,))


def _small_section(pk: ProvingKey, sid: int) -> bytes:
    """The body of a section other than 12 and 13."""
    if sid == 1:
        return struct.pack("<I", PLONK_PROTOCOL_ID)
    if sid == 2:
        return _header_bytes(pk)
    if sid == 3:
        return b"".join(
            struct.pack("<II", s1, s2) + _fr_lem(f1) + _fr_lem(f2)
            for s1, s2, f1, f2 in pk.additions
        )
    if sid in (4, 5, 6):
        wire_map = (pk.a_map, pk.b_map, pk.c_map)[sid - 4]
        return np.asarray(wire_map, dtype="<u4").tobytes()
    if sid in _SELECTORS:
        return _p4(getattr(pk, _SELECTORS[sid]), pk.power)
    return _mont_bytes(pk.srs_g1_m[: pk.domain_size + 6].reshape(-1, 4))  # 14


def write_zkey(pk: ProvingKey, path: str | os.PathLike) -> None:
    """Write ``pk`` as a snarkjs PLONK zkey (atomically; one polynomial in memory at a time)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(struct.pack("<4sII", ZKEY_MAGIC.encode(), ZKEY_VERSION, len(WRITE_ORDER)))
            for sid, size, parts in section_parts(pk):
                fh.write(struct.pack("<IQ", sid, size))
                written = 0
                for part in parts:
                    fh.write(part)
                    written += len(part)
                if written != size:  # pragma: no cover - section_parts computes both
                    raise ValueError(f"section {sid}: {written} bytes written, {size} announced")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# --- reading ------------------------------------------------------------------------------------


def _open(path: str | os.PathLike) -> BinFile:
    try:
        bf = BinFile.read(path, ZKEY_MAGIC, max_version=2)
    except BinFileError as exc:
        raise ZkeyError(str(exc)) from exc
    return bf


def _section(bf: BinFile, sid: int, size: int | None = None) -> memoryview:
    try:
        return bf.section(sid, expect_size=size)
    except BinFileError as exc:
        raise ZkeyError(f"{exc} ({SECTION_NAMES.get(sid, 'unknown')})") from exc


def _check_protocol(bf: BinFile) -> None:
    (protocol,) = struct.unpack("<I", bytes(_section(bf, 1, 4)))
    if protocol != PLONK_PROTOCOL_ID:
        name = _PROTOCOL_NAMES.get(protocol, f"unknown protocol id {protocol}")
        raise ZkeyError(
            f"{bf.path}: this is a {name} zkey; zkperp reads PLONK zkeys only "
            "(made by `snarkjs plonk setup` or `zkperp plonk setup`)"
        )


def _decode_header(bf: BinFile) -> ZkeyHeader:
    where = bf.path
    raw = bytes(_section(bf, 2, HEADER_SIZE))
    pos = 0

    def take(size: int) -> bytes:
        nonlocal pos
        pos += size
        return raw[pos - size : pos]

    n8q = struct.unpack("<I", take(4))[0]
    if n8q != N8:
        raise ZkeyError(f"{where}: n8q = {n8q}: only BN254 (32-byte Fq) is supported")
    if int.from_bytes(take(N8), "little") != params.P:
        raise ZkeyError(f"{where}: the zkey's curve is not BN254 (q differs)")
    n8r = struct.unpack("<I", take(4))[0]
    if n8r != N8:
        raise ZkeyError(f"{where}: n8r = {n8r}: only BN254 (32-byte Fr) is supported")
    if int.from_bytes(take(N8), "little") != params.R_ORDER:
        raise ZkeyError(f"{where}: the zkey's scalar field is not BN254's (r differs)")
    n_vars_total, n_public, domain_size, n_adds, n_constraints = struct.unpack("<5I", take(20))
    if domain_size < 1 or domain_size & (domain_size - 1):
        raise ZkeyError(f"{where}: domain size {domain_size} is not a power of two")
    power = domain_size.bit_length() - 1
    if power > params.FR_TWO_ADICITY:
        raise ZkeyError(f"{where}: domain size 2^{power} exceeds Fr's 2^28 roots of unity")
    if n_constraints > domain_size:
        raise ZkeyError(f"{where}: {n_constraints} gates do not fit the domain of {domain_size}")
    if n_public > n_constraints:
        raise ZkeyError(f"{where}: {n_public} public signals but only {n_constraints} gates")
    n_vars = n_vars_total - n_adds
    if n_vars < 1 + n_public:
        raise ZkeyError(
            f"{where}: nVars = {n_vars_total} with {n_adds} additions leaves no room for "
            f"{n_public} public signals"
        )
    k1 = _fr_from_lem(take(N8), "k1", where)
    k2 = _fr_from_lem(take(N8), "k2", where)
    points: dict[str, G1Point] = {}
    for name in COMMITMENT_NAMES:
        try:
            points[name] = curve.g1_from_lem(take(G1_SIZE))
        except ValueError as exc:
            raise ZkeyError(f"{where}: commitment {name}: {exc}") from exc
    try:
        x_2 = curve.g2_from_lem(take(G2_SIZE))
    except ValueError as exc:
        raise ZkeyError(f"{where}: X_2: {exc}") from exc
    if x_2 == ((0, 0), (0, 0)):
        raise ZkeyError(f"{where}: X_2 is the point at infinity (not [tau]_2 of any tau)")
    vk = VerifyingKey(
        n_public=n_public,
        power=power,
        k1=k1,
        k2=k2,
        X_2=x_2,
        w=params.fr_root_of_unity(power),
        **points,
    )
    return ZkeyHeader(n_vars=n_vars, n_additions=n_adds, n_constraints=n_constraints, vk=vk)


def read_zkey_header(path: str | os.PathLike) -> ZkeyHeader:
    """Sections 1 and 2 only (cheap): enough for the verification key."""
    bf = _open(path)
    _check_protocol(bf)
    return _decode_header(bf)


def read_verifying_key(path: str | os.PathLike) -> VerifyingKey:
    return read_zkey_header(path).vk


def _coeffs(bf: BinFile, sid: int, offset: int, n: int) -> np.ndarray:
    body = _section(bf, sid)
    try:
        return convert.mont_from_le32(
            FR_M, bytes(body[offset * N8 : (offset + n) * N8]), montgomery=True
        )
    except ValueError as exc:
        raise ZkeyError(f"{bf.path}: section {sid} ({SECTION_NAMES[sid]}): {exc}") from exc


def read_zkey(path: str | os.PathLike) -> ProvingKey:
    """Read a snarkjs PLONK zkey (BN254) into a ProvingKey; ZkeyError with a clear message for
    anything else (Groth16/FFLONK zkeys, other curves, truncated or inconsistent files). The 4n
    evaluations of sections 7-13 are size-checked but not read (the key keeps coefficients)."""
    bf = _open(path)
    _check_protocol(bf)
    hdr = _decode_header(bf)
    where = bf.path
    n, power = hdr.domain_size, hdr.vk.power
    n_internal = hdr.n_vars + hdr.n_additions

    sec3 = bytes(_section(bf, 3, hdr.n_additions * ADDITION_SIZE))
    additions = []
    for i in range(hdr.n_additions):
        o = i * ADDITION_SIZE
        s1, s2 = struct.unpack_from("<II", sec3, o)
        if max(s1, s2) >= hdr.n_vars + i:
            raise ZkeyError(
                f"{where}: addition {i} uses signal {max(s1, s2)}, not an earlier signal"
            )
        f1 = _fr_from_lem(sec3[o + 8 : o + 8 + N8], f"addition {i} factor 1", where)
        f2 = _fr_from_lem(sec3[o + 8 + N8 : o + ADDITION_SIZE], f"addition {i} factor 2", where)
        additions.append((s1, s2, f1, f2))

    maps = []
    for sid in (4, 5, 6):
        body = _section(bf, sid, 4 * hdr.n_constraints)
        wire_map = np.frombuffer(body, dtype="<u4").astype(np.uint32)
        if wire_map.size and int(wire_map.max()) >= n_internal:
            row = int(np.flatnonzero(wire_map >= n_internal)[0])
            raise ZkeyError(
                f"{where}: {SECTION_NAMES[sid]}: row {row} names signal {int(wire_map[row])} "
                f">= {n_internal} internal signals"
            )
        maps.append(wire_map)

    poly_size = 5 * n * N8
    for sid in _SELECTORS:
        _section(bf, sid, poly_size)
    _section(bf, 12, 3 * poly_size)
    _section(bf, 13, max(hdr.vk.n_public, 1) * poly_size)
    selectors = {name: _coeffs(bf, sid, 0, n) for sid, name in _SELECTORS.items()}
    sigmas = {f"s{k + 1}_m": _coeffs(bf, 12, 5 * n * k, n) for k in range(3)}

    body = _section(bf, 14, (n + 6) * G1_SIZE)
    srs = np.frombuffer(body, dtype="<u8").astype(np.uint64).reshape(n + 6, 2, 4)
    try:
        validate_g1_affine_m(srs, "tau^i G1 points")
    except ValueError as exc:
        raise ZkeyError(f"{where}: section 14: {exc}") from exc

    return ProvingKey(
        n_vars=hdr.n_vars,
        n_public=hdr.vk.n_public,
        power=power,
        n_constraints=hdr.n_constraints,
        k1=hdr.vk.k1,
        k2=hdr.vk.k2,
        additions=tuple(additions),
        a_map=maps[0],
        b_map=maps[1],
        c_map=maps[2],
        srs_g1_m=srs,
        vk=hdr.vk,
        **selectors,
        **sigmas,
    )


# --- comparison (zkey verify) -----------------------------------------------------------------


def _first_difference(expected: bytes, got: memoryview) -> int:
    """Index of the first differing byte of two equally long byte strings (or -1)."""
    for k in range(0, len(expected), 1 << 16):
        if expected[k : k + (1 << 16)] != got[k : k + (1 << 16)]:
            for j in range(k, len(expected)):
                if expected[j] != got[j]:
                    return j
    return -1


def compare_zkey(pk: ProvingKey, path: str | os.PathLike) -> str | None:
    """None if the file at ``path`` holds exactly the sections ``write_zkey(pk)`` would write
    (in any section order), else a sentence naming the first difference. Streams: one
    polynomial of ``pk``'s sections in memory at a time, the file's read in place."""
    try:
        bf = BinFile.read(path, ZKEY_MAGIC, max_version=2)
    except BinFileError as exc:
        return str(exc)
    extra = sorted(set(bf.sections) - set(WRITE_ORDER))
    if extra:
        return f"unexpected section(s) {extra}"
    for sid, size, parts in section_parts(pk):
        bodies = bf.sections.get(sid)
        name = f"section {sid} ({SECTION_NAMES[sid]})"
        if not bodies:
            return f"{name} is missing"
        if len(bodies) > 1:
            return f"{name} appears {len(bodies)} times"
        got = memoryview(bodies[0])
        if len(got) != size:
            return f"{name} has {len(got)} bytes, expected {size}"
        offset = 0
        for part in parts:
            j = _first_difference(part, got[offset : offset + len(part)])
            if j >= 0:
                return f"{name}: {_describe(pk, sid, offset + j, part, got, offset)}"
            offset += len(part)
    return None


def _describe(pk: ProvingKey, sid: int, j: int, part: bytes, got: memoryview, offset: int) -> str:
    """What byte j of section ``sid`` (which differs) belongs to."""
    if sid == 2:
        pos = 0
        for field_name, size in _HEADER_FIELDS:
            if got[pos : pos + size] != part[pos - offset : pos - offset + size]:
                return f"{field_name} differs"
            pos += size
    if sid == 3:
        return f"addition {j // ADDITION_SIZE} differs"
    if sid in (4, 5, 6):
        return f"row {j // 4} differs"
    if sid == 14:
        return f"point {j // G1_SIZE} differs"
    n = pk.domain_size
    poly, idx = divmod(j // N8, 5 * n)
    where = f"coefficient {idx}" if idx < n else f"evaluation {idx - n}"
    which = {12: f"S{poly + 1}", 13: f"L_{poly}"}.get(sid, SECTION_NAMES[sid])
    return f"{which} {where} differs"


# --- verification_key.json --------------------------------------------------------------------


def _g1_object(p: G1Point) -> list[str]:
    if p == (0, 0):
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def verification_key_json(vk: VerifyingKey) -> dict:
    """The dict ``snarkjs zkey export verificationkey`` writes for a PLONK key (same key order,
    same strings)."""
    (x0, x1), (y0, y1) = vk.X_2
    out: dict = {
        "protocol": "plonk",
        "curve": "bn128",
        "nPublic": vk.n_public,
        "power": vk.power,
        "k1": str(vk.k1),
        "k2": str(vk.k2),
    }
    for name, point in zip(COMMITMENT_NAMES, vk.commitments(), strict=True):
        out[name] = _g1_object(point)
    out["X_2"] = [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]
    out["w"] = str(vk.w)
    return out


def dumps_verification_key(vk: VerifyingKey) -> str:
    """The vk.json text as snarkjs writes it (``bfj.write(..., {space: 1})``)."""
    return json.dumps(verification_key_json(vk), indent=1)
