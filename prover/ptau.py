"""snarkjs powers-of-tau files (.ptau): read, write a development SRS, verify.

Mirrors snarkjs 0.7.6: ``powersoftau_new.js`` and ``powersoftau_utils.js`` (header, sections,
contribution records), ``powersoftau_contribute.js`` (what one contribution writes and hashes),
``powersoftau_preparephase2.js`` (the Lagrange sections) and ``powersoftau_verify.js``.

Layout (iden3 container, magic ``"ptau"``, version 1; points affine, each coordinate a 32-byte
little-endian word in Montgomery form, G2 as x.c0 | x.c1 | y.c0 | y.c1, infinity all zeros):

    1  header          n8 = 32 (u32) | q = p (32 bytes LE) | power (u32) | ceremony power (u32)
    2  tau G1          [tau^i]_1,        i < 2^(power+1) - 1
    3  tau G2          [tau^i]_2,        i < 2^power
    4  alpha tau G1    [alpha tau^i]_1,  i < 2^power
    5  beta tau G1     [beta tau^i]_1,   i < 2^power
    6  beta G2         [beta]_2
    7  contributions   u32 count, then per contribution: tauG1, tauG2, alphaG1, betaG1, betaG2,
                       the public key (6 G1 + 3 G2 points), the 216-byte partial BLAKE2b state of
                       the response hash, the 64-byte next challenge hash, u32 type (0, 1 =
                       beacon), u32 length + parameters (1: name, 2: iterations exp, 3: beacon)
    after ``prepare phase2``, one block per domain size 2^q, block q at offset 2^q - 1 points:
    12 Lagrange tau G1        [L_i(tau)]_1 for q <= power + 1
    13 Lagrange tau G2        [L_i(tau)]_2 for q <= power
    14 Lagrange alpha tau G1  [alpha L_i(tau)]_1 for q <= power
    15 Lagrange beta tau G1   [beta L_i(tau)]_1 for q <= power

with L_i the Lagrange basis of the 2^q-th roots of unity (snarkjs's w_q, natural order): snarkjs
computes block q as the inverse FFT of the first 2^q points of the monomial section. The block
q = power + 1 of section 12 (N = 2^q) has one monomial point fewer than it needs (section 2
stops at tau^(N-2)); snarkjs puts the point at infinity in its place, so that block holds
[L_i(tau) - w^i tau^(N-1) / N]_1, and so do we. (PLONK setup never reads it: circuits of a
power-K file have at most 2^K gates.)

The development SRS (``write_dev_ptau``) draws tau, alpha and beta, computes every section with
the fixed-base kernels (``prover.curve.fixed_base_g1`` / ``fixed_base_g2``), the Lagrange scalars
L_i(tau) = (tau^N - 1) / N * w^i / (tau - w^i) with one batch inversion per block, and records
ONE contribution exactly as ``snarkjs powersoftau contribute`` would (public key with the
proof-of-knowledge points from snarkjs's hash-to-G2, the BLAKE2b response state, the next
challenge hash), so that ``snarkjs powersoftau verify`` accepts the file. A file with no
contribution would mean tau = 1 (what ``powersoftau new`` writes), which snarkjs refuses.

``verify_ptau`` checks every section: points canonical and on their curve, G2 points in the
subgroup (per point, or for big sections by random combinations that must land in G2); the
monomial sections by random-linear-combination pairing checks (e.g.
e(sum r_i [tau^(i+1)]_1, G2) == e(sum r_i [tau^i]_1, [tau]_2), and
e(sum r_i [tau^i]_1, G2) == e(G1, sum r_i [tau^i]_2)); each Lagrange block against the monomial
section (the block sums to the monomial point 0: sum_i L_i = 1; and
sum r_i [L_i] == sum c_j [tau^j] with c = IFFT(r): both sides multi-scalar multiplications);
section 13 against section 12 by pairings; the contributions' key proofs and the hash chain as
snarkjs does. Random weights are 64-bit (a forgery passes with probability ~2^-64). All pairing
equations are checked in one product (random weights, one Miller loop per distinct point);
when it fails, bisection names the failing equations.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit, prange

from prover import params
from prover.binfile import BinFile, BinFileError
from prover.curve import g1, g2, ref
from prover.curve.fixed_base_g1 import FixedBaseTableG1
from prover.curve.fixed_base_g1 import optimal_window as g1_window
from prover.curve.fixed_base_g2 import FixedBaseTableG2
from prover.curve.msm import msm_g1, msm_g1_raw
from prover.field.kernels import FQ_M, FR_M
from prover.poly import ntt

MAGIC = "ptau"
VERSION = 1
N8 = 32
G1_BYTES = 64
G2_BYTES = 128
MAX_POWER = params.FR_TWO_ADICITY - 1  # block power + 1 of section 12 needs 2^(power+1) roots
PUBKEY_BYTES = 6 * G1_BYTES + 3 * G2_BYTES
PARTIAL_HASH_BYTES = 216
HASH_BYTES = 64
MAX_FIRST_CHALLENGE_POWER = 24  # its first challenge hashes 384 * 2^24 bytes = 6 GiB (seconds)
DEV_CONTRIBUTION_NAME = "zkperp development setup (one party, insecure)"

P = params.P
R = params.R_ORDER
G1_GEN = params.G1_GENERATOR
G2_GEN = params.G2_GENERATOR
G2_COFACTOR = 2 * P - R  # ffjavascript's cofactorG2 (0x30644e72...fa8d)
_MONT_R_INV_P = pow(1 << params.MONT_R_BITS, -1, P)

SECTION_NAMES = {
    1: "header",
    2: "tau G1",
    3: "tau G2",
    4: "alpha tau G1",
    5: "beta tau G1",
    6: "beta G2",
    7: "contributions",
    12: "Lagrange tau G1",
    13: "Lagrange tau G2",
    14: "Lagrange alpha tau G1",
    15: "Lagrange beta tau G1",
}
PHASE2_SECTIONS = (12, 13, 14, 15)


class PtauError(ValueError):
    """A .ptau file that is malformed, or not what the caller needs (e.g. not prepared)."""


def section_label(sid: int) -> str:
    return f"section {sid} ({SECTION_NAMES.get(sid, 'unknown')})"


def section_points(sid: int, power: int) -> int:
    """How many points section ``sid`` holds in a file of ``power``."""
    n = 1 << power
    counts = {
        2: 2 * n - 1,
        3: n,
        4: n,
        5: n,
        6: 1,
        12: 4 * n - 1,  # blocks q = 0 .. power + 1
        13: 2 * n - 1,  # blocks q = 0 .. power
        14: 2 * n - 1,
        15: 2 * n - 1,
    }
    return counts[sid]


def _is_g2_section(sid: int) -> bool:
    return sid in (3, 6, 13)


def section_size(sid: int, power: int) -> int:
    return section_points(sid, power) * (G2_BYTES if _is_g2_section(sid) else G1_BYTES)


# --- contribution records --------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """A contributor's proof of knowledge of tau, alpha, beta (snarkjs ``key``): for each secret
    x, a G1 pair (s, s x) and [x] times the hash-to-G2 point of (challenge, s, s x)."""

    tau_g1_s: ref.G1Point
    tau_g1_sx: ref.G1Point
    alpha_g1_s: ref.G1Point
    alpha_g1_sx: ref.G1Point
    beta_g1_s: ref.G1Point
    beta_g1_sx: ref.G1Point
    tau_g2_spx: ref.G2Point
    alpha_g2_spx: ref.G2Point
    beta_g2_spx: ref.G2Point

    def g1_points(self) -> list[ref.G1Point]:
        return [
            self.tau_g1_s,
            self.tau_g1_sx,
            self.alpha_g1_s,
            self.alpha_g1_sx,
            self.beta_g1_s,
            self.beta_g1_sx,
        ]

    def g2_points(self) -> list[ref.G2Point]:
        return [self.tau_g2_spx, self.alpha_g2_spx, self.beta_g2_spx]

    def to_lem(self) -> bytes:
        """The record's bytes (``toPtauPubKeyRpr`` with montgomery = true)."""
        return b"".join(ref.g1_to_lem(p) for p in self.g1_points()) + b"".join(
            ref.g2_to_lem(p) for p in self.g2_points()
        )

    def to_uncompressed(self) -> bytes:
        """What the response hash absorbs (``toPtauPubKeyRpr`` with montgomery = false)."""
        return b"".join(ref.g1_to_bytes_be(p) for p in self.g1_points()) + b"".join(
            ref.g2_to_bytes_be(p) for p in self.g2_points()
        )


