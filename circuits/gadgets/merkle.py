"""Sparse binary Merkle tree with Poseidon(2) nodes, natively: the rollup's state trees.

A tree of depth d (1..32) has 2^d leaves indexed by integers; every leaf starts as
``empty_leaf`` (0 by default). Node hashes: ``parent = poseidon([left, right])`` (circomlibjs's
``poseidon``, ``circuits.gadgets.poseidon``). The hash of an empty subtree of height h is
``empty_hashes(d, empty_leaf)[h]`` (h = 0: the empty leaf), so only nodes above a non-empty
leaf are stored: one dict per level, index -> hash, holding exactly the nodes whose value
differs from the empty-subtree hash of their height. A tree with n leaves set holds at most
n * (d + 1) entries whatever 2^d is.

Paths run bottom-up: level 0 is the leaves, level d the root. For leaf ``index`` the path bit
of level i is ``(index >> i) & 1``: 0 when the node on the path is a left child (parent =
H(node, sibling)), 1 when it is a right child (parent = H(sibling, node)). This is the
convention the in-circuit twin follows.

Proofs: ``MerkleProof`` (inclusion of a leaf value, empty leaves included: a non-membership
proof is an inclusion proof of ``empty_leaf``) and ``UpdateProof`` (old leaf -> old root, new
leaf -> new root, one shared set of siblings), the statement issue C's update gadget proves.

Hashing runs through the Numba kernel ``poseidon_kernels.hash_path_raw`` (``backend="numba"``,
the default: one call hashes a whole path) or pure Python (``backend="python"``, no Numba
start-up); the tests check that both agree.

4-ary trees (layout v2 of the rollup's state, 2026-11-29): ``QuadMerkleTree`` with Poseidon(4)
nodes, ``QuadProof`` (3 siblings per level), ``quad_empty_hashes``, ``quad_digits``,
``quad_compute_root``, ``verify_quad_proof``, and ``quad_flush_many`` (staged writes of many
trees hashed level by level in one ``poseidon_many`` batch per level); see the section below.
A 4-ary level costs P4 (916 gates in-circuit) where two binary levels cost 2 x P2 (1,018), and
the proof is as long; the in-circuit twin is ``merkle_circuit.quad_root``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from circuits.gadgets.poseidon import FIELD_MODULUS, poseidon

__all__ = [
    "MAX_DEPTH",
    "MerkleError",
    "MerkleProof",
    "SparseMerkleTree",
    "UpdateProof",
    "compute_root",
    "empty_hashes",
    "path_bits",
    "path_nodes",
    "verify_proof",
    "verify_update",
]

MAX_DEPTH = 32
Backend = Literal["numba", "python"]


class MerkleError(ValueError):
    """A bad depth, index, leaf value or proof shape."""


def _check_depth(depth: int) -> int:
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise MerkleError(f"tree depth must be an int in 1..{MAX_DEPTH}, got {depth!r}")
    return depth


def _check_value(value: int, what: str = "leaf") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < FIELD_MODULUS:
        raise MerkleError(f"{what} must be a field element, an int in [0, r), got {value!r}")
    return value


def _check_index(index: int, depth: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1 << depth:
        raise MerkleError(f"leaf index must be an int in [0, 2^{depth}), got {index!r}")
    return index


def _check_backend(backend: str) -> None:
    if backend not in ("numba", "python"):
        raise MerkleError(f"backend must be 'numba' or 'python', got {backend!r}")


@lru_cache(maxsize=16)
def _empty_hashes(empty_leaf: int) -> tuple[int, ...]:
    out = [empty_leaf]
    for _ in range(MAX_DEPTH):
        out.append(poseidon([out[-1], out[-1]]))
    return tuple(out)


def empty_hashes(depth: int, empty_leaf: int = 0) -> tuple[int, ...]:
    """Hashes of empty subtrees of height 0..depth (element 0 is ``empty_leaf`` itself)."""
    _check_depth(depth)
    return _empty_hashes(_check_value(empty_leaf, "empty_leaf"))[: depth + 1]


def path_bits(index: int, depth: int) -> tuple[int, ...]:
    """The path bits of leaf ``index``, level 0 first: bit i = 1 when the level-i node is a
    right child."""
    _check_index(index, _check_depth(depth))
    return tuple((index >> i) & 1 for i in range(depth))


def _path_nodes_python(leaf: int, siblings: Sequence[int], bits: Sequence[int]) -> list[int]:
    nodes = [leaf]
    cur = leaf
    for sib, bit in zip(siblings, bits):
        cur = poseidon([sib, cur]) if bit else poseidon([cur, sib])
        nodes.append(cur)
    return nodes


def _path_nodes_numba(leaf: int, siblings: Sequence[int], bits: Sequence[int]) -> list[int]:
    import numpy as np

    from circuits.gadgets import poseidon_kernels as pk
    from prover.field import convert

    kc = pk.kernel_constants(3)
    leaf_raw = convert.ints_to_raw([leaf], FIELD_MODULUS)
    sib_raw = convert.ints_to_raw(list(siblings), FIELD_MODULUS)
    bits_arr = np.fromiter(bits, dtype=np.uint8, count=len(siblings))
    nodes = np.empty((len(siblings) + 1, 4), dtype=np.uint64)
    pk.hash_path_raw(
        leaf_raw, sib_raw, bits_arr, nodes,
        kc.c_m, kc.s_m, kc.mc_m, kc.pc_m, kc.n_rounds_f, kc.n_rounds_p,
    )  # fmt: skip
    return convert.raw_to_ints(nodes)


def path_nodes(
    leaf: int, siblings: Sequence[int], bits: Sequence[int], backend: Backend = "numba"
) -> list[int]:
    """The nodes on a path, leaf first, root last (len(siblings) + 1 values)."""
    _check_backend(backend)
    if len(siblings) != len(bits):
        raise MerkleError(f"{len(siblings)} siblings but {len(bits)} path bits")
    _check_value(leaf)
    for i, s in enumerate(siblings):
        _check_value(s, f"siblings[{i}]")
    for i, b in enumerate(bits):
        if b not in (0, 1):
            raise MerkleError(f"path bit {i} must be 0 or 1, got {b!r}")
    if backend == "python" or not siblings:
        return _path_nodes_python(leaf, siblings, bits)
    return _path_nodes_numba(leaf, siblings, bits)


def compute_root(leaf: int, index: int, siblings: Sequence[int], backend: Backend = "numba") -> int:
    """The root of the tree of depth len(siblings) with ``leaf`` at ``index``."""
    depth = _check_depth(len(siblings))
    return path_nodes(leaf, siblings, path_bits(index, depth), backend)[-1]


@dataclass(frozen=True)
class MerkleProof:
    """Leaf ``leaf`` sits at ``index`` of the tree whose root is ``root``."""

    index: int
    leaf: int
    siblings: tuple[int, ...]  # level 0 (the leaf's sibling) first

    @property
    def depth(self) -> int:
        return len(self.siblings)

    @property
    def bits(self) -> tuple[int, ...]:
        return path_bits(self.index, self.depth)

    def root(self, backend: Backend = "numba") -> int:
        return compute_root(self.leaf, self.index, self.siblings, backend)


@dataclass(frozen=True)
class UpdateProof:
    """Setting leaf ``index`` from ``old_leaf`` to ``new_leaf`` takes the root from
    ``old_root`` to ``new_root``; both paths share ``siblings``."""

    index: int
    old_leaf: int
    new_leaf: int
    siblings: tuple[int, ...]
    old_root: int
    new_root: int

    @property
    def depth(self) -> int:
        return len(self.siblings)

    @property
    def bits(self) -> tuple[int, ...]:
        return path_bits(self.index, self.depth)


def verify_proof(root: int, proof: MerkleProof, backend: Backend = "numba") -> bool:
    """True iff ``proof`` is well formed and leads to ``root``."""
    try:
        return proof.root(backend) == root
    except MerkleError:
        return False


def verify_update(proof: UpdateProof, backend: Backend = "numba") -> bool:
    """True iff the old leaf leads to the old root and the new leaf to the new root."""
    try:
        old = compute_root(proof.old_leaf, proof.index, proof.siblings, backend)
        new = compute_root(proof.new_leaf, proof.index, proof.siblings, backend)
    except MerkleError:
        return False
    return old == proof.old_root and new == proof.new_root


class SparseMerkleTree:
    """A sparse Poseidon Merkle tree of depth 1..32 (see the module docstring)."""

    def __init__(self, depth: int, *, empty_leaf: int = 0, backend: Backend = "numba") -> None:
        self.depth = _check_depth(depth)
        _check_backend(backend)
        self.backend: Backend = backend
        self.empty_leaf = _check_value(empty_leaf, "empty_leaf")
        self.zeros = empty_hashes(depth, empty_leaf)
        # _levels[h]: index -> hash for the non-empty nodes of height h (0: leaves, depth: root).
        self._levels: list[dict[int, int]] = [{} for _ in range(depth + 1)]

    # --- reading ---------------------------------------------------------------------------

    @property
    def root(self) -> int:
        return self._levels[self.depth].get(0, self.zeros[self.depth])

    def get(self, index: int) -> int:
        """The leaf at ``index`` (``empty_leaf`` if never set)."""
        _check_index(index, self.depth)
        return self._levels[0].get(index, self.empty_leaf)

    def node(self, height: int, index: int) -> int:
        """The node at ``height`` (0 = leaves) and position ``index`` within its level."""
        if not isinstance(height, int) or not 0 <= height <= self.depth:
            raise MerkleError(f"height must be in 0..{self.depth}, got {height!r}")
        width = 1 << (self.depth - height)
        if not isinstance(index, int) or not 0 <= index < width:
            raise MerkleError(f"level {height} has {width} nodes, got index {index!r}")
        return self._levels[height].get(index, self.zeros[height])

    def __len__(self) -> int:
        """The number of leaves that differ from ``empty_leaf``."""
        return len(self._levels[0])

    @property
    def stored_nodes(self) -> int:
        """How many nodes are held (all levels): at most len(self) * (depth + 1)."""
        return sum(len(level) for level in self._levels)

    def items(self) -> Iterator[tuple[int, int]]:
        """(index, leaf) for the non-empty leaves, by index."""
        leaves = self._levels[0]
        return ((i, leaves[i]) for i in sorted(leaves))

    def siblings(self, index: int) -> tuple[int, ...]:
        _check_index(index, self.depth)
        out = []
        for h in range(self.depth):
            out.append(self._levels[h].get((index >> h) ^ 1, self.zeros[h]))
        return tuple(out)

    def proof(self, index: int) -> MerkleProof:
        """An inclusion proof of the current leaf at ``index`` (empty leaves included)."""
        return MerkleProof(index=index, leaf=self.get(index), siblings=self.siblings(index))

    # --- writing ---------------------------------------------------------------------------

    def _store_path(self, index: int, nodes: Sequence[int]) -> None:
        for h, value in enumerate(nodes):
            level = self._levels[h]
            pos = index >> h
            if value == self.zeros[h]:
                level.pop(pos, None)
            else:
                level[pos] = value

    def update(self, index: int, value: int) -> UpdateProof:
        """Set leaf ``index`` to ``value`` and return the proof of the change."""
        old = self.get(index)
        _check_value(value)
        sibs = self.siblings(index)
        old_root = self.root
        nodes = path_nodes(value, sibs, path_bits(index, self.depth), self.backend)
        self._store_path(index, nodes)
        return UpdateProof(index, old, value, sibs, old_root, nodes[-1])

    def set(self, index: int, value: int) -> int:
        """Set leaf ``index`` to ``value``; returns the new root."""
        return self.update(index, value).new_root

    def set_many(self, items: Iterable[tuple[int, int]]) -> int:
        """Set many leaves at once (the last value wins for a repeated index), hashing level by
        level in batches (``poseidon_many``, Numba threads for big batches); returns the root.
        """
        from circuits.gadgets.poseidon import poseidon_many

        changes: dict[int, int] = {}
        for index, value in items:
            changes[_check_index(index, self.depth)] = _check_value(value)
        if not changes:
            return self.root
        dirty = changes
        for h in range(self.depth + 1):
            level = self._levels[h]
            zero = self.zeros[h]
            for pos, value in dirty.items():
                if value == zero:
                    level.pop(pos, None)
                else:
                    level[pos] = value
            if h == self.depth:
                break
            parents = sorted({pos >> 1 for pos in dirty})
            rows = [[level.get(2 * q, zero), level.get(2 * q + 1, zero)] for q in parents]
            if self.backend == "python":
                hashes = [poseidon(row) for row in rows]
            else:
                hashes = poseidon_many(rows)
            dirty = dict(zip(parents, hashes))
        return self.root


# =============================================================================================
# 4-ary sparse Merkle trees with Poseidon(4) nodes: layout v2 of the rollup's state trees
# =============================================================================================
#
# Spec: /tmp/prompts/layout_v2.md section 1 (kept in the rollup.state docstring).
#   node = P4(c0, c1, c2, c3), children in index order; level 0 = leaves; a tree of depth d
#   (4-ary levels) has 4^d leaves. For leaf i the path node's position among its 4 siblings at
#   level k is the base-4 digit (i >> 2k) & 3; the proof's siblings at level k are the 3 OTHER
#   children of that level's parent, in increasing child position. Empty leaf 0,
#   E_0 = 0, E_h = P4(E_{h-1} x 4).
# Storage is sparse like the binary tree's: one dict per level holding the nodes that differ from
# the empty subtree of their height. Writes are either immediate (``update``/``set``, one path
# hashed by a Numba kernel) or staged (``stage`` then ``flush``/``quad_flush_many``: every
# changed node of one or many trees hashed once, level by level, in ``poseidon_many`` batches).

QUAD_MAX_DEPTH = 16  # 4^16 = 2^32 leaves

__all__ += [
    "QUAD_MAX_DEPTH",
    "QuadMerkleTree",
    "QuadProof",
    "QuadUpdateProof",
    "quad_compute_root",
    "quad_digits",
    "quad_empty_hashes",
    "quad_flush_many",
    "quad_path_nodes",
    "verify_quad_proof",
    "verify_quad_update",
]


def _check_quad_depth(depth: int) -> int:
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= QUAD_MAX_DEPTH:
        raise MerkleError(f"4-ary tree depth must be an int in 1..{QUAD_MAX_DEPTH}, got {depth!r}")
    return depth


def _check_quad_index(index: int, depth: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1 << (2 * depth):
        raise MerkleError(f"leaf index must be an int in [0, 4^{depth}), got {index!r}")
    return index


@lru_cache(maxsize=1)
def _quad_empty_all() -> tuple[int, ...]:
    out = [0]
    for _ in range(QUAD_MAX_DEPTH):
        out.append(poseidon([out[-1]] * 4))
    return tuple(out)


def quad_empty_hashes(depth: int) -> tuple[int, ...]:
    """E_0 .. E_depth: the hashes of empty 4-ary subtrees of height 0..depth (E_0 = 0)."""
    return _quad_empty_all()[: _check_quad_depth(depth) + 1]


def quad_digits(index: int, depth: int) -> tuple[int, ...]:
    """The base-4 digits of leaf ``index``, level 0 first: digit k = (index >> 2k) & 3, the
    position of the level-k path node among its parent's 4 children."""
    _check_quad_index(index, _check_quad_depth(depth))
    return tuple((index >> (2 * k)) & 3 for k in range(depth))


