"""PLONK constraint systems: gates, wiring, public rows; from circom's R1CS or our own file.

The arithmetisation of PLONK (Gabizon, Williamson, Ciobotaru, ePrint 2019/953, section 6): each
gate row i constrains three wires a_i, b_i, c_i by

    qM_i a_i b_i + qL_i a_i + qR_i b_i + qO_i c_i + qC_i + PI_i = 0

where a_i, b_i, c_i are *internal signals* and PI_i = -(public signal i) on the public rows
(zero elsewhere). The copy constraints are implicit: every wire that names the same internal
signal must carry the same value (the permutation argument of section 5 enforces it; see
``prover.plonk.setup``).

Internal signals (snarkjs's convention, ``plonk_setup.js`` / ``plonk_prove.js``): the witness
``s[0 .. n_vars)`` (``s[0]`` is the constant-one slot, ``s[1 .. n_public]`` the public signals,
circom's outputs before its public inputs), followed by one signal per *addition*: internal signal
``n_vars + i`` equals ``f1 * s[sig1] + f2 * s[sig2]`` for ``additions[i] = (sig1, sig2, f1, f2)``,
evaluated in order (an addition may use an earlier addition's signal). The prover ZEROES slot 0 in
the wires (snarkjs's ``buffWitness.set(Fr.zero, 0)``), so a gate must never use signal 0 to mean
"one": constants belong in qC. Signal 0 is the filler of unused wires (its selectors are 0).

The public rows come first: row i < n_public is ``a = i + 1, b = c = 0, qL = 1``, every other
selector 0, exactly as snarkjs writes them. The domain is the next power of two of the number of
gates, at least 8 (``domain_power``); rows past the gates are zero selectors on signal 0.

``from_r1cs`` reproduces snarkjs 0.7.6's ``plonk_setup.js`` ``processConstraints`` exactly, quirks
included, so its gates and additions are identical to those in a snarkjs zkey:

- JavaScript objects iterate integer-like keys in ascending numeric order: every linear
  combination is walked in ascending wire order;
- its zero tests compare field elements (Uint8Array) with ``0n`` or with ``Fr.zero`` by reference,
  which never holds for a computed value: zero coefficients are never dropped, and a combination
  is "constant" ("k") as soon as it has a term on wire 0, whatever its value;
- ``reduceCoefs(lc, maxC)`` moves wire 0 into the constant, then, while more than ``maxC`` terms
  remain, takes the first two terms (c1, c2), emits the gate ``-c1 s1 - c2 s2 + s_new = 0`` and
  the addition ``s_new = c1 s1 + c2 s2``, and appends ``(s_new, 1)`` at the END of the list.

Our compiled-circuit file, ``.zkpc`` (written by ``save_circuit``, by issue C's circuit builder):
an iden3 binfile container (``prover.binfile``), magic ``"zkpc"``, version 1, integers
little-endian, field elements 32-byte little-endian canonical (NOT Montgomery), sections in order:

    1  header     n_vars u32, n_public u32, n_gates u32, n_additions u32
    2  gates      n_gates x { a u32, b u32, c u32, qM, qL, qR, qO, qC (32 bytes each) }  172 B each
    3  additions  n_additions x { sig1 u32, sig2 u32, f1 (32 bytes), f2 (32 bytes) }   72 B each
    4  labels     (optional) n_names u32, n_names x { byte length u32, UTF-8 bytes },
                  then n_gates x { label id u32 } (0xFFFFFFFF: the gate has no label)

Sections 1-3 are required; a reader rejects unknown section ids, repeats, sizes that disagree with
the header, indices out of range and non-canonical field elements.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from prover import params
from prover.binfile import BinFile, BinFileError, encode_binfile
from prover.r1cs import R1cs, read_r1cs

R = params.R_ORDER

ZKPC_MAGIC = "zkpc"
ZKPC_VERSION = 1
ZKPC_HEADER = 1
ZKPC_GATES = 2
ZKPC_ADDITIONS = 3
ZKPC_LABELS = 4
NO_LABEL = 0xFFFFFFFF
MIN_DOMAIN_POWER = 3  # snarkjs: the quotient has degree n + 5, so n >= 8

_GATE_DTYPE = np.dtype([("w", "<u4", (3,)), ("q", "u1", (5, 32))])  # 172 bytes, packed
_ADD_DTYPE = np.dtype([("s", "<u4", (2,)), ("f", "u1", (2, 32))])  # 72 bytes, packed


class CircuitFileError(ValueError):
    """A compiled-circuit file (.zkpc / .r1cs) that cannot be read."""


class UnsatisfiedGate(ValueError):  # noqa: N818 (the name the project uses)
    """A witness violates a gate; ``row`` is the gate's row, ``label`` its label (or None)."""

    def __init__(self, message: str, row: int, label: str | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.label = label


Addition = tuple[int, int, int, int]


@dataclass(frozen=True)
class Gate:
    """One gate row: wires (internal-signal indices) and selectors (canonical ints)."""

    a: int
    b: int
    c: int
    qm: int
    ql: int
    qr: int
    qo: int
    qc: int


@dataclass(frozen=True)
class ConstraintSystem:
    """Gates as parallel tuples (row i: a[i], b[i], c[i], qm[i], ..., qc[i]) plus additions.

    Sequences passed in are stored as tuples. ``labels`` (optional, one str or None per gate)
    names each gate for error messages (``check_satisfied``) and travels in .zkpc files.
    """

    n_vars: int
    n_public: int
    a: tuple[int, ...]
    b: tuple[int, ...]
    c: tuple[int, ...]
    qm: tuple[int, ...]
    ql: tuple[int, ...]
    qr: tuple[int, ...]
    qo: tuple[int, ...]
    qc: tuple[int, ...]
    additions: tuple[Addition, ...] = ()
    labels: tuple[str | None, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "qm", "ql", "qr", "qo", "qc"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        object.__setattr__(
            self, "additions", tuple(tuple(int(v) for v in add) for add in self.additions)
        )
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(self.labels))
        self._validate()

    def _validate(self) -> None:
        if self.n_vars < 1:
            raise ValueError("n_vars must be >= 1 (slot 0 is the constant one)")
        if not 0 <= self.n_public < self.n_vars:
            raise ValueError(f"n_public = {self.n_public} must be in [0, n_vars = {self.n_vars})")
        n = len(self.a)
        for name in ("b", "c", "qm", "ql", "qr", "qo", "qc"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"gate column {name} has {len(getattr(self, name))} rows, a has {n}"
                )
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} gates")
        if n < self.n_public:
            raise ValueError(f"{n} gates cannot hold {self.n_public} public rows")
        n_internal = self.n_internal
        for name in ("a", "b", "c"):
            col = getattr(self, name)
            if col and (min(col) < 0 or max(col) >= n_internal):
                bad = next(i for i, v in enumerate(col) if not 0 <= v < n_internal)
                raise ValueError(
                    f"gate {bad}: wire {name} = {col[bad]} is not an internal signal "
                    f"(0 <= s < {n_internal})"
                )
        for name in ("qm", "ql", "qr", "qo", "qc"):
            col = getattr(self, name)
            if col and (min(col) < 0 or max(col) >= R):
                bad = next(i for i, v in enumerate(col) if not 0 <= v < R)
                raise ValueError(f"gate {bad}: selector {name} is not a canonical Fr element")
        for i, add in enumerate(self.additions):
            if len(add) != 4:
                raise ValueError(f"addition {i} must be (sig1, sig2, f1, f2)")
            s1, s2, f1, f2 = add
            limit = self.n_vars + i
            if not (0 <= s1 < limit and 0 <= s2 < limit):
                raise ValueError(
                    f"addition {i} (signal {self.n_vars + i}) uses signals {s1}, {s2}: each must "
                    f"be a witness signal or an earlier addition (< {limit})"
                )
            if not (0 <= f1 < R and 0 <= f2 < R):
                raise ValueError(f"addition {i}: factors must be canonical Fr elements")
        for i in range(self.n_public):
            if self.gate(i) != Gate(i + 1, 0, 0, 0, 1, 0, 0, 0):
                raise ValueError(
                    f"gate {i} must be the public row of signal {i + 1} "
                    f"(a = {i + 1}, b = c = 0, qL = 1, other selectors 0), got {self.gate(i)}"
                )

    @property
    def n_gates(self) -> int:
        return len(self.a)

    @property
    def n_internal(self) -> int:
        """Witness signals plus one signal per addition."""
        return self.n_vars + len(self.additions)

    def gate(self, i: int) -> Gate:
        return Gate(
            self.a[i], self.b[i], self.c[i], self.qm[i], self.ql[i], self.qr[i], self.qo[i],
            self.qc[i],
        )  # fmt: skip

    def label(self, i: int) -> str | None:
        return None if self.labels is None else self.labels[i]

    def same_gates(self, other: ConstraintSystem) -> bool:
        """Equal up to labels."""
        return (
            self.n_vars == other.n_vars
            and self.n_public == other.n_public
            and all(
                getattr(self, f) == getattr(other, f)
                for f in ("a", "b", "c", "qm", "ql", "qr", "qo", "qc", "additions")
            )
        )


