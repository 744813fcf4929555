"""Baby Jubjub, the twisted Edwards curve over BN254's scalar field (EIP-2494), natively.

a x^2 + y^2 = 1 + d x^2 y^2 with a = 168700, d = 168696 over F_r (r = BN254's group order),
exactly as circomlib 2.0.5 ``circuits/babyjub.circom`` and circomlibjs 0.1.7
``src/babyjub.js``: the same generator, ``BASE8`` = 8 * generator (the base point of EdDSA),
curve order 8 * l with l = ``SUBORDER`` prime, and the same 32-byte point packing
(little-endian y, the top bit set when x > (r - 1) / 2).

a is a square and d a non-square in F_r, so the addition law (Bernstein, Birkner, Joye, Lange,
Peters, "Twisted Edwards curves", AFRICACRYPT 2008, section 6) is complete: it holds for every
pair of points, the identity (0, 1) included. Scalar multiplication runs in extended
coordinates (Hisil, Wong, Carter, Dawson, "Twisted Edwards curves revisited", ASIACRYPT 2008,
section 3.1, the a-general formulas) and converts back to affine once; multiples of ``BASE8``
use a table of its doublings.

Points are ``(x, y)`` tuples of canonical ints. The point at infinity does not exist on this
curve; the identity is ``IDENTITY = (0, 1)``.
"""

from __future__ import annotations

from functools import lru_cache

from prover.params import R_ORDER

__all__ = [
    "A",
    "BASE8",
    "D",
    "GENERATOR",
    "IDENTITY",
    "ORDER",
    "P",
    "SUBORDER",
    "BabyJubJubError",
    "Point",
    "add",
    "double",
    "in_subgroup",
    "mul",
    "mul_base8",
    "neg",
    "on_curve",
    "pack_point",
    "unpack_point",
]

Point = tuple[int, int]

P: int = R_ORDER  # the base field of Baby Jubjub is BN254's scalar field
A: int = 168700
D: int = 168696
GENERATOR: Point = (
    995203441582195749578291179787384436505546430278305826713579947235728471134,
    5472060717959818805561601436314318772137091100104008585924551046643952123905,
)
BASE8: Point = (
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)
ORDER: int = 21888242871839275222246405745257275088614511777268538073601725287587578984328
SUBORDER: int = ORDER >> 3  # l, prime: the order of BASE8
IDENTITY: Point = (0, 1)
_HALF = (P - 1) // 2


class BabyJubJubError(ValueError):
    """A malformed point, scalar or packed encoding."""