@dataclass(frozen=True)
class Contribution:
    """One record of section 7 (snarkjs ``readContribution``)."""

    tau_g1: ref.G1Point
    tau_g2: ref.G2Point
    alpha_g1: ref.G1Point
    beta_g1: ref.G1Point
    beta_g2: ref.G2Point
    key: PublicKey
    partial_hash: bytes
    next_challenge: bytes
    type: int = 0  # 1: a beacon
    name: str | None = None
    num_iterations_exp: int | None = None
    beacon_hash: bytes | None = None

    @property
    def response_hash(self) -> bytes:
        """BLAKE2b of (previous challenge, compressed new points, public key), resumed from the
        stored partial state as snarkjs does."""
        h = Blake2b.from_partial(self.partial_hash)
        h.update(self.key.to_uncompressed())
        return h.digest()

    def to_bytes(self) -> bytes:
        out = [
            ref.g1_to_lem(self.tau_g1),
            ref.g2_to_lem(self.tau_g2),
            ref.g1_to_lem(self.alpha_g1),
            ref.g1_to_lem(self.beta_g1),
            ref.g2_to_lem(self.beta_g2),
            self.key.to_lem(),
            self.partial_hash,
            self.next_challenge,
            struct.pack("<I", self.type),
        ]
        prm = bytearray()
        if self.name:
            name = self.name[:64].encode("utf-8")
            prm += bytes([1, len(name)]) + name
        if self.type == 1:
            beacon = self.beacon_hash or b""
            prm += bytes([2, self.num_iterations_exp or 0, 3, len(beacon)]) + beacon
        out += [struct.pack("<I", len(prm)), bytes(prm)]
        return b"".join(out)


def encode_contributions(contributions: list[Contribution]) -> bytes:
    return struct.pack("<I", len(contributions)) + b"".join(c.to_bytes() for c in contributions)


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PtauError(f"{self.what}: truncated at byte {self.pos} (needs {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def g1(self, label: str) -> ref.G1Point:
        try:
            return ref.g1_from_lem(self.take(G1_BYTES))
        except PtauError:
            raise
        except ValueError as exc:
            raise PtauError(f"{self.what}: {label}: {exc}") from exc

    def g2(self, label: str) -> ref.G2Point:
        try:
            return ref.g2_from_lem(self.take(G2_BYTES), subgroup=False)  # subgroup: in batch
        except PtauError:
            raise
        except ValueError as exc:
            raise PtauError(f"{self.what}: {label}: {exc}") from exc


def decode_contributions(data: bytes, what: str = section_label(7)) -> list[Contribution]:
    """Parse section 7 (every point validated; G2 points in the subgroup)."""
    rd = _Reader(bytes(data), what)
    count = rd.u32()
    out = []
    for k in range(1, count + 1):
        tag = f"contribution #{k}"
        tau_g1, tau_g2 = rd.g1(f"{tag} tauG1"), rd.g2(f"{tag} tauG2")
        alpha_g1, beta_g1 = rd.g1(f"{tag} alphaG1"), rd.g1(f"{tag} betaG1")
        beta_g2 = rd.g2(f"{tag} betaG2")
        g1s = [rd.g1(f"{tag} public key G1 point {i}") for i in range(6)]
        g2s = [rd.g2(f"{tag} public key G2 point {i}") for i in range(3)]
        key = PublicKey(*g1s, *g2s)
        names = ["tauG2", "betaG2", *(f"public key G2 point {i}" for i in range(3))]
        bad = first_invalid_point(g2.affine_from_ints([tau_g2, beta_g2, *g2s]), subgroup=True)
        if bad is not None:
            raise PtauError(f"{what}: {tag} {names[bad[0]]}: on the twist but not in G2")
        partial, nxt = rd.take(PARTIAL_HASH_BYTES), rd.take(HASH_BYTES)
        ctype = rd.u32()
        plen = rd.u32()
        prm = _Reader(rd.take(plen), f"{what}: {tag} parameters")
        name = exp = beacon = None
        last = 0
        while prm.pos < plen:
            t = prm.take(1)[0]
            if t <= last:
                raise PtauError(f"{what}: {tag}: parameters must be sorted (type {t} after {last})")
            last = t
            if t == 1:
                name = prm.take(prm.take(1)[0]).decode("utf-8", errors="replace")
            elif t == 2:
                exp = prm.take(1)[0]
            elif t == 3:
                beacon = prm.take(prm.take(1)[0])
            else:
                raise PtauError(f"{what}: {tag}: unknown parameter type {t}")
        out.append(
            Contribution(
                tau_g1=tau_g1,
                tau_g2=tau_g2,
                alpha_g1=alpha_g1,
                beta_g1=beta_g1,
                beta_g2=beta_g2,
                key=key,
                partial_hash=partial,
                next_challenge=nxt,
                type=ctype,
                name=name,
                num_iterations_exp=exp,
                beacon_hash=beacon,
            )
        )
    if rd.pos != len(rd.data):
        raise PtauError(f"{what}: {len(rd.data) - rd.pos} bytes left after {count} contributions")
    return out


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ptau:
    """A parsed .ptau file (memory-mapped: points are read when asked for).

    Point accessors return fresh C-contiguous uint64 arrays in the kernels' layout, which is the
    file's own (little-endian Montgomery affine): G1 (n, 2, 4), G2 (n, 2, 2, 4). They validate
    the points (canonical, on the curve; G2 in the subgroup) unless ``validate=False``.
    """

    path: str
    power: int
    ceremony_power: int
    binfile: BinFile = field(repr=False)

    @property
    def prepared(self) -> bool:
        """True when the Lagrange sections 12-15 of ``prepare phase2`` are all there."""
        return all(self.binfile.has(s) for s in PHASE2_SECTIONS)

    def _raw(self, sid: int, offset: int, count: int) -> np.ndarray:
        if not self.binfile.has(sid):
            if sid in PHASE2_SECTIONS:
                raise PtauError(
                    f"{self.path}: not prepared for phase 2; {section_label(sid)} is missing "
                    "(run `snarkjs powersoftau prepare phase2 <in> <out>`, or make one with "
                    "`zkperp ptau new`)"
                )
            raise PtauError(f"{self.path}: {section_label(sid)} is missing")
        body = self.binfile.section(sid)
        size = G2_BYTES if _is_g2_section(sid) else G1_BYTES
        total = len(body) // size
        if offset < 0 or count < 0 or offset + count > total:
            raise PtauError(
                f"{self.path}: {section_label(sid)} holds {total} points; asked for points "
                f"[{offset}, {offset + count})"
            )
        words = np.frombuffer(body, dtype="<u8", count=count * size // 8, offset=offset * size)
        shape = (count, 2, 2, 4) if size == G2_BYTES else (count, 2, 4)
        return words.astype(np.uint64).reshape(shape)  # a copy, native byte order

    def _points(
        self, sid: int, offset: int, count: int, validate: bool, subgroup: bool = True
    ) -> np.ndarray:
        arr = self._raw(sid, offset, count)
        if validate:
            bad = first_invalid_point(arr, subgroup=subgroup)
            if bad is not None:
                i, why = bad
                raise PtauError(f"{self.path}: {section_label(sid)}: point {offset + i} {why}")
        return arr

    # monomial sections
    def tau_g1_m(self, count: int | None = None, validate: bool = True) -> np.ndarray:
        """[tau^i]_1 for i < count (default: all 2^(power+1) - 1), (count, 2, 4)."""
        n = section_points(2, self.power) if count is None else count
        return self._points(2, 0, n, validate)

    def tau_g2_m(self, count: int | None = None, validate: bool = True) -> np.ndarray:
        n = section_points(3, self.power) if count is None else count
        return self._points(3, 0, n, validate)

    def alpha_tau_g1_m(self, count: int | None = None, validate: bool = True) -> np.ndarray:
        n = section_points(4, self.power) if count is None else count
        return self._points(4, 0, n, validate)

    def beta_tau_g1_m(self, count: int | None = None, validate: bool = True) -> np.ndarray:
        n = section_points(5, self.power) if count is None else count
        return self._points(5, 0, n, validate)

    def tau_g1(self, i: int) -> ref.G1Point:
        return g1.affine_m_to_ints(self._points(2, i, 1, True))[0]

    def tau_g2(self, i: int) -> ref.G2Point:
        """[tau^i]_2 as an int point (index 1 is the [tau]_2 of PLONK's verifying key)."""
        return g2.affine_to_ints(self._points(3, i, 1, True))[0]

    def beta_g2(self) -> ref.G2Point:
        return g2.affine_to_ints(self._points(6, 0, 1, True))[0]

    # Lagrange sections
    def _block(self, sid: int, q: int, top: int, validate: bool) -> np.ndarray:
        if not isinstance(q, int) or not 0 <= q <= top:
            raise PtauError(
                f"{self.path}: {section_label(sid)} of a power-{self.power} file holds domain "
                f"sizes 2^0 .. 2^{top}, not 2^{q}"
            )
        return self._points(sid, (1 << q) - 1, 1 << q, validate)

    def lagrange_g1_m(self, q: int, validate: bool = True) -> np.ndarray:
        """[L_i(tau)]_1 for the domain of size 2^q (q <= power + 1), (2^q, 2, 4)."""
        return self._block(12, q, self.power + 1, validate)

    def lagrange_g2_m(self, q: int, validate: bool = True) -> np.ndarray:
        return self._block(13, q, self.power, validate)

    def lagrange_alpha_g1_m(self, q: int, validate: bool = True) -> np.ndarray:
        return self._block(14, q, self.power, validate)

    def lagrange_beta_g1_m(self, q: int, validate: bool = True) -> np.ndarray:
        return self._block(15, q, self.power, validate)

    def contributions(self) -> list[Contribution]:
        if not self.binfile.has(7):
            raise PtauError(f"{self.path}: {section_label(7)} is missing")
        return decode_contributions(
            bytes(self.binfile.section(7)), f"{self.path}: {section_label(7)}"
        )


def read_ptau(path: str | os.PathLike) -> Ptau:
    """Open a .ptau file and check its header and section sizes (points are checked lazily)."""
    try:
        bf = BinFile.read(path, MAGIC, max_version=VERSION)
        for sid, bodies in bf.sections.items():
            if len(bodies) > 1:
                raise PtauError(f"{bf.path}: {section_label(sid)} appears {len(bodies)} times")
        header = bytes(bf.section(1))
        if len(header) < 4:
            raise PtauError(f"{bf.path}: the header has {len(header)} bytes")
        (n8,) = struct.unpack_from("<I", header, 0)
        if n8 != N8:
            raise PtauError(f"{bf.path}: field size n8 = {n8}, expected {N8} (BN254)")
        if len(header) != 4 + N8 + 8:
            raise PtauError(f"{bf.path}: the header has {len(header)} bytes, expected {N8 + 12}")
        q = int.from_bytes(header[4 : 4 + N8], "little")
        if q != P:
            raise PtauError(f"{bf.path}: the curve's base field is {q}, not BN254's p (bn128)")
        power, ceremony_power = struct.unpack_from("<II", header, 4 + N8)
    except BinFileError as exc:
        raise PtauError(str(exc)) from exc
    if not 0 <= power <= MAX_POWER:
        raise PtauError(f"{bf.path}: power {power} is out of range [0, {MAX_POWER}]")
    if ceremony_power < power:
        raise PtauError(f"{bf.path}: ceremony power {ceremony_power} < power {power}")
    for sid in range(2, 8):
        if not bf.has(sid):
            raise PtauError(f"{bf.path}: {section_label(sid)} is missing")
    for sid in (2, 3, 4, 5, 6, *PHASE2_SECTIONS):
        if bf.has(sid):
            size, want = len(bf.section(sid)), section_size(sid, power)
            if size != want:
                raise PtauError(
                    f"{bf.path}: {section_label(sid)} has {size} bytes, expected {want} for "
                    f"power {power}"
                )
    return Ptau(bf.path, power, ceremony_power, bf)


def first_invalid_point(arr: np.ndarray, subgroup: bool = True) -> tuple[int, str] | None:
    """(index, reason) of the first invalid point of a G1 (n, 2, 4) or G2 (n, 2, 2, 4) array."""
    if not arr.shape[0]:
        return None
    if arr.ndim == 3:
        status = np.empty(arr.shape[0], dtype=np.int8)
        g1.affine_status_m(arr, status)
        bad = np.flatnonzero(status)
        if not bad.size:
            return None
        i = int(bad[0])
        why = "has a coordinate >= p" if status[i] == g1.STATUS_NOT_CANONICAL else "is off G1"
        return i, f"{why} ({bad.size} invalid points in all)"
    status = np.empty(arr.shape[0], dtype=np.uint8)
    g2.affine_status_m(arr, subgroup, status)
    bad = np.flatnonzero(status)
    if not bad.size:
        return None
    i = int(bad[0])
    why = {
        g2.STATUS_NOT_CANONICAL: "has a coordinate >= p",
        g2.STATUS_NOT_ON_CURVE: "is off the twist",
        g2.STATUS_NOT_IN_SUBGROUP: "is on the twist but not in G2",
    }[int(status[i])]
    return i, f"{why} ({bad.size} invalid points in all)"


# --- BLAKE2b with snarkjs's partial-state format ----------------------------------------------

_B2B_IV = np.array(
    [
        0x6A09E667F3BCC908,
        0xBB67AE8584CAA73B,
        0x3C6EF372FE94F82B,
        0xA54FF53A5F1D36F1,
        0x510E527FADE682D1,
        0x9B05688C2B3E6C1F,
        0x1F83D9ABFB41BD6B,
        0x5BE0CD19137E2179,
    ],
    dtype=np.uint64,
)
_B2B_SIGMA = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    ],
    dtype=np.int64,
)