def _quad_children(cur: int, sibs: Sequence[int], digit: int) -> list[int]:
    row = list(sibs)
    row.insert(digit, cur)
    return row


def _quad_path_python(leaf: int, siblings: Sequence[Sequence[int]], digits: Sequence[int]):
    nodes = [leaf]
    for sibs, d in zip(siblings, digits):
        nodes.append(poseidon(_quad_children(nodes[-1], sibs, d)))
    return nodes


def _quad_path_numba(leaf: int, siblings: Sequence[Sequence[int]], digits: Sequence[int]):
    """One Poseidon(4) kernel call (``poseidon_kernels.hash_many_raw``) per level."""
    import numpy as np

    from circuits.gadgets import poseidon_kernels as pk
    from prover.field import convert

    kc = pk.kernel_constants(5)
    consts = (kc.c_m, kc.s_m, kc.mc_m, kc.pc_m, kc.n_rounds_f, kc.n_rounds_p)
    d = len(siblings)
    flat = [v for sibs in siblings for v in sibs]
    sib_raw = convert.ints_to_raw(flat, FIELD_MODULUS).reshape(d, 3, 4)
    row = np.empty((1, 4, 4), dtype=np.uint64)
    nodes = np.empty((d + 1, 4), dtype=np.uint64)
    nodes[0] = convert.ints_to_raw([leaf], FIELD_MODULUS)[0]
    for k, digit in enumerate(digits):
        j = 0
        for pos in range(4):
            if pos == digit:
                row[0, pos] = nodes[k]
            else:
                row[0, pos] = sib_raw[k, j]
                j += 1
        pk.hash_many_raw(row, nodes[k + 1 : k + 2], *consts)
    return convert.raw_to_ints(nodes)


