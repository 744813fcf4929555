"""EdDSA-Poseidon verification in circuit: circomlib's ``EdDSAPoseidonVerifier`` (circomlib 2.0.5
``circuits/eddsaposeidon.circom``), the twin of ``circuits.gadgets.eddsa.verify_poseidon``.

The scheme (Bernstein et al., CHES 2011, section 3, with circomlib's choices): a signature
(R8, S) on a field element M under the key A is valid iff

- S < l (the prime subgroup order);
- A and R8 are on the curve (circomlib's template takes this for granted; checked here);
- 8 A is not the identity (A is not of small order; circomlib: ``IsZero(dbl3.x)``);
- with h = Poseidon(R8x, R8y, Ax, Ay, M) as an integer < r (circomlib's ``Num2Bits_strict``),
  S B8 = R8 + h (8 A).

``native_verify`` states exactly this on ints. It differs from circomlibjs's ``verifyPoseidon``
(``eddsa.verify_poseidon(..., check_subgroup=False)``) only for a small-order A, which it rejects;
and from our default ``verify_poseidon`` (``check_subgroup=True``) only for an A outside the
prime subgroup that is not of small order, which it accepts, as circomlib does.
``subgroup_check=True`` adds ours (20 gates): A = 8 A' for a hinted A' on the curve, i.e. A in
the subgroup of order l, then equal to ``verify_poseidon`` with the default. (R8 needs no check:
R8 = S B8 - 8 h A lies in the subgroup whenever the equation holds.)

How (see ``babyjubjub_circuit`` for the point gadgets):

- S: 126 two-bit limbs (S < 2^252, so S is the integer they make), then l - 1 - S in [0, 2^251)
  with ``bits.range_check``; the limbs drive the fixed-base multiplication by B8 (tables of
  constants, 13 gates a limb).
- h: 127 limbs (h < 2^254) and h <= r - 1 as integers: the low 63 limbs' partial sum e_lo, a
  borrow bit, and the two halves of r - 1 - e range-checked (``_assert_below_r``).
- The variable-base part computes (2 h + 1) 4A = 8 h A + 4A with signed digits from the same
  limbs (``mul_var``, 26 gates a limb); the fixed-base part starts from 4A, so the final check is
  S B8 + 4A = R8 + (8 h A + 4A), the same equation.

Gate count: 7,034 (7,053 with ``subgroup_check``; circomlib's EdDSAPoseidonVerifier is 22,115
PLONK gates in snarkjs): the variable-base part 3,054, the fixed-base part 1,386, Poseidon(5)
1,130, S's limbs and range 711, h's limbs and comparison 721.

Labels under ``eddsa``: ``A_on_curve``, ``R8_on_curve``, ``S_bits``, ``S_range`` (S >= l fails
here), ``hash``, ``h_bits``, ``h_below_r``, ``A_mul8``, ``A_small_order``, ``A_subgroup``,
``mul_h``, ``mul_s``, ``right``, ``check`` (a wrong S, message or key fails here).
"""

from __future__ import annotations

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import babyjubjub_circuit as bjc
from circuits.gadgets.bits import range_check
from circuits.gadgets.eddsa import Signature, challenge
from circuits.gadgets.poseidon_circuit import poseidon

__all__ = ["verify", "native_verify", "S_LIMBS", "H_LIMBS"]

R = bj.P
L = bj.SUBORDER
S_LIMBS = 126  # 252 bits >= l's 251
H_LIMBS = 127  # 254 bits >= r's 254
H_LOW = 63  # limbs in the low half of the h <= r - 1 comparison


def native_verify(msg: int, sig: Signature, pub: bj.Point, *, subgroup_check: bool = False) -> bool:
    """What ``verify`` proves, on ints (see the module docstring)."""
    if not isinstance(sig, Signature) or not isinstance(msg, int) or not 0 <= msg < R:
        return False
    r8, a = sig.r8, pub
    if not (bj.on_curve(r8) and bj.on_curve(a)):
        return False
    if not isinstance(sig.s, int) or isinstance(sig.s, bool) or not 0 <= sig.s < L:
        return False
    a8 = bj.mul(a, 8)
    if a8 == bj.IDENTITY:
        return False
    if subgroup_check and not bj.in_subgroup(a):
        return False
    h = challenge(r8, a, msg)
    return bj.mul_base8(sig.s) == bj.add(r8, bj.mul(a8, h))