# --- domain, witness, satisfaction ------------------------------------------------------------


def domain_power(cs: ConstraintSystem) -> int:
    """log2 of the domain size: snarkjs's ``log2(nConstraints - 1) + 1``, at least 3."""
    return max(MIN_DOMAIN_POWER, (cs.n_gates - 1).bit_length() if cs.n_gates else 0)


def internal_witness(cs: ConstraintSystem, witness: Sequence[int]) -> list[int]:
    """The internal signals: the witness with slot 0 zeroed (as snarkjs's prover does), then the
    additions evaluated in order. ValueError if the witness has the wrong length or a value that
    is not a canonical Fr element."""
    if len(witness) != cs.n_vars:
        raise ValueError(f"witness has {len(witness)} values, the circuit needs {cs.n_vars}")
    s = [int(v) for v in witness]
    for i, v in enumerate(s):
        if not 0 <= v < R:
            raise ValueError(f"witness[{i}] is not a canonical Fr element")
    s[0] = 0
    for sig1, sig2, f1, f2 in cs.additions:
        s.append((f1 * s[sig1] + f2 * s[sig2]) % R)
    return s


def check_satisfied(cs: ConstraintSystem, witness: Sequence[int]) -> None:
    """Raise ``UnsatisfiedGate`` naming the first gate row (and its label) the witness breaks,
    with the row's wires, values and selectors in the message. Public rows include PI_i."""
    s = internal_witness(cs, witness)
    a, b, c = cs.a, cs.b, cs.c
    qm, ql, qr, qo, qc = cs.qm, cs.ql, cs.qr, cs.qo, cs.qc
    for i in range(cs.n_gates):
        va, vb, vc = s[a[i]], s[b[i]], s[c[i]]
        value = qm[i] * va * vb + ql[i] * va + qr[i] * vb + qo[i] * vc + qc[i]
        if i < cs.n_public:
            value -= s[i + 1]  # PI_i = -(public signal i + 1)
        if value % R:
            label = cs.label(i)
            where = f"gate {i}" + (f" ({label})" if label else "")
            raise UnsatisfiedGate(
                f"{where} is not satisfied: qM*a*b + qL*a + qR*b + qO*c + qC"
                + (" + PI" if i < cs.n_public else "")
                + f" = {value % R} != 0 with a = s[{a[i]}] = {va}, b = s[{b[i]}] = {vb}, "
                f"c = s[{c[i]}] = {vc}; qM = {qm[i]}, qL = {ql[i]}, qR = {qr[i]}, qO = {qo[i]}, "
                f"qC = {qc[i]}",
                row=i,
                label=label,
            )