def _check_quad_siblings(siblings: object) -> tuple[tuple[int, int, int], ...]:
    if not isinstance(siblings, (tuple, list)):
        raise MerkleError("siblings must be a sequence of (s0, s1, s2) triples")
    out = []
    for k, sibs in enumerate(siblings):
        if not isinstance(sibs, (tuple, list)) or len(sibs) != 3:
            raise MerkleError(f"siblings[{k}] must be 3 field elements, got {sibs!r}")
        for j, s in enumerate(sibs):
            _check_value(s, f"siblings[{k}][{j}]")
        out.append(tuple(sibs))
    return tuple(out)  # type: ignore[return-value]


def quad_path_nodes(
    leaf: int, index: int, siblings: Sequence[Sequence[int]], backend: Backend = "numba"
) -> list[int]:
    """The nodes on the path of leaf ``index`` (depth = len(siblings)), leaf first, root
    last."""
    _check_backend(backend)
    sibs = _check_quad_siblings(siblings)
    depth = _check_quad_depth(len(sibs))
    digits = quad_digits(index, depth)
    _check_value(leaf)
    if backend == "python":
        return _quad_path_python(leaf, sibs, digits)
    return _quad_path_numba(leaf, sibs, digits)


def quad_compute_root(
    leaf: int, index: int, siblings: Sequence[Sequence[int]], backend: Backend = "numba"
) -> int:
    """The root of the 4-ary tree of depth len(siblings) with ``leaf`` at ``index``."""
    return quad_path_nodes(leaf, index, siblings, backend)[-1]


