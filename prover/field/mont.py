"""Scalar Montgomery arithmetic on four 64-bit limbs, for use inside Numba kernels.

An element is a ``UniTuple(uint64, 4)``, little-endian, in Montgomery form (x * 2^256 mod m).
A modulus is a ``UniTuple(uint64, 5)``: its four limbs and ``-m^-1 mod 2^64``.

Multiplication is CIOS (Koc, Acar, Kaliski, "Analyzing and comparing Montgomery multiplication
algorithms", IEEE Micro 1996) in the "no-carry" form used by gnark-crypto, valid because the top
limb of both BN254 moduli is below (2^64 - 1)/2 - 1 (checked in ``prover.params``). The 64x64 ->
128-bit products come from an ``@intrinsic`` that emits LLVM's i128 multiply, which the backend
lowers to a single ``mul``/``mulx``.

On x86-64 CPUs with BMI2 and ADX (Broadwell and later) the multiplication is an inline-assembly
block instead (``mul_adx``): the same no-carry CIOS with two carry chains (ADCX/ADOX) interleaved
with MULX, as in Intel's white paper "New instructions supporting large integer arithmetic" (2012)
and gnark-crypto's amd64 field code. It is ~1.35x faster than what LLVM makes of the generic code.
Set ``ZKPERP_NO_ADX=1`` to force the generic path (clear the Numba cache after changing it).

Every function here is ``@njit``; none allocates. Twins in plain Python are in
``prover.field.twin``.
"""

from __future__ import annotations

import os
import platform

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from prover import params

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
_U64 = types.uint64


def _host_has_adx() -> bool:
    if os.environ.get("ZKPERP_NO_ADX"):
        return False
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        features = llvm.get_host_cpu_features()
        return bool(features.get("adx")) and bool(features.get("bmi2"))
    except RuntimeError:
        return False


HAVE_ADX: bool = _host_has_adx()
if HAVE_ADX:
    # Numba's JIT does not set up LLVM's assembler parser, which inline asm needs.
    llvm.initialize_native_asmparser()


@intrinsic
def mac(typingctx, a, b, c, d):
    """(lo, hi) of a*b + c + d over the integers; it never overflows 128 bits."""
    sig = types.UniTuple(_U64, 2)(_U64, _U64, _U64, _U64)

    def codegen(context, builder, signature, args):
        a128, b128, c128, d128 = (builder.zext(x, _I128) for x in args)
        t = builder.add(builder.add(builder.mul(a128, b128), c128), d128)
        lo = builder.trunc(t, _I64)
        hi = builder.trunc(builder.lshr(t, ir.Constant(_I128, 64)), _I64)
        return context.make_tuple(builder, signature.return_type, (lo, hi))

    return sig, codegen


@intrinsic
def adc(typingctx, a, b, carry):
    """(sum, carry_out) of a + b + carry, carry in {0, 1}."""
    sig = types.UniTuple(_U64, 2)(_U64, _U64, _U64)

    def codegen(context, builder, signature, args):
        a128, b128, c128 = (builder.zext(x, _I128) for x in args)
        t = builder.add(builder.add(a128, b128), c128)
        lo = builder.trunc(t, _I64)
        hi = builder.trunc(builder.lshr(t, ir.Constant(_I128, 64)), _I64)
        return context.make_tuple(builder, signature.return_type, (lo, hi))

    return sig, codegen


@intrinsic
def sbb(typingctx, a, b, borrow):
    """(difference, borrow_out) of a - b - borrow, borrow in {0, 1}."""
    sig = types.UniTuple(_U64, 2)(_U64, _U64, _U64)

    def codegen(context, builder, signature, args):
        a128, b128, c128 = (builder.zext(x, _I128) for x in args)
        t = builder.sub(builder.sub(a128, b128), c128)
        lo = builder.trunc(t, _I64)
        out = builder.trunc(builder.lshr(t, ir.Constant(_I128, 127)), _I64)
        return context.make_tuple(builder, signature.return_type, (lo, out))

    return sig, codegen