# --- from circom's R1CS: snarkjs 0.7.6 plonk_setup.js processConstraints -----------------------


class _Builder:
    """Accumulates gates and additions the way ``processConstraints`` does."""

    def __init__(self, n_vars: int, with_labels: bool) -> None:
        self.next_signal = n_vars  # plonkNVars
        self.cols: tuple[list[int], ...] = tuple([] for _ in range(8))
        self.additions: list[Addition] = []
        self.labels: list[str] | None = [] if with_labels else None
        self.context = ""

    def gate(self, sl: int, sr: int, so: int, qm: int, ql: int, qr: int, qo: int, qc: int) -> None:
        for col, v in zip(self.cols, (sl, sr, so, qm, ql, qr, qo, qc), strict=True):
            col.append(v)
        if self.labels is not None:
            self.labels.append(self.context)

    def reduce_coefs(self, lc: Mapping[int, int], max_c: int) -> tuple[int, list[int], list[int]]:
        """(k, signals, coefs): the constant, then at most max_c terms (padded with (0, 0))."""
        k = 0
        cs: deque[tuple[int, int]] = deque()
        for s in sorted(lc):
            if s == 0:
                k = (k + lc[s]) % R
            else:  # snarkjs's `linearComb[s] != 0n` is always true: zero terms stay
                cs.append((s, lc[s]))
        while len(cs) > max_c:
            s1, c1 = cs.popleft()
            s2, c2 = cs.popleft()
            so = self.next_signal
            self.next_signal += 1
            label = self.context
            self.context = f"{label} (addition)" if label else ""
            self.gate(s1, s2, so, 0, (-c1) % R, (-c2) % R, 1, 0)
            self.context = label
            self.additions.append((s1, s2, c1, c2))
            cs.append((so, 1))
        signals = [s for s, _ in cs] + [0] * (max_c - len(cs))
        coefs = [c for _, c in cs] + [0] * (max_c - len(cs))
        return k, signals, coefs

    def add_sum(self, lc: Mapping[int, int]) -> None:
        k, s, c = self.reduce_coefs(lc, 3)
        self.gate(s[0], s[1], s[2], 0, c[0], c[1], c[2], k)

    def add_mul(self, lc_a: Mapping[int, int], lc_b: Mapping[int, int], lc_c: Mapping[int, int]):
        ka, sa, ca = self.reduce_coefs(lc_a, 1)
        kb, sb, cb = self.reduce_coefs(lc_b, 1)
        kc, sc, cc = self.reduce_coefs(lc_c, 1)
        self.gate(
            sa[0],
            sb[0],
            sc[0],
            ca[0] * cb[0] % R,
            ca[0] * kb % R,
            ka * cb[0] % R,
            (-cc[0]) % R,
            (ka * kb - kc) % R,
        )


