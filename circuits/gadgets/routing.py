"""Beneš permutation networks: route rows of field elements by a permutation chosen by the
prover, and sort rows by a key; the building block of offline memory checking (each account or
order loaded and stored once per batch, however many slots touch it).

A Beneš network on n = 2^k inputs (V. E. Beneš, "Mathematical theory of connecting networks",
1965; the looping routing algorithm of D. C. Opferman and N. T. Tsao-Wu, "On a class of
rearrangeable switching networks", Bell System Technical Journal 50(5), 1971) is 2k - 1 columns
of n/2 two-by-two switches that can realise every permutation of its inputs:
``n log2 n - n/2`` switches. Recursively, B(2) is one switch; B(n) is a column of n/2 input
switches (switch j takes inputs 2j, 2j+1 and sends one to input j of the upper B(n/2), the
other to input j of the lower), the two sub-networks, and a column of n/2 output switches
(switch j takes output j of each sub-network to outputs 2j, 2j+1). A switch is *straight* (bit
0: its first input to its first output) or *crossed* (bit 1).

Circuit use (zk memory checking as in e.g. xJsnark / Buffet, Wahby et al., NDSS 2015 and
Setty et al., "Spice"): the prover supplies the switch bits as a hint; the circuit checks them
boolean and applies them, so the outputs are a permutation of the inputs whatever the bits;
``route_sorted`` additionally checks that the outputs are sorted by a key column, which pins
the permutation down up to equal keys. Cost: 4 gates per field per switch (the difference, its
product with the bit, and the two outputs materialised), plus one gate per switch for the bit.

Natives: ``benes_bits(perm)`` computes the bits (the looping algorithm, O(n log n)),
``benes_apply(values, bits)`` applies them; the gadget ``route`` consumes the same flat bit
order (depth-first: input column, upper sub-network, lower sub-network, output column).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets import bits as bits_gadget

__all__ = [
    "RoutingError",
    "benes_apply",
    "benes_bits",
    "benes_switch_count",
    "route",
    "route_sorted",
    "sorting_permutation",
]

T = TypeVar("T")


class RoutingError(ValueError):
    """A size that is not a power of two, or a list that is not a permutation."""


def _check_size(n: int) -> int:
    if not isinstance(n, int) or n < 2 or n & (n - 1):
        raise RoutingError(f"a Beneš network has 2^k >= 2 inputs, got {n!r}")
    return n


def benes_switch_count(n: int) -> int:
    """n log2 n - n / 2 switches for n = 2^k inputs."""
    _check_size(n)
    return n * (n.bit_length() - 1) - n // 2


def _check_perm(perm: Sequence[int]) -> list[int]:
    p = list(perm)
    _check_size(len(p))
    if sorted(p) != list(range(len(p))):
        raise RoutingError("not a permutation of 0..n-1")
    return p


def benes_bits(perm: Sequence[int]) -> list[int]:
    """The switch bits that send input i to output ``perm[i]``, in the gadget's order."""
    out: list[int] = []
    _route_bits(_check_perm(perm), out)
    return out


def _route_bits(p: list[int], out: list[int]) -> None:
    n = len(p)
    if n == 2:
        out.append(1 if p[0] == 1 else 0)
        return
    inv = [0] * n
    for i, o in enumerate(p):
        inv[o] = i
    side = [-1] * n  # 0: the upper sub-network, 1: the lower
    for start in range(0, n, 2):
        if side[start] != -1:
            continue
        i, s = start, 0
        while side[i] == -1:
            side[i] = s
            j = i ^ 1  # the other input of i's input switch goes the other way
            side[j] = 1 - s
            i = inv[p[j] ^ 1]  # the input sharing j's output switch goes the way i went
    half = n // 2
    upper, lower = [0] * half, [0] * half
    for i in range(n):
        (upper if side[i] == 0 else lower)[i // 2] = p[i] // 2
    out.extend(side[2 * j] for j in range(half))  # input switch j crossed: 2j goes lower
    _route_bits(upper, out)
    _route_bits(lower, out)
    out.extend(side[inv[2 * j]] for j in range(half))  # output 2j fed from the lower one


def benes_apply(values: Sequence[T], bits: Sequence[int]) -> list[T]:
    """The network's outputs for ``values`` under ``bits`` (the gadget's native twin)."""
    n = _check_size(len(values))
    if len(bits) != benes_switch_count(n):
        raise RoutingError(f"{benes_switch_count(n)} bits for {n} inputs, got {len(bits)}")
    it = iter(bits)
    return _apply(list(values), it, lambda bit, a, c: (c, a) if bit else (a, c))


def _apply(values: list, it, swap) -> list:
    n = len(values)
    if n == 2:
        return list(swap(next(it), values[0], values[1]))
    half = n // 2
    upper, lower = [], []
    for j in range(half):
        a, c = swap(next(it), values[2 * j], values[2 * j + 1])
        upper.append(a)
        lower.append(c)
    upper = _apply(upper, it, swap)
    lower = _apply(lower, it, swap)
    out = []
    for j in range(half):
        out.extend(swap(next(it), upper[j], lower[j]))
    return out


def sorting_permutation(keys: Sequence[int]) -> list[int]:
    """perm with perm[i] = the rank of keys[i] in a stable ascending sort."""
    order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    perm = [0] * len(keys)
    for rank, i in enumerate(order):
        perm[i] = rank
    return perm


def _swap_rows(b: CircuitBuilder, bit: LC, x: list[LC], y: list[LC]) -> tuple[list, list]:
    xs, ys = [], []
    for u, v in zip(x, y):
        m = b.mul(bit, v - u)  # the difference materialised, then one product
        xs.append(b.materialize(u + m))
        ys.append(b.materialize(v - m))
    return xs, ys


def route(
    b: CircuitBuilder, rows: Sequence[Sequence[Operand]], switch_bits: Sequence[Operand]
) -> list[list[LC]]:
    """Rows permuted by the network with these switch bits (each checked boolean here)."""
    n = _check_size(len(rows))
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise CircuitError("rows of different widths")
    if len(switch_bits) != benes_switch_count(n):
        raise CircuitError(f"{benes_switch_count(n)} switch bits for {n} rows")
    with b.scope("benes"):
        for s in switch_bits:
            b.assert_bool(s)
        it = iter(as_lc(s) for s in switch_bits)
        values = [[as_lc(x) for x in r] for r in rows]
        return _apply(values, it, lambda bit, x, y: _swap_rows(b, bit, x, y))


def route_sorted(
    b: CircuitBuilder, rows: Sequence[Sequence[Operand]], key_column: int, key_bits: int
) -> list[list[LC]]:
    """The rows sorted by ``rows[i][key_column]`` (ascending, stable), proven: the switch bits
    are a hint (``sorting_permutation`` + ``benes_bits`` on the key values) and each key in the
    output is checked to be at most the next one (their difference < 2^key_bits; keys must
    themselves lie in [0, 2^key_bits), which the caller guarantees)."""
    n = _check_size(len(rows))
    keys = [as_lc(r[key_column]) for r in rows]

    def bits_of(*key_values: int) -> list[int]:
        return benes_bits(sorting_permutation(list(key_values)))

    with b.scope("sorted"):
        switch_bits = b.hint_many(bits_of, keys, benes_switch_count(n))
        out = route(b, rows, switch_bits)
        for k in range(n - 1):
            bits_gadget.range_check(b, out[k + 1][key_column] - out[k][key_column], key_bits)
    return out
