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
Squaring has its own block there (``sqr_adx``): the 10 distinct products of x * x (the 6 cross
products doubled, plus the 4 squares) then a separate Montgomery reduction (the "SOS" order of
Koc-Acar-Kaliski), 26 MULX against the multiplication's 32; ~7% faster than ``mul(x, x)``.

Addition and subtraction are written with LLVM's x86 carry intrinsics (``llvm.x86.addcarry.64``
/ ``subborrow.64``), which become one ADC or SBB chain and four CMOVs: about half the latency of
chaining borrows through i128 arithmetic, which LLVM lowers to a serial setb/sar per limb. Other
CPUs get the same operations written on i256/i320 integers (``add_wide`` / ``sub_wide``), which
LLVM also turns into carry chains.

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


def _sqr_adx_asm() -> str:
    """AT&T text of a Montgomery squaring with MULX/ADCX/ADOX: the 512-bit x * x, then four
    reduction steps on its low half and the high half added (the "SOS" order of Koc-Acar-Kaliski).

    Operands: $0..$7 the product t0..t7 (early-clobber; the result is $0..$3), $8 a temporary,
    $9 -> x[4], $10 -> (m[4], -m^-1 mod 2^64). RAX and RDX are scratch.

    The reduction of the low half is u = (t_lo + k m) / 2^256 <= m, and t_hi = x^2 / 2^256 < m/4
    (m < 2^254), so u + t_hi < 2m: one conditional subtraction of m."""
    t = [f"${k}" for k in range(8)]
    tmp, x, m = "$8", "$9", "$10"
    lines = [  # cross products x0 * (x1, x2, x3) -> t1..t4
        "xorl %eax, %eax",
        f"movq 0({x}), %rdx",
        f"mulxq 8({x}), {t[1]}, {t[2]}",
        f"mulxq 16({x}), %rax, {t[3]}",
        f"adcxq %rax, {t[2]}",
        f"mulxq 24({x}), %rax, {t[4]}",
        f"adcxq %rax, {t[3]}",
        "movl $$0, %eax",
        f"adcxq %rax, {t[4]}",
    ]
    lines += [  # + x1 * (x2, x3): low halves on the OF chain, high halves on CF
        "xorl %eax, %eax",
        f"movq 8({x}), %rdx",
        f"mulxq 16({x}), %rax, {tmp}",
        f"adoxq %rax, {t[3]}",
        f"adcxq {tmp}, {t[4]}",
        f"mulxq 24({x}), %rax, {t[5]}",
        f"adoxq %rax, {t[4]}",
        "movl $$0, %eax",
        f"adcxq %rax, {t[5]}",
        f"adoxq %rax, {t[5]}",
    ]
    lines += [  # + x2 * x3
        f"movq 16({x}), %rdx",
        f"mulxq 24({x}), %rax, {t[6]}",
        f"addq %rax, {t[5]}",
        f"adcq $$0, {t[6]}",
    ]
    # Double t1..t6 into t1..t7 (CF chain) while adding the squares x_i^2 (OF chain).
    lines += ["xorl %eax, %eax", f"movq %rax, {t[7]}"]
    for i in range(4):
        lo, hi = (t[0], "%rax") if i == 0 else ("%rax", "%rdx")
        lines += [f"movq {8 * i}({x}), %rdx", f"mulxq %rdx, {lo}, {hi}"]
        if i:
            lines += [f"adcxq {t[2 * i]}, {t[2 * i]}", f"adoxq %rax, {t[2 * i]}"]
        lines += [f"adcxq {t[2 * i + 1]}, {t[2 * i + 1]}", f"adoxq {hi}, {t[2 * i + 1]}"]
    for _ in range(4):  # k = t0 * m'; (t0..t3) = (t0..t3 + k * m) / 2^64
        lines += [
            f"movq {t[0]}, %rdx",
            f"imulq 32({m}), %rdx",
            "xorl %eax, %eax",
            f"mulxq 0({m}), %rax, {tmp}",
            f"adcxq {t[0]}, %rax",
            f"movq {tmp}, {t[0]}",
            f"adcxq {t[1]}, {t[0]}",
            f"mulxq 8({m}), %rax, {t[1]}",
            f"adoxq %rax, {t[0]}",
            f"adcxq {t[2]}, {t[1]}",
            f"mulxq 16({m}), %rax, {t[2]}",
            f"adoxq %rax, {t[1]}",
            f"adcxq {t[3]}, {t[2]}",
            f"mulxq 24({m}), %rax, {t[3]}",
            f"adoxq %rax, {t[2]}",
            "movl $$0, %eax",
            f"adcxq %rax, {t[3]}",
            f"adoxq %rax, {t[3]}",
        ]
    lines += [  # + the high half, then m subtracted unless that borrows
        f"addq {t[4]}, {t[0]}",
        f"adcq {t[5]}, {t[1]}",
        f"adcq {t[6]}, {t[2]}",
        f"adcq {t[7]}, {t[3]}",
    ]
    for j in range(4):
        lines += [
            f"movq {t[j]}, {t[4 + j]}",
            f"{'subq' if j == 0 else 'sbbq'} {8 * j}({m}), {t[4 + j]}",
        ]
    lines += [f"cmovaeq {t[4 + j]}, {t[j]}" for j in range(4)]
    return "\n\t".join(lines)