@njit(cache=True)
def _rotr64(x, n):
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(cache=True)
def _b2b_mix(v, a, b, c, d, x, y):
    v[a] = v[a] + v[b] + x
    v[d] = _rotr64(v[d] ^ v[a], 32)
    v[c] = v[c] + v[d]
    v[b] = _rotr64(v[b] ^ v[c], 24)
    v[a] = v[a] + v[b] + y
    v[d] = _rotr64(v[d] ^ v[a], 16)
    v[c] = v[c] + v[d]
    v[b] = _rotr64(v[b] ^ v[c], 63)


@njit(cache=True)
def b2b_compress_m(h, words, first, nblocks, t0, last):
    """BLAKE2b compression (RFC 7693) of blocks first .. first + nblocks of ``words`` (16 uint64
    per block) into the state h; block k's byte counter is t0 + 128 (k + 1) (t0 + 128 if
    ``last``, which flags the final block: callers pass t0 = total - 128 then)."""
    v = np.empty(16, dtype=np.uint64)
    for k in range(nblocks):
        base = (first + k) * 16
        for i in range(8):
            v[i] = h[i]
            v[i + 8] = _B2B_IV[i]
        v[12] ^= np.uint64(t0 + 128 * (k + 1))
        if last:
            v[14] = ~v[14]
        for rnd in range(12):
            s = _B2B_SIGMA[rnd]
            _b2b_mix(v, 0, 4, 8, 12, words[base + s[0]], words[base + s[1]])
            _b2b_mix(v, 1, 5, 9, 13, words[base + s[2]], words[base + s[3]])
            _b2b_mix(v, 2, 6, 10, 14, words[base + s[4]], words[base + s[5]])
            _b2b_mix(v, 3, 7, 11, 15, words[base + s[6]], words[base + s[7]])
            _b2b_mix(v, 0, 5, 10, 15, words[base + s[8]], words[base + s[9]])
            _b2b_mix(v, 1, 6, 11, 12, words[base + s[10]], words[base + s[11]])
            _b2b_mix(v, 2, 7, 8, 13, words[base + s[12]], words[base + s[13]])
            _b2b_mix(v, 3, 4, 9, 14, words[base + s[14]], words[base + s[15]])
        for i in range(8):
            h[i] ^= v[i] ^ v[i + 8]


class Blake2b:
    """BLAKE2b-512 whose internal state can be saved as snarkjs's 216-byte "partial hash".

    The state follows @noble/hashes (what snarkjs 0.7.6 uses): a full block stays in the buffer
    until more input arrives (the last block is compressed with the final flag), ``length``
    counts every byte absorbed. ``partial()`` is ``misc.toPartialHash``: the 128-byte buffer,
    h[0..7] as little-endian u64, then u32 (length - pos), u32 0, u32 pos, u32 0, 8 zero bytes.
    Digests equal ``hashlib.blake2b(digest_size=64)``'s; hashlib is used wherever the state is
    not needed.
    """

    BLOCK = 128

    def __init__(self) -> None:
        self.h = _B2B_IV.copy()
        self.h[0] ^= np.uint64(0x01010000 | 64)  # digest length 64, no key, fanout = depth = 1
        self.buf = bytearray(self.BLOCK)
        self.pos = 0
        self.length = 0

    def _compress_buffer(self, last: bool) -> None:
        words = np.frombuffer(bytes(self.buf), dtype="<u8").astype(np.uint64)
        b2b_compress_m(self.h, words, 0, 1, self.length - self.BLOCK, last)

    def update(self, data: bytes | bytearray | memoryview) -> Blake2b:
        data = memoryview(data).cast("B")
        n, i = len(data), 0
        while i < n:
            if self.pos == self.BLOCK:
                self._compress_buffer(False)
                self.pos = 0
            take = min(self.BLOCK - self.pos, n - i)
            if take == self.BLOCK and i + take < n:  # whole blocks, not the last of the input
                nb = (n - i - 1) // self.BLOCK
                words = np.frombuffer(data[i : i + nb * self.BLOCK], dtype="<u8")
                b2b_compress_m(self.h, words.astype(np.uint64), 0, nb, self.length, False)
                self.length += nb * self.BLOCK
                i += nb * self.BLOCK
                continue
            self.buf[self.pos : self.pos + take] = data[i : i + take]
            self.pos += take
            self.length += take
            i += take
        return self

    def digest(self) -> bytes:
        """The 64-byte digest (the state is left unchanged)."""
        h, buf = self.h.copy(), bytearray(self.buf)
        buf[self.pos :] = bytes(self.BLOCK - self.pos)
        words = np.frombuffer(bytes(buf), dtype="<u8").astype(np.uint64)
        b2b_compress_m(h, words, 0, 1, self.length - self.BLOCK, True)
        return h.astype("<u8").tobytes()

    def partial(self) -> bytes:
        tail = struct.pack("<IIII", (self.length - self.pos) & 0xFFFFFFFF, 0, self.pos, 0)
        return bytes(self.buf) + self.h.astype("<u8").tobytes() + tail + bytes(8)

    @classmethod
    def from_partial(cls, partial: bytes) -> Blake2b:
        """``misc.fromPartialHash``."""
        if len(partial) != PARTIAL_HASH_BYTES:
            raise PtauError(f"a partial hash has {PARTIAL_HASH_BYTES} bytes, got {len(partial)}")
        h = cls()
        h.buf = bytearray(partial[:128])
        h.h = np.frombuffer(partial[128:192], dtype="<u8").astype(np.uint64)
        lo, hi, pos, pos_hi = struct.unpack_from("<IIII", partial, 192)
        h.pos = pos + (pos_hi << 32)
        h.length = lo + (hi << 32) + h.pos
        if h.pos > cls.BLOCK:
            raise PtauError(f"a partial hash with buffer position {h.pos} > 128")
        return h


