"""Radix-2 number-theoretic transforms over Fr on (n, 4) Montgomery arrays, in place, parallel.

Convention (public API): NATURAL order in, NATURAL order out, for every transform.

- ``ntt``: a[i] <- sum_j a[j] omega^(i j)                      (evaluate coefficients on H)
- ``intt``: a[i] <- n^-1 sum_j a[j] omega^(-i j)               (interpolate, the inverse)
- ``coset_ntt``: a[i] <- sum_j a[j] (shift omega^i)^j            (evaluate on shift * H)
- ``coset_intt``: the inverse of ``coset_ntt``
with omega = snarkjs's generator of H (``prover.poly.domain``) and shift = 5. This is exactly
ffjavascript's ``Fr.fft``/``Fr.ifft`` (snarkjs's), which bit-reverses its input and runs
decimation-in-time butterflies.

Algorithm: Cooley-Tukey decimation in time (Cooley and Tukey, "An algorithm for the machine
calculation of complex Fourier series", Math. Comp. 19, 1965). Internally the input is first put
in bit-reversed order by a tiled, parallel permutation (16 x 16 tiles, so both sides of every swap
touch whole cache lines), then the k = log2(n) butterfly stages run in *passes* of consecutive
stages. A pass over stages with half-sizes H, 2H, ..., 2^(m-1) H only mixes elements whose
indices differ in m "middle" bits, so it splits into independent tiles of 2^m rows x C adjacent
columns (C = min(H, 16)): the first pass (m <= ``PASS_BITS``) works on contiguous blocks of 2^m
elements, the later ones (m <= ``LATE_PASS_BITS``) on strided tiles (the "blocked" / four-step
idea of Bailey, "FFTs in external or hierarchical memory", J. Supercomputing 4, 1990). Tiles are
distributed over threads (``prange``) and stay in L1/L2 while their m stages run. Each stage
reads its twiddles from one contiguous slice of the domain's precomputed table
(``tw[h + j] = omega_{2h}^j``); butterflies whose twiddle is 1 skip the multiplication.

The inverse uses intt(a) = n^-1 * reverse(ntt(a)), where reverse fixes a[0] and reverses
a[1:] (omega^-1 = omega^(n-1)), so one twiddle table serves both directions. Coset transforms
scale by shift^i (before) or n^-1 shift^-i (after) in a parallel geometric pass.

The plain-Python twins of the kernels (same signatures) are in ``prover.poly.twin``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from prover.field import mont
from prover.poly.domain import Domain, geometric_starts

PASS_BITS = 10  # stages per pass: a first-pass block of 2^10 elements is 32 KiB (fits L1)
LATE_PASS_BITS = 7  # later passes: 2^7 rows x 16 columns x 32 B = 64 KiB per tile
TILE_COLS = 16
BITREV_TILE_BITS = 4


# --- modular add / sub ------------------------------------------------------------------------
# prover.field.mont's carry-chain versions (x86 carry intrinsics, or i256/i320 LLVM integers on
# other CPUs): ~15% faster butterflies than chaining borrows through i128 arithmetic. The old
# names stay for callers of this module.

_U64 = types.uint64
_I64 = ir.IntType(64)
_ELEM = types.UniTuple(_U64, 4)

add_wide = mont.add
sub_wide = mont.sub


# --- Montgomery product of two array rows, read in place -------------------------------------
# ``mont.mul`` receives its operands as tuples, which the inline-assembly block then reads back
# from stack slots. The butterflies multiply array rows, so on x86-64 with ADX this passes the
# rows' addresses straight to the same MULX/ADCX/ADOX block (``mont._MUL_ADX_ASM``): ~15% faster.
# Elsewhere (or if prover.field.mont stops exposing the block) it is ``mont.mul``.

_ROW_MUL_ASM = (
    mont.HAVE_ADX and hasattr(mont, "_MUL_ADX_ASM") and hasattr(mont, "_MUL_ADX_CONSTRAINTS")
)


def _fr_modulus_global(module):
    name = "zkperp_ntt_fr_modulus"
    gv = module.globals.get(name)
    if gv is None:
        words = ir.ArrayType(_I64, 5)
        gv = ir.GlobalVariable(module, words, name=name)
        gv.linkage = "internal"
        gv.global_constant = True
        gv.initializer = ir.Constant(words, [ir.Constant(_I64, int(w)) for w in mont.FR_MOD])
    return gv


@intrinsic
def _mul_rows_adx(typingctx, a, i, b, j):
    """Fr Montgomery product of rows a[i] and b[j], the asm block reading them in place."""

    def codegen(context, builder, signature, args):
        aty, _, bty, _ = signature.args
        zero = context.get_constant(types.intp, 0)
        ptrs = []
        for ty, arr, idx in ((aty, args[0], args[1]), (bty, args[2], args[3])):
            ary = context.make_array(ty)(context, builder, arr)
            ptrs.append(cgutils.get_item_pointer(context, builder, ty, ary, [idx, zero]))
        pm = builder.bitcast(_fr_modulus_global(builder.module), _I64.as_pointer())
        fnty = ir.FunctionType(
            ir.LiteralStructType([_I64] * 6), [ptrs[0].type, ptrs[1].type, pm.type]
        )
        res = builder.asm(
            fnty, mont._MUL_ADX_ASM, mont._MUL_ADX_CONSTRAINTS, [*ptrs, pm], False, "mont_mul_adx"
        )
        limbs = [builder.extract_value(res, k) for k in range(4)]
        return context.make_tuple(builder, signature.return_type, limbs)

    return _ELEM(a, types.intp, b, types.intp), codegen


@njit(inline="always")
def mul_rows(a_m, i, b_m, j):
    """a[i] * b[j] (Fr Montgomery rows)."""
    if _ROW_MUL_ASM:
        return _mul_rows_adx(a_m, i, b_m, j)
    return mont.mul(mont.load(a_m, i), mont.load(b_m, j), mont.FR_MOD)


@njit(cache=True)
def _reverse_bits(x, bits):
    r = 0
    y = x
    for _ in range(bits):
        r = (r << 1) | (y & 1)
        y >>= 1
    return r


@njit(inline="always")
def _swap(a_m, i, j):
    for c in range(4):
        t = a_m[i, c]
        a_m[i, c] = a_m[j, c]
        a_m[j, c] = t


@njit(inline="always")
def _log2(n):
    k = 0
    while (1 << k) < n:
        k += 1
    return k


@njit(parallel=True, cache=True)
def bit_reverse_m(a_m):
    """Permute rows in place: a[i] <-> a[rev_k(i)], n = 2^k rows."""
    n = a_m.shape[0]
    k = _log2(n)
    t = BITREV_TILE_BITS
    if k < 2 * t + 2:
        for i in prange(n):
            j = _reverse_bits(i, k)
            if i < j:
                _swap(a_m, i, j)
        return
    # i = (top | mid | bot) with t-bit top and bot; rev(i) = (rev bot | rev mid | rev top).
    # Tile (mid) pairs with tile (rev mid): both are 2^t runs of 2^t contiguous rows.
    mid_bits = k - 2 * t
    side = 1 << t
    rev_t = np.empty(side, dtype=np.int64)
    for x in range(side):
        rev_t[x] = _reverse_bits(x, t)
    for mid in prange(1 << mid_bits):
        rmid = _reverse_bits(mid, mid_bits)
        if rmid < mid:
            continue
        for top in range(side):
            i0 = (top << (k - t)) | (mid << t)
            j_lo = (rmid << t) | rev_t[top]
            for bot in range(side):
                i = i0 | bot
                j = (rev_t[bot] << (k - t)) | j_lo
                if rmid != mid or i < j:
                    _swap(a_m, i, j)


@njit(cache=True)
def _pass_tile(a_m, tw_m, base, stride, H, lo0, C, m):
    """Stages with half-sizes H, 2H, ..., 2^(m-1) H on a tile of 2^m rows x C columns: element
    (mid, c) is a_m[base + mid*stride + c] and has global index (...)+ mid*H + lo0 + c."""
    mod = mont.FR_MOD
    R = 1 << m
    for ls in range(m):
        hl = 1 << ls
        h = hl * H
        if h == 1:  # first stage: every twiddle is 1
            for blk in range(0, R, 2):
                r0 = base + blk * stride
                u = mont.load(a_m, r0)
                v = mont.load(a_m, r0 + stride)
                mont.store(a_m, r0, add_wide(u, v, mod))
                mont.store(a_m, r0 + stride, sub_wide(u, v, mod))
            continue
        for blk in range(0, R, 2 * hl):
            for jm in range(hl):
                r0 = base + (blk + jm) * stride
                r1 = r0 + hl * stride
                t0 = h + jm * H + lo0
                c0 = 0
                if jm == 0 and lo0 == 0:  # twiddle omega^0 = 1: no multiplication
                    u = mont.load(a_m, r0)
                    v = mont.load(a_m, r1)
                    mont.store(a_m, r0, add_wide(u, v, mod))
                    mont.store(a_m, r1, sub_wide(u, v, mod))
                    c0 = 1
                for c in range(c0, C):
                    # Load u after the product: nothing stays live across the multiplication.
                    v = mul_rows(a_m, r1 + c, tw_m, t0 + c)
                    u = mont.load(a_m, r0 + c)
                    mont.store(a_m, r0 + c, add_wide(u, v, mod))
                    mont.store(a_m, r1 + c, sub_wide(u, v, mod))


@njit(parallel=True, cache=True)
def _butterfly_pass(a_m, tw_m, s, m):
    """Stages s+1 .. s+m (half-sizes 2^s .. 2^(s+m-1)) of the DIT, tiles in parallel."""
    n = a_m.shape[0]
    H = 1 << s
    C = min(H, TILE_COLS)
    tiles_per_group = H // C
    groups = n >> (s + m)
    for item in prange(groups * tiles_per_group):
        g = item // tiles_per_group
        lo0 = (item - g * tiles_per_group) * C
        _pass_tile(a_m, tw_m, (g << (s + m)) + lo0, H, H, lo0, C, m)


@njit(cache=True)
def butterflies_m(a_m, tw_m, first_bits, late_bits):
    """All DIT stages on bit-reversed input (natural-order output): a first pass of up to
    ``first_bits`` stages on contiguous blocks (fewer if that leaves < 8 blocks, so every core
    gets work), then balanced passes of at most ``late_bits`` stages on strided tiles."""
    n = a_m.shape[0]
    k = _log2(n)
    s = 0
    m = min(k, first_bits)
    while m > 1 and (n >> m) < 8:
        m -= 1
    if m > 0:
        _butterfly_pass(a_m, tw_m, 0, m)
        s = m
    # The remaining stages in as few passes as late_bits allows, of balanced sizes (k = 18 runs
    # 10 + 4 + 4 rather than 10 + 7 + 1: a pass of one stage would stream the array for little).
    if s < k:
        passes = (k - s + late_bits - 1) // late_bits
        while s < k:
            m = (k - s + passes - 1) // passes
            _butterfly_pass(a_m, tw_m, s, m)
            s += m
            passes -= 1


@njit(parallel=True, cache=True)
def _reverse_tail(a_m):
    """a[i] <-> a[n - i] for 0 < i < n/2 (a[0] and a[n/2] stay)."""
    n = a_m.shape[0]
    for i in prange(1, (n + 1) // 2):
        _swap(a_m, i, n - i)


@njit(parallel=True, cache=True)
def _scale(a_m, s):
    for i in prange(a_m.shape[0]):
        mont.store(a_m, i, mont.mul(mont.load(a_m, i), s, mont.FR_MOD))


@njit(parallel=True, cache=True)
def _scale_geometric(a_m, start, ratio):
    """a[i] *= start * ratio^i, in parallel chunks (each chunk starts from its own power)."""
    n = a_m.shape[0]
    if n == 0:
        return
    chunks = min(n, 64)
    step = (n + chunks - 1) // chunks
    starts = geometric_starts(start, ratio, n, chunks)
    for c in prange(chunks):
        f = mont.load(starts, c)
        for i in range(c * step, min(n, (c + 1) * step)):
            mont.store(a_m, i, mont.mul(mont.load(a_m, i), f, mont.FR_MOD))
            f = mont.mul(f, ratio, mont.FR_MOD)


@njit(cache=True)
def ntt_m(a_m, tw_m):
    """In place: a <- (sum_j a[j] omega^(ij))_i, natural order in and out. tw_m: the table of
    ``Domain.twiddles_m`` for n = a_m.shape[0] (any larger domain's table works too)."""
    n = a_m.shape[0]
    if a_m.shape[1] != 4 or n & (n - 1) != 0:
        raise ValueError("ntt_m: a_m must be (n, 4) with n a power of two")
    if tw_m.shape[0] < n or tw_m.shape[1] != 4:
        raise ValueError("ntt_m: twiddle table smaller than the transform")
    if n <= 1:
        return
    bit_reverse_m(a_m)
    butterflies_m(a_m, tw_m, PASS_BITS, LATE_PASS_BITS)


@njit(cache=True)
def intt_m(a_m, tw_m, n_inv):
    """In place: the inverse of ``ntt_m``; n_inv is n^-1 as a Montgomery tuple."""
    ntt_m(a_m, tw_m)
    _reverse_tail(a_m)
    _scale(a_m, n_inv)


@njit(cache=True)
def coset_ntt_m(a_m, tw_m, shift):
    """In place: a <- (sum_j a[j] (shift omega^i)^j)_i, evaluations on shift * H."""
    _scale_geometric(a_m, mont.FR_ONE, shift)
    ntt_m(a_m, tw_m)


@njit(cache=True)
def coset_intt_m(a_m, tw_m, n_inv, shift_inv):
    """In place: the inverse of ``coset_ntt_m`` (shift_inv = shift^-1)."""
    ntt_m(a_m, tw_m)
    _reverse_tail(a_m)
    _scale_geometric(a_m, n_inv, shift_inv)


# --- checked wrappers -------------------------------------------------------------------------


def check_array(a_m: np.ndarray, name: str = "a_m") -> int:
    """Validate an (n, 4) uint64 C-contiguous writeable array with n a power of two; return n."""
    if not isinstance(a_m, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(a_m).__name__}")
    if a_m.dtype != np.uint64 or a_m.ndim != 2 or a_m.shape[1] != 4:
        raise ValueError(f"{name} must be an (n, 4) uint64 array, got {a_m.dtype} {a_m.shape}")
    n = a_m.shape[0]
    if n < 1 or n & (n - 1):
        raise ValueError(f"{name} length must be a power of two, got {n}")
    if not a_m.flags.c_contiguous or not a_m.flags.writeable:
        raise ValueError(f"{name} must be C-contiguous and writeable (transforms are in place)")
    return n


def _domain_for(a_m: np.ndarray, domain: Domain | None) -> Domain:
    n = check_array(a_m)
    if domain is None:
        return Domain.of_size(n)
    if not isinstance(domain, Domain):
        raise TypeError(f"expected a Domain, got {type(domain).__name__}")
    if domain.n != n:
        raise ValueError(f"array of length {n} does not match a domain of size {domain.n}")
    return domain


def ntt(a_m: np.ndarray, domain: Domain | None = None) -> np.ndarray:
    """Coefficients -> evaluations on H, in place; returns a_m."""
    d = _domain_for(a_m, domain)
    ntt_m(a_m, d.twiddles_m)
    return a_m


def intt(a_m: np.ndarray, domain: Domain | None = None) -> np.ndarray:
    """Evaluations on H -> coefficients, in place; returns a_m."""
    d = _domain_for(a_m, domain)
    intt_m(a_m, d.twiddles_m, d.n_inv_m)
    return a_m


def coset_ntt(a_m: np.ndarray, domain: Domain | None = None) -> np.ndarray:
    """Coefficients -> evaluations on shift * H, in place; returns a_m."""
    d = _domain_for(a_m, domain)
    coset_ntt_m(a_m, d.twiddles_m, d.shift_m)
    return a_m


def coset_intt(a_m: np.ndarray, domain: Domain | None = None) -> np.ndarray:
    """Evaluations on shift * H -> coefficients, in place; returns a_m."""
    d = _domain_for(a_m, domain)
    coset_intt_m(a_m, d.twiddles_m, d.n_inv_m, d.shift_inv_m)
    return a_m
