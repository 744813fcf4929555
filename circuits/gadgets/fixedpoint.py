"""Fixed-point arithmetic: a b / d and a / d rounded down (floor) or up (ceiling), in circuit
and natively, proven with range-checked remainders.

The margin, funding and PnL rules of the exchange (issue D) compute prices times sizes divided by
a scale in integers; these gadgets prove such results. Floor (toward minus infinity, Python's
``//``) and ceiling are both exact:

- floor: q = floor(a b / d) iff a b = q d + r with 0 <= r < d;
- ceiling: q = ceil(a b / d) iff a b = q d - r with 0 <= r < d.

The prover supplies q and r (a hint); the circuit checks the product equation (two gates for
variable a, b and a constant d, three for a variable d), 0 <= r < d (one range check of r when
d is a constant power of two, r and d - 1 - r otherwise, which also proves d >= 1), and the range
of q: 0 <= q < 2^q_bits, or -2^(q_bits-1) <= q < 2^(q_bits-1) with ``signed=True``.

Bounds (soundness needs every integer in the product equation to stay below r, so that the field
equation is the integer one):

- the CALLER guarantees |a b| < 2^252 (e.g. a and b range-checked to widths summing to <= 252);
  the gadget does not check a or b;
- the gadget checks q_bits + bit_length(d) <= 251 at build time (for a variable d,
  bit_length(d) <= d_bits + 1: r and d - 1 - r are range-checked to d_bits bits);
- d >= 1; a variable d is proven >= 1 by the remainder checks.

Then |q d + r - a b| < 2^252 + 2^252 < r, so the field equation holds over the integers and q
is the floor (ceiling). Signed inputs are field elements read as signed (v > (r-1)/2 is v - r).

The native twins compute the same results and raise ``FixedPointError`` exactly where the circuit
has no witness (d <= 0, q out of range), so a rule computed natively is provable in circuit.

Gate counts for one-variable a, b, d constant (RC(n) = n + ceil(n/3) - 1, see ``bits``): with
k = bit_length(d - 1), 2 + RC(k) (d = 2^k) or 2 + 2 RC(k) (otherwise), plus RC(q_bits); e.g. a b /
10^8 with q_bits = 128: 2 + 2 * 35 + 170 = 242.
"""

from __future__ import annotations

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets.bits import MAX_BITS, _range
from circuits.witness import signed as as_signed
from prover import params

R = params.R_ORDER
PRODUCT_BITS = 252  # the caller's bound: |a b| < 2^252
QD_BITS = 251  # q_bits + bit_length(d) <= 251


class FixedPointError(ValueError):
    """A native fixed-point operation whose circuit twin would have no witness."""


def q_range(q_bits: int, signed: bool) -> tuple[int, int]:
    """[lo, hi) of the quotient: [0, 2^q_bits) or [-2^(q_bits-1), 2^(q_bits-1))."""
    if isinstance(q_bits, bool) or not isinstance(q_bits, int) or not 1 <= q_bits <= MAX_BITS:
        raise CircuitError(f"q_bits must be an int in [1, {MAX_BITS}], got {q_bits!r}")
    return (-(1 << (q_bits - 1)), 1 << (q_bits - 1)) if signed else (0, 1 << q_bits)


