"""Baby Jubjub in circuit: the twin of ``circuits.gadgets.babyjubjub`` (EIP-2494, circomlib's
``babyjub.circom``): on-curve checks, the complete addition, doubling, and scalar
multiplication by a fixed base (windowed tables of constants) and by a variable base (signed
2-bit windows), on a ``circuits.builder.CircuitBuilder``.

Twisted Edwards curve a x^2 + y^2 = 1 + d x^2 y^2 over F_r (a = 168700, d = 168696; a is a
square and d a non-square, so the addition law is complete: Bernstein, Birkner, Joye, Lange,
Peters, "Twisted Edwards curves", AFRICACRYPT 2008, section 6). Points are pairs of LCs.

Gates (three-wire gate qM a b + qL a + qR b + qO c + qC = 0, PLONK section 6):

- ``assert_on_curve``: x^2, y^2, then a x^2 + y^2 - 1 - d x^2 y^2 = 0: 3 gates.
- ``add``: the affine formulas x3 (1 + T) = x1 y2 + y1 x2, y3 (1 - T) = y1 y2 - a x1 x2 with
  T = d x1 x2 y1 y2; x3 and y3 are hints checked by one product each: A = x1 x2, B = y1 y2,
  C = x1 y2, D = y1 x2, T, the two checks with their right sides materialised: 9 gates (5 when
  one point is a constant). 1 +- T != 0 for points on the curve (d is a non-square), so the
  hints are unique.
- ``double``: with the curve equation, y^2 - a x^2 = 1 + T - 2 a x^2 (T = d x^2 y^2 = d (xy)^2),
  so xy, (xy)^2, x^2 and the two checks x3 (1 + T) = 2 xy, y3 (1 - T) = 1 + T - 2 a x^2: 5 gates,
  for a point ON the curve (the callers check the inputs and only double points they derived).
- scalars come as 2-bit limbs v in [0, 4) (``limbs2``): the limb check is bits' quadratic pair
  t = v^2 - 3 v, t^2 + 2 t = 0 (2 gates), and t is kept: any function of a limb is then ONE gate,
  f(v) = c0 + c1 v + c2 t + c3 t v (four values, four coefficients).
- ``mul_fixed``: sum over windows of table_i(v_i), table_i(v) = v 4^i B (constants): per window
  the limb (2), x and y looked up (1 each) and one addition (9): 13 gates per 2 bits.
- ``mul_var``: signed digits d_i = 2 v_i - 3 in {-3, -1, 1, 3} from the same limbs, so that
  sum d_i 4^i = 2 e - 4^n + 1; starting from P, acc <- 4 acc + d_i P ends at (2 e + 1) P. With
  the table P, 3P: x(d P) = d (x3/3 + 4 beta t) (an odd function of d, d^2 = 4 t + 9) and
  y(d P) = y3 + 4 delta t (even), beta = (x3 - 3 x1)/24, delta = (y3 - y1)/8: 5 gates, two
  doublings (10) and an addition (9): 26 gates per 2 bits, plus the limb sum.

Labels: ``on_curve``, ``add``, ``double``, ``limbs``, ``mul_fixed``/``window<i>``,
``mul_var``/``table`` and ``window<i>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, Var, as_lc, fr_inv
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets.bits import QUAD_CHECK, QUAD_T

__all__ = [
    "Point",
    "Limb",
    "A",
    "D",
    "constant_point",
    "assert_on_curve",
    "add",
    "double",
    "neg",
    "limbs2",
    "lookup",
    "mul_fixed",
    "mul_var",
    "native_mul_var_result",
]

R = bj.P
A = bj.A
D = bj.D
Point = tuple[LC, LC]


@dataclass(frozen=True)
class Limb:
    """A 2-bit limb v in [0, 4) and its t = v^2 - 3 v (both variables, checked)."""

    v: Var
    t: Var


def constant_point(pt: bj.Point) -> Point:
    return (LC({}, pt[0]), LC({}, pt[1]))


def _pt(p: Sequence[Operand]) -> Point:
    if len(p) != 2:
        raise CircuitError(f"a point is a pair of coordinates, got {p!r}")
    return (as_lc(p[0]), as_lc(p[1]))


def _is_const(p: Point) -> bool:
    return p[0].is_constant() and p[1].is_constant()


def neg(p: Sequence[Operand]) -> Point:
    """-P = (-x, y) (free)."""
    x, y = _pt(p)
    return (-x, y)


def assert_on_curve(b: CircuitBuilder, p: Sequence[Operand]) -> LC:
    """a x^2 + y^2 = 1 + d x^2 y^2: 3 gates for one-variable coordinates. Returns x^2 (which
    ``double`` can reuse)."""
    x, y = _pt(p)
    with b.scope("on_curve"):
        if x.is_constant() and y.is_constant():
            if not bj.on_curve((x.k, y.k)):
                raise CircuitError(f"the constant point {(x.k, y.k)} is not on Baby Jubjub")
            return LC({}, x.k * x.k % R)
        x2 = b.mul(x, x)
        y2 = b.mul(y, y)
        b.assert_mul(x2, y2 * D, x2 * A + y2 - 1)
        return x2


def _add_hint(x1: int, y1: int, x2: int, y2: int) -> list[int]:
    if not (0 <= x1 < R and 0 <= y1 < R):  # pragma: no cover - the solver passes canonical ints
        raise CircuitError("bad coordinates")
    t = D * x1 * x2 % R * y1 % R * y2 % R
    den_x, den_y = (1 + t) % R, (1 - t) % R
    nx = (x1 * y2 + y1 * x2) % R
    ny = (y1 * y2 - A * x1 * x2) % R
    if den_x and den_y:  # one inversion for both (Montgomery's trick), by extended Euclid
        inv = pow(den_x * den_y % R, -1, R)
        return [nx * den_y % R * inv % R, ny * den_x % R * inv % R]
    return [
        nx * pow(den_x, -1, R) % R if den_x else 0,
        ny * pow(den_y, -1, R) % R if den_y else 0,
    ]


def add(b: CircuitBuilder, p1: Sequence[Operand], p2: Sequence[Operand]) -> Point:
    """P1 + P2, complete for points on the curve: 9 gates for variable points, 5 when one is a
    constant, none for two constants."""
    x1, y1 = _pt(p1)
    x2, y2 = _pt(p2)
    if _is_const((x1, y1)) and _is_const((x2, y2)):
        return constant_point(bj.add((x1.k, y1.k), (x2.k, y2.k)))
    with b.scope("add"):
        pa = b.mul(x1, x2)
        pb = b.mul(y1, y2)
        pc = b.mul(x1, y2)
        pd = b.mul(y1, x2)
        t = b.mul(pa, pb) * D
        x3, y3 = b.hint_many(_add_hint, [x1, y1, x2, y2], 2)
        b.assert_mul(x3, 1 + t, pc + pd)
        b.assert_mul(y3, 1 - t, pb - pa * A)
    return (x3, y3)


def _double_hint(x: int, y: int) -> list[int]:
    return _add_hint(x, y, x, y)


def double(b: CircuitBuilder, p: Sequence[Operand], x_sq: Operand | None = None) -> Point:
    """2P for P ON THE CURVE (the formula uses the curve equation): 5 gates, 4 when x^2 is
    given (``assert_on_curve`` returns it)."""
    x, y = _pt(p)
    if x.is_constant() and y.is_constant():
        return constant_point(bj.double((x.k, y.k)))
    with b.scope("double"):
        m = b.mul(x, y)
        t = b.mul(m, m) * D
        x2 = b.mul(x, x) if x_sq is None else as_lc(x_sq)
        x3, y3 = b.hint_many(_double_hint, [x, y], 2)
        b.assert_mul(x3, 1 + t, m * 2)
        b.assert_mul(y3, 1 - t, 1 + t - x2 * (2 * A))
    return (x3, y3)


# --- scalars as 2-bit limbs -----------------------------------------------------------------------


def _split4(n: int):
    def split(x: int) -> list[int]:
        out = []
        for _ in range(n):
            out.append(x & 3)
            x >>= 2
        return out

    return split


def limbs2(b: CircuitBuilder, x: Operand, n: int, *, low: int = 0) -> tuple[list[Limb], LC]:
    """x as n 2-bit limbs (least significant first), each checked in [0, 4) (2 gates), tied to
    x by one linear equation: proves 0 <= x < 4^n (x's canonical value, n <= 127). The limbs of
    the low ``low`` positions are summed into one variable on the way (returned, 0 for
    ``low = 0``), free: the equation's partial sums. Labels ``limbs`` and ``sum``."""
    if not isinstance(n, int) or not 1 <= n <= 127:
        raise CircuitError(f"limbs2 takes 1..127 limbs, got {n!r}")
    if not 0 <= low < n:
        raise CircuitError(f"low must be in [0, {n}), got {low!r}")
    x = as_lc(x)
    vs = b.hint_many(_split4(n), [x], n)
    out = []
    with b.scope("limbs"):
        m, lin = QUAD_T
        for v in vs:
            t = b.custom_output(v, v, qm=m, ql=lin)  # t = v^2 - 3 v
            b.custom_gate(t, t, None, qm=QUAD_CHECK[0], ql=QUAD_CHECK[1])  # t^2 + 2 t = 0
            out.append(Limb(v, t))
    with b.scope("sum"):
        lo = LC()
        if low:
            lo = b.materialize(b.lincomb([1 << (2 * i) for i in range(low)], vs[:low]))
        rest = b.lincomb([1 << (2 * i) for i in range(low, n)], vs[low:])
        b.assert_equal(lo + rest, x)
    return out, lo


def lookup(b: CircuitBuilder, limb: Limb, values: Sequence[int]) -> LC:
    """values[v] for the limb's v (four constants): ONE gate, c0 + c1 v + c2 t + c3 t v."""
    if len(values) != 4:
        raise CircuitError("a 2-bit lookup takes 4 values")
    c = _lookup_coefficients(tuple(v % R for v in values))
    if c[3] == 0 and c[2] == 0:
        return limb.v * c[1] + c[0]
    return b.custom_output(limb.t, limb.v, qm=c[3], ql=c[2], qr=c[1], qc=c[0])


_LOOKUP_INV: list[list[int]] | None = None


def _lookup_coefficients(values: tuple[int, ...]) -> list[int]:
    """(c0, c1, c2, c3) with c0 + c1 v + c2 t(v) + c3 t(v) v = values[v], t(v) = v^2 - 3 v."""
    global _LOOKUP_INV
    if _LOOKUP_INV is None:
        rows = [[1, v, v * v - 3 * v, (v * v - 3 * v) * v] for v in range(4)]
        _LOOKUP_INV = _mat_inv([[x % R for x in row] for row in rows])
    return [sum(_LOOKUP_INV[i][j] * values[j] for j in range(4)) % R for i in range(4)]


def _mat_inv(m: list[list[int]]) -> list[list[int]]:
    n = len(m)
    a = [row[:] + [int(i == j) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        piv = next(r for r in range(col, n) if a[r][col])
        a[col], a[piv] = a[piv], a[col]
        inv = fr_inv(a[col][col])
        a[col] = [x * inv % R for x in a[col]]
        for r in range(n):
            if r != col and a[r][col]:
                f = a[r][col]
                a[r] = [(x - f * y) % R for x, y in zip(a[r], a[col])]
    return [row[n:] for row in a]


# --- scalar multiplication --------------------------------------------------------------------


def _fixed_tables(base: bj.Point, n: int) -> list[list[bj.Point]]:
    tables = []
    w = base
    for _ in range(n):
        tables.append([bj.IDENTITY, w, bj.double(w), bj.add(bj.double(w), w)])
        w = bj.double(bj.double(w))
    return tables


def mul_fixed(
    b: CircuitBuilder, limbs: Sequence[Limb], base: bj.Point, start: Sequence[Operand]
) -> Point:
    """start + e * base for the constant point ``base`` and e = sum 4^i v_i (the limbs): one
    lookup pair and one addition per limb (13 gates). ``start`` is a point on the curve (an
    offset that keeps the first addition general; pass the identity (0, 1) for none)."""
    if not bj.on_curve(base):
        raise CircuitError(f"the fixed base {base} is not on Baby Jubjub")
    acc = _pt(start)
    identity = _is_const(acc) and (acc[0].k, acc[1].k) == bj.IDENTITY
    with b.scope("mul_fixed"):
        for i, (limb, table) in enumerate(zip(limbs, _fixed_tables(base, len(limbs)))):
            with b.scope(f"window{i}"):
                xs = lookup(b, limb, [q[0] for q in table])
                ys = lookup(b, limb, [q[1] for q in table])
                acc = (xs, ys) if identity else add(b, acc, (xs, ys))
                identity = False
    return acc


def mul_var(
    b: CircuitBuilder,
    limbs: Sequence[Limb],
    p: Sequence[Operand],
    p2: Sequence[Operand] | None = None,
) -> Point:
    """(2 e + 1) P for e = sum 4^i v_i (the limbs) and P a point ON THE CURVE: signed digits
    2 v_i - 3, from the top limb down, acc <- 4 acc + d_i P starting at acc = P. 26 gates a limb
    plus the table (2P, 3P and two coefficients: 16 gates, 11 when 2P is given). See the module
    docstring."""
    p = _pt(p)
    with b.scope("mul_var"):
        with b.scope("table"):
            x1, y1 = (b.materialize(p[0]), b.materialize(p[1]))
            p2 = double(b, (x1, y1)) if p2 is None else _pt(p2)
            x3, y3 = add(b, (x1, y1), p2)
            beta = b.materialize((x3 - x1 * 3) / 24)
            delta = b.materialize((y3 - y1) / 8)
        acc: Point = (x1, y1)
        for i in reversed(range(len(limbs))):
            limb = limbs[i]
            with b.scope(f"window{i}"):
                acc = p2 if i == len(limbs) - 1 else double(b, acc)  # 2P is in the table
                acc = double(b, acc)
                u = b.materialize(x3 / 3 + b.mul(beta, limb.t) * 4)
                xs = b.mul(limb.v * 2 - 3, u)
                ys = b.materialize(y3 + b.mul(delta, limb.t) * 4)
                acc = add(b, acc, (xs, ys))
    return acc


def native_mul_var_result(p: bj.Point, e: int) -> bj.Point:
    """What ``mul_var`` computes: (2 e + 1) P."""
    return bj.mul(p, 2 * e + 1)