def blake2b_512(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=64)
    for part in parts:
        h.update(part)
    return h.digest()


@lru_cache(maxsize=8)
def first_challenge_hash(power: int) -> bytes:
    """``calculateFirstChallengeHash``: BLAKE2b of BLAKE2b(""), then the points of a fresh
    accumulator (every point the generator) uncompressed: 2^(p+1) - 1 G1, 2^p G2, 2^p G1, 2^p G1,
    then one G2."""
    g1u, g2u = ref.g1_to_bytes_be(G1_GEN), ref.g2_to_bytes_be(G2_GEN)
    h = hashlib.blake2b(digest_size=64)
    h.update(blake2b_512())

    def repeat(unit: bytes, n: int) -> None:
        block = unit * min(n, 1 << 14)
        full, rest = divmod(n, 1 << 14)
        for _ in range(full):
            h.update(block)
        h.update(unit * rest)

    n = 1 << power
    repeat(g1u, 2 * n - 1)
    repeat(g2u, n)
    repeat(g1u, n)
    repeat(g1u, n)
    h.update(g2u)
    return h.digest()


# --- snarkjs's hash to G2 (keypair.js getG2sp / hashToG2, ffjavascript ChaCha, G2.fromRng) -------


class ChaCha:
    """ffjavascript's ChaCha20 stream (``src/chacha.js``): key = 8 u32 seed words, 64-bit block
    counter in words 12..15 starting at 0, output words in order."""

    _CONST = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)

    def __init__(self, seed: list[int]) -> None:
        if len(seed) != 8:
            raise ValueError("ChaCha takes 8 u32 seed words")
        self.state = [*self._CONST, *(s & 0xFFFFFFFF for s in seed), 0, 0, 0, 0]
        self.buf: list[int] = []
        self.idx = 16

    @staticmethod
    def _qr(st: list[int], a: int, b: int, c: int, d: int) -> None:
        m = 0xFFFFFFFF
        st[a] = (st[a] + st[b]) & m
        st[d] ^= st[a]
        st[d] = ((st[d] << 16) | (st[d] >> 16)) & m
        st[c] = (st[c] + st[d]) & m
        st[b] ^= st[c]
        st[b] = ((st[b] << 12) | (st[b] >> 20)) & m
        st[a] = (st[a] + st[b]) & m
        st[d] ^= st[a]
        st[d] = ((st[d] << 8) | (st[d] >> 24)) & m
        st[c] = (st[c] + st[d]) & m
        st[b] ^= st[c]
        st[b] = ((st[b] << 7) | (st[b] >> 25)) & m

    def _update(self) -> None:
        st = list(self.state)
        for _ in range(10):
            for a, b, c, d in (
                (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
            ):  # fmt: skip
                self._qr(st, a, b, c, d)
        self.buf = [(x + y) & 0xFFFFFFFF for x, y in zip(st, self.state, strict=True)]
        self.idx = 0
        for w in range(12, 16):  # the counter, carried across words
            self.state[w] = (self.state[w] + 1) & 0xFFFFFFFF
            if self.state[w]:
                break

    def next_u32(self) -> int:
        if self.idx == 16:
            self._update()
        v = self.buf[self.idx]
        self.idx += 1
        return v

    def next_u64(self) -> int:
        hi = self.next_u32()
        return (hi << 32) + self.next_u32()

    def next_bool(self) -> bool:
        return bool(self.next_u32() & 1)


def _fq_from_rng(rng: ChaCha) -> int:
    """ffjavascript WasmField1.fromRng: 4 u64 limbs masked to 254 bits, rejected until < p. The
    raw value is then used AS a Montgomery word, so the element is v / 2^256 mod p."""
    mask = (1 << P.bit_length()) - 1
    while True:
        v = 0
        for i in range(4):
            v += rng.next_u64() << (64 * i)
        v &= mask
        if v < P:
            return v * _MONT_R_INV_P % P


def _fq_is_negative(v: int) -> bool:
    return v > (P - 1) // 2


def _fq2_is_negative(a: ref.Fq2) -> bool:
    return _fq_is_negative(a[1]) if a[1] else _fq_is_negative(a[0])


@njit(cache=True)
def g2_mul_m(aff, limbs, out_jac):
    """out_jac[0] = e * aff[0] for any point on the twist (e as 4 little-endian u64 limbs)."""
    g2.store_jac(
        out_jac,
        0,
        g2.jac_mul_affine(g2.load_affine(aff, 0), (limbs[0], limbs[1], limbs[2], limbs[3])),
    )


def g2_mul(pt: ref.G2Point, k: int) -> ref.G2Point:
    """k * pt for 0 <= k < 2^256 and pt on the twist (in G2 or not): the Numba double-and-add,
    ~10x faster than py_ecc's (``ref.g2_mul``, which the tests compare it with)."""
    if not 0 <= k < 1 << 256:
        raise ValueError(f"scalar out of range [0, 2^256): {k}")
    out = np.empty((1, 3, 2, 4), dtype=np.uint64)
    g2_mul_m(g2.affine_from_ints([pt]), np.array(params.to_limbs(k), dtype=np.uint64), out)
    return g2.affine_to_ints(g2.to_affine(out))[0]


def hash_to_g2(digest: bytes) -> ref.G2Point:
    """snarkjs ``hashToG2``: ChaCha seeded with the digest's first 8 big-endian u32 words, then
    ffjavascript ``G2.fromRng``: x from the stream, a sign bit, until x^3 + b' is a square; the
    root whose "sign" is the bit; times the cofactor 2p - r."""
    rng = ChaCha([int.from_bytes(digest[4 * i : 4 * i + 4], "big") for i in range(8)])
    while True:
        x = (_fq_from_rng(rng), _fq_from_rng(rng))
        greatest = rng.next_bool()
        rhs = ref.fq2_add(ref.fq2_mul(ref.fq2_sqr(x), x), ref.TWIST_B)
        y = ref.fq2_sqrt(rhs)
        if y is not None:
            break
    if _fq2_is_negative(y) != greatest:
        y = ref.fq2_neg(y)
    return g2_mul((x, y), G2_COFACTOR)


def g2_sp(personalization: int, challenge: bytes, g1_s: ref.G1Point, g1_sx: ref.G1Point):
    """snarkjs ``getG2sp``: the G2 point a proof of knowledge is checked against."""
    digest = blake2b_512(
        bytes([personalization]), challenge, ref.g1_to_bytes_be(g1_s), ref.g1_to_bytes_be(g1_sx)
    )
    return hash_to_g2(digest)


# --- point encodings for the hashes --------------------------------------------------------------

_HALF_P_LIMBS = params.to_limbs((P - 1) // 2)


def _gt_half(raw: np.ndarray) -> np.ndarray:
    """raw (n, 4) canonical limbs > (p - 1) / 2, vectorised (ffjavascript's "negative")."""
    equal = np.ones(raw.shape[0], dtype=bool)
    above = np.zeros(raw.shape[0], dtype=bool)
    for k in range(3, -1, -1):
        limb, hk = raw[:, k], np.uint64(_HALF_P_LIMBS[k])
        above |= equal & (limb > hk)
        equal &= limb == hk
    return above


def _be_words(raw: np.ndarray) -> np.ndarray:
    """(..., 4) little-endian limbs -> (..., 32) big-endian bytes."""
    return np.ascontiguousarray(raw[..., ::-1]).astype(">u8").view(np.uint8)


def g1_encodings(points_m: np.ndarray) -> tuple[bytes, bytes]:
    """(uncompressed, compressed) bytes of (n, 2, 4) Montgomery affine points, as ffjavascript's
    ``batchLEMtoU`` / ``batchLEMtoC``: x || y big-endian; x big-endian with 0x80 on the first
    byte when y > (p-1)/2; infinity all zeros (uncompressed) or 0x40 then zeros (compressed)."""
    n = points_m.shape[0]
    raw = FQ_M.to_raw(np.ascontiguousarray(points_m).reshape(-1, 4)).reshape(n, 2, 4)
    unc = _be_words(raw).reshape(n, 64)
    comp = unc[:, :32].copy()
    comp[:, 0] |= np.where(_gt_half(raw[:, 1]), 0x80, 0).astype(np.uint8)
    inf = ~points_m.reshape(n, 8).any(axis=1)
    comp[inf, 0] = 0x40
    return unc.tobytes(), comp.tobytes()


def g2_encodings(points_m: np.ndarray) -> tuple[bytes, bytes]:
    """The same for G2 (n, 2, 2, 4): coordinates c1 || c0 big-endian; the sign of y is that of
    y.c1, or of y.c0 when y.c1 = 0."""
    n = points_m.shape[0]
    raw = FQ_M.to_raw(np.ascontiguousarray(points_m).reshape(-1, 4)).reshape(n, 2, 2, 4)
    unc = _be_words(raw[:, :, ::-1, :]).reshape(n, 128)
    comp = unc[:, :64].copy()
    y0, y1 = raw[:, 1, 0], raw[:, 1, 1]
    neg = np.where(y1.any(axis=1), _gt_half(y1), _gt_half(y0))
    comp[:, 0] |= np.where(neg, 0x80, 0).astype(np.uint8)
    inf = ~points_m.reshape(n, 16).any(axis=1)
    comp[inf, 0] = 0x40
    return unc.tobytes(), comp.tobytes()


def _encodings(points_m: np.ndarray) -> tuple[bytes, bytes]:
    return g1_encodings(points_m) if points_m.ndim == 3 else g2_encodings(points_m)


# --- Lagrange scalars ---------------------------------------------------------------------------


def lagrange_scalars_m(tau: int, q: int, drop_top: bool = False) -> np.ndarray:
    """L_i(tau) for the domain of the 2^q-th roots of unity (snarkjs's w_q), i < 2^q, as an
    (2^q, 4) Fr Montgomery array: (tau^N - 1) / N * w^i / (tau - w^i), one batch inversion.

    ``drop_top``: the basis of the polynomial with its X^(N-1) coefficient removed, i.e.
    L_i(tau) - w^i tau^(N-1) / N (what snarkjs's block q = power + 1 of section 12 holds)."""
    n = 1 << q
    w = params.fr_root_of_unity(q)
    wp = FR_M.powers(w, n)
    t = tau % R
    n_inv = pow(n, -1, R)
    if pow(t, n, R) == 1:  # tau is a root of unity of this domain: L_i(tau) = [w^i == tau]
        out = np.zeros((n, 4), dtype=np.uint64)
        hit = np.flatnonzero(np.all(wp == np.array(FR_M.element(t), dtype=np.uint64), axis=1))
        out[int(hit[0])] = np.array(FR_M.element(1), dtype=np.uint64)
    else:
        tau_row = np.tile(np.array(FR_M.element(t), dtype=np.uint64), (n, 1))
        inv = FR_M.batch_inv(FR_M.sub(tau_row, wp))
        out = FR_M.scale(FR_M.mul(wp, inv), (pow(t, n, R) - 1) * n_inv % R)
    if drop_top:
        out = FR_M.sub(out, FR_M.scale(wp, pow(t, n - 1, R) * n_inv % R))
    return out


# --- writing a development SRS ----------------------------------------------------------------

CHUNK = 1 << 16  # points per fixed-base call and write


@dataclass(frozen=True)
class _Secrets:
    tau: int
    alpha: int
    beta: int
    key_s: tuple[int, int, int]  # the dlogs of the proofs' G1 points s (then forgotten too)


class _SectionWriter:
    """Streams a container: each section's table entry is written as the section starts (the
    sizes are known in advance), so at most one chunk of points is in memory at a time."""

    def __init__(self, fh, n_sections: int) -> None:
        self.fh = fh
        self.offsets: dict[int, tuple[int, int]] = {}
        fh.write(struct.pack("<4sII", MAGIC.encode(), VERSION, n_sections))

    def section(self, sid: int, size: int, chunks: Iterator[bytes]) -> None:
        self.fh.write(struct.pack("<IQ", sid, size))
        self.offsets[sid] = (self.fh.tell(), size)
        written = 0
        for chunk in chunks:
            self.fh.write(chunk)
            written += len(chunk)
        if written != size:
            raise AssertionError(f"section {sid}: wrote {written} bytes, announced {size}")

    def read_back(self, sid: int) -> Iterator[np.ndarray]:
        """The points of a section already written, in chunks (as snarkjs's ``hashSection``)."""
        self.fh.flush()
        offset, size = self.offsets[sid]
        psize = G2_BYTES if _is_g2_section(sid) else G1_BYTES
        shape = (-1, 2, 2, 4) if psize == G2_BYTES else (-1, 2, 4)
        with open(self.fh.name, "rb") as rd:
            rd.seek(offset)
            for lo in range(0, size, CHUNK * psize):
                data = rd.read(min(CHUNK * psize, size - lo))
                yield np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(shape)


def write_dev_ptau(
    path: str | os.PathLike,
    power: int,
    rng: random.Random | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> None:
    """Write a development powers-of-tau file of ``power``, prepared for phase 2.

    tau, alpha, beta (and the proof-of-knowledge scalars) come from ``rng`` (default
    ``secrets.SystemRandom()``, the OS entropy) and are dropped when the function returns. Anyone
    who knew them could forge proofs: a one-party setup is for development only.

    Sections 1-7 and 12-15 in snarkjs's order and layout, one contribution recorded as snarkjs's
    ``contribute`` writes it. ``progress(label, seconds)`` is called after each section.
    """
    if not isinstance(power, int) or isinstance(power, bool) or not 1 <= power <= MAX_POWER:
        raise PtauError(f"power must be an int in [1, {MAX_POWER}], got {power!r}")
    rng = rng or secrets.SystemRandom()
    sec = _Secrets(
        rng.randrange(1, R),
        rng.randrange(1, R),
        rng.randrange(1, R),
        (rng.randrange(1, R), rng.randrange(1, R), rng.randrange(1, R)),
    )
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "w+b") as fh:
            _write_sections(_SectionWriter(fh, 11), power, sec, progress)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_sections(
    out: _SectionWriter, power: int, sec: _Secrets, progress: Callable[[str, float], None] | None
) -> None:
    n = 1 << power
    tau, alpha, beta = sec.tau, sec.alpha, sec.beta
    report = progress or (lambda label, seconds: None)
    t0 = time.perf_counter()
    g1_table = FixedBaseTableG1.build(G1_GEN, g1_window(12 * n))
    g2_table = FixedBaseTableG2.build(G2_GEN, n_hint=3 * n)
    report("fixed-base tables (G1, G2)", time.perf_counter() - t0)

    # Section 1: the header (ceremony power = power, as `powersoftau new` writes it).
    header = struct.pack("<I", N8) + P.to_bytes(N8, "little") + struct.pack("<II", power, power)
    out.section(1, len(header), iter([header]))

    # The contribution's public key answers the first challenge (`new`, then `contribute`); the
    # response hash absorbs the challenge and every new point of sections 2-6, compressed.
    t = time.perf_counter()
    challenge = first_challenge_hash(power)
    key = _public_key(challenge, sec)
    response = Blake2b().update(challenge)
    report("contribution key (proofs of knowledge)", time.perf_counter() - t)

    def monomial(sid: int, count: int, factor: int) -> None:
        t = time.perf_counter()
        mul = g2_table.multiply if sid == 3 else g1_table.multiply

        def chunks() -> Iterator[bytes]:
            for lo in range(0, count, CHUNK):
                m = min(CHUNK, count - lo)
                pts = mul(FR_M.scale(FR_M.powers(tau, m), factor * pow(tau, lo, R) % R))
                response.update(_encodings(pts)[1])
                yield pts.tobytes()

        out.section(sid, section_size(sid, power), chunks())
        report(section_label(sid), time.perf_counter() - t)

    monomial(2, 2 * n - 1, 1)
    monomial(3, n, 1)
    monomial(4, n, alpha)
    monomial(5, n, beta)
    t = time.perf_counter()
    beta_g2 = g2_mul(G2_GEN, beta)
    beta_g2_m = g2.affine_from_ints([beta_g2])
    response.update(g2_encodings(beta_g2_m)[1])
    out.section(6, G2_BYTES, iter([beta_g2_m.tobytes()]))
    report(section_label(6), time.perf_counter() - t)

    # Section 7: the contribution record; the next challenge hashes the response hash, then the
    # points of sections 2-6 uncompressed, read back from the file (snarkjs `hashSection`).
    t = time.perf_counter()
    partial = response.partial()
    response.update(key.to_uncompressed())
    nxt = hashlib.blake2b(response.digest(), digest_size=64)
    for sid in (2, 3, 4, 5, 6):
        for pts in out.read_back(sid):
            nxt.update(_encodings(pts)[0])
    contribution = Contribution(
        tau_g1=ref.g1_mul(G1_GEN, tau),
        tau_g2=g2_mul(G2_GEN, tau),
        alpha_g1=ref.g1_mul(G1_GEN, alpha),
        beta_g1=ref.g1_mul(G1_GEN, beta),
        beta_g2=beta_g2,
        key=key,
        partial_hash=partial,
        next_challenge=nxt.digest(),
        type=0,
        name=DEV_CONTRIBUTION_NAME,
    )
    body = encode_contributions([contribution])
    out.section(7, len(body), iter([body]))
    report(section_label(7), time.perf_counter() - t)

    # Sections 12-15: the Lagrange blocks q = 0 .. power (.. power + 1 for section 12).
    def lagrange(sid: int, factor: int, top: int) -> None:
        t = time.perf_counter()
        mul = g2_table.multiply if sid == 13 else g1_table.multiply

        def chunks() -> Iterator[bytes]:
            pending: list[np.ndarray] = []  # small blocks share one fixed-base call
            count = 0
            for q in range(top + 1):
                scalars = lagrange_scalars_m(tau, q, drop_top=(q == power + 1))
                if factor != 1:
                    scalars = FR_M.scale(scalars, factor)
                for lo in range(0, scalars.shape[0], CHUNK):
                    pending.append(scalars[lo : lo + CHUNK])
                    count += pending[-1].shape[0]
                    if count >= CHUNK:
                        yield mul(np.concatenate(pending)).tobytes()
                        pending, count = [], 0
            if pending:
                yield mul(np.concatenate(pending)).tobytes()

        out.section(sid, section_size(sid, power), chunks())
        report(section_label(sid), time.perf_counter() - t)

    lagrange(12, 1, power + 1)
    lagrange(13, 1, power)
    lagrange(14, alpha, power)
    lagrange(15, beta, power)


def _public_key(challenge: bytes, sec: _Secrets) -> PublicKey:
    """``createPTauKey``'s public part for our secrets (keypair.js ``calculatePubKey``): for
    each secret x (personalisation 0 tau, 1 alpha, 2 beta), s G1, x s G1 and x times the
    hash-to-G2 point of (challenge, s G1, x s G1)."""
    g1s: list[ref.G1Point] = []
    g2s: list[ref.G2Point] = []
    for pers, (x, s) in enumerate(zip((sec.tau, sec.alpha, sec.beta), sec.key_s, strict=True)):
        g1_s = ref.g1_mul(G1_GEN, s)
        g1_sx = ref.g1_mul(g1_s, x)
        g1s += [g1_s, g1_sx]
        g2s.append(g2_mul(g2_sp(pers, challenge, g1_s, g1_sx), x))
    return PublicKey(*g1s, *g2s)


# --- verification ----------------------------------------------------------------------------

SUBGROUP_ROUNDS = 5  # batched G2 subgroup test: false accept <= 10069^-5 (see in_g2)
_G2_WINDOW = 8  # bits per window of the 64-bit random scalars: 8 windows, 255 buckets each


@njit(parallel=True, cache=True)
def g2_msm_u64_windows_m(points, scalars, c, out_jac):
    """Bucket sums of a G2 multi-scalar multiplication with 64-bit scalars, one window of c
    bits per row of out_jac (windows in parallel): out[w] = sum_b b * (sum of the points whose
    w-th digit is b), Jacobian."""
    nwin = out_jac.shape[0]
    nb = (1 << c) - 1
    mask = np.uint64(nb)
    for w in prange(nwin):
        buckets = np.empty((nb, 3, 2, 4), dtype=np.uint64)
        for b in range(nb):
            g2.store_jac(buckets, b, g2.JAC_INFINITY)
        shift = np.uint64(w * c)
        for i in range(points.shape[0]):
            d = (scalars[i] >> shift) & mask
            if d != 0:
                k = np.int64(d) - 1
                acc = g2.jac_add_mixed(g2.load_jac(buckets, k), g2.load_affine(points, i))
                g2.store_jac(buckets, k, acc)
        run = g2.JAC_INFINITY
        total = g2.JAC_INFINITY
        for b in range(nb - 1, -1, -1):
            run = g2.jac_add(run, g2.load_jac(buckets, b))
            total = g2.jac_add(total, run)
        g2.store_jac(out_jac, w, total)


@njit(cache=True)
def g2_combine_windows_m(sums_jac, c, out_jac):
    """out[0] = sum_w 2^(c w) sums[w] (Horner from the top window)."""
    acc = g2.JAC_INFINITY
    for w in range(sums_jac.shape[0] - 1, -1, -1):
        for _ in range(c):
            acc = g2.jac_double(acc)
        acc = g2.jac_add(acc, g2.load_jac(sums_jac, w))
    g2.store_jac(out_jac, 0, acc)


def g2_msm_u64(points_m: np.ndarray, scalars: np.ndarray) -> ref.G2Point:
    """sum_i s_i P_i for validated affine G2 points (n, 2, 2, 4) and uint64 scalars (n,): the
    random linear combinations of the verifier (64-bit weights: a forgery passes with
    probability about 2^-64)."""
    if points_m.shape[0] != scalars.shape[0]:
        raise ValueError(f"{points_m.shape[0]} points but {scalars.shape[0]} scalars")
    c = _G2_WINDOW
    sums = np.empty((64 // c, 3, 2, 4), dtype=np.uint64)
    g2_msm_u64_windows_m(
        np.ascontiguousarray(points_m), np.ascontiguousarray(scalars, dtype=np.uint64), c, sums
    )
    total = np.empty((1, 3, 2, 4), dtype=np.uint64)
    g2_combine_windows_m(sums, c, total)
    return g2.affine_to_ints(g2.to_affine(total))[0]


def g2_all_in_subgroup(arr: np.ndarray, nprng: np.random.Generator) -> bool:
    """Are all these twist points (n, 2, 2, 4) in G2? Exactly (the psi test per point) for a
    few points; for many, SUBGROUP_ROUNDS random combinations S = sum r_i P_i with 64-bit
    weights must each be in G2. A point with a component outside G2, of order divisible by a
    prime l dividing the cofactor 2p - r = 10069 * (a 241-bit number with no factor below
    10^6), passes one round with probability <= 1/l, so all of them with <= 10069^-5 < 2^-66.
    About 5x faster than the per-point test."""
    if arr.shape[0] <= 512:
        return first_invalid_point(arr, subgroup=True) is None
    for _ in range(SUBGROUP_ROUNDS):
        weights = nprng.integers(1, np.iinfo(np.uint64).max, size=arr.shape[0], dtype=np.uint64)
        total = g2_msm_u64(arr, weights)
        if first_invalid_point(g2.affine_from_ints([total]), subgroup=True) is not None:
            return False
    return True


def _u64_raw(scalars: np.ndarray) -> np.ndarray:
    """uint64 values -> (n, 4) canonical Fr limbs."""
    raw = np.zeros((scalars.shape[0], 4), dtype=np.uint64)
    raw[:, 0] = scalars
    return raw


def _g1_msm_u64(points_m: np.ndarray, scalars: np.ndarray) -> ref.G1Point:
    if not points_m.shape[0]:
        return ref.G1_INFINITY
    return msm_g1_raw(np.ascontiguousarray(points_m), _u64_raw(scalars), validate=False)


def _g1_msm_m(points_m: np.ndarray, scalars_m: np.ndarray) -> ref.G1Point:
    """sum_j s_j P_j over the first len(scalars_m) points (Fr Montgomery scalars)."""
    m = scalars_m.shape[0]
    if not m:
        return ref.G1_INFINITY
    return msm_g1(np.ascontiguousarray(points_m[:m]), scalars_m, validate=False)


@dataclass(frozen=True)
class PtauReport:
    """What ``check_ptau`` found: ``failures`` (empty: the file is consistent) and ``notes``
    (what was not checked, and why)."""

    path: str
    power: int | None
    failures: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


Pairs = list[tuple[ref.G1Point, ref.G2Point]]


class _Checker:
    """Collects pairing equations (each: a product of pairings that must be 1) and checks them
    all at once: a random 64-bit weight per equation, pairs with the same G2 point merged (and
    pairs whose G1 point is +-G1, merged on that side), so one Miller loop per distinct point
    and one final exponentiation. If the batch fails, bisection (batched halves) names the
    failing equations."""

    def __init__(self, nprng: np.random.Generator) -> None:
        self.nprng = nprng
        self.equations: list[tuple[str, Pairs]] = []

    def same_ratio(self, label: str, a, b, c, d) -> str | None:
        """snarkjs ``sameRatio``: e(a, d) == e(b, c), none of them infinity (checked now; the
        pairing part later)."""
        if ref.G1_INFINITY in (a, b) or ref.G2_INFINITY in (c, d):
            return f"{label} (a point at infinity)"
        self.equations.append((label, [(a, d), (ref.g1_neg(b), c)]))
        return None

    def equation(self, label: str, pairs: Pairs) -> None:
        self.equations.append((label, pairs))

    def _holds(self, equations: list[tuple[str, Pairs]]) -> bool:
        gens = (G1_GEN, ref.g1_neg(G1_GEN))
        by_g2: dict[ref.G2Point, list[ref.G1Point]] = {}
        by_g1: dict[ref.G1Point, list[ref.G2Point]] = {}
        for _, pairs in equations:
            rho = int(self.nprng.integers(1, 1 << 63))
            for p1, q2 in pairs:
                if p1 in gens and q2 not in by_g2:
                    by_g1.setdefault(p1, []).append(g2_mul(q2, rho))
                else:
                    by_g2.setdefault(q2, []).append(ref.g1_mul(p1, rho))
        batch = [(ref.g1_sum(ps), q2) for q2, ps in by_g2.items()]
        for p1, qs in by_g1.items():
            acc = ref.G2_INFINITY
            for q2 in qs:
                acc = ref.g2_add(acc, q2)
            batch.append((p1, acc))
        return ref.pairing_check(batch, validate=False)

    def _failing(self, equations: list[tuple[str, Pairs]], known_bad: bool) -> list[str]:
        if not known_bad and self._holds(equations):
            return []
        if len(equations) == 1:
            return [equations[0][0]]
        mid = len(equations) // 2
        left = self._failing(equations[:mid], False)
        return left + self._failing(equations[mid:], known_bad=not left)

    def failures(self) -> list[str]:
        return self._failing(self.equations, False) if self.equations else []


def verify_ptau(path: str | os.PathLike, rng: random.Random | None = None) -> list[str]:
    """Check every section of a .ptau file; returns the failures (empty: OK). See
    ``check_ptau`` for the checks and the notes on what was not checked."""
    return check_ptau(path, rng).failures


def check_ptau(path: str | os.PathLike, rng: random.Random | None = None) -> PtauReport:
    """Verify a .ptau file section by section (module docstring); ``rng`` draws the random
    weights (default: OS entropy; inject one only for reproducible tests)."""
    rng = rng or secrets.SystemRandom()
    nprng = np.random.default_rng(rng.getrandbits(128))
    try:
        pt = read_ptau(path)
    except PtauError as exc:
        return PtauReport(os.fspath(path), None, [str(exc)], [])
    return _Verification(pt, nprng).run()


class _Verification:
    def __init__(self, pt: Ptau, nprng: np.random.Generator) -> None:
        self.pt, self.nprng = pt, nprng
        self.fail: list[str] = []
        self.notes: list[str] = []
        self.pairings = _Checker(nprng)
        self.points: dict[int, np.ndarray] = {}

    def weights(self, n: int) -> np.ndarray:
        return self.nprng.integers(1, np.iinfo(np.uint64).max, size=n, dtype=np.uint64)

    def run(self) -> PtauReport:
        pt = self.pt
        present = [s for s in (2, 3, 4, 5, 6, *PHASE2_SECTIONS) if pt.binfile.has(s)]
        for sid in present:
            arr = pt._raw(sid, 0, section_points(sid, pt.power))
            bad = first_invalid_point(arr, subgroup=False)
            if bad is None and arr.ndim == 4 and not self.in_g2(arr):
                bad = first_invalid_point(arr, subgroup=True)  # exact, to name the point
            if bad is not None:
                self.fail.append(f"{section_label(sid)}: point {bad[0]} {bad[1]}")
            else:
                self.points[sid] = arr
        self.monomial()
        self.contributions()
        self.lagrange()
        self.fail += self.pairings.failures()
        return PtauReport(pt.path, pt.power, self.fail, self.notes)

    def in_g2(self, arr: np.ndarray) -> bool:
        return g2_all_in_subgroup(arr, self.nprng)

    def _skip(self, sid: int, needs: tuple[int, ...]) -> bool:
        missing = [s for s in needs if s not in self.points]
        if missing:
            self.notes.append(
                f"{section_label(sid)}: not checked, it is checked against "
                + ", ".join(section_label(s) for s in missing)
                + ", which is invalid"
            )
        return bool(missing)

    # sections 2-6
    def monomial(self) -> None:
        pts, n = self.points, 1 << self.pt.power
        g1_gen_m = g1.ints_to_affine_m([G1_GEN])[0]
        g2_gen_m = g2.affine_from_ints([G2_GEN])[0]
        if 2 in pts:
            t = pts[2]
            if not np.array_equal(t[0], g1_gen_m):
                self.fail.append(f"{section_label(2)}: point 0 is not the generator G1")
            if not t[1].any():
                self.fail.append(f"{section_label(2)}: point 1 is infinity (tau = 0)")
            elif np.array_equal(t[1], g1_gen_m):
                self.fail.append(
                    f"{section_label(2)}: tau = 1 ([tau]_1 is the generator): the file has no "
                    "contribution (as written by `snarkjs powersoftau new`); every commitment "
                    "would be p(1) G"
                )
        if 3 in pts and not np.array_equal(pts[3][0], g2_gen_m):
            self.fail.append(f"{section_label(3)}: point 0 is not the generator G2")
        if 2 in pts and not self._skip(2, (3,)):
            self.shift_check(2, pts[2])
        if 3 in pts and not self._skip(3, (2,)):
            # e(sum r_i [tau^i]_1, G2) == e(G1, sum r_i [tau^i]_2)
            r = self.weights(n)
            a = _g1_msm_u64(pts[2][:n], r)
            s = g2_msm_u64(pts[3], r)
            self.pairings.equation(
                f"{section_label(3)}: the points are not [tau^i]_2 for the tau of section 2",
                [(a, G2_GEN), (ref.g1_neg(G1_GEN), s)],
            )
        for sid in (4, 5):
            if sid in pts:
                if not pts[sid][0].any():
                    what = "alpha" if sid == 4 else "beta"
                    self.fail.append(f"{section_label(sid)}: point 0 is infinity ({what} = 0)")
                elif not self._skip(sid, (3,)):
                    self.shift_check(sid, pts[sid])
        if 6 in pts and not self._skip(6, (5,)):
            beta_g1 = g1.affine_m_to_ints(pts[5][:1])[0]
            beta_g2 = g2.affine_to_ints(pts[6])[0]
            self.pairings.equation(
                f"{section_label(6)}: [beta]_2 does not match [beta]_1 of section 5",
                [(beta_g1, G2_GEN), (ref.g1_neg(G1_GEN), beta_g2)],
            )

    def shift_check(self, sid: int, t: np.ndarray) -> None:
        """e(sum r_i P_(i+1), G2) == e(sum r_i P_i, [tau]_2): every point is tau times the one
        before it."""
        if t.shape[0] < 2:
            return
        tau_g2 = g2.affine_to_ints(self.points[3][1:2])[0]
        r = self.weights(t.shape[0] - 1)
        a = _g1_msm_u64(t[1:], r)
        b = _g1_msm_u64(t[:-1], r)
        self.pairings.equation(
            f"{section_label(sid)}: the points are not successive powers of the tau of "
            "[tau]_2 (section 3, point 1)",
            [(a, G2_GEN), (ref.g1_neg(b), tau_g2)],
        )

    # section 7
    def contributions(self) -> None:
        pt, pts = self.pt, self.points
        label = section_label(7)
        try:
            contribs = pt.contributions()
        except PtauError as exc:
            self.fail.append(str(exc))
            return
        if not contribs:
            self.fail.append(
                f"{label}: no contribution (snarkjs refuses such a file: tau = 1 until someone "
                "contributes)"
            )
            return
        last = contribs[-1]
        expected = [
            ("tauG1", 2, 1, last.tau_g1),
            ("tauG2", 3, 1, last.tau_g2),
            ("alphaG1", 4, 0, last.alpha_g1),
            ("betaG1", 5, 0, last.beta_g1),
            ("betaG2", 6, 0, last.beta_g2),
        ]
        for name, sid, idx, point in expected:
            if sid not in pts:
                continue
            got = pts[sid][idx : idx + 1]
            mine = g2.affine_from_ints([point]) if sid in (3, 6) else g1.ints_to_affine_m([point])
            if not np.array_equal(got, mine):
                self.fail.append(
                    f"{label}: the last contribution's {name} differs from "
                    f"{section_label(sid)}, point {idx}"
                )
        if pt.ceremony_power <= MAX_FIRST_CHALLENGE_POWER:
            prev_challenge: bytes | None = first_challenge_hash(pt.ceremony_power)
        else:
            prev_challenge = None
        prev = (G1_GEN, G2_GEN, G1_GEN, G1_GEN, G2_GEN)
        for k, cur in enumerate(contribs, start=1):
            tag = f"{label}: contribution #{k}" + (f" ({cur.name})" if cur.name else "")
            if prev_challenge is None:
                self.notes.append(
                    f"{tag}: key proofs not checked (the first challenge of a power-"
                    f"{pt.ceremony_power} ceremony hashes {(384 << pt.ceremony_power) >> 30} GiB)"
                )
            else:
                self.key_proofs(tag, cur, prev, prev_challenge)
            if cur.type == 1:
                self.notes.append(f"{tag}: a beacon; its key's derivation is not re-checked")
            prev = (cur.tau_g1, cur.tau_g2, cur.alpha_g1, cur.beta_g1, cur.beta_g2)
            prev_challenge = cur.next_challenge
        if pt.power != pt.ceremony_power:
            self.notes.append(
                f"{label}: a file reduced from a power-{pt.ceremony_power} ceremony: the last "
                "next-challenge hash is not checked (snarkjs skips it too)"
            )
        elif not all(s in pts for s in (2, 3, 4, 5, 6)):
            self.notes.append(f"{label}: the next-challenge hash is not checked (invalid points)")
        else:
            nxt = hashlib.blake2b(last.response_hash, digest_size=64)
            for sid in (2, 3, 4, 5, 6):
                arr = pts[sid]
                for lo in range(0, arr.shape[0], CHUNK):
                    nxt.update(_encodings(arr[lo : lo + CHUNK])[0])
            if nxt.digest() != last.next_challenge:
                self.fail.append(
                    f"{label}: the last contribution's next-challenge hash does not match the "
                    "points of sections 2-6"
                )

    def key_proofs(self, tag: str, cur: Contribution, prev: tuple, challenge: bytes) -> None:
        """snarkjs ``verifyContribution``: the three proofs of knowledge, and that the new
        tau, alpha, beta points are the previous ones times the proven secrets."""
        k = cur.key
        p_tau_g1, p_tau_g2, p_alpha_g1, p_beta_g1, p_beta_g2 = prev
        sp = [
            g2_sp(0, challenge, k.tau_g1_s, k.tau_g1_sx),
            g2_sp(1, challenge, k.alpha_g1_s, k.alpha_g1_sx),
            g2_sp(2, challenge, k.beta_g1_s, k.beta_g1_sx),
        ]
        checks = [
            ("INVALID key (tau)", k.tau_g1_s, k.tau_g1_sx, sp[0], k.tau_g2_spx),
            ("INVALID key (alpha)", k.alpha_g1_s, k.alpha_g1_sx, sp[1], k.alpha_g2_spx),
            ("INVALID key (beta)", k.beta_g1_s, k.beta_g1_sx, sp[2], k.beta_g2_spx),
            ("tauG1 does not follow the previous one", p_tau_g1, cur.tau_g1, sp[0], k.tau_g2_spx),
            ("tauG2 does not follow the previous one", k.tau_g1_s, k.tau_g1_sx, p_tau_g2,
             cur.tau_g2),
            ("alphaG1 does not follow the previous one", p_alpha_g1, cur.alpha_g1, sp[1],
             k.alpha_g2_spx),
            ("betaG1 does not follow the previous one", p_beta_g1, cur.beta_g1, sp[2],
             k.beta_g2_spx),
            ("betaG2 does not follow the previous one", k.beta_g1_s, k.beta_g1_sx, p_beta_g2,
             cur.beta_g2),
        ]  # fmt: skip
        for what, a, b, c, d in checks:
            bad = self.pairings.same_ratio(f"{tag}: {what}", a, b, c, d)
            if bad:
                self.fail.append(bad)

    # sections 12-15
    def lagrange(self) -> None:
        pt, pts = self.pt, self.points
        have = [s for s in PHASE2_SECTIONS if pt.binfile.has(s)]
        if not have:
            self.notes.append(
                "not prepared for phase 2 (no sections 12-15): PLONK setup needs them; run "
                "`snarkjs powersoftau prepare phase2`"
            )
            return
        for sid in PHASE2_SECTIONS:
            if sid not in have:
                self.fail.append(f"{section_label(sid)} is missing (sections 12-15 go together)")
        p = pt.power
        for sid, mono, top in ((12, 2, p + 1), (14, 4, p), (15, 5, p)):
            if sid in pts and not self._skip(sid, (mono,)):
                self.lagrange_g1(sid, mono, top)
        if 13 in pts and not self._skip(13, (12,)):
            self.lagrange_g2()

    def lagrange_g1(self, sid: int, mono: int, top: int) -> None:
        """Blocks q = 0 .. top of a G1 Lagrange section against the monomial section ``mono``:
        (1) each block sums to the monomial point 0 (sum_i L_i = 1); (2) sum_i r_i [L_i] ==
        sum_j c_j [P_j] with c = IFFT(r), the polynomial with values r_i on the domain
        evaluated at tau both ways. Every block at once with random weights (two MSMs a
        side); if that fails, block by block to name the domain."""
        lag, mon = self.points[sid], self.points[mono]
        p = self.pt.power
        want_sum = g1.affine_m_to_ints(mon[:1])[0]
        blocks = [((1 << q) - 1, (2 << q) - 1) for q in range(top + 1)]
        rho = self.weights(top + 1)
        r = self.weights(lag.shape[0])
        rho_all = np.concatenate([np.full(hi - lo, rho[q]) for q, (lo, hi) in enumerate(blocks)])
        rho_sum = sum(int(x) for x in rho) % R
        coeffs = [self._coefficients(r[lo:hi], drop_top=(q == p + 1)) for q, (lo, hi) in
                  enumerate(blocks)]  # fmt: skip
        total = np.zeros((max(c.shape[0] for c in coeffs), 4), dtype=np.uint64)
        for c in coeffs:
            m = c.shape[0]
            total[:m] = FR_M.add(np.ascontiguousarray(total[:m]), c)
        sums_ok = _g1_msm_u64(lag, rho_all) == ref.g1_mul(want_sum, rho_sum)
        rlc_ok = _g1_msm_u64(lag, r) == msm_g1(
            np.ascontiguousarray(mon[: total.shape[0]]), total, validate=False
        )
        if sums_ok and rlc_ok:
            return
        what = "G1" if sid == 12 else f"{section_label(mono)} point 0"
        named = False
        for q, (lo, hi) in enumerate(blocks):
            where = f"{section_label(sid)}, domain 2^{q}"
            block = lag[lo:hi]
            if _g1_msm_u64(block, np.ones(hi - lo, dtype=np.uint64)) != want_sum:
                self.fail.append(f"{where}: the points do not sum to {what} (sum L_i = 1)")
                named = True
            elif _g1_msm_u64(block, r[lo:hi]) != _g1_msm_m(mon, coeffs[q]):
                self.fail.append(
                    f"{where}: the points are not the Lagrange basis of {section_label(mono)} "
                    "(random linear combination differs)"
                )
                named = True
        if not named:  # a 2^-64 accident of the batch, or a bug: say so rather than hide it
            self.fail.append(f"{section_label(sid)}: the batched Lagrange check failed")

    @staticmethod
    def _coefficients(r: np.ndarray, drop_top: bool) -> np.ndarray:
        """c = IFFT(r) (Fr Montgomery), without the top coefficient if ``drop_top``."""
        c = FR_M.from_raw(_u64_raw(r))
        if c.shape[0] > 1:
            ntt.intt(c)
        return np.ascontiguousarray(c[: c.shape[0] - 1] if drop_top else c)

    def lagrange_g2(self) -> None:
        """Per block q <= power: e(sum r_i [L_i]_1, G2) == e(G1, sum r_i [L_i]_2), against
        the (already checked) block of section 12; batched with every other equation."""
        lag1, lag2 = self.points[12], self.points[13]
        r = self.weights(lag2.shape[0])
        for q in range(self.pt.power + 1):
            lo, hi = (1 << q) - 1, (2 << q) - 1
            self.pairings.equation(
                f"{section_label(13)}, domain 2^{q}: the points are not [L_i(tau)]_2 for the "
                "[L_i(tau)]_1 of section 12",
                [
                    (_g1_msm_u64(lag1[lo:hi], r[lo:hi]), G2_GEN),
                    (ref.g1_neg(G1_GEN), g2_msm_u64(lag2[lo:hi], r[lo:hi])),
                ],
            )