def _mul_adx_asm() -> str:
    """AT&T text of the no-carry CIOS Montgomery multiplication with MULX/ADCX/ADOX.

    Operands: $0..$3 the result t (early-clobber), $4 the fifth word t4, $5 a temporary,
    $6 -> x[4], $7 -> y[4], $8 -> (m[4], -m^-1 mod 2^64). RAX and RDX are scratch.
    """
    first_row = [  # t = x0 * y
        "xorl %eax, %eax",
        "movq 0($6), %rdx",
        "mulxq 0($7), $0, $1",
        "mulxq 8($7), %rax, $2",
        "adoxq %rax, $1",
        "mulxq 16($7), %rax, $3",
        "adoxq %rax, $2",
        "mulxq 24($7), %rax, $4",
        "adoxq %rax, $3",
        "movl $$0, %eax",
        "adoxq %rax, $4",
    ]

    def row(i: int) -> list[str]:  # t += x_i * y: low halves on the OF chain, high on CF
        lines = ["xorl %eax, %eax", f"movq {8 * i}($6), %rdx"]
        for j in range(3):
            lines += [f"mulxq {8 * j}($7), %rax, $4", f"adoxq %rax, ${j}", f"adcxq $4, ${j + 1}"]
        lines += ["mulxq 24($7), %rax, $4", "adoxq %rax, $3"]
        lines += ["movl $$0, %eax", "adcxq %rax, $4", "adoxq %rax, $4"]
        return lines

    reduce_step = [  # k = t0 * m'; t = (t + k * m) / 2^64
        "movq $0, %rdx",
        "imulq 32($8), %rdx",
        "xorl %eax, %eax",
        "mulxq 0($8), %rax, $5",
        "adcxq $0, %rax",
        "movq $5, $0",
        "adcxq $1, $0",
        "mulxq 8($8), %rax, $1",
        "adoxq %rax, $0",
        "adcxq $2, $1",
        "mulxq 16($8), %rax, $2",
        "adoxq %rax, $1",
        "adcxq $3, $2",
        "mulxq 24($8), %rax, $3",
        "adoxq %rax, $2",
        "movl $$0, %eax",
        "adcxq %rax, $3",
        "adoxq $4, $3",
    ]
    final_subtract = [  # t -= m unless that borrows (t < 2m here)
        "movq $0, %rax",
        "subq 0($8), %rax",
        "movq $1, %rdx",
        "sbbq 8($8), %rdx",
        "movq $2, $4",
        "sbbq 16($8), $4",
        "movq $3, $5",
        "sbbq 24($8), $5",
        "cmovaeq %rax, $0",
        "cmovaeq %rdx, $1",
        "cmovaeq $4, $2",
        "cmovaeq $5, $3",
    ]
    lines = first_row + reduce_step
    for i in (1, 2, 3):
        lines += row(i) + reduce_step
    return "\n\t".join(lines + final_subtract)


_MUL_ADX_ASM = _mul_adx_asm()
_MUL_ADX_CONSTRAINTS = (
    "=&r,=&r,=&r,=&r,=&r,=&r,r,r,r,~{rax},~{rdx},~{flags},~{memory},~{dirflag},~{fpsr}"
)


@intrinsic
def mul_adx(typingctx, x, y, m):
    """Montgomery product x * y / 2^256 mod m by the MULX/ADCX/ADOX block (x86-64 BMI2+ADX)."""
    elem = types.UniTuple(_U64, 4)
    sig = elem(elem, elem, types.UniTuple(_U64, 5))

    def codegen(context, builder, signature, args):
        slots = []
        for value, count in zip(args, (4, 4, 5)):
            slot = cgutils.alloca_once(builder, ir.ArrayType(_I64, count))
            for j in range(count):
                ptr = builder.gep(slot, [ir.Constant(_I32, 0), ir.Constant(_I32, j)])
                builder.store(builder.extract_value(value, j), ptr)
            slots.append(slot)
        fnty = ir.FunctionType(ir.LiteralStructType([_I64] * 6), [s.type for s in slots])
        res = builder.asm(fnty, _MUL_ADX_ASM, _MUL_ADX_CONSTRAINTS, slots, False, "mont_mul_adx")
        limbs = [builder.extract_value(res, j) for j in range(4)]
        return context.make_tuple(builder, signature.return_type, limbs)

    return sig, codegen


def _modulus_tuple(m: int, inv: int) -> tuple:
    return tuple(np.uint64(x) for x in (*params.to_limbs(m), inv))


def _element_tuple(x: int) -> tuple:
    return tuple(np.uint64(v) for v in params.to_limbs(x))


# Moduli as (m0, m1, m2, m3, -m^-1 mod 2^64). Referenced as globals inside kernels, Numba freezes
# them into the machine code as constants.
FQ_MOD = _modulus_tuple(params.P, params.P_MONT_INV)
FR_MOD = _modulus_tuple(params.R_ORDER, params.R_MONT_INV)
# R mod m (the Montgomery form of 1) and R^2 mod m (to enter Montgomery form).
FQ_ONE = _element_tuple(params.P_MONT_R)
FR_ONE = _element_tuple(params.R_MONT_R)
FQ_R2 = _element_tuple(params.P_MONT_R2)
FR_R2 = _element_tuple(params.R_MONT_R2)
ZERO = _element_tuple(0)
RAW_ONE = _element_tuple(1)


@njit(inline="always")
def _cios_round(v, y, t0, t1, t2, t3, m):
    """One outer iteration of no-carry CIOS: (t + v*y + k*m) / 2^64, k chosen to clear limb 0."""
    c0, c1 = mac(v, y[0], t0, _U64(0))
    k = c0 * m[4]
    _, c2 = mac(k, m[0], c0, _U64(0))
    c0, c1 = mac(v, y[1], c1, t1)
    n0, c2 = mac(k, m[1], c2, c0)
    c0, c1 = mac(v, y[2], c1, t2)
    n1, c2 = mac(k, m[2], c2, c0)
    c0, c1 = mac(v, y[3], c1, t3)
    n2, n3 = mac(k, m[3], c0, c2)
    return n0, n1, n2, n3 + c1