_SQR_ADX_ASM = _sqr_adx_asm()
_SQR_ADX_CONSTRAINTS = (
    "=&r,=&r,=&r,=&r,=&r,=&r,=&r,=&r,=&r,r,r,~{rax},~{rdx},~{flags},~{memory},~{dirflag},~{fpsr}"
)


@intrinsic
def sqr_adx(typingctx, x, m):
    """Montgomery square x * x / 2^256 mod m by the MULX/ADCX/ADOX block (x86-64 BMI2+ADX)."""
    elem = types.UniTuple(_U64, 4)
    sig = elem(elem, types.UniTuple(_U64, 5))

    def codegen(context, builder, signature, args):
        slots = []
        for value, count in zip(args, (4, 5)):
            slot = cgutils.alloca_once(builder, ir.ArrayType(_I64, count))
            for j in range(count):
                ptr = builder.gep(slot, [ir.Constant(_I32, 0), ir.Constant(_I32, j)])
                builder.store(builder.extract_value(value, j), ptr)
            slots.append(slot)
        fnty = ir.FunctionType(ir.LiteralStructType([_I64] * 9), [s.type for s in slots])
        res = builder.asm(fnty, _SQR_ADX_ASM, _SQR_ADX_CONSTRAINTS, slots, False, "mont_sqr_adx")
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
    """x * x / 2^256 mod m (the squaring block where the CPU has ADX)."""
    if HAVE_ADX:
        return sqr_adx(x, m)
    return mul_cios(x, x, m)


# --- addition and subtraction -------------------------------------------------------------------

_X86 = platform.machine().lower() in ("x86_64", "amd64")
_I1 = ir.IntType(1)
_I8 = ir.IntType(8)
_I256 = ir.IntType(256)
_I320 = ir.IntType(320)
_ELEM = types.UniTuple(_U64, 4)
_MOD = types.UniTuple(_U64, 5)


def _carry_op(builder, name, carry, a, b):
    """(carry_out, a +/- b +/- carry) by llvm.x86.addcarry.64 or llvm.x86.subborrow.64."""
    fnty = ir.FunctionType(ir.LiteralStructType([_I8, _I64]), [_I8, _I64, _I64])
    res = builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), [carry, a, b])
    return builder.extract_value(res, 0), builder.extract_value(res, 1)


def _chain(builder, name, xs, ys):
    carry = ir.Constant(_I8, 0)
    out = []
    for a, b in zip(xs, ys, strict=True):
        carry, v = _carry_op(builder, name, carry, a, b)
        out.append(v)
    return carry, out


def _limbs(builder, *values):
    return ([builder.extract_value(v, j) for j in range(4)] for v in values)


@intrinsic
def add_x86(typingctx, x, y, m):
    """x + y mod m (x, y < m < 2^255, so the sum fits 256 bits): an ADC chain, an SBB chain for
    the sum minus m, and the sum kept where that borrowed. x86-64 only."""

    def codegen(context, builder, signature, args):
        xs, ys, ms = _limbs(builder, *args)
        _, total = _chain(builder, "llvm.x86.addcarry.64", xs, ys)
        borrow, reduced = _chain(builder, "llvm.x86.subborrow.64", total, ms)
        keep = builder.icmp_unsigned("!=", borrow, ir.Constant(_I8, 0))
        out = [builder.select(keep, t, r) for t, r in zip(total, reduced, strict=True)]
        return context.make_tuple(builder, signature.return_type, out)

    return _ELEM(_ELEM, _ELEM, _MOD), codegen