def _native(num: int, d: int, q_bits: int, signed: bool, ceil: bool) -> int:
    lo, hi = q_range(q_bits, signed)
    if d <= 0:
        raise FixedPointError(f"the divisor must be >= 1, got {d}")
    if abs(num) >= 1 << PRODUCT_BITS:
        raise FixedPointError(f"|numerator| = |{num}| is not below 2^{PRODUCT_BITS}")
    q = -((-num) // d) if ceil else num // d
    if not lo <= q < hi:
        raise FixedPointError(
            f"the quotient {q} is outside [{lo}, {hi}) ({'signed' if signed else 'unsigned'}, "
            f"{q_bits} bits)"
        )
    return q


def native_mul_div_floor(a: int, b: int, d: int, *, q_bits: int, signed: bool = False) -> int:
    """floor(a b / d) (FixedPointError if d <= 0 or the result is outside the q range)."""
    return _native(a * b, d, q_bits, signed, ceil=False)


def native_mul_div_ceil(a: int, b: int, d: int, *, q_bits: int, signed: bool = False) -> int:
    """ceil(a b / d) (FixedPointError if d <= 0 or the result is outside the q range)."""
    return _native(a * b, d, q_bits, signed, ceil=True)


def native_div_floor(a: int, d: int, *, q_bits: int, signed: bool = False) -> int:
    return _native(a, d, q_bits, signed, ceil=False)


def native_div_ceil(a: int, d: int, *, q_bits: int, signed: bool = False) -> int:
    return _native(a, d, q_bits, signed, ceil=True)


def _quotient_hint(ceil: bool):
    def fixed_point_quotient(av: int, bv: int, dv: int) -> list[int]:
        num = as_signed(av) * as_signed(bv)
        d = as_signed(dv)
        if d == 0:
            return [0, 0]  # no witness: the remainder check d - 1 - r >= 0 fails
        if ceil:
            q = -((-num) // d)
            return [q, q * d - num]
        q, r = divmod(num, d)
        return [q, r]

    return fixed_point_quotient


def _muldiv(
    bld: CircuitBuilder,
    a: Operand,
    b: Operand,
    d: Operand,
    q_bits: int,
    d_bits: int | None,
    signed: bool,
    ceil: bool,
    check_q: bool,
) -> LC:
    a, b, d = as_lc(a), as_lc(b), as_lc(d)
    lo, hi = q_range(q_bits, signed)
    if not d.terms:
        dv = d.k
        if not 1 <= dv < 1 << MAX_BITS:
            raise CircuitError(f"the divisor must be a positive constant below 2^{MAX_BITS}")
        d_len = dv.bit_length()
    else:
        if isinstance(d_bits, bool) or not isinstance(d_bits, int) or not 1 <= d_bits < MAX_BITS:
            raise CircuitError(
                f"a variable divisor needs d_bits in [1, {MAX_BITS}), got {d_bits!r}"
            )
        d_len = d_bits + 1
    if q_bits + d_len > QD_BITS:
        raise CircuitError(
            f"q_bits + bit_length(d) = {q_bits} + {d_len} > {QD_BITS}: the product equation "
            "could wrap around the field"
        )
    if not a.terms and not b.terms and not d.terms:
        q = _native(as_signed(a.k) * as_signed(b.k), d.k, q_bits, signed, ceil)
        return LC({}, q)

    sign = -1 if ceil else 1  # a b = q d + sign r
    if not d.terms and d.k == 1:
        # q = a b exactly: no remainder
        with bld.scope("product"):
            q = bld.mul(a, b)
    else:
        q, r = bld.hint_many(_quotient_hint(ceil), [a, b, d], 2)
        with bld.scope("product"):
            qd = q * d.k if not d.terms else bld.mul(q, d)
            bld.assert_mul(a, b, qd + sign * r)
        with bld.scope("remainder"):
            if not d.terms:
                k = (d.k - 1).bit_length()
                _range(bld, r, k)
                if d.k != 1 << k:  # r < d for a d that is not a power of two
                    _range(bld, d.k - 1 - r, k)
            else:
                _range(bld, r, d_bits)  # type: ignore[arg-type]
                _range(bld, d - 1 - r, d_bits)  # type: ignore[arg-type]
    if check_q:
        with bld.scope("quotient"):
            _range(bld, as_lc(q) - lo, q_bits)
    return q


def mul_div_floor(
    bld: CircuitBuilder,
    a: Operand,
    b: Operand,
    d: Operand,
    *,
    q_bits: int,
    d_bits: int | None = None,
    signed: bool = False,
    check_q: bool = True,
) -> LC:
    """floor(a b / d), range-checked to q_bits (signed or not). d: a positive constant, or a
    variable with d_bits (proven 1 <= d < 2^(d_bits+1), r < 2^d_bits). The caller guarantees
    |a b| < 2^252. ``check_q=False`` skips the quotient's range check: ONLY when the caller
    range-checks q to the same bounds itself (it is needed for soundness)."""
    with bld.scope("muldiv_floor"):
        return _muldiv(bld, a, b, d, q_bits, d_bits, signed, False, check_q)


def mul_div_ceil(
    bld: CircuitBuilder,
    a: Operand,
    b: Operand,
    d: Operand,
    *,
    q_bits: int,
    d_bits: int | None = None,
    signed: bool = False,
    check_q: bool = True,
) -> LC:
    """ceil(a b / d); the rest as ``mul_div_floor``."""
    with bld.scope("muldiv_ceil"):
        return _muldiv(bld, a, b, d, q_bits, d_bits, signed, True, check_q)


def div_floor(
    bld: CircuitBuilder,
    a: Operand,
    d: Operand,
    *,
    q_bits: int,
    d_bits: int | None = None,
    signed: bool = False,
    check_q: bool = True,
) -> LC:
    """floor(a / d); the rest as ``mul_div_floor`` (the caller guarantees |a| < 2^252)."""
    with bld.scope("div_floor"):
        return _muldiv(bld, a, 1, d, q_bits, d_bits, signed, False, check_q)


def div_ceil(
    bld: CircuitBuilder,
    a: Operand,
    d: Operand,
    *,
    q_bits: int,
    d_bits: int | None = None,
    signed: bool = False,
    check_q: bool = True,
) -> LC:
    """ceil(a / d); the rest as ``mul_div_floor``."""
    with bld.scope("div_ceil"):
        return _muldiv(bld, a, 1, d, q_bits, d_bits, signed, True, check_q)
