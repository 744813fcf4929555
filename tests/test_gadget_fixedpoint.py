"""Fixed point: a b / d and a / d with floor and ceiling, native == in circuit on random inputs,
exact gate counts, and forged quotients / remainders failing at the labelled check."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, CircuitError, UnsatisfiedGate, Var
from circuits.gadgets import fixedpoint as fp
from prover import params

R = params.R_ORDER


def rc(n: int) -> int:
    """Gates of a range check of a one-variable value (circuits.gadgets.bits)."""
    return n + max(-(-n // 3) - 1, 0)


def satisfied(c, inputs, **kw) -> bool:
    try:
        c.check(inputs, **kw)
    except UnsatisfiedGate:
        return False
    return True


OPS = {
    "mul_div_floor": (fp.mul_div_floor, fp.native_mul_div_floor, True),
    "mul_div_ceil": (fp.mul_div_ceil, fp.native_mul_div_ceil, True),
    "div_floor": (fp.div_floor, fp.native_div_floor, False),
    "div_ceil": (fp.div_ceil, fp.native_div_ceil, False),
}


@cache
def circuit(op: str, d: int | None, q_bits: int, signed: bool, d_bits: int = 64):
    """The gadget on private a (and b), with d a constant or (None) a private input."""
    gadget, _, binary = OPS[op]
    b = CircuitBuilder()
    a = b.private_input("a")
    args = [a, b.private_input("b")] if binary else [a]
    dd = b.private_input("d") if d is None else d
    q = gadget(b, *args, dd, q_bits=q_bits, signed=signed, d_bits=None if d is not None else d_bits)
    return b.compile(), q


def native(op, a, bb, d, q_bits, signed):
    _, fn, binary = OPS[op]
    args = (a, bb) if binary else (a,)
    try:
        return fn(*args, d, q_bits=q_bits, signed=signed)
    except fp.FixedPointError:
        return None


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    op=st.sampled_from(sorted(OPS)),
    d=st.sampled_from([1, 2, 3, 10**8, 1 << 32, (1 << 64) - 59, None]),
    signed=st.booleans(),
)
def test_native_matches_circuit(data, op, d, signed):
    q_bits = 128
    lo = -(1 << 63) if signed else 0
    a = data.draw(st.one_of(st.integers(lo, (1 << 63) - 1), st.sampled_from([lo, 0, 1, -1])))
    bb = data.draw(st.integers(0, (1 << 64) - 1)) if OPS[op][2] else 1
    dv = d if d is not None else data.draw(st.one_of(st.integers(1, (1 << 64) - 1), st.just(0)))
    c, q = circuit(op, d, q_bits, signed)
    inputs = {"a": a}
    if OPS[op][2]:
        inputs["b"] = bb
    if d is None:
        inputs["d"] = dv
    expected = native(op, a, bb, dv, q_bits, signed)
    if expected is None:
        assert not satisfied(c, inputs)
    else:
        w = c.check(inputs)
        assert c.value(q, w) == expected % R


@pytest.mark.parametrize("signed", [False, True])
def test_quotient_bounds_are_enforced_like_native(signed):
    c, q = circuit("mul_div_floor", 10, 8, signed)
    for a in range(-30, 30):
        for bb in (0, 1, 7, 10, 100):
            expected = native("mul_div_floor", a, bb, 10, 8, signed)
            if expected is None:
                assert not satisfied(c, {"a": a, "b": bb})
            else:
                assert c.value(q, c.check({"a": a, "b": bb})) == expected % R
    assert fp.native_mul_div_floor(-7, 3, 2, q_bits=8, signed=True) == -11
    assert fp.native_mul_div_ceil(-7, 3, 2, q_bits=8, signed=True) == -10
    assert fp.native_mul_div_ceil(7, 3, 2, q_bits=8) == 11


def test_native_errors():
    with pytest.raises(fp.FixedPointError, match="divisor"):
        fp.native_div_floor(5, 0, q_bits=8)
    with pytest.raises(fp.FixedPointError, match="quotient"):
        fp.native_div_floor(-5, 2, q_bits=8)
    with pytest.raises(fp.FixedPointError, match="quotient"):
        fp.native_mul_div_floor(1 << 10, 1, 1, q_bits=8)
    with pytest.raises(fp.FixedPointError, match="numerator"):
        fp.native_mul_div_floor(1 << 200, 1 << 60, 1 << 60, q_bits=200)


# --- gate counts --------------------------------------------------------------------------------


def test_gate_counts():
    b = CircuitBuilder()
    x, y, d = b.private_input("x"), b.private_input("y"), b.private_input("d")

    def cost(fn):
        before = b.n_gates
        fn()
        return b.n_gates - before

    # product (2 gates) + r < 10^8 (27-bit r and 10^8 - 1 - r) + 128-bit q
    assert cost(lambda: fp.mul_div_floor(b, x, y, 10**8, q_bits=128)) == 2 + 2 * rc(27) + rc(128)
    assert 2 + 2 * rc(27) + rc(128) == 242
    assert cost(lambda: fp.mul_div_ceil(b, x, y, 10**8, q_bits=128, signed=True)) == 242
    # d = 2^32: one range check of r
    assert cost(lambda: fp.mul_div_floor(b, x, y, 1 << 32, q_bits=96)) == 2 + rc(32) + rc(96)
    # d = 1: q = x y exactly
    assert cost(lambda: fp.mul_div_floor(b, x, y, 1, q_bits=128)) == 1 + rc(128)
    # variable d: q d (1) + product (2) + r (64 bits) + d - 1 - r (two variables: one more)
    assert cost(lambda: fp.mul_div_floor(b, x, y, d, q_bits=128, d_bits=64)) == (
        3 + rc(64) + rc(64) + 1 + rc(128)
    )
    # a / 10^6: one linear gate x = 10^6 q + r, 20-bit remainder checks, 64-bit q
    assert cost(lambda: fp.div_floor(b, x, 10**6, q_bits=64)) == 1 + 2 * rc(20) + rc(64)
    assert cost(lambda: fp.div_ceil(b, x, 10**6, q_bits=64, check_q=False)) == 1 + 2 * rc(20)
    # constants: free
    assert cost(lambda: fp.mul_div_floor(b, 6, 7, 4, q_bits=8)) == 0


def test_constant_results_and_build_errors():
    b = CircuitBuilder()
    assert fp.mul_div_floor(b, 6, 7, 4, q_bits=8).k == 10
    assert fp.mul_div_ceil(b, 6, 7, 4, q_bits=8).k == 11
    assert fp.div_floor(b, -7, 2, q_bits=8, signed=True).k == R - 4
    x = b.private_input("x")
    with pytest.raises(CircuitError, match="wrap"):
        fp.mul_div_floor(b, x, x, 1 << 10, q_bits=250)
    with pytest.raises(CircuitError, match="d_bits"):
        fp.mul_div_floor(b, x, x, x, q_bits=64)
    with pytest.raises(CircuitError, match="positive"):
        fp.div_floor(b, x, 0, q_bits=64)
    with pytest.raises(CircuitError, match="q_bits"):
        fp.div_floor(b, x, 3, q_bits=0)
    with pytest.raises(fp.FixedPointError):
        fp.div_floor(b, 5, 0 + 1, q_bits=2)  # 5 does not fit 2 bits
    assert b.n_gates == 0


# --- forged witnesses ----------------------------------------------------------------------------


def _q_r(q):
    return q, Var(q.index + 1)  # the hint allocates q then r


def test_forged_quotient_fails_at_the_remainder_check():
    c, q = circuit("mul_div_floor", 10**8, 128, False)
    qv, rv = _q_r(q)
    a, bb = 123456789, 987654321
    w = c.check({"a": a, "b": bb})
    true_q, true_r = divmod(a * bb, 10**8)
    assert (c.value(qv, w), c.value(rv, w)) == (true_q, true_r)
    # q + 1 with r - d: the product holds, r < 0 fails
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"a": a, "b": bb}, overrides={qv: true_q + 1, rv: true_r - 10**8})
    assert exc.value.label.startswith("muldiv_floor/remainder/")
    # q - 1 with r + d: the product holds, r >= d fails (d - 1 - r < 0)
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"a": a, "b": bb}, overrides={qv: true_q - 1, rv: true_r + 10**8})
    assert exc.value.label.startswith("muldiv_floor/remainder/")


def test_wrapped_quotient_fails_at_the_quotient_check():
    c, q = circuit("mul_div_floor", 10**8, 128, False)
    qv, rv = _q_r(q)
    a, bb = 123456789, 987654321
    r2 = (a * bb) % 10**8 + 1  # another remainder < d, with the quotient it forces in the field
    q2 = (a * bb - r2) * pow(10**8, R - 2, R) % R
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"a": a, "b": bb}, overrides={qv: q2, rv: r2})
    assert exc.value.label.startswith("muldiv_floor/quotient/")


def test_wrong_product_fails_at_the_product_gate():
    c, q = circuit("mul_div_ceil", 1000, 64, True)
    qv, rv = _q_r(q)
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"a": -5000, "b": 3}, overrides={qv: -14})  # the true ceiling is -15
    assert exc.value.label == "muldiv_ceil/product"


def test_zero_divisor_has_no_witness():
    c, _ = circuit("div_floor", None, 64, False, d_bits=32)
    assert satisfied(c, {"a": 100, "d": 7})
    assert not satisfied(c, {"a": 100, "d": 0})
    assert not satisfied(c, {"a": 100, "d": 1 << 33})  # d beyond 2^(d_bits+1) - 1 is refused