@dataclass(frozen=True)
class QuadProof:
    """Leaf ``leaf`` sits at ``index`` of a 4-ary tree; ``siblings[k]`` are the 3 other
    children of the level-k parent, in increasing child position (level 0 first)."""

    index: int
    leaf: int
    siblings: tuple[tuple[int, int, int], ...]

    @property
    def depth(self) -> int:
        return len(self.siblings)

    @property
    def digits(self) -> tuple[int, ...]:
        return quad_digits(self.index, self.depth)

    def root(self, backend: Backend = "numba") -> int:
        return quad_compute_root(self.leaf, self.index, self.siblings, backend)


@dataclass(frozen=True)
class QuadUpdateProof:
    """Setting leaf ``index`` from ``old_leaf`` to ``new_leaf`` takes the root from
    ``old_root`` to ``new_root``; both paths share ``siblings``."""

    index: int
    old_leaf: int
    new_leaf: int
    siblings: tuple[tuple[int, int, int], ...]
    old_root: int
    new_root: int

    @property
    def depth(self) -> int:
        return len(self.siblings)

    @property
    def digits(self) -> tuple[int, ...]:
        return quad_digits(self.index, self.depth)


def verify_quad_proof(root: int, proof: QuadProof, backend: Backend = "numba") -> bool:
    """True iff ``proof`` is well formed and leads to ``root``."""
    try:
        return proof.root(backend) == root
    except MerkleError:
        return False


