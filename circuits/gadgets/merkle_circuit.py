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

4-ary trees (layout v2, the twin of ``merkle.QuadMerkleTree``): node = P4(c0, c1, c2, c3); the
index's bits, two per level (bits 2k and 2k + 1 make the level-k digit (i >> 2k) & 3), place
the path node among the level's 3 siblings (given in increasing child position). ``quad_root``,
``assert_quad_inclusion``, ``assert_quad_update`` (and ``quad_update_roots``: both roots of one
path, the digit products shared). A level: 937 gates on one path (Poseidon(4) 916, mux 19, bits
2), 1,871 in an update; labels ``quad`` / ``quad_update`` then ``level<k>`` (``/old``, ``/new``,
``/mux``, ``/bit``); a wrong leaf, sibling or digit fails at ``quad/root`` or
``quad_update/old_root`` / ``quad_update/new_root``.

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
    "QUAD_MAX_DEPTH",
    "quad_digit_bits",
    "quad_root",
    "assert_quad_inclusion",
    "quad_update_roots",
    "assert_quad_update",
    "from_bits_lc",
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


# --- 4-ary trees (layout v2, /tmp spec section 1; the twin of merkle.QuadMerkleTree) -----------

QUAD_MAX_DEPTH = 16


def _check_quad(siblings: Sequence[Sequence[Operand]], digit_bits: Sequence[Operand]) -> int:
    depth = len(siblings)
    if not 1 <= depth <= QUAD_MAX_DEPTH:
        raise CircuitError(f"4-ary tree depth must be in 1..{QUAD_MAX_DEPTH}, got {depth}")
    if len(digit_bits) != 2 * depth:
        raise CircuitError(f"{depth} levels need {2 * depth} digit bits, got {len(digit_bits)}")
    for k, trio in enumerate(siblings):
        if len(trio) != 3:
            raise CircuitError(f"level {k} needs 3 siblings, got {len(trio)}")
    return depth


def quad_digit_bits(b: CircuitBuilder, digit_bits: Sequence[Operand]) -> LC:
    """Constrain the 2 d digit bits boolean (one gate each, ``level<k>/bit``); returns the leaf
    index sum 2^j bits[j] (free). Bits 2k and 2k + 1 are the low and high bits of the level-k
    digit (i >> 2k) & 3, so the bits are the index's binary digits."""
    index = LC()
    for j, bit in enumerate(digit_bits):
        with b.scope(f"level{j // 2}/bit"):
            b.assert_bool(bit)
        index = index + as_lc(bit) * (1 << j)
    return index


def _quad_children(
    b: CircuitBuilder, x: LC, sibs: Sequence[Operand], lo: Operand, hi: Operand, ab: Operand
) -> list[LC]:
    """The 4 children of a level: ``x`` at position p = lo + 2 hi, the siblings s0 < s1 < s2 in
    the other positions. Each child is the multilinear interpolation in (lo, hi) of its four
    values, factored so that every product is a bit times one variable:

        c0 = x + P + Q            P = lo (s0 - x), Q = hi (s0 - x - P)
        c1 = s0 - P + W           W = hi (s1 - s0 + P)
        c2 = s1 + T - S           T = hi (x - s1)
        c3 = s2 + S               S = ab (x - s2), ab = lo hi

    11 gates (the differences materialised, one product each; ``ab`` is the caller's, one gate
    a level shared by the two paths of an update) and 7 more where Poseidon materialises the
    children (3 + 3 + 3 + 2 variables).

    Gates per level (measured in tests/test_gadget_merkle.py): one path 916 (Poseidon(4), output
    a variable) + 19 (mux) + 2 (digit bits) = 937, i.e. 468.5 per binary level of the same
    fan-out against 513 + 1 of the binary tree; an update 2 + 1 + 2 (916 + 18) = 1,871 (binary:
    2 levels = 2,054)."""
    s0, s1, s2 = (as_lc(s) for s in sibs)
    d0 = b.materialize(s0 - x)
    p = b.mul(lo, d0)
    q = b.mul(hi, d0 - p)
    w = b.mul(hi, s1 - s0 + p)
    t = b.mul(hi, x - s1)
    s = b.mul(ab, x - s2)
    return [x + p + q, s0 - p + w, s1 + t - s, s2 + s]


def _quad_level(
    b: CircuitBuilder, node: Operand, sibs: Sequence[Operand], lo: Operand, hi: Operand, ab
) -> LC:
    x = as_lc(b.materialize(node))
    with b.scope("mux"):
        children = _quad_children(b, x, sibs, lo, hi, ab)
    return hash_var(b, children)


