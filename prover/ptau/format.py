"""Reading a .ptau file: ``Ptau`` (memory-mapped sections, validated point accessors) and
``read_ptau`` (header and section sizes checked).

Mirrors snarkjs 0.7.6 ``powersoftau_utils.js`` (``readPTauHeader``, ``readContributions``) and
the point layout of ``powersoftau_new.js`` / ``powersoftau_preparephase2.js`` (see
``prover.ptau.sections``).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np

from prover import params
from prover.binfile import BinFile, BinFileError
from prover.curve import g1, g2, ref
from prover.ptau.contribution import Contribution, decode_contributions
from prover.ptau.sections import (
    G1_BYTES,
    G2_BYTES,
    MAGIC,
    MAX_POWER,
    N8,
    PHASE2_SECTIONS,
    VERSION,
    PtauError,
    first_invalid_point,
    is_g2_section,
    section_label,
    section_points,
    section_size,
)

P = params.P


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
        size = G2_BYTES if is_g2_section(sid) else G1_BYTES
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