def _lc_type(lc: Mapping[int, int]) -> str:
    """snarkjs's getLinearCombinationType: "n" (some non-constant term), "k" (a term on wire 0,
    of any value: its test compares with Fr.zero by reference), or "0" (empty)."""
    if any(s != 0 for s in lc):
        return "n"
    if 0 in lc:
        return "k"
    return "0"


def _join(lc1: Mapping[int, int], k: int, lc2: Mapping[int, int]) -> dict[int, int]:
    """k * lc1 - lc2, keeping zero terms (snarkjs's normalize never removes any)."""
    res: dict[int, int] = {}
    for s in sorted(lc1):
        res[s] = (res.get(s, 0) + k * lc1[s]) % R
    for s in sorted(lc2):
        res[s] = (res.get(s, 0) - lc2[s]) % R
    return res


def from_r1cs(r1cs: R1cs, *, labels: bool = True) -> ConstraintSystem:
    """The PLONK gates snarkjs 0.7.6's ``plonk setup`` derives from an R1CS, identical to the
    contents of its zkey (wire maps, selectors, additions). With ``labels``, each gate is
    labelled "public signal i" or "r1cs constraint j" (" (addition)" for split-off sums)."""
    n_public = r1cs.n_public
    bld = _Builder(r1cs.n_wires, labels)
    for s in range(1, n_public + 1):
        bld.context = f"public signal {s}"
        bld.gate(s, 0, 0, 0, 1, 0, 0, 0)
    for j, (lc_a, lc_b, lc_c) in enumerate(r1cs.constraints):
        bld.context = f"r1cs constraint {j}"
        type_a = _lc_type(lc_a)
        type_b = _lc_type(lc_b)
        if type_a == "0" or type_b == "0":
            bld.add_sum(lc_c)
        elif type_a == "k":
            bld.add_sum(_join(lc_b, lc_a[0], lc_c))
        elif type_b == "k":
            bld.add_sum(_join(lc_a, lc_b[0], lc_c))
        else:
            bld.add_mul(lc_a, lc_b, lc_c)
    a, b, c, qm, ql, qr, qo, qc = bld.cols
    return ConstraintSystem(
        n_vars=r1cs.n_wires,
        n_public=n_public,
        a=a,
        b=b,
        c=c,
        qm=qm,
        ql=ql,
        qr=qr,
        qo=qo,
        qc=qc,
        additions=tuple(bld.additions),
        labels=None if bld.labels is None else tuple(bld.labels),
    )


