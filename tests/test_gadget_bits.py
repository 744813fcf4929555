"""Bits and ranges: native == in circuit on random and boundary inputs, exact gate counts, and
mutated witnesses failing at the right gate with the right label."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, CircuitError, UnsatisfiedGate
from circuits.gadgets import bits
from prover import params

R = params.R_ORDER


def ceil3(n: int) -> int:
    return -(-n // 3)


def satisfied(c, inputs, **kw) -> bool:
    try:
        c.check(inputs, **kw)
    except UnsatisfiedGate:
        return False
    return True


def near_powers(n: int):
    """Integers around 0 and 2^n, and anywhere in the field."""
    return st.one_of(
        st.integers(0, (1 << n) - 1),
        st.integers(-4, 4),
        st.integers((1 << n) - 4, (1 << n) + 4),
        st.integers(0, R - 1),
    )


# --- limb checks -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3])
def test_limb_polynomials_accept_exactly_the_limb_values(size):
    for l in range(-20, 40):
        assert bits.native_limb_ok(l, size) == (0 <= l < 1 << size), l
    for l in (R - 1, R // 2, (R + 1) // 2, 7 * pow(2, R - 2, R)):  # -1, halves, 7/2
        assert not bits.native_limb_ok(l, size)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_single_limb_gates_in_circuit(size):
    b = CircuitBuilder()
    x = b.private_input("x")
    before = b.n_gates
    bits.range_check(b, 3 * x + 1, size)  # a one-variable LC: the limb check itself
    assert b.n_gates - before == size
    c = b.compile()
    for v in range(-4, 12):
        l = (3 * v + 1) % R
        assert satisfied(c, {"x": v}) == bits.native_limb_ok(l, size) == (l < 1 << size)


# --- exact gate counts --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 16, 32, 63, 64, 128, 252])
def test_gate_counts(n):
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")

    def cost(fn):
        before = b.n_gates
        fn()
        return b.n_gates - before

    L = ceil3(n)
    assert cost(lambda: bits.range_check(b, x, n)) == n + max(L - 1, 0)
    assert cost(lambda: bits.range_check(b, 5 * x + 3, n)) == n + max(L - 1, 0)
    assert cost(lambda: bits.signed_range_check(b, x, n)) == n + max(L - 1, 0)
    assert cost(lambda: bits.to_bits(b, x, n)) == 2 * n - 1
    assert cost(lambda: bits.split(b, x, [n])) == n + max(L - 1, 0)
    assert cost(lambda: bits.less_than(b, x, y, n)) == n + L + 2
    assert cost(lambda: bits.less_or_equal(b, x, y, n)) == n + L + 2
    assert cost(lambda: bits.less_than(b, x, 1000, n)) == n + L + 1  # one variable fewer
    assert cost(lambda: bits.assert_less_than(b, x, y, n)) == n + max(L, 1)
    assert cost(lambda: bits.assert_less_or_equal(b, x, y, n)) == n + max(L, 1)
    assert cost(lambda: bits.abs_value(b, x, n)) == n + ceil3(n - 1) + 1


def test_headline_counts():
    """The numbers of bench/RESULTS.md: 64-bit range check 85 gates (circomlib Num2Bits(64):
    191 PLONK gates, so 0.45x), to_bits 127, comparators 88, |x| 86."""
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")
    counts = []
    for fn in (
        lambda: bits.range_check(b, x, 64),
        lambda: bits.to_bits(b, x, 64),
        lambda: bits.less_than(b, x, y, 64),
        lambda: bits.assert_less_than(b, x, y, 64),
        lambda: bits.abs_value(b, x, 64),
    ):
        before = b.n_gates
        fn()
        counts.append(b.n_gates - before)
    assert counts == [85, 127, 88, 86, 86]
    assert counts[0] <= 0.7 * 191


# --- native == in circuit -----------------------------------------------------------------------


@cache
def range_circuit(n: int):
    b = CircuitBuilder()
    x = b.private_input("x")
    bits.range_check(b, x, n)
    return b.compile()


@cache
def bits_circuit(n: int):
    b = CircuitBuilder()
    x = b.private_input("x")
    out = bits.to_bits(b, x, n)
    return b.compile(), out


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.sampled_from([1, 2, 3, 7, 8, 64, 100, 252]))
def test_range_check_matches_native(data, n):
    x = data.draw(near_powers(n))
    assert satisfied(range_circuit(n), {"x": x % R}) == bits.native_in_range(x % R, n)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.sampled_from([1, 5, 16, 64]))
def test_to_bits_matches_native(data, n):
    x = data.draw(near_powers(n)) % R
    c, out = bits_circuit(n)
    if bits.native_in_range(x, n):
        w = c.check({"x": x})
        assert [c.value(bit, w) for bit in out] == bits.native_to_bits(x, n)
        assert bits.native_from_bits(bits.native_to_bits(x, n)) == x
    else:
        assert not satisfied(c, {"x": x})
        with pytest.raises(bits.RangeError):
            bits.native_to_bits(x, n)


@cache
def compare_circuit(n: int):
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")
    outs = {
        "lt": bits.less_than(b, x, y, n),
        "le": bits.less_or_equal(b, x, y, n),
        "gt": bits.greater_than(b, x, y, n),
        "ge": bits.greater_or_equal(b, x, y, n),
    }
    return b.compile(), outs


@cache
def assert_circuit(n: int, strict: bool):
    b = CircuitBuilder()
    x, y = b.private_input("x"), b.private_input("y")
    (bits.assert_less_than if strict else bits.assert_less_or_equal)(b, x, y, n)
    return b.compile()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.sampled_from([1, 4, 32, 64, 252]))
def test_comparisons_match_native(data, n):
    top = (1 << n) - 1
    x = data.draw(st.one_of(st.integers(0, top), st.sampled_from([0, 1, top - 1, top])))
    y = data.draw(st.one_of(st.integers(0, top), st.sampled_from([0, 1, top]), st.just(x)))
    c, outs = compare_circuit(n)
    w = c.check({"x": x, "y": y})
    got = {k: c.value(e, w) for k, e in outs.items()}
    assert got == {
        "lt": bits.native_less_than(x, y, n),
        "le": bits.native_less_or_equal(x, y, n),
        "gt": bits.native_less_than(y, x, n),
        "ge": bits.native_less_or_equal(y, x, n),
    }
    assert satisfied(assert_circuit(n, True), {"x": x, "y": y}) == (x < y)
    assert satisfied(assert_circuit(n, False), {"x": x, "y": y}) == (x <= y)


@cache
def signed_circuit(n: int):
    b = CircuitBuilder()
    x = b.private_input("x")
    a, neg = bits.abs_value(b, x, n)
    c_abs = b.compile()
    b2 = CircuitBuilder()
    bits.signed_range_check(b2, b2.private_input("x"), n)
    return c_abs, a, neg, b2.compile()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.sampled_from([1, 2, 8, 64, 252]))
def test_signed_range_and_abs_match_native(data, n):
    half = 1 << (n - 1)
    x = data.draw(
        st.one_of(
            st.integers(-half, half - 1),
            st.sampled_from([-half - 1, -half, -1, 0, 1, half - 1, half]),
            st.integers(-(R // 2), R // 2),
        )
    )
    c_abs, a, neg, c_signed = signed_circuit(n)
    ok = bits.native_signed_in_range(x, n)
    assert satisfied(c_signed, {"x": x}) == ok
    if ok:
        w = c_abs.check({"x": x})
        assert (c_abs.value(a, w), c_abs.value(neg, w)) == bits.native_abs(x, n)
    else:
        assert not satisfied(c_abs, {"x": x})
        with pytest.raises(bits.RangeError):
            bits.native_abs(x, n)


@settings(max_examples=30, deadline=None)
@given(
    x=st.integers(0, (1 << 130) - 1), widths=st.sampled_from([[64, 64, 2], [1, 128, 1], [100, 30]])
)
def test_split_matches_native(x, widths):
    b = CircuitBuilder()
    parts = bits.split(b, b.private_input("x"), widths)
    c = b.compile()
    if x < 1 << sum(widths):
        w = c.check({"x": x})
        assert [c.value(p, w) for p in parts] == bits.native_split(x, widths)
    else:
        assert not satisfied(c, {"x": x})


def test_constants_are_checked_at_build_time():
    b = CircuitBuilder()
    bits.range_check(b, 255, 8)
    assert [v.k for v in bits.to_bits(b, 5, 3)] == [1, 0, 1]
    assert bits.less_than(b, 3, 5, 8).k == 1 and bits.less_or_equal(b, 6, 5, 8).k == 0
    a, neg = bits.abs_value(b, -7, 8)
    assert (a.k, neg.k) == (7, 1)
    assert [p.k for p in bits.split(b, 0x1234, [8, 8])] == [0x34, 0x12]
    assert b.n_gates == 0
    with pytest.raises(CircuitError):
        bits.range_check(b, 256, 8)
    with pytest.raises(CircuitError):
        bits.signed_range_check(b, 128, 8)
    for bad in (0, 253, -1, True, 8.0):
        with pytest.raises(CircuitError):
            bits.range_check(b, b.private_input(f"x{bad!r}"), bad)


# --- mutated witnesses fail where they should ----------------------------------------------------


def limb_gate(c, label: str, sizes, i: int) -> int:
    """The row of the LAST gate of limb i's check (the one that fails for a bad limb): the limb
    checks are the rows labelled ``label``, in limb order, one gate per bit."""
    rows = [r for r, lab in enumerate(c.cs.labels) if lab == label]
    assert len(rows) == sum(sizes)
    return rows[sum(sizes[: i + 1]) - 1]


def test_non_boolean_bit_fails_at_its_bit_gate():
    b = CircuitBuilder()
    x = b.private_input("x")
    with b.scope("decode"):
        out = bits.to_bits(b, x, 8)
    c = b.compile()
    c.check({"x": 5})
    label = "decode/bits8/limbs"
    # bits (3, -1, 1, 0, ...) still sum to 5: only the booleanity of bit 0 (and 1) breaks
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 5}, overrides={out[0]: 3, out[1]: -1})
    assert exc.value.label == label and exc.value.row == limb_gate(c, label, [1] * 8, 0)
    gate = c.cs.gate(exc.value.row)  # the booleanity gate of bit 0: a = b = bit 0
    assert gate.a == gate.b == c.signal(out[0]) and (gate.qm, gate.ql) == (1, R - 1)
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 5}, overrides={out[1]: 2, out[2]: 0})  # 1 + 2*2 = 5
    assert exc.value.label == label and exc.value.row == limb_gate(c, label, [1] * 8, 1)


def _range_limbs(c, n):
    """The hint's limb variables of range_circuit(n): the variables after the input."""
    from circuits.builder import Var

    return [Var(i) for i in range(2, 2 + len(bits.limb_sizes(n)))]


