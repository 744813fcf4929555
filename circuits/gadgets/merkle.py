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