def _quad_products(b: CircuitBuilder, digit_bits: Sequence[Operand], depth: int) -> list:
    out = []
    for k in range(depth):
        lo, hi = digit_bits[2 * k], digit_bits[2 * k + 1]
        with b.scope(f"level{k}/mux"):
            out.append((lo, hi, b.mul(lo, hi)))
    return out


def quad_root(
    b: CircuitBuilder,
    leaf: Operand,
    digit_bits: Sequence[Operand],
    siblings: Sequence[Sequence[Operand]],
    *,
    check_bits: bool = True,
) -> LC:
    """The root of the 4-ary tree (nodes P4(c0, c1, c2, c3)) with ``leaf`` at the index whose
    binary digits are ``digit_bits`` (2 per level, level 0 first) and ``siblings[k]`` the 3
    other children of level k in increasing position order. ``check_bits=False`` when the
    caller has constrained the bits already. Per level: 1 (lo hi) + 19 (mux) + Poseidon(4)
    with its output a variable (see ``QUAD_LEVEL_GATES``), plus 2 for the bits."""
    depth = _check_quad(siblings, digit_bits)
    with b.scope("quad"):
        if check_bits:
            quad_digit_bits(b, digit_bits)
        prods = _quad_products(b, digit_bits, depth)
        cur: LC = as_lc(leaf)
        for k, (trio, (lo, hi, ab)) in enumerate(zip(siblings, prods)):
            with b.scope(f"level{k}"):
                cur = _quad_level(b, cur, trio, lo, hi, ab)
        return cur


def assert_quad_inclusion(
    b: CircuitBuilder,
    root: Operand,
    leaf: Operand,
    digit_bits: Sequence[Operand],
    siblings: Sequence[Sequence[Operand]],
    *,
    check_bits: bool = True,
) -> LC:
    """``leaf`` sits at the index of ``digit_bits`` in the 4-ary tree of ``root``; returns the
    index (an LC of the bits). A wrong leaf, sibling or digit fails at ``quad/root``."""
    computed = quad_root(b, leaf, digit_bits, siblings, check_bits=check_bits)
    with b.scope("quad/root"):
        b.assert_equal(computed, root)
    return from_bits_lc(digit_bits)


def quad_update_roots(
    b: CircuitBuilder,
    old_leaf: Operand,
    new_leaf: Operand,
    digit_bits: Sequence[Operand],
    siblings: Sequence[Sequence[Operand]],
    *,
    check_bits: bool = True,
) -> tuple[LC, LC]:
    """(old root, new root) of one 4-ary path with two leaves: the digit products are shared."""
    depth = _check_quad(siblings, digit_bits)
    with b.scope("quad_update"):
        if check_bits:
            quad_digit_bits(b, digit_bits)
        prods = _quad_products(b, digit_bits, depth)
        old: LC = as_lc(old_leaf)
        new: LC = as_lc(new_leaf)
        for k, (trio, (lo, hi, ab)) in enumerate(zip(siblings, prods)):
            with b.scope(f"level{k}/old"):
                old = _quad_level(b, old, trio, lo, hi, ab)
            with b.scope(f"level{k}/new"):
                new = _quad_level(b, new, trio, lo, hi, ab)
    return old, new


def assert_quad_update(
    b: CircuitBuilder,
    old_root: Operand,
    new_root: Operand,
    old_leaf: Operand,
    new_leaf: Operand,
    digit_bits: Sequence[Operand],
    siblings: Sequence[Sequence[Operand]],
    *,
    check_bits: bool = True,
) -> LC:
    """Setting the leaf at ``digit_bits`` from ``old_leaf`` to ``new_leaf`` takes the 4-ary tree
    from ``old_root`` to ``new_root`` (one shared set of siblings and digits). Returns the leaf
    index. Fails at ``quad_update/old_root`` or ``quad_update/new_root``."""
    old, new = quad_update_roots(b, old_leaf, new_leaf, digit_bits, siblings, check_bits=check_bits)
    with b.scope("quad_update/old_root"):
        b.assert_equal(old, old_root)
    with b.scope("quad_update/new_root"):
        b.assert_equal(new, new_root)
    return from_bits_lc(digit_bits)


def from_bits_lc(bits: Sequence[Operand]) -> LC:
    """sum 2^j bits[j] (free)."""
    index = LC()
    for j, bit in enumerate(bits):
        index = index + as_lc(bit) * (1 << j)
    return index