def test_out_of_range_value_fails_at_the_sum():
    c = range_circuit(64)
    for x in (1 << 64, R - 1, (1 << 64) + 5):
        with pytest.raises(UnsatisfiedGate) as exc:
            c.check({"x": x})
        assert exc.value.label == "range64/sum"
        assert exc.value.row == c.n_gates - 1  # the last gate of the equation's chain


def test_forged_limbs_fail_at_the_limb_gate():
    c = range_circuit(64)
    limbs = _range_limbs(c, 64)
    sizes = bits.limb_sizes(64)
    assert len(limbs) == 22 and sizes == (3,) * 21 + (1,)
    # 2^64 written with a top (1-bit) limb of 2: the sum holds, the top limb's check fails
    over = {v: 0 for v in limbs[:-1]}
    over[limbs[-1]] = 2
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 1 << 64}, overrides=over)
    assert exc.value.label == "range64/limbs"
    assert exc.value.row == limb_gate(c, "range64/limbs", sizes, 21)
    # 8 written as limb0 = 8: a 3-bit limb out of {0..7}
    over = {v: 0 for v in limbs}
    over[limbs[0]] = 8
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 8}, overrides=over)
    assert exc.value.row == limb_gate(c, "range64/limbs", sizes, 0)
    # -1 written as limb5 = -1 (a field element) and limb6 = 1: the sum holds, limb 5 fails
    over = {v: 0 for v in limbs}
    over[limbs[5]] = R - 1
    over[limbs[6]] = 1
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": (1 << 18) - (1 << 15)}, overrides=over)
    assert exc.value.row == limb_gate(c, "range64/limbs", sizes, 5)


def test_comparison_result_cannot_be_flipped():
    c, outs = compare_circuit(64)
    w = c.check({"x": 3, "y": 5})
    assert c.value(outs["lt"], w) == 1
    # the lt result is 1 - (top bit of x - y + 2^64): force that bit to 1 (claim x >= y)
    top = next(iter((1 - outs["lt"]).terms))
    from circuits.builder import Var

    with pytest.raises(UnsatisfiedGate) as exc:
        c.check({"x": 3, "y": 5}, overrides={Var(top): 1})
    assert exc.value.label.startswith("lt64/")