def _is_field_element(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < P


def on_curve(pt: Point) -> bool:
    """circomlibjs ``inCurve``: a x^2 + y^2 == 1 + d x^2 y^2 (and both coordinates in F_r)."""
    if not (isinstance(pt, tuple | list) and len(pt) == 2):
        return False
    x, y = pt
    if not (_is_field_element(x) and _is_field_element(y)):
        return False
    x2, y2 = x * x % P, y * y % P
    return (A * x2 + y2 - 1 - D * x2 % P * y2) % P == 0


def add(p1: Point, p2: Point) -> Point:
    """The complete twisted Edwards addition (circomlibjs ``addPoint``), affine."""
    x1, y1 = p1
    x2, y2 = p2
    beta = x1 * y2 % P
    gamma = y1 * x2 % P
    dtau = D * beta % P * gamma % P
    delta = (y1 - A * x1) * (x2 + y2) % P
    x3 = (beta + gamma) * pow(1 + dtau, -1, P) % P
    y3 = (delta + A * beta - gamma) * pow(1 - dtau, -1, P) % P
    return x3, y3


def double(pt: Point) -> Point:
    return add(pt, pt)


def neg(pt: Point) -> Point:
    x, y = pt
    return (-x) % P, y


# --- extended coordinates (X : Y : T : Z), x = X/Z, y = Y/Z, T = XY/Z ------------------------


def _ext(pt: Point) -> tuple[int, int, int, int]:
    x, y = pt
    return x, y, x * y % P, 1


def _ext_add(
    p1: tuple[int, int, int, int], p2: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """add-2008-hwcd: complete for a square, d non-square."""
    x1, y1, t1, z1 = p1
    x2, y2, t2, z2 = p2
    a_ = x1 * x2 % P
    b_ = y1 * y2 % P
    c_ = D * t1 % P * t2 % P
    d_ = z1 * z2 % P
    e_ = ((x1 + y1) * (x2 + y2) - a_ - b_) % P
    f_ = d_ - c_
    g_ = d_ + c_
    h_ = b_ - A * a_
    return e_ * f_ % P, g_ * h_ % P, e_ * h_ % P, f_ * g_ % P


def _ext_double(p1: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """dbl-2008-hwcd."""
    x1, y1, _, z1 = p1
    a_ = x1 * x1 % P
    b_ = y1 * y1 % P
    c_ = 2 * z1 * z1 % P
    d_ = A * a_ % P
    e_ = ((x1 + y1) * (x1 + y1) - a_ - b_) % P
    g_ = d_ + b_
    f_ = g_ - c_
    h_ = d_ - b_
    return e_ * f_ % P, g_ * h_ % P, e_ * h_ % P, f_ * g_ % P


def _affine(p1: tuple[int, int, int, int]) -> Point:
    x, y, _, z = p1
    zi = pow(z, -1, P)
    return x * zi % P, y * zi % P


def _check_scalar(e: int) -> None:
    if not isinstance(e, int) or isinstance(e, bool) or e < 0:
        raise BabyJubJubError(f"a scalar must be a non-negative int, got {e!r}")


def mul(pt: Point, e: int) -> Point:
    """e * pt (circomlibjs ``mulPointEscalar``) for any e >= 0, not reduced: exact also for
    points outside the prime-order subgroup."""
    _check_scalar(e)
    acc = (0, 1, 0, 1)
    base = _ext(pt)
    for bit in bin(e)[2:] if e else "":
        acc = _ext_double(acc)
        if bit == "1":
            acc = _ext_add(acc, base)
    return _affine(acc)


@lru_cache(maxsize=1)
def _base8_doublings() -> tuple[tuple[int, int, int, int], ...]:
    table = [_ext(BASE8)]
    for _ in range(SUBORDER.bit_length()):
        table.append(_ext_double(table[-1]))
    return tuple(table)


def mul_base8(e: int) -> Point:
    """e * BASE8, e reduced mod l first (BASE8 has order l)."""
    _check_scalar(e)
    e %= SUBORDER
    table = _base8_doublings()
    acc = (0, 1, 0, 1)
    i = 0
    while e:
        if e & 1:
            acc = _ext_add(acc, table[i])
        e >>= 1
        i += 1
    return _affine(acc)


def in_subgroup(pt: Point) -> bool:
    """circomlibjs ``inSubgroup``: on the curve and l * pt is the identity."""
    return on_curve(pt) and mul(pt, SUBORDER) == IDENTITY


def pack_point(pt: Point) -> bytes:
    """circomlibjs ``packPoint``: 32 bytes, y little-endian, bit 255 = (x > (r - 1) / 2)."""
    x, y = pt
    if not (_is_field_element(x) and _is_field_element(y)):
        raise BabyJubJubError(f"point coordinates must be ints in [0, r), got {pt!r}")
    buf = bytearray(y.to_bytes(32, "little"))
    if x > _HALF:
        buf[31] |= 0x80
    return bytes(buf)


def _sqrt(a: int) -> int | None:
    """A square root of a in F_r (Tonelli-Shanks), the one <= (r - 1) / 2, or None."""
    if a == 0:
        return 0
    if pow(a, _HALF, P) != 1:
        return None
    # r - 1 = q * 2^s with q odd; 5 is a non-residue mod r.
    s = ((P - 1) & -(P - 1)).bit_length() - 1
    q = (P - 1) >> s
    z = pow(5, q, P)
    x = pow(a, (q + 1) // 2, P)
    b = pow(a, q, P)
    m = s
    while b != 1:
        i, b2 = 0, b
        while b2 != 1:
            b2 = b2 * b2 % P
            i += 1
        g = pow(z, 1 << (m - i - 1), P)
        x = x * g % P
        z = g * g % P
        b = b * z % P
        m = i
    return P - x if x > _HALF else x


def unpack_point(data: bytes | bytearray) -> Point:
    """circomlibjs ``unpackPoint``, raising ``BabyJubJubError`` where it returns null.

    Stricter than circomlibjs in one respect: a y encoded as a value >= r is rejected
    (circomlibjs silently reduces it mod r, so one point has several encodings). Like
    circomlibjs, it rejects y = +-1 (x = 0: the identity and the point of order 2), whose
    x^2 = 0 fails circomlibjs's quadratic-residue test.
    """
    if not isinstance(data, bytes | bytearray) or len(data) != 32:
        raise BabyJubJubError("a packed Baby Jubjub point is 32 bytes")
    buf = bytearray(data)
    sign = bool(buf[31] & 0x80)
    buf[31] &= 0x7F
    y = int.from_bytes(buf, "little")
    if y >= P:
        raise BabyJubJubError("packed point: y is not below the field modulus")
    y2 = y * y % P
    den = (A - D * y2) % P
    if den == 0:
        raise BabyJubJubError("packed point: no x for this y")
    x2 = (1 - y2) * pow(den, -1, P) % P
    x = _sqrt(x2) if x2 else None  # circomlibjs asks x2^((r-1)/2) == 1: x2 = 0 fails too
    if x is None:
        raise BabyJubJubError("packed point: y is not the y-coordinate of a curve point")
    if sign:
        x = (-x) % P
    return x, y
