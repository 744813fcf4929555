"""circom's ``.r1cs`` constraint files: read (and, for tests, write).

Mirrors ``r1csfile`` 0.0.48 (``readR1csHeader``, ``readConstraints``), the reader snarkjs 0.7.6's
``plonk_setup.js`` uses. The container is iden3's binfile (``prover.binfile``), magic ``"r1cs"``,
version 1, all integers little-endian:

- section 1, header: ``n8`` (u32), the prime (n8 bytes), ``nWires`` (u32), ``nPubOut`` (u32),
  ``nPubIn`` (u32), ``nPrvIn`` (u32), ``nLabels`` (u64), ``nConstraints`` (u32);
- section 2, constraints: for each constraint the three linear combinations A, B, C (A * B = C),
  each ``nTerms`` (u32) then ``nTerms`` x { wire id (u32), coefficient (n8 bytes) }. Coefficients
  are in plain form (not Montgomery, unlike .zkey/.ptau);
- section 3, wire -> label id (u64 per wire), optional here;
- sections 4 and 5: PLONK custom gates (circom ``pragma custom_templates``), which snarkjs's PLONK
  cannot use: rejected.

Wire 0 is the constant 1; wires 1 .. nPubOut are the public outputs, then nPubIn public inputs,
then the private inputs and the intermediate signals (the witness order of ``.wtns``).

A linear combination is a ``dict`` wire -> coefficient (a canonical int < r). When a wire repeats
inside one combination the later term wins, as in ``r1csfile`` (``lc[idx] = val``).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from prover import params
from prover.binfile import BinFile, BinFileError, encode_binfile

R1CS_MAGIC = "r1cs"
R1CS_VERSION = 1
SECTION_HEADER = 1
SECTION_CONSTRAINTS = 2
SECTION_WIRE2LABEL = 3
SECTION_CUSTOM_GATES_LIST = 4
SECTION_CUSTOM_GATES_USES = 5

LinearCombination = dict[int, int]
Constraint = tuple[LinearCombination, LinearCombination, LinearCombination]

_HEADER_TAIL = struct.Struct("<IIIIQI")  # nWires, nPubOut, nPubIn, nPrvIn, nLabels, nConstraints


class R1csError(ValueError):
    """A .r1cs file that cannot be used: malformed, another prime, custom gates."""


@dataclass(frozen=True)
class R1cs:
    """The contents of a .r1cs file (constraints A * B = C over Fr)."""

    prime: int
    n_wires: int  # witness length, including the constant 1 at index 0
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    constraints: tuple[Constraint, ...]
    wire_to_label: tuple[int, ...] | None = None

    @property
    def n_public(self) -> int:
        """Public signals: outputs then public inputs (witness[1 .. n_public])."""
        return self.n_pub_out + self.n_pub_in

    @property
    def n_constraints(self) -> int:
        return len(self.constraints)


def read_r1cs(path: str | os.PathLike) -> R1cs:
    """Read and check a circom .r1cs file (R1csError on anything snarkjs's PLONK cannot use)."""
    try:
        bf = BinFile.read(path, R1CS_MAGIC)
    except BinFileError as exc:
        raise R1csError(str(exc)) from exc
    return _parse(bf)


def parse_r1cs(data: bytes | memoryview, name: str = "<bytes>") -> R1cs:
    try:
        bf = BinFile.parse(data, R1CS_MAGIC, path=name)
    except BinFileError as exc:
        raise R1csError(str(exc)) from exc
    return _parse(bf)


def _parse(bf: BinFile) -> R1cs:
    where = bf.path
    if bf.version != R1CS_VERSION:
        raise R1csError(f"{where}: r1cs version {bf.version} is not supported (expected 1)")
    if bf.has(SECTION_CUSTOM_GATES_LIST) or bf.has(SECTION_CUSTOM_GATES_USES):
        raise R1csError(
            f"{where}: the circuit uses circom custom gates (r1cs sections 4/5); PLONK setup "
            "supports plain R1CS only: compile without `pragma custom_templates`"
        )
    try:
        header = bytes(bf.section(SECTION_HEADER))
        body = bf.section(SECTION_CONSTRAINTS)
    except BinFileError as exc:
        raise R1csError(str(exc)) from exc

    if len(header) < 4:
        raise R1csError(f"{where}: r1cs header is truncated")
    (n8,) = struct.unpack_from("<I", header, 0)
    if n8 != 32:
        raise R1csError(f"{where}: field size {n8} bytes; only BN254 (32-byte Fr) is supported")
    if len(header) != 4 + n8 + _HEADER_TAIL.size:
        raise R1csError(
            f"{where}: r1cs header has {len(header)} bytes, expected {4 + n8 + _HEADER_TAIL.size}"
        )
    prime = int.from_bytes(header[4 : 4 + n8], "little")
    if prime != params.R_ORDER:
        raise R1csError(
            f"{where}: the circuit's prime {prime} is not BN254's scalar field order r "
            "(compile with circom's default `-p bn128`)"
        )
    n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, n_constraints = _HEADER_TAIL.unpack_from(
        header, 4 + n8
    )
    if 1 + n_pub_out + n_pub_in + n_prv_in > n_wires:
        raise R1csError(
            f"{where}: {n_pub_out} outputs + {n_pub_in} public + {n_prv_in} private inputs do "
            f"not fit {n_wires} wires"
        )

    constraints = _parse_constraints(body, n_constraints, n_wires, n8, where)

    wire_to_label = None
    if bf.has(SECTION_WIRE2LABEL):
        try:
            blob = bytes(bf.section(SECTION_WIRE2LABEL, expect_size=8 * n_wires))
        except BinFileError as exc:
            raise R1csError(str(exc)) from exc
        wire_to_label = struct.unpack(f"<{n_wires}Q", blob)

    return R1cs(
        prime=prime,
        n_wires=n_wires,
        n_pub_out=n_pub_out,
        n_pub_in=n_pub_in,
        n_prv_in=n_prv_in,
        n_labels=n_labels,
        constraints=constraints,
        wire_to_label=wire_to_label,
    )


def _parse_constraints(
    body: memoryview, n_constraints: int, n_wires: int, n8: int, where: str
) -> tuple[Constraint, ...]:
    data = bytes(body)
    r = params.R_ORDER
    pos = 0
    size = len(data)
    term = 4 + n8
    out: list[Constraint] = []
    for k in range(n_constraints):
        lcs = []
        for which in "ABC":
            if pos + 4 > size:
                raise R1csError(f"{where}: constraint {k} is truncated (section 2 too short)")
            (n_terms,) = struct.unpack_from("<I", data, pos)
            pos += 4
            end = pos + n_terms * term
            if end > size:
                raise R1csError(f"{where}: constraint {k} ({which}) is truncated")
            lc: LinearCombination = {}
            for t in range(pos, end, term):
                (wire,) = struct.unpack_from("<I", data, t)
                coef = int.from_bytes(data[t + 4 : t + term], "little")
                if wire >= n_wires:
                    raise R1csError(
                        f"{where}: constraint {k} ({which}) uses wire {wire} >= nWires {n_wires}"
                    )
                if coef >= r:
                    raise R1csError(
                        f"{where}: constraint {k} ({which}) has a coefficient >= r (not canonical)"
                    )
                lc[wire] = coef
            pos = end
            lcs.append(lc)
        out.append((lcs[0], lcs[1], lcs[2]))
    if pos != size:
        raise R1csError(
            f"{where}: section 2 has {size - pos} bytes after the {n_constraints} constraints"
        )
    return tuple(out)


def encode_r1cs(r1cs: R1cs) -> bytes:
    """The .r1cs bytes of ``r1cs`` (sections 1, 2 and, if present, 3): for tests and tools."""
    n8 = 32
    header = (
        struct.pack("<I", n8)
        + r1cs.prime.to_bytes(n8, "little")
        + _HEADER_TAIL.pack(
            r1cs.n_wires,
            r1cs.n_pub_out,
            r1cs.n_pub_in,
            r1cs.n_prv_in,
            r1cs.n_labels,
            len(r1cs.constraints),
        )
    )
    parts = []
    for constraint in r1cs.constraints:
        for lc in constraint:
            parts.append(struct.pack("<I", len(lc)))
            for wire, coef in lc.items():
                parts.append(struct.pack("<I", wire) + coef.to_bytes(n8, "little"))
    sections = [(SECTION_HEADER, header), (SECTION_CONSTRAINTS, b"".join(parts))]
    if r1cs.wire_to_label is not None:
        sections.append((SECTION_WIRE2LABEL, struct.pack(f"<{r1cs.n_wires}Q", *r1cs.wire_to_label)))
    return encode_binfile(R1CS_MAGIC, R1CS_VERSION, sections)


def write_r1cs(r1cs: R1cs, path: str | os.PathLike) -> None:
    with open(path, "wb") as fh:
        fh.write(encode_r1cs(r1cs))