@njit(inline="always")
def reduce_once(t0, t1, t2, t3, m):
    """t - m if t >= m else t, for t < 2m."""
    s0, b = sbb(t0, m[0], _U64(0))
    s1, b = sbb(t1, m[1], b)
    s2, b = sbb(t2, m[2], b)
    s3, b = sbb(t3, m[3], b)
    # Branch-free select (the branch is unpredictable): keep t where the subtraction borrowed.
    keep = _U64(0) - b
    return (
        s0 ^ ((s0 ^ t0) & keep),
        s1 ^ ((s1 ^ t1) & keep),
        s2 ^ ((s2 ^ t2) & keep),
        s3 ^ ((s3 ^ t3) & keep),
    )


@njit(inline="always")
def mul(x, y, m):
    """Montgomery product x * y / 2^256 mod m (the assembly block where the CPU has ADX)."""
    if HAVE_ADX:
        return mul_adx(x, y, m)
    return mul_cios(x, y, m)


@njit(inline="always")
def mul_cios(x, y, m):
    """Montgomery product x * y / 2^256 mod m, portable code (LLVM i128 arithmetic)."""
    z = _U64(0)
    t0, t1, t2, t3 = _cios_round(x[0], y, z, z, z, z, m)
    t0, t1, t2, t3 = _cios_round(x[1], y, t0, t1, t2, t3, m)
    t0, t1, t2, t3 = _cios_round(x[2], y, t0, t1, t2, t3, m)
    t0, t1, t2, t3 = _cios_round(x[3], y, t0, t1, t2, t3, m)
    return reduce_once(t0, t1, t2, t3, m)


@njit(inline="always")
def sqr(x, m):
    return mul(x, x, m)


@njit(inline="always")
def add(x, y, m):
    """x + y mod m (inputs reduced; the sum fits in 256 bits since m < 2^255)."""
    s0, c = adc(x[0], y[0], _U64(0))
    s1, c = adc(x[1], y[1], c)
    s2, c = adc(x[2], y[2], c)
    s3, c = adc(x[3], y[3], c)
    return reduce_once(s0, s1, s2, s3, m)


@njit(inline="always")
def sub(x, y, m):
    """x - y mod m."""
    s0, b = sbb(x[0], y[0], _U64(0))
    s1, b = sbb(x[1], y[1], b)
    s2, b = sbb(x[2], y[2], b)
    s3, b = sbb(x[3], y[3], b)
    # Add m back where the subtraction borrowed, branch-free.
    mask = _U64(0) - b
    s0, c = adc(s0, m[0] & mask, _U64(0))
    s1, c = adc(s1, m[1] & mask, c)
    s2, c = adc(s2, m[2] & mask, c)
    s3, c = adc(s3, m[3] & mask, c)
    return s0, s1, s2, s3


@njit(inline="always")
def neg(x, m):
    if (x[0] | x[1] | x[2] | x[3]) == 0:
        return x
    return sub((m[0], m[1], m[2], m[3]), x, m)


@njit(inline="always")
def double(x, m):
    return add(x, x, m)


@njit(inline="always")
def is_zero(x):
    return (x[0] | x[1] | x[2] | x[3]) == 0


@njit(inline="always")
def eq(x, y):
    return x[0] == y[0] and x[1] == y[1] and x[2] == y[2] and x[3] == y[3]


@njit(inline="always")
def pow_limbs(x, e, one, m):
    """x^e for an exponent e given as four little-endian uint64 limbs (left-to-right binary)."""
    acc = one
    for limb in range(3, -1, -1):
        word = e[limb]
        for bit in range(63, -1, -1):
            acc = mul(acc, acc, m)
            if (word >> _U64(bit)) & _U64(1):
                acc = mul(acc, x, m)
    return acc


@njit(inline="always")
def inv(x, one, m):
    """x^-1 by Fermat, x^(m-2); the inverse of 0 is 0 (callers check)."""
    e0, b = sbb(m[0], _U64(2), _U64(0))
    e1, b = sbb(m[1], _U64(0), b)
    e2, b = sbb(m[2], _U64(0), b)
    e3, b = sbb(m[3], _U64(0), b)
    return pow_limbs(x, (e0, e1, e2, e3), one, m)


@njit(inline="always")
def load(a, i):
    """Row i of an (n, 4) uint64 array as an element tuple."""
    return a[i, 0], a[i, 1], a[i, 2], a[i, 3]


@njit(inline="always")
def store(a, i, x):
    a[i, 0] = x[0]
    a[i, 1] = x[1]
    a[i, 2] = x[2]
    a[i, 3] = x[3]