# --- the .zkpc file ---------------------------------------------------------------------------


def _scalars_to_bytes(values: Sequence[int]) -> bytes:
    return b"".join(v.to_bytes(32, "little") for v in values)


def encode_circuit(cs: ConstraintSystem) -> bytes:
    """The .zkpc bytes of ``cs`` (layout in the module docstring)."""
    n = cs.n_gates
    header = struct.pack("<4I", cs.n_vars, cs.n_public, n, len(cs.additions))
    gates = np.zeros(n, dtype=_GATE_DTYPE)
    gates["w"] = np.array([cs.a, cs.b, cs.c], dtype=np.uint32).T.reshape(n, 3)
    sel = [v for row in zip(cs.qm, cs.ql, cs.qr, cs.qo, cs.qc, strict=True) for v in row]
    gates["q"] = np.frombuffer(_scalars_to_bytes(sel), dtype=np.uint8).reshape(n, 5, 32)
    adds = np.zeros(len(cs.additions), dtype=_ADD_DTYPE)
    if cs.additions:
        adds["s"] = np.array([(s1, s2) for s1, s2, _, _ in cs.additions], dtype=np.uint32)
        factors = _scalars_to_bytes([f for _, _, f1, f2 in cs.additions for f in (f1, f2)])
        adds["f"] = np.frombuffer(factors, dtype=np.uint8).reshape(-1, 2, 32)
    sections = [(ZKPC_HEADER, header), (ZKPC_GATES, gates.tobytes()), (ZKPC_ADDITIONS, adds)]
    if cs.labels is not None:
        names: dict[str, int] = {}
        ids = np.empty(n, dtype="<u4")
        for i, label in enumerate(cs.labels):
            ids[i] = NO_LABEL if label is None else names.setdefault(label, len(names))
        table = [struct.pack("<I", len(names))]
        for name in names:
            raw = name.encode("utf-8")
            table += [struct.pack("<I", len(raw)), raw]
        sections.append((ZKPC_LABELS, b"".join(table) + ids.tobytes()))
    return encode_binfile(ZKPC_MAGIC, ZKPC_VERSION, [(sid, bytes(b)) for sid, b in sections])


def save_circuit(cs: ConstraintSystem, path: str | os.PathLike) -> None:
    """Write ``cs`` as a .zkpc file (atomically: a temporary file, then a rename)."""
    target = os.fspath(path)
    tmp = target + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(encode_circuit(cs))
    os.replace(tmp, target)


def _words_to_ints(raw: np.ndarray, what: str, where: str) -> list[int]:
    """(m, 32) uint8 little-endian words -> ints, each checked < r."""
    blob = raw.tobytes()
    out = [int.from_bytes(blob[i : i + 32], "little") for i in range(0, len(blob), 32)]
    for k, v in enumerate(out):
        if v >= R:
            raise CircuitFileError(f"{where}: {what} #{k} is not a canonical Fr element (>= r)")
    return out


def parse_circuit(data: bytes | memoryview, name: str = "<bytes>") -> ConstraintSystem:
    try:
        bf = BinFile.parse(data, ZKPC_MAGIC, path=name)
    except BinFileError as exc:
        raise CircuitFileError(str(exc)) from exc
    return _parse_circuit(bf)


def load_circuit(path: str | os.PathLike) -> ConstraintSystem:
    """Read a .zkpc file (CircuitFileError with a clear message if it is malformed)."""
    try:
        bf = BinFile.read(path, ZKPC_MAGIC)
    except BinFileError as exc:
        raise CircuitFileError(str(exc)) from exc
    return _parse_circuit(bf)


