"""circuits.gadgets.routing: the looping algorithm routes every permutation (exhaustively for
n <= 8, by hypothesis up to 64), the gadget computes what the native twin computes, the switch
count is n log2 n - n/2, forged bits fail at their gate, and route_sorted sorts or fails."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.builder import CircuitBuilder, UnsatisfiedGate, WitnessError
from circuits.gadgets.routing import (
    RoutingError,
    benes_apply,
    benes_bits,
    benes_switch_count,
    route,
    route_sorted,
    sorting_permutation,
)


def _routes(perm):
    out = benes_apply(list(range(len(perm))), benes_bits(perm))
    return all(out[perm[i]] == i for i in range(len(perm)))


@pytest.mark.parametrize("n", [2, 4, 8])
def test_every_permutation_small(n):
    for perm in itertools.permutations(range(n)):
        assert _routes(list(perm))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda k: st.permutations(list(range(1 << k)))))
def test_random_permutations(perm):
    assert _routes(perm)
    assert len(benes_bits(perm)) == benes_switch_count(len(perm))


def test_switch_counts_and_bad_sizes():
    assert [benes_switch_count(1 << k) for k in range(1, 7)] == [1, 6, 20, 56, 144, 352]
    for bad in (0, 1, 3, 6, 12):
        with pytest.raises(RoutingError):
            benes_switch_count(bad)
    with pytest.raises(RoutingError):
        benes_bits([0, 0, 1, 2])
    with pytest.raises(RoutingError):
        benes_apply([1, 2, 3, 4], [0])


def test_sorting_permutation_is_stable():
    keys = [5, 1, 5, 0]
    perm = sorting_permutation(keys)
    assert perm == [2, 1, 3, 0]
    assert benes_apply(keys, benes_bits(perm)) == sorted(keys)


def _circuit(n, width, sorted_by=None, key_bits=16):
    b = CircuitBuilder()
    rows = [b.private_inputs(f"row{i}", width) for i in range(n)]
    if sorted_by is None:
        sw = b.private_inputs("bits", benes_switch_count(n))
        out = route(b, rows, sw)
    else:
        out = route_sorted(b, rows, sorted_by, key_bits)
    for i, r in enumerate(out):
        for j, x in enumerate(r):
            b.expose(x, f"out{i}_{j}")
    return b.compile()


def test_gadget_matches_native_and_gate_count():
    rng = random.Random(1)
    n, width = 8, 3
    c = _circuit(n, width)
    assert c.n_gates >= benes_switch_count(n) * (4 * width + 1)
    perm = list(range(n))
    rng.shuffle(perm)
    rows = [[rng.randrange(1 << 60) for _ in range(width)] for _ in range(n)]
    bits = benes_bits(perm)
    inputs = {f"row{i}": rows[i] for i in range(n)} | {"bits": bits}
    w = c.check(inputs)
    got = c.public_signals(w)
    want = [x for r in benes_apply(rows, bits) for x in r]
    assert got == want
    assert [got[width * perm[i]] for i in range(n)] == [r[0] for r in rows]


def test_non_boolean_bit_fails():
    n, width = 4, 2
    c = _circuit(n, width)
    bits = benes_bits([1, 0, 3, 2])
    bits[0] = 2
    inputs = {f"row{i}": [i, i] for i in range(n)} | {"bits": bits}
    with pytest.raises(UnsatisfiedGate, match="benes"):
        c.check(inputs)


def test_route_sorted_sorts_and_rejects_unsorted():
    rng = random.Random(2)
    n = 16
    c = _circuit(n, 2, sorted_by=0)
    rows = [[rng.randrange(1 << 16), rng.randrange(1 << 200)] for _ in range(n)]
    got = c.public_signals(c.check({f"row{i}": rows[i] for i in range(n)}))
    pairs = [tuple(got[2 * i : 2 * i + 2]) for i in range(n)]
    assert pairs == sorted(map(tuple, rows), key=lambda r: r[0])
    # a key outside the promised range makes the order check fail (the hint still sorts)
    rows[3][0] = 1 << 17
    with pytest.raises((UnsatisfiedGate, WitnessError)):
        c.check({f"row{i}": rows[i] for i in range(n)})
