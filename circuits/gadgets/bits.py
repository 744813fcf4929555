"""Bits and ranges: decompositions, n-bit range checks, comparisons, signed ranges, |x|.

Each gadget has a native twin on plain ints (``native_*``); both use the limb plan and the limb
polynomials below, so they agree by construction and the tests compare them on random inputs.

**Range checks cost one gate per bit plus about one gate per three bits.** A value is split into
*limbs* of 3 bits (the top limb 1 or 2 bits), least significant first; each limb is checked with
exactly one gate per bit, and one linear equation (a chain of gates, two terms absorbed per gate)
ties the limbs to the value. A 64-bit range check is 64 + 21 = 85 gates (circomlib's Num2Bits(64)
is 191 PLONK gates in snarkjs).

The limb checks, in the three-wire gate qM a b + qL a + qR b + qO c + qC = 0 (PLONK, ePrint
2019/953, section 6), for a limb l:

- 1 bit, one gate: l^2 - l = 0.
- 2 bits, two gates: t = l^2 - 3l, then t^2 + 2t = 0. Since l(l - 3) = t and (l - 1)(l - 2) =
  t + 2, the pair says l(l - 1)(l - 2)(l - 3) = 0.
- 3 bits, three gates: v = (2l - 7)^2, w = v^2 - 42 v, then w^2 + 210 w - 4096 v + 11025 = 0.
  Substituting w, the last gate is (v - 1)(v - 9)(v - 25)(v - 49) = 0, i.e. 2l - 7 in
  {+-1, +-3, +-5, +-7}, i.e. l in {0, ..., 7} (2 is invertible in Fr). The third gate's c wire
  carries v, which is what makes the quartic reachable with one product per gate.

Labels: each gadget opens a scope named after itself and its width ("range64", "bits8", "lt64",
"le64", "assert_lt64", "srange64", "abs64", "split128"), with the limb checks under "limbs" (in
limb order, one gate per bit) and the linear equation under "sum". A value out of range fails
at "<gadget>/sum" (the honest limbs of its low bits do not add up to it); a forged limb fails at
its own check under "<gadget>/limbs".

Every gadget takes n <= ``MAX_BITS`` = 252, so that 2^(n+1) < r and no sum wraps around the field.
Comparisons and ``abs_value`` *assume* their inputs are in range (the caller has range-checked
them, or they come from a decomposition); they prove the relation under that assumption.

Gate counts for a one-variable input (constants are free; every further variable of an input LC
costs one more gate in the linear equation), with L = ceil(n / 3) limbs:

- ``range_check(x, n)``: n + L - 1 (n = 64: 85; n = 1..3: n);
- ``to_bits(x, n)``: 2n - 1 (n = 64: 127);
- ``less_than`` / ``less_or_equal(x, y, n)``: n + L + 2 (n = 64: 88);
- ``assert_less_than`` / ``assert_less_or_equal(x, y, n)``: n + L (n = 64: 86);
- ``signed_range_check(x, n)``: as ``range_check``; ``abs_value(x, n)``: n + ceil((n - 1) / 3)
  + 1 (n = 64: 86).
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.witness import signed
from prover import params

R = params.R_ORDER
MAX_BITS = 252

# The limb polynomials (shared by the gadgets and the native twins).
BIT_QM, BIT_QL = 1, -1  # l^2 - l
QUAD_T = (1, -3)  # t = l^2 - 3l
QUAD_CHECK = (1, 2)  # t^2 + 2t = 0
OCT_V = (4, -28, 49)  # v = 4 l^2 - 28 l + 49 = (2l - 7)^2
OCT_W = (1, -42)  # w = v^2 - 42 v
OCT_CHECK = (1, 210, -4096, 11025)  # w^2 + 210 w - 4096 v + 11025 = 0


class RangeError(ValueError):
    """A native gadget got a value outside the range its circuit twin would accept."""


# --- limb plan and native twins ----------------------------------------------------------------


def _check_bits(n: int, lo: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= MAX_BITS:
        raise CircuitError(f"bit width must be an int in [{lo}, {MAX_BITS}], got {n!r}")
    return n


def limb_sizes(n: int) -> tuple[int, ...]:
    """The limb widths of an n-bit decomposition, least significant first: 3-bit limbs, the top
    one 1 or 2 bits when 3 does not divide n."""
    if n < 0:
        raise CircuitError(f"bit width must be >= 0, got {n}")
    sizes = [3] * (n // 3)
    if n % 3:
        sizes.append(n % 3)
    return tuple(sizes)


def native_limb_ok(l: int, size: int) -> bool:
    """The limb check of width ``size`` evaluated on a field element l, with the gates' own
    polynomials: True exactly for l in [0, 2^size)."""
    l %= R
    if size == 1:
        return (BIT_QM * l * l + BIT_QL * l) % R == 0
    if size == 2:
        t = (QUAD_T[0] * l * l + QUAD_T[1] * l) % R
        return (QUAD_CHECK[0] * t * t + QUAD_CHECK[1] * t) % R == 0
    if size == 3:
        v = (OCT_V[0] * l * l + OCT_V[1] * l + OCT_V[2]) % R
        w = (OCT_W[0] * v * v + OCT_W[1] * v) % R
        m, g, d, e = OCT_CHECK
        return (m * w * w + g * w + d * v + e) % R == 0
    raise ValueError(f"no limb check of width {size}")


def native_in_range(x: int, n: int) -> bool:
    """0 <= x < 2^n, for an int (a field element is taken as its canonical value)."""
    _check_bits(n)
    return 0 <= x < 1 << n


def native_split(x: int, widths: Sequence[int]) -> list[int]:
    """x split into parts of the given bit widths, least significant first (RangeError unless
    0 <= x < 2^sum(widths))."""
    total = sum(widths)
    if not 0 <= x < 1 << total:
        raise RangeError(f"{x} is not in [0, 2^{total})")
    out = []
    for w in widths:
        out.append(x & ((1 << w) - 1))
        x >>= w
    return out


def native_to_bits(x: int, n: int) -> list[int]:
    """The n bits of x, least significant first (RangeError unless 0 <= x < 2^n)."""
    _check_bits(n)
    return native_split(x, [1] * n)


def native_from_bits(bits: Sequence[int]) -> int:
    return sum(b << i for i, b in enumerate(bits))


def _bounded(x: int, n: int, what: str = "value") -> int:
    if not 0 <= x < 1 << n:
        raise RangeError(f"{what} {x} is not in [0, 2^{n}): the comparison assumes it is")
    return x


def native_less_than(x: int, y: int, n: int) -> int:
    """1 if x < y else 0, for x, y in [0, 2^n) (RangeError otherwise, as the circuit assumes)."""
    _check_bits(n)
    return int(_bounded(x, n, "x") < _bounded(y, n, "y"))


def native_less_or_equal(x: int, y: int, n: int) -> int:
    _check_bits(n)
    return int(_bounded(x, n, "x") <= _bounded(y, n, "y"))


def native_signed_in_range(x: int, n: int) -> bool:
    """-2^(n-1) <= x < 2^(n-1)."""
    _check_bits(n)
    return -(1 << (n - 1)) <= x < 1 << (n - 1)


def native_abs(x: int, n: int) -> tuple[int, int]:
    """(|x|, 1 if x < 0 else 0) for x in [-2^(n-1), 2^(n-1)) (RangeError otherwise)."""
    if not native_signed_in_range(x, n):
        raise RangeError(f"{x} is not in [-2^{n - 1}, 2^{n - 1})")
    return abs(x), int(x < 0)


# --- in circuit ---------------------------------------------------------------------------------


def _limb_check(b: CircuitBuilder, u: int, c: int, k: int, size: int) -> None:
    """The gates of one limb l = c u + k (u a variable; c, k fold into the selectors)."""
    if size == 1:
        b._gate(
            u,
            u,
            0,
            BIT_QM * c * c,
            2 * BIT_QM * c * k + BIT_QL * c,
            0,
            0,
            BIT_QM * k * k + BIT_QL * k,
        )
    elif size == 2:
        m, lin = QUAD_T  # t = m l^2 + lin l
        t = b._out(u, u, m * c * c, 2 * m * c * k + lin * c, 0, m * k * k + lin * k)
        b._gate(t, t, 0, QUAD_CHECK[0], QUAD_CHECK[1], 0, 0, 0)
    elif size == 3:
        m, lin, k0 = OCT_V  # v = m l^2 + lin l + k0
        v = b._out(u, u, m * c * c, 2 * m * c * k + lin * c, 0, m * k * k + lin * k + k0)
        w = b._out(v, v, OCT_W[0], OCT_W[1], 0, 0)
        qm, ql, qo, qc = OCT_CHECK
        b._gate(w, w, v, qm, ql, 0, qo, qc)
    else:  # pragma: no cover - limb_sizes never asks
        raise CircuitError(f"no limb check of width {size}")


def _splitter(sizes: tuple[int, ...]):
    def split_limbs(x: int) -> list[int]:
        out = []
        for s in sizes:
            out.append(x & ((1 << s) - 1))
            x >>= s
        return out

    return split_limbs


def _decompose(b: CircuitBuilder, x: LC, sizes: tuple[int, ...]) -> list[LC]:
    """Limbs of x with the given widths (least significant first), each range-checked, and the
    equation sum(2^offset_i limb_i) = x. A lone limb of a one-variable x is x itself (no
    equation). Gates: sum(sizes), plus the linear equation over the limbs and x's variables.
    Labels: "limbs" (the limb checks, in limb order) and "sum" (the equation)."""
    if len(sizes) == 1 and len(x.terms) <= 1:
        if not x.terms:  # pragma: no cover - constants are handled by the callers
            raise CircuitError("constant input")
        ((u, c),) = x.terms.items()
        with b.scope("limbs"):
            _limb_check(b, u, c, x.k, sizes[0])
        return [x]
    limbs = b.hint_many(_splitter(sizes), [x], len(sizes))
    with b.scope("limbs"):
        for limb, size in zip(limbs, sizes):
            _limb_check(b, limb.index, 1, 0, size)
    terms = {w: R - c for w, c in x.terms.items()}  # - x
    shift = 0
    for limb, size in zip(limbs, sizes):
        terms[limb.index] = 1 << shift
        shift += size
    with b.scope("sum"):
        b._assert_linear(terms, -x.k)
    return list(limbs)


def _const_in_range(x: LC, n: int, what: str) -> None:
    if not 0 <= x.k < 1 << n:
        raise CircuitError(f"{what}: the constant {x.k} is not in [0, 2^{n})")


def _range(b: CircuitBuilder, x: LC, n: int) -> None:
    if not x.terms:
        _const_in_range(x, n, "range check")
        return
    _decompose(b, x, limb_sizes(n))


def range_check(b: CircuitBuilder, x: Operand, n: int) -> None:
    """0 <= x < 2^n (x's canonical value): n + ceil(n/3) - 1 gates for a one-variable x."""
    _check_bits(n)
    with b.scope(f"range{n}"):
        _range(b, as_lc(x), n)


def split(b: CircuitBuilder, x: Operand, widths: Sequence[int]) -> list[LC]:
    """x split into range-checked parts of the given bit widths, least significant first (each
    part an LC of limbs: free to use). Proves 0 <= x < 2^sum(widths). Gates: sum(widths) plus
    one per limb beyond the second (the limbs of each part as in ``range_check``)."""
    widths = [_check_bits(w) for w in widths]
    total = sum(widths)
    _check_bits(total)
    x = as_lc(x)
    with b.scope(f"split{total}"):
        if not x.terms:
            _const_in_range(x, total, "split")
            return [LC({}, v) for v in native_split(x.k, widths)]
        plans = [limb_sizes(w) for w in widths]
        limbs = _decompose(b, x, tuple(s for plan in plans for s in plan))
    parts = []
    pos = 0
    for plan in plans:
        shift = 0
        acc = LC()
        for s in plan:
            acc = acc + limbs[pos] * (1 << shift)
            shift += s
            pos += 1
        parts.append(acc)
    return parts


def to_bits(b: CircuitBuilder, x: Operand, n: int) -> list[LC]:
    """The n bits of x (least significant first), each constrained boolean, with x = sum 2^i
    bits[i]: proves 0 <= x < 2^n. 2n - 1 gates for a one-variable x."""
    _check_bits(n)
    x = as_lc(x)
    if not x.terms:
        _const_in_range(x, n, "to_bits")
        return [LC({}, v) for v in native_to_bits(x.k, n)]
    with b.scope(f"bits{n}"):
        return _decompose(b, x, (1,) * n)


def from_bits(bits: Sequence[Operand]) -> LC:
    """sum 2^i bits[i] (free; the bits are not checked here)."""
    terms: dict[int, int] = {}
    k = 0
    for i, bit in enumerate(bits):
        bit = as_lc(bit)
        k += bit.k << i
        for v, c in bit.terms.items():
            terms[v] = (terms.get(v, 0) + (c << i)) % R
    return LC({v: c for v, c in terms.items() if c}, k)


def _top_bit(b: CircuitBuilder, d: LC, n_low: int) -> LC:
    """d in [0, 2^(n_low + 1)) decomposed; its bit n_low (constrained boolean)."""
    sizes = limb_sizes(n_low) + (1,)
    return _decompose(b, d, sizes)[-1]


def less_or_equal(b: CircuitBuilder, x: Operand, y: Operand, n: int) -> LC:
    """1 if x <= y else 0, for x, y in [0, 2^n) (assumed, e.g. range-checked by the caller):
    bit n of y - x + 2^n, which lies in [1, 2^(n+1)). n + ceil(n/3) + 2 gates."""
    _check_bits(n)
    x, y = as_lc(x), as_lc(y)
    d = y - x + (1 << n)
    if not d.terms:
        return LC({}, native_less_or_equal(x.k, y.k, n))
    with b.scope(f"le{n}"):
        return _top_bit(b, d, n)


def less_than(b: CircuitBuilder, x: Operand, y: Operand, n: int) -> LC:
    """1 if x < y else 0, for x, y in [0, 2^n) (assumed): 1 - (y <= x). Gates as
    ``less_or_equal``."""
    _check_bits(n)
    x, y = as_lc(x), as_lc(y)
    d = x - y + (1 << n)
    if not d.terms:
        return LC({}, native_less_than(x.k, y.k, n))
    with b.scope(f"lt{n}"):
        return 1 - _top_bit(b, d, n)


def greater_than(b: CircuitBuilder, x: Operand, y: Operand, n: int) -> LC:
    return less_than(b, y, x, n)


def greater_or_equal(b: CircuitBuilder, x: Operand, y: Operand, n: int) -> LC:
    return less_or_equal(b, y, x, n)


def assert_less_or_equal(b: CircuitBuilder, x: Operand, y: Operand, n: int) -> None:
    """x <= y for x, y in [0, 2^n) (assumed): y - x in [0, 2^n)."""
    _check_bits(n)
    with b.scope(f"assert_le{n}"):
        _range(b, as_lc(y) - as_lc(x), n)


def assert_less_than(b: CircuitBuilder, x: Operand, y: Operand, n: int) -> None:
    """x < y for x, y in [0, 2^n) (assumed): y - x - 1 in [0, 2^n)."""
    _check_bits(n)
    with b.scope(f"assert_lt{n}"):
        _range(b, as_lc(y) - as_lc(x) - 1, n)


def signed_range_check(b: CircuitBuilder, x: Operand, n: int) -> None:
    """-2^(n-1) <= x < 2^(n-1) (x read as a signed field element): x + 2^(n-1) in [0, 2^n)."""
    _check_bits(n)
    x = as_lc(x)
    with b.scope(f"srange{n}"):
        if not x.terms and not -(1 << (n - 1)) <= signed(x.k) < 1 << (n - 1):
            raise CircuitError(f"signed range check: the constant {signed(x.k)} is out of range")
        _range(b, x + (1 << (n - 1)), n)


def abs_value(b: CircuitBuilder, x: Operand, n: int) -> tuple[LC, LC]:
    """(|x|, neg) with neg = 1 if x < 0 else 0, proving -2^(n-1) <= x < 2^(n-1) on the way:
    x + 2^(n-1) is decomposed, its bit n-1 (x >= 0) is the sign, |x| = (2 bit - 1) x.
    n + ceil((n-1)/3) + 1 gates for a one-variable x (n = 64: 86)."""
    _check_bits(n)
    x = as_lc(x)
    if not x.terms:
        a, neg = native_abs(signed(x.k), n)
        return LC({}, a), LC({}, neg)
    with b.scope(f"abs{n}"):
        nonneg = _top_bit(b, x + (1 << (n - 1)), n - 1)
        return b.mul(2 * nonneg - 1, x), 1 - nonneg


__all__ = [
    "MAX_BITS",
    "RangeError",
    "limb_sizes",
    "native_limb_ok",
    "native_in_range",
    "native_split",
    "native_to_bits",
    "native_from_bits",
    "native_less_than",
    "native_less_or_equal",
    "native_signed_in_range",
    "native_abs",
    "range_check",
    "split",
    "to_bits",
    "from_bits",
    "less_than",
    "less_or_equal",
    "greater_than",
    "greater_or_equal",
    "assert_less_than",
    "assert_less_or_equal",
    "signed_range_check",
    "abs_value",
]