@intrinsic
def sub_x86(typingctx, x, y, m):
    """x - y mod m (x, y < m): an SBB chain, then m added back under the borrow mask. x86-64
    only."""

    def codegen(context, builder, signature, args):
        xs, ys, ms = _limbs(builder, *args)
        borrow, diff = _chain(builder, "llvm.x86.subborrow.64", xs, ys)
        mask = builder.sub(ir.Constant(_I64, 0), builder.zext(borrow, _I64))
        _, out = _chain(builder, "llvm.x86.addcarry.64", diff, [builder.and_(v, mask) for v in ms])
        return context.make_tuple(builder, signature.return_type, out)

    return _ELEM(_ELEM, _ELEM, _MOD), codegen


def _join(builder, tup, width):
    acc = ir.Constant(width, 0)
    for j in range(4):
        w = builder.zext(builder.extract_value(tup, j), width)
        acc = builder.or_(acc, builder.shl(w, ir.Constant(width, 64 * j)) if j else w)
    return acc


def _split(context, builder, rettype, v):
    width = v.type
    limbs = [
        builder.trunc(builder.lshr(v, ir.Constant(width, 64 * j)) if j else v, _I64)
        for j in range(4)
    ]
    return context.make_tuple(builder, rettype, limbs)


@intrinsic
def add_wide(typingctx, x, y, m):
    """x + y mod m for reduced x, y, on i256 values (portable; m < 2^255)."""

    def codegen(context, builder, signature, args):
        a, b, mm = (_join(builder, v, _I256) for v in args)
        s = builder.add(a, b)
        fnty = ir.FunctionType(ir.LiteralStructType([_I256, _I1]), [_I256, _I256])
        usub = cgutils.get_or_insert_function(builder.module, fnty, "llvm.usub.with.overflow.i256")
        r = builder.call(usub, [s, mm])
        t, borrow = builder.extract_value(r, 0), builder.extract_value(r, 1)
        return _split(context, builder, signature.return_type, builder.select(borrow, s, t))

    return _ELEM(_ELEM, _ELEM, _MOD), codegen


@intrinsic
def sub_wide(typingctx, x, y, m):
    """x - y mod m for reduced x, y, on i320 values (portable)."""

    def codegen(context, builder, signature, args):
        a, b, mm = (_join(builder, v, _I320) for v in args)
        d = builder.sub(a, b)
        negative = builder.trunc(builder.lshr(d, ir.Constant(_I320, 319)), _I1)
        r = builder.trunc(builder.select(negative, builder.add(d, mm), d), _I256)
        return _split(context, builder, signature.return_type, r)

    return _ELEM(_ELEM, _ELEM, _MOD), codegen


@njit(inline="always")
def _add_fast(x, y, m):
    """x + y mod m for reduced x, y (m < 2^255, so the sum fits in 256 bits)."""
    return add_x86(x, y, m)


@njit(inline="always")
def _sub_fast(x, y, m):
    """x - y mod m for reduced x, y."""
    return sub_x86(x, y, m)


@njit(inline="always")
def _add_portable(x, y, m):
    """x + y mod m for reduced x, y (m < 2^255, so the sum fits in 256 bits)."""
    return add_wide(x, y, m)


@njit(inline="always")
def _sub_portable(x, y, m):
    """x - y mod m for reduced x, y."""
    return sub_wide(x, y, m)


# Chosen here, in Python, so that code for the other architecture is never compiled.
add = _add_fast if _X86 else _add_portable
sub = _sub_fast if _X86 else _sub_portable


@njit(inline="always")
def add_i128(x, y, m):
    """x + y mod m through i128 carries (the reference the fast versions are tested against)."""
    s0, c = adc(x[0], y[0], _U64(0))
    s1, c = adc(x[1], y[1], c)
    s2, c = adc(x[2], y[2], c)
    s3, c = adc(x[3], y[3], c)
    return reduce_once(s0, s1, s2, s3, m)


@njit(inline="always")
def sub_i128(x, y, m):
    """x - y mod m through i128 borrows (the reference the fast versions are tested against)."""
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
            acc = sqr(acc, m)
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