def verify_quad_update(proof: QuadUpdateProof, backend: Backend = "numba") -> bool:
    """True iff the old leaf leads to the old root and the new leaf to the new root."""
    try:
        old = quad_compute_root(proof.old_leaf, proof.index, proof.siblings, backend)
        new = quad_compute_root(proof.new_leaf, proof.index, proof.siblings, backend)
    except MerkleError:
        return False
    return old == proof.old_root and new == proof.new_root


class QuadMerkleTree:
    """A sparse 4-ary Poseidon(4) Merkle tree of depth 1..16 (4-ary levels; see above).

    ``stage(index, value)`` records a write without hashing; reading the root, a node, a
    proof or calling ``flush`` hashes every staged change once (``quad_flush_many`` flushes
    many trees together, the state's per-batch commitment)."""

    def __init__(self, depth: int, *, backend: Backend = "numba") -> None:
        self.depth = _check_quad_depth(depth)
        _check_backend(backend)
        self.backend: Backend = backend
        self.zeros = quad_empty_hashes(depth)
        # _levels[h]: position -> hash for the non-empty nodes of height h (0: leaves).
        self._levels: list[dict[int, int]] = [{} for _ in range(depth + 1)]
        self._staged: dict[int, int] = {}

    # --- reading ---------------------------------------------------------------------------

    @property
    def root(self) -> int:
        self.flush()
        return self._levels[self.depth].get(0, self.zeros[self.depth])

    def get(self, index: int) -> int:
        """The leaf at ``index`` (0 if never set); staged writes included."""
        _check_quad_index(index, self.depth)
        v = self._staged.get(index)
        return self._levels[0].get(index, 0) if v is None else v

    def node(self, height: int, index: int) -> int:
        """The node at ``height`` (0 = leaves) and position ``index`` within its level."""
        if not isinstance(height, int) or not 0 <= height <= self.depth:
            raise MerkleError(f"height must be in 0..{self.depth}, got {height!r}")
        width = 1 << (2 * (self.depth - height))
        if not isinstance(index, int) or not 0 <= index < width:
            raise MerkleError(f"level {height} has {width} nodes, got index {index!r}")
        self.flush()
        return self._levels[height].get(index, self.zeros[height])

    def __len__(self) -> int:
        """The number of non-zero leaves."""
        self.flush()
        return len(self._levels[0])

    @property
    def stored_nodes(self) -> int:
        self.flush()
        return sum(len(level) for level in self._levels)

    def items(self) -> Iterator[tuple[int, int]]:
        """(index, leaf) for the non-zero leaves, by index."""
        self.flush()
        leaves = self._levels[0]
        return ((i, leaves[i]) for i in sorted(leaves))

    def siblings(self, index: int) -> tuple[tuple[int, int, int], ...]:
        _check_quad_index(index, self.depth)
        self.flush()
        out = []
        for h in range(self.depth):
            pos = index >> (2 * h)
            base, level, z = pos & ~3, self._levels[h], self.zeros[h]
            out.append(tuple(level.get(base + c, z) for c in range(4) if base + c != pos))
        return tuple(out)  # type: ignore[return-value]

    def proof(self, index: int) -> QuadProof:
        """An inclusion proof of the current leaf at ``index`` (empty leaves included)."""
        sibs = self.siblings(index)
        return QuadProof(index=index, leaf=self._levels[0].get(index, 0), siblings=sibs)

    def copy(self) -> QuadMerkleTree:
        new = QuadMerkleTree.__new__(QuadMerkleTree)
        new.depth, new.backend, new.zeros = self.depth, self.backend, self.zeros
        new._levels = [dict(level) for level in self._levels]
        new._staged = dict(self._staged)
        return new

    # --- writing ---------------------------------------------------------------------------

    def update(self, index: int, value: int) -> QuadUpdateProof:
        """Set leaf ``index`` to ``value`` now and return the proof of the change."""
        _check_value(value)
        old = self.get(index)
        sibs = self.siblings(index)  # flushes staged writes
        old_root = self._levels[self.depth].get(0, self.zeros[self.depth])
        nodes = quad_path_nodes(value, index, sibs, self.backend)
        for h, v in enumerate(nodes):
            level, pos = self._levels[h], index >> (2 * h)
            if v == self.zeros[h]:
                level.pop(pos, None)
            else:
                level[pos] = v
        return QuadUpdateProof(index, old, value, sibs, old_root, nodes[-1])

    def set(self, index: int, value: int) -> int:
        """Set leaf ``index`` to ``value``; returns the new root."""
        return self.update(index, value).new_root

    def stage(self, index: int, value: int) -> None:
        """Record a write of leaf ``index``, hashed by the next flush."""
        self._staged[_check_quad_index(index, self.depth)] = _check_value(value)

    def set_many(self, items: Iterable[tuple[int, int]]) -> int:
        """Set many leaves (the last value wins for a repeated index), hashing each changed
        node once, level by level in batches; returns the root."""
        changes = {
            _check_quad_index(index, self.depth): _check_value(value) for index, value in items
        }
        self._staged.update(changes)
        return self.root

    def flush(self) -> None:
        """Hash the staged writes (no-op when there are none)."""
        if self._staged:
            quad_flush_many([self], self.backend)


