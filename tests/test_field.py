"""Fr and Fq: Numba kernels vs their plain-Python twins vs Python ints, field laws, conversions."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, types
from numba.extending import intrinsic

from prover import params
from prover.field import convert, ifma, kernels, mont, twin
from prover.field.kernels import FQ_M, FR_M
from prover.field.ref import FQ, FR

FIELDS = [(FR_M, FR), (FQ_M, FQ)]
IDS = ["Fr", "Fq"]


def edge_values(m: int) -> list[int]:
    return [0, 1, 2, m - 1, m - 2, (m - 1) // 2, (m + 1) // 2, 1 << 64, (1 << 192) - 1, 1 << 253]


def sample(m: int, n: int, seed: int) -> list[int]:
    rnd = random.Random(seed)
    return [v % m for v in edge_values(m)] + [rnd.randrange(m) for _ in range(n)]


def elements(m: int):
    return st.one_of(st.sampled_from([v % m for v in edge_values(m)]), st.integers(0, m - 1))


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_round_trip_ints(mf, ref):
    xs = sample(mf.modulus, 200, 1)
    a_m = convert.to_mont(mf, xs)
    assert a_m.shape == (len(xs), 4) and a_m.dtype == np.uint64
    # Montgomery form really is x * 2^256 mod m
    assert convert.raw_to_ints(a_m) == [x * 2**256 % mf.modulus for x in xs]
    assert convert.from_mont(mf, a_m) == xs


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_binary_kernels_vs_ints_and_twins(mf, ref):
    m = mf.modulus
    xs = sample(m, 300, 2)
    ys = list(reversed(sample(m, 300, 3)))
    a_m, b_m = convert.to_mont(mf, xs), convert.to_mont(mf, ys)
    cases = [
        ("add_m", lambda x, y: (x + y) % m),
        ("sub_m", lambda x, y: (x - y) % m),
        ("mul_m", lambda x, y: x * y % m),
    ]
    for name, expect in cases:
        out = np.empty_like(a_m)
        getattr(kernels, name)(a_m, b_m, out, mf.mod)
        out_twin = np.empty_like(a_m)
        getattr(twin, name)(a_m, b_m, out_twin, mf.mod)
        assert np.array_equal(out, out_twin), name
        assert convert.from_mont(mf, out) == [expect(x, y) for x, y in zip(xs, ys)], name


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_unary_kernels_vs_ints_and_twins(mf, ref):
    m = mf.modulus
    xs = sample(m, 200, 4)
    a_m = convert.to_mont(mf, xs)
    for name, expect, extra in [
        ("neg_m", lambda x: -x % m, ()),
        ("sqr_m", lambda x: x * x % m, ()),
        ("inv_m", lambda x: pow(x, -1, m) if x else 0, (mf.one,)),
        ("batch_inv_m", lambda x: pow(x, -1, m) if x else 0, (mf.one,)),
    ]:
        out, out_twin = np.empty_like(a_m), np.empty_like(a_m)
        fn, fn_twin = getattr(kernels, name), getattr(twin, name)
        if extra:
            fn(a_m, out, *extra, mf.mod)
            fn_twin(a_m, out_twin, *extra, mf.mod)
        else:
            fn(a_m, out, mf.mod)
            fn_twin(a_m, out_twin, mf.mod)
        assert np.array_equal(out, out_twin), name
        assert convert.from_mont(mf, out) == [expect(x) for x in xs], name


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
@pytest.mark.parametrize("e", [0, 1, 2, 3, 65537, 2**64, 2**255 + 12345])
def test_pow(mf, ref, e):
    m = mf.modulus
    xs = sample(m, 30, 5)
    a_m = convert.to_mont(mf, xs)
    assert convert.from_mont(mf, mf.pow(a_m, e)) == [pow(x, e, m) for x in xs]
    out_twin = np.empty_like(a_m)
    twin.pow_m(a_m, kernels._as_tuple(e), out_twin, mf.one, mf.mod)
    assert np.array_equal(mf.pow(a_m, e), out_twin)


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_pow_negative_is_inverse_power(mf, ref):
    m = mf.modulus
    xs = [x for x in sample(m, 20, 6) if x]
    a_m = convert.to_mont(mf, xs)
    assert convert.from_mont(mf, mf.pow(a_m, -3)) == [pow(x, -3, m) for x in xs]


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 65, 1000])
def test_batch_inverse_sizes_and_zeros(mf, ref, n):
    m = mf.modulus
    rnd = random.Random(n)
    xs = [rnd.randrange(m) for _ in range(n)]
    for i in range(0, n, 7):
        xs[i] = 0  # zeros inside the chunks are skipped and map to zero
    a_m = convert.to_mont(mf, xs)
    out = np.empty_like(a_m)
    kernels.batch_inv_m(a_m, out, mf.one, mf.mod)
    assert convert.from_mont(mf, out) == [pow(x, -1, m) if x else 0 for x in xs]
    # in place (out aliases the input)
    kernels.batch_inv_m(a_m, a_m, mf.one, mf.mod)
    assert np.array_equal(a_m, out)
    # the checked API refuses a zero
    if n:
        with pytest.raises(ZeroDivisionError):
            mf.batch_inv(convert.to_mont(mf, xs))
        with pytest.raises(ZeroDivisionError):
            mf.inv(convert.to_mont(mf, xs))
    assert ref.batch_inv([x for x in xs if x]) == [pow(x, -1, m) for x in xs if x]


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_sum_scale_powers(mf, ref):
    m = mf.modulus
    xs = sample(m, 100, 7)
    a_m = convert.to_mont(mf, xs)
    assert mf.element_int(mf.sum(a_m)) == sum(xs) % m
    assert mf.sum(a_m) == twin.sum_m(a_m, mf.mod)
    assert convert.from_mont(mf, mf.scale(a_m, 12345)) == [x * 12345 % m for x in xs]
    base = 0xDEADBEEF
    assert convert.from_mont(mf, mf.powers(base, 50)) == [pow(base, i, m) for i in range(50)]
    out_twin = np.empty((50, 4), np.uint64)
    twin.powers_m(mf.element(base), 50, mf.one, out_twin, mf.mod)
    assert np.array_equal(mf.powers(base, 50), out_twin)


@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_field_laws_fr(data):
    _field_laws(FR_M, data)


@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_field_laws_fq(data):
    _field_laws(FQ_M, data)


def _field_laws(mf, data):
    m = mf.modulus
    x, y, z = (data.draw(elements(m)) for _ in range(3))
    a, b, c = (convert.to_mont(mf, [v]) for v in (x, y, z))

    def val(arr):
        return convert.from_mont(mf, arr)[0]

    assert val(mf.mul(a, b)) == val(mf.mul(b, a)) == x * y % m
    assert val(mf.add(a, b)) == val(mf.add(b, a)) == (x + y) % m
    assert val(mf.mul(mf.mul(a, b), c)) == val(mf.mul(a, mf.mul(b, c)))
    assert val(mf.mul(a, mf.add(b, c))) == val(mf.add(mf.mul(a, b), mf.mul(a, c)))
    assert val(mf.add(a, mf.neg(a))) == 0
    assert val(mf.sub(a, b)) == val(mf.add(a, mf.neg(b)))
    assert val(mf.sqr(a)) == val(mf.mul(a, a))
    if x:
        assert val(mf.mul(a, mf.inv(a))) == 1
        assert val(mf.mul(a, mf.batch_inv(a))) == 1
    # canonical output: every limb pattern is < m
    assert convert.raw_to_ints(mf.mul(a, b))[0] < m


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_byte_encodings(mf, ref):
    m = mf.modulus
    xs = sample(m, 20, 8)
    a_m = convert.to_mont(mf, xs)
    be = convert.mont_to_be32(mf, a_m)
    assert be == b"".join(x.to_bytes(32, "big") for x in xs)
    assert np.array_equal(convert.mont_from_be32(mf, be), a_m)
    le = convert.mont_to_le32(mf, a_m, montgomery=False)
    assert le == b"".join(x.to_bytes(32, "little") for x in xs)
    assert np.array_equal(convert.mont_from_le32(mf, le, montgomery=False), a_m)
    le_m = convert.mont_to_le32(mf, a_m, montgomery=True)
    assert le_m == b"".join((x * 2**256 % m).to_bytes(32, "little") for x in xs)
    assert np.array_equal(convert.mont_from_le32(mf, le_m, montgomery=True), a_m)


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_malformed_inputs_raise(mf, ref):
    m = mf.modulus
    with pytest.raises(ValueError, match="out of range"):
        convert.to_mont(mf, [m])
    with pytest.raises(ValueError, match="out of range"):
        convert.to_mont(mf, [-1])
    with pytest.raises(ValueError, match="canonical"):
        convert.mont_from_be32(mf, m.to_bytes(32, "big"))
    with pytest.raises(ValueError, match="canonical"):
        convert.mont_from_le32(mf, (m + 5).to_bytes(32, "little"), montgomery=True)
    with pytest.raises(ValueError, match="multiple of 32"):
        convert.mont_from_be32(mf, b"\x00" * 31)
    good = convert.to_mont(mf, [1, 2, 3])
    with pytest.raises(ValueError, match=r"\(n, 4\) uint64"):
        mf.mul(good, good[:, :3])
    with pytest.raises(ValueError, match=r"\(n, 4\) uint64"):
        mf.add(good.astype(np.int64), good)
    with pytest.raises(ValueError, match="shape mismatch"):
        mf.mul(good, good[:2])
    with pytest.raises(ValueError, match="out of range"):
        mf.element(m)
    with pytest.raises(TypeError):
        ref.check(1.5)
    with pytest.raises(ValueError):
        ref.check(m)


def test_constants_match_independent_sources():
    # py_ecc's curve constants and generators.
    from py_ecc import bn128

    assert bn128.field_modulus == params.P
    assert bn128.curve_order == params.R_ORDER
    assert (int(bn128.G1[0].n), int(bn128.G1[1].n)) == params.G1_GENERATOR
    g2 = bn128.G2
    assert ((g2[0].coeffs[0], g2[0].coeffs[1]), (g2[1].coeffs[0], g2[1].coeffs[1])) == tuple(
        tuple(int(c) for c in coord) for coord in params.G2_GENERATOR
    )
    b2 = bn128.b2
    assert tuple(int(c) for c in b2.coeffs) == params.TWIST_B
    # The roots of unity: w_k has order exactly 2^k.
    for k in (1, 3, 10, 16, 28):
        w = params.fr_root_of_unity(k)
        assert pow(w, 1 << k, params.R_ORDER) == 1
        assert pow(w, 1 << (k - 1), params.R_ORDER) == params.R_ORDER - 1
    with pytest.raises(ValueError):
        params.fr_root_of_unity(29)


@njit(cache=True)
def _mul_both(a_m, b_m, out_cios, out_fast, mod):
    for i in range(a_m.shape[0]):
        x, y = mont.load(a_m, i), mont.load(b_m, i)
        mont.store(out_cios, i, mont.mul_cios(x, y, mod))
        mont.store(out_fast, i, mont.mul(x, y, mod))


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_assembly_and_portable_multiplications_agree(mf, ref):
    """mont.mul (the MULX/ADCX/ADOX block on this CPU, if it has ADX) == the portable CIOS."""
    m = mf.modulus
    vals = sample(m, 2000, 9)
    xs = vals + [m - 1] * len(vals)
    ys = list(reversed(vals)) + vals
    a_m, b_m = convert.to_mont(mf, xs), convert.to_mont(mf, ys)
    out_cios, out_fast = np.empty_like(a_m), np.empty_like(a_m)
    _mul_both(a_m, b_m, out_cios, out_fast, mf.mod)
    assert np.array_equal(out_cios, out_fast)
    assert convert.from_mont(mf, out_cios) == [x * y % m for x, y in zip(xs, ys)]
    if not mont.HAVE_ADX:
        pytest.skip("this CPU has no BMI2+ADX: only the portable multiplication exists here")


@njit(cache=True)
def _add_sub_sqr_variants(a_m, b_m, out, one, mod):
    """Rows 9i..9i+8: add, add_wide, add_i128, sub, sub_wide, sub_i128, sqr, mul_cios(x, x),
    pow(x, 2) through pow_limbs (which squares with sqr)."""
    two = (np.uint64(2), np.uint64(0), np.uint64(0), np.uint64(0))
    for i in range(a_m.shape[0]):
        x, y = mont.load(a_m, i), mont.load(b_m, i)
        mont.store(out, 9 * i, mont.add(x, y, mod))
        mont.store(out, 9 * i + 1, mont.add_wide(x, y, mod))
        mont.store(out, 9 * i + 2, mont.add_i128(x, y, mod))
        mont.store(out, 9 * i + 3, mont.sub(x, y, mod))
        mont.store(out, 9 * i + 4, mont.sub_wide(x, y, mod))
        mont.store(out, 9 * i + 5, mont.sub_i128(x, y, mod))
        mont.store(out, 9 * i + 6, mont.sqr(x, mod))
        mont.store(out, 9 * i + 7, mont.mul_cios(x, x, mod))
        mont.store(out, 9 * i + 8, mont.pow_limbs(x, two, one, mod))


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_add_sub_sqr_variants_agree(mf, ref):
    """The carry-chain add/sub (x86 intrinsics here, i256/i320 elsewhere), the i128 reference,
    and the squaring block against Python ints, on every pair of edge values (limb boundaries,
    0, m - 1, m/2) and random elements."""
    m = mf.modulus
    edge = [v % m for v in edge_values(m)] + [m - 2**64, 2**64 - 1, 2**128, 2**192 + 1]
    edge += sample(m, 6, 10)[-6:]
    xs = [x for x in edge for _ in edge] + sample(m, 500, 11)
    ys = [y for _ in edge for y in edge] + sample(m, 500, 12)
    raw_x, raw_y = convert.ints_to_raw(xs, m), convert.ints_to_raw(ys, m)
    out = np.empty((9 * len(xs), 4), np.uint64)
    _add_sub_sqr_variants(raw_x, raw_y, out, mf.one, mf.mod)
    got = convert.raw_to_ints(out)
    r_inv = pow(2**256, -1, m)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        row = got[9 * i : 9 * i + 9]
        assert row[0:3] == [(x + y) % m] * 3, (x, y)
        assert row[3:6] == [(x - y) % m] * 3, (x, y)
        assert row[6] == row[7] == x * x * r_inv % m, x
        assert row[8] == x * x * r_inv % m, x


# --- eight-lane IFMA arithmetic (prover.field.ifma) ---------------------------------------------

needs_ifma = pytest.mark.skipif(not ifma.HAVE_IFMA, reason="this CPU has no AVX-512 IFMA")


def _lane_op(name: str, mod: ifma.Modulus52):
    """An intrinsic applying one IR builder of prover.field.ifma to 5-row blocks of a (rows, 8)
    array: out = op(a, b)."""

    @intrinsic
    def op(typingctx, buf, dst, a, b):
        def codegen(context, builder, sig, args):
            aty = sig.args[0]
            arr, d, x, y = args
            xa = ifma.load(builder, ifma.row_pointers(context, builder, aty, arr, x))
            yb = ifma.load(builder, ifma.row_pointers(context, builder, aty, arr, y))
            if name == "mul":
                r = ifma.mul(builder, mod, xa, yb)
            elif name == "mul_lazy":
                r = ifma.normalize(builder, ifma.mul(builder, mod, xa, yb, normalized=False), False)
            elif name == "sqr":
                r = ifma.sqr(builder, mod, xa)
            elif name == "sub":
                r = ifma.sub(builder, mod, xa, yb, 4)
            elif name == "add":
                r = ifma.add(builder, xa, yb)
            elif name == "canonical":
                r = ifma.canonical(builder, mod, xa, 8)
            else:  # "transpose": rows x .. x + 7 -> out
                rows = ifma.load(builder, ifma.row_pointers(context, builder, aty, arr, x, 8))
                r = ifma.transpose8(builder, rows)
                ptrs = ifma.row_pointers(context, builder, aty, arr, d, 8)
                ifma.store(builder, ptrs, r)
                return context.get_dummy_value()
            ifma.store(builder, ifma.row_pointers(context, builder, aty, arr, d), r)
            return context.get_dummy_value()

        return types.void(buf, types.intp, types.intp, types.intp), codegen

    return op


_OPS = {
    (mf.modulus, name): _lane_op(name, mod)
    for mf, mod in ((FQ_M, ifma.FQ52), (FR_M, ifma.FR52))
    for name in ("mul", "mul_lazy", "sqr", "sub", "add", "canonical", "transpose")
}


def _njit_op(op):
    @njit
    def run(buf, d, a, b):
        op(buf, d, a, b)

    return run


@needs_ifma
@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_ifma_lane_arithmetic(mf, ref):
    """mul / sqr (x y / 2^260 mod m, < 2m, for inputs < 8m), sub (x - y + 4m), add, canonical
    (from < 8m) and the 8 x 8 transpose, lane by lane against Python ints; inputs include the
    bound values 0, m - 1, 8m - 1 and 2^256 - 1."""
    m = mf.modulus
    rnd = random.Random(40)
    ops = {name: _njit_op(_OPS[(m, name)]) for name in ("mul", "mul_lazy", "sqr", "sub", "add")}
    canon = _njit_op(_OPS[(m, "canonical")])
    r_inv = pow(2**260, -1, m)
    specials = [0, 1, m - 1, m, 2 * m - 1, 4 * m - 1, 8 * m - 1]
    for _ in range(40):
        xs = [rnd.choice([rnd.randrange(8 * m), rnd.choice(specials)]) for _lane in range(8)]
        ys = [rnd.choice([rnd.randrange(4 * m), rnd.choice(specials[:6])]) for _lane in range(8)]
        buf = np.zeros((16, 8), np.uint64)
        for lane in range(8):
            buf[0:5, lane] = ifma.to_limbs52(xs[lane])
            buf[5:10, lane] = ifma.to_limbs52(ys[lane])
        for name, fn in ops.items():
            fn(buf, 10, 0, 5)
            for lane in range(8):
                x, y = xs[lane], ys[lane]
                got = ifma.from_limbs52(buf[10:15, lane])
                assert all(int(v) < 1 << 52 for v in buf[10:14, lane]), (name, x, y)
                if name.startswith("mul"):
                    assert got % m == x * y * r_inv % m and got < 2 * m, (name, x, y)
                elif name == "sqr":
                    assert got % m == x * x * r_inv % m and got < 2 * m, (name, x)
                elif name == "sub":
                    assert got == x - y + 4 * m, (name, x, y)
                else:
                    assert got == x + y, (name, x, y)
        canon(buf, 10, 0, 0)
        assert [ifma.from_limbs52(buf[10:15, lane]) for lane in range(8)] == [x % m for x in xs]
    big = (1 << 256) - 1  # mul's other documented bound: inputs below 2^256
    buf = np.zeros((16, 8), np.uint64)
    for lane in range(8):
        buf[0:5, lane] = ifma.to_limbs52(big - lane)
        buf[5:10, lane] = ifma.to_limbs52(big - 7 * lane)
    ops["mul"](buf, 10, 0, 5)
    for lane in range(8):
        got = ifma.from_limbs52(buf[10:15, lane])
        assert got % m == (big - lane) * (big - 7 * lane) * r_inv % m and got < 2 * m
    rows = np.arange(128, dtype=np.uint64).reshape(16, 8)
    _njit_op(_OPS[(m, "transpose")])(rows, 8, 0, 0)
    assert np.array_equal(rows[8:], rows[:8].T)


@njit(cache=True)
def _m52_round_trip(a_m, limbs, back, fr):
    for i in range(a_m.shape[0]):
        x = mont.load(a_m, i)
        v = ifma.fr_to_m52(x) if fr else ifma.fq_to_m52(x)
        for j in range(5):
            limbs[i, j] = v[j]
        mont.store(back, i, ifma.fr_from_m52(v) if fr else ifma.fq_from_m52(v))


@njit(cache=True)
def _from_m52_rows(limbs, out, fr):
    for i in range(limbs.shape[0]):
        v = (limbs[i, 0], limbs[i, 1], limbs[i, 2], limbs[i, 3], limbs[i, 4])
        mont.store(out, i, ifma.fr_from_m52(v) if fr else ifma.fq_from_m52(v))


@pytest.mark.parametrize("mf,ref", FIELDS, ids=IDS)
def test_m52_conversions(mf, ref):
    """mont form <-> M52 form (x 2^260 mod m, 52-bit limbs) both ways; from_m52 accepts any
    normalised value below 4m (the kernels' lazily reduced y coordinates). Scalar code: runs on
    every CPU."""
    m = mf.modulus
    mod = ifma.FQ52 if mf is FQ_M else ifma.FR52
    xs = sample(m, 200, 13)
    a_m = convert.to_mont(mf, xs)
    limbs, back = np.empty((len(xs), 5), np.uint64), np.empty_like(a_m)
    _m52_round_trip(a_m, limbs, back, mf is FR_M)
    assert np.array_equal(back, a_m)
    assert [ifma.from_limbs52(r) for r in limbs] == [mod.to_m52(x) for x in xs]
    wide = [mod.to_m52(x) + k * m for x, k in zip(xs, [0, 1, 2, 3] * 60, strict=False)]
    assert all(v < 4 * m for v in wide)
    rows = np.array([ifma.to_limbs52(v) for v in wide], dtype=np.uint64)
    out = np.empty((len(wide), 4), np.uint64)
    _from_m52_rows(rows, out, mf is FR_M)
    assert convert.from_mont(mf, out) == xs[: len(wide)]
