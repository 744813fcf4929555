"""Sparse Poseidon Merkle trees in circuit: the twin of ``circuits.gadgets.merkle``.

Nodes are ``poseidon([left, right])`` (circomlib's Poseidon(2), ``poseidon_circuit``); paths
run bottom-up, level 0 the leaf's sibling; path bit i = (index >> i) & 1, 1 when the level-i
node is a right child (parent = H(sibling, node)), exactly as the native tree. The statements:

- ``merkle_root(leaf, siblings, bits)``: the root above ``leaf`` (an LC);
- ``assert_inclusion``: that root equals a given root;
- ``assert_update``: old leaf -> old root and new leaf -> new root along ONE path (the siblings
  and path bits are shared; each level swaps and hashes both nodes).

A level: d = sibling - node, m = bit * d, left = node + m, right = sibling - m (each
materialised: the Poseidon S-box wants one variable), then Poseidon(2) with its output
materialised: 4 + 509 gates (the node is the previous level's output, already a variable; a
leaf given as a wider LC costs its materialisation). ``path_bits`` checks the bits boolean (one
gate each) and returns the index as an LC of them. An update of depth d costs d (2 * 513 + 1)
+ 2 gates: 1,027 a level, within the target 2 Poseidon(2) + 10 = 1,028 (circom with circomlib's
Poseidon(2) and Switcher: 1,201 a level).

Labels: ``merkle`` (``merkle_root``, ``assert_inclusion``) or ``merkle_update``, then
``level<i>`` (``level<i>/old`` and ``level<i>/new`` in an update: the swap under ``swap``, the
hash under ``poseidon2``) and ``level<i>/bit`` (a non-boolean path bit fails there). A flipped
sibling, a wrong leaf or a wrong root fails at the root check: ``merkle/root``, or
``merkle_update/old_root`` / ``merkle_update/new_root``.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, CircuitBuilder, CircuitError, Operand, as_lc
from circuits.gadgets.merkle import MAX_DEPTH
from circuits.gadgets.poseidon_circuit import hash_var

__all__ = [
    "path_bits",
    "hash_level",
    "merkle_root",
    "assert_inclusion",
    "assert_update",
]


def _check_depth(depth: int) -> int:
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise CircuitError(f"tree depth must be an int in 1..{MAX_DEPTH}, got {depth!r}")
    return depth


def path_bits(b: CircuitBuilder, bits: Sequence[Operand]) -> LC:
    """Constrain every path bit boolean (one gate each, labelled ``level<i>/bit``); returns the
    leaf index sum(2^i bits[i]) as an LC (free)."""
    index = LC()
    for i, bit in enumerate(bits):
        with b.scope(f"level{i}/bit"):
            b.assert_bool(bit)
        index = index + as_lc(bit) * (1 << i)
    return index


def hash_level(b: CircuitBuilder, node: Operand, sibling: Operand, bit: Operand) -> LC:
    """The parent of ``node``: H(node, sibling) if bit = 0, H(sibling, node) if bit = 1 (bit
    assumed boolean), as one variable. 4 gates of swap (plus the node's materialisation when it
    is a wider LC) and Poseidon(2) with its output materialised."""
    node = b.materialize(node)
    sibling = as_lc(sibling)
    with b.scope("swap"):
        d = b.materialize(sibling - node)
        m = b.mul(bit, d)
        left = b.materialize(node + m)
        right = b.materialize(sibling - m)
    return hash_var(b, [left, right])


def _path(
    b: CircuitBuilder, leaf: Operand, siblings: Sequence[Operand], bits: Sequence[Operand], tag: str
) -> LC:
    cur: LC = as_lc(leaf)
    for i, (sib, bit) in enumerate(zip(siblings, bits)):
        with b.scope(f"level{i}/{tag}" if tag else f"level{i}"):
            cur = hash_level(b, cur, sib, bit)
    return cur


def _check_path(siblings: Sequence[Operand], bits: Sequence[Operand]) -> None:
    _check_depth(len(siblings))
    if len(bits) != len(siblings):
        raise CircuitError(f"{len(siblings)} siblings but {len(bits)} path bits")


def merkle_root(
    b: CircuitBuilder,
    leaf: Operand,
    siblings: Sequence[Operand],
    bits: Sequence[Operand],
    *,
    check_bits: bool = True,
) -> LC:
    """The root of the tree with ``leaf`` at the path given by ``bits`` (level 0 first) and
    ``siblings``. ``check_bits=False`` when the caller has constrained the bits already."""
    _check_path(siblings, bits)
    with b.scope("merkle"):
        if check_bits:
            path_bits(b, bits)
        return _path(b, leaf, siblings, bits, "")


def assert_inclusion(
    b: CircuitBuilder,
    root: Operand,
    leaf: Operand,
    siblings: Sequence[Operand],
    bits: Sequence[Operand],
    *,
    check_bits: bool = True,
) -> None:
    """``leaf`` sits at the path ``bits`` of the tree whose root is ``root``."""
    computed = merkle_root(b, leaf, siblings, bits, check_bits=check_bits)
    with b.scope("merkle/root"):
        b.assert_equal(computed, root)


def assert_update(
    b: CircuitBuilder,
    old_root: Operand,
    new_root: Operand,
    old_leaf: Operand,
    new_leaf: Operand,
    siblings: Sequence[Operand],
    bits: Sequence[Operand],
    *,
    check_bits: bool = True,
) -> LC:
    """Setting the leaf at path ``bits`` from ``old_leaf`` to ``new_leaf`` takes the tree from
    ``old_root`` to ``new_root``; both paths share ``siblings`` and ``bits``. Returns the leaf
    index as an LC of the bits."""
    _check_path(siblings, bits)
    with b.scope("merkle_update"):
        index = path_bits(b, bits) if check_bits else LC()
        old: LC = as_lc(old_leaf)
        new: LC = as_lc(new_leaf)
        for i, (sib, bit) in enumerate(zip(siblings, bits)):
            with b.scope(f"level{i}/old"):
                old = hash_level(b, old, sib, bit)
            with b.scope(f"level{i}/new"):
                new = hash_level(b, new, sib, bit)
        with b.scope("old_root"):
            b.assert_equal(old, old_root)
        with b.scope("new_root"):
            b.assert_equal(new, new_root)
    if not check_bits:
        index = LC()
        for i, bit in enumerate(bits):
            index = index + as_lc(bit) * (1 << i)
    return index