def quad_flush_many(trees: Iterable[QuadMerkleTree], backend: Backend = "numba") -> None:
    """Flush the staged writes of many 4-ary trees together: one ``poseidon_many`` batch per
    level across all trees (trees of different depths allowed), each changed node hashed
    once."""
    _check_backend(backend)
    dirty: list[tuple[QuadMerkleTree, dict[int, int]]] = []
    for t in trees:
        if t._staged:
            dirty.append((t, t._staged))
            t._staged = {}
    h = 0
    while dirty:
        rows: list[list[int]] = []
        keys: list[tuple[QuadMerkleTree, int]] = []
        nxt: list[tuple[QuadMerkleTree, dict[int, int]]] = []
        for t, changes in dirty:
            level, z = t._levels[h], t.zeros[h]
            for pos, value in changes.items():
                if value == z:
                    level.pop(pos, None)
                else:
                    level[pos] = value
            if h == t.depth:
                continue
            for q in sorted({pos >> 2 for pos in changes}):
                b = 4 * q
                rows.append([level.get(b, z), level.get(b + 1, z), level.get(b + 2, z),
                             level.get(b + 3, z)])  # fmt: skip
                keys.append((t, q))
        if not rows:
            break
        if backend == "python":
            hashes = [poseidon(r) for r in rows]
        else:
            from circuits.gadgets.poseidon import poseidon_many

            hashes = poseidon_many(rows)
        by_tree: dict[int, tuple[QuadMerkleTree, dict[int, int]]] = {}
        for (t, q), v in zip(keys, hashes):
            entry = by_tree.get(id(t))
            if entry is None:
                entry = by_tree[id(t)] = (t, {})
                nxt.append(entry)
            entry[1][q] = v
        dirty = nxt
        h += 1