def _assert_below_r(b: CircuitBuilder, h: LC, e_lo: LC) -> None:
    """h = e (the limbs' integer, < 2^254) with e <= r - 1, given e_lo = the low H_LOW limbs'
    sum: with beta = [e_lo > R_lo], R_lo - e_lo + beta 4^k in [0, 4^k) and
    R_hi - e_hi - beta >= 0, where e_hi = (h - e_lo) / 4^k is e's high part (the field equation
    h = e holds mod r and 4^k is invertible, so this is e_hi whether or not e wraps)."""
    k = 2 * H_LOW
    r_lo, r_hi = (R - 1) & ((1 << k) - 1), (R - 1) >> k
    beta = b.hint(lambda lo: int(lo > r_lo), e_lo)
    b.assert_bool(beta)
    range_check(b, r_lo - e_lo + beta * (1 << k), k)
    e_hi = (h - e_lo) / (1 << k)
    range_check(b, r_hi - e_hi - beta, r_hi.bit_length())


def _a_over_8(x: int, y: int) -> list[int]:
    """A' with 8 A' = A when A is in the prime subgroup (garbage otherwise: the check fails)."""
    if not bj.on_curve((x, y)):
        return [0, 1]
    return list(bj.mul((x, y), pow(8, -1, L)))


def verify(
    b: CircuitBuilder,
    msg: Operand,
    ax: Operand,
    ay: Operand,
    r8x: Operand,
    r8y: Operand,
    s: Operand,
    *,
    subgroup_check: bool = False,
) -> None:
    """Constrain (R8, S) to be a valid EdDSA-Poseidon signature of ``msg`` under the key
    (Ax, Ay): circomlib's ``EdDSAPoseidonVerifier`` with ``enabled = 1``, plus on-curve checks
    (and the subgroup check of A with ``subgroup_check``)."""
    msg, ax, ay, r8x, r8y, s = map(as_lc, (msg, ax, ay, r8x, r8y, s))
    if not isinstance(subgroup_check, bool):
        raise CircuitError("subgroup_check must be a bool")
    with b.scope("eddsa"):
        with b.scope("A_on_curve"):
            ax, ay = b.materialize(ax), b.materialize(ay)
            ax2 = bjc.assert_on_curve(b, (ax, ay))
        with b.scope("R8_on_curve"):
            bjc.assert_on_curve(b, (r8x, r8y))
        with b.scope("S_bits"):
            s_limbs, _ = bjc.limbs2(b, s, S_LIMBS)
        with b.scope("S_range"):
            range_check(b, (L - 1) - s, L.bit_length())
        with b.scope("hash"):
            h = b.materialize(poseidon(b, [r8x, r8y, ax, ay, msg]))
        with b.scope("h_bits"):
            h_limbs, e_lo = bjc.limbs2(b, h, H_LIMBS, low=H_LOW)
        with b.scope("h_below_r"):
            _assert_below_r(b, h, e_lo)
        with b.scope("A_mul8"):
            a2 = bjc.double(b, (ax, ay), ax2)
            a4 = bjc.double(b, a2)
            a8 = bjc.double(b, a4)
        if subgroup_check:
            with b.scope("A_subgroup"):
                ap = b.hint_many(_a_over_8, [ax, ay], 2)
                ap2 = bjc.assert_on_curve(b, ap)
                q = bjc.double(b, bjc.double(b, bjc.double(b, ap, ap2)))
                b.assert_equal(q[0], ax)
                b.assert_equal(q[1], ay)
            with b.scope("A_small_order"):
                b.assert_nonzero(ax)  # in the subgroup: A = O iff x = 0
        else:
            with b.scope("A_small_order"):
                b.assert_nonzero(a8[0])  # 8A is in the subgroup: 8A = O iff x = 0
        with b.scope("mul_h"):
            right = bjc.mul_var(b, h_limbs, a4, a8)  # (2h + 1) 4A = 8hA + 4A
        with b.scope("mul_s"):
            left = bjc.mul_fixed(b, s_limbs, bj.BASE8, a4)  # 4A + S B8
        with b.scope("right"):
            right = bjc.add(b, (r8x, r8y), right)
        with b.scope("check"):
            b.assert_equal(left[0], right[0])
            b.assert_equal(left[1], right[1])