def _parse_circuit(bf: BinFile) -> ConstraintSystem:
    where = bf.path
    if bf.version != ZKPC_VERSION:
        raise CircuitFileError(f"{where}: zkpc version {bf.version} is not supported (expected 1)")
    unknown = sorted(set(bf.sections) - {ZKPC_HEADER, ZKPC_GATES, ZKPC_ADDITIONS, ZKPC_LABELS})
    if unknown:
        raise CircuitFileError(f"{where}: unknown section(s) {unknown}")
    try:
        n_vars, n_public, n_gates, n_adds = struct.unpack(
            "<4I", bytes(bf.section(ZKPC_HEADER, expect_size=16))
        )
        gate_bytes = bf.section(ZKPC_GATES, expect_size=n_gates * _GATE_DTYPE.itemsize)
        add_bytes = bf.section(ZKPC_ADDITIONS, expect_size=n_adds * _ADD_DTYPE.itemsize)
        label_bytes = bytes(bf.section(ZKPC_LABELS)) if bf.has(ZKPC_LABELS) else None
    except BinFileError as exc:
        raise CircuitFileError(str(exc)) from exc

    gates = np.frombuffer(gate_bytes, dtype=_GATE_DTYPE)
    wires = gates["w"].astype(np.int64)
    sel = _words_to_ints(np.ascontiguousarray(gates["q"]), "gate selector", where)
    adds = np.frombuffer(add_bytes, dtype=_ADD_DTYPE)
    factors = _words_to_ints(np.ascontiguousarray(adds["f"]), "addition factor", where)
    sigs = adds["s"].tolist()
    additions = tuple(
        (sigs[i][0], sigs[i][1], factors[2 * i], factors[2 * i + 1]) for i in range(n_adds)
    )
    labels = None if label_bytes is None else _parse_labels(label_bytes, n_gates, where)
    try:
        return ConstraintSystem(
            n_vars=n_vars,
            n_public=n_public,
            a=wires[:, 0].tolist(),
            b=wires[:, 1].tolist(),
            c=wires[:, 2].tolist(),
            qm=sel[0::5],
            ql=sel[1::5],
            qr=sel[2::5],
            qo=sel[3::5],
            qc=sel[4::5],
            additions=additions,
            labels=labels,
        )
    except ValueError as exc:
        raise CircuitFileError(f"{where}: {exc}") from exc


def _parse_labels(blob: bytes, n_gates: int, where: str) -> tuple[str | None, ...]:
    def fail(why: str) -> CircuitFileError:
        return CircuitFileError(f"{where}: labels section: {why}")

    if len(blob) < 4:
        raise fail("truncated")
    (n_names,) = struct.unpack_from("<I", blob, 0)
    pos = 4
    names = []
    for k in range(n_names):
        if pos + 4 > len(blob):
            raise fail(f"truncated in name #{k}")
        (size,) = struct.unpack_from("<I", blob, pos)
        pos += 4
        if pos + size > len(blob):
            raise fail(f"truncated in name #{k}")
        try:
            names.append(blob[pos : pos + size].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise fail(f"name #{k} is not UTF-8") from exc
        pos += size
    if len(blob) - pos != 4 * n_gates:
        raise fail(f"{len(blob) - pos} bytes of label ids for {n_gates} gates")
    ids = np.frombuffer(blob, dtype="<u4", offset=pos).tolist()
    out: list[str | None] = []
    for i, lid in enumerate(ids):
        if lid == NO_LABEL:
            out.append(None)
        elif lid < n_names:
            out.append(names[lid])
        else:
            raise fail(f"gate {i} has label id {lid} >= {n_names}")
    return tuple(out)


def load_circuit_any(path: str | os.PathLike, *, labels: bool = True) -> ConstraintSystem:
    """A circuit from a circom ``.r1cs`` (via ``from_r1cs``) or our ``.zkpc``, chosen by magic."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise CircuitFileError(f"{os.fspath(path)}: cannot read: {exc.strerror or exc}") from exc
    if magic == b"r1cs":
        return from_r1cs(read_r1cs(path), labels=labels)
    if magic == b"zkpc":
        return load_circuit(path)
    raise CircuitFileError(
        f"{os.fspath(path)}: not a circuit file (magic {magic!r}): expected a circom .r1cs "
        "or a zkperp .zkpc"
    )
