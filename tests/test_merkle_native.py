"""Native sparse Poseidon Merkle tree (circuits.gadgets.merkle).

Small trees are checked against a dense tree rebuilt from scratch with ``poseidon``; depth 32
trees against their own proofs; the Numba and pure-Python backends against each other;
tampered proofs must fail.
"""

from __future__ import annotations

import random

import pytest

from circuits.gadgets.merkle import (
    MAX_DEPTH,
    MerkleError,
    MerkleProof,
    SparseMerkleTree,
    UpdateProof,
    compute_root,
    empty_hashes,
    path_bits,
    path_nodes,
    verify_proof,
    verify_update,
)
from circuits.gadgets.poseidon import FIELD_MODULUS, poseidon

R = FIELD_MODULUS
BACKENDS = ["numba", "python"]


def dense_root(leaves: list[int]) -> int:
    level = list(leaves)
    while len(level) > 1:
        level = [poseidon([level[i], level[i + 1]]) for i in range(0, len(level), 2)]
    return level[0]


def test_empty_hashes():
    zeros = empty_hashes(MAX_DEPTH)
    assert len(zeros) == MAX_DEPTH + 1 and zeros[0] == 0
    for h in range(MAX_DEPTH):
        assert zeros[h + 1] == poseidon([zeros[h], zeros[h]])
    assert empty_hashes(3) == zeros[:4]
    assert empty_hashes(2, empty_leaf=7)[1] == poseidon([7, 7])
    assert SparseMerkleTree(20).root == zeros[20]
    assert SparseMerkleTree(3).root == dense_root([0] * 8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_tree_against_dense(backend):
    rng = random.Random(1)
    depth = 4
    tree = SparseMerkleTree(depth, backend=backend)
    leaves = [0] * (1 << depth)
    for step in range(25):
        i = rng.randrange(1 << depth)
        v = rng.choice([0, rng.randrange(R), rng.randrange(100)])
        proof = tree.update(i, v)
        assert proof.old_leaf == leaves[i] and proof.new_leaf == v
        leaves[i] = v
        assert tree.root == dense_root(leaves) == proof.new_root, f"step {step}"
        assert verify_update(proof, backend)
        j = rng.randrange(1 << depth)
        pj = tree.proof(j)
        assert pj.leaf == leaves[j] and verify_proof(tree.root, pj, backend)
    assert len(tree) == sum(1 for v in leaves if v)
    assert list(tree.items()) == [(i, v) for i, v in enumerate(leaves) if v]
    for h in range(depth + 1):
        width = 1 << (depth - h)
        level = leaves
        for _ in range(h):
            level = [poseidon([level[k], level[k + 1]]) for k in range(0, len(level), 2)]
        assert [tree.node(h, k) for k in range(width)] == level


def test_custom_empty_leaf():
    tree = SparseMerkleTree(3, empty_leaf=5)
    assert tree.root == dense_root([5] * 8) and tree.get(6) == 5
    tree.set(6, 9)
    assert tree.root == dense_root([5] * 6 + [9, 5])
    tree.set(6, 5)
    assert tree.root == dense_root([5] * 8) and len(tree) == 0


def test_depth_32_sparse():
    tree = SparseMerkleTree(32)
    rng = random.Random(2)
    indices = [0, 1, (1 << 32) - 1, 1 << 31, 12345678] + [rng.randrange(1 << 32) for _ in range(5)]
    values = {}
    for i in indices:
        values[i] = rng.randrange(1, R)
        tree.set(i, values[i])
    root = tree.root
    assert len(tree) == len(indices) and tree.stored_nodes <= len(indices) * 33
    for i, v in values.items():
        p = tree.proof(i)
        assert p.leaf == v and p.depth == 32 and verify_proof(root, p)
    absent = tree.proof(77)  # a non-membership proof: the empty leaf is included
    assert absent.leaf == 0 and verify_proof(root, absent)
    assert not verify_proof(root, MerkleProof(77, 1, absent.siblings))
    # Emptying every leaf prunes every stored node and restores the empty root.
    for i in indices:
        tree.set(i, 0)
    assert tree.root == empty_hashes(32)[32]
    assert tree.stored_nodes == 0 and len(tree) == 0


def test_backends_agree_on_paths():
    rng = random.Random(3)
    for depth in (1, 2, 7, 32):
        sibs = [rng.randrange(R) for _ in range(depth)]
        leaf = rng.randrange(R)
        index = rng.randrange(1 << depth)
        bits = path_bits(index, depth)
        nodes = path_nodes(leaf, sibs, bits, "python")
        assert path_nodes(leaf, sibs, bits, "numba") == nodes
        assert compute_root(leaf, index, sibs) == nodes[-1]
    assert path_bits(6, 4) == (0, 1, 1, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_many_equals_sequential(backend):
    rng = random.Random(4)
    for depth in (3, 32):
        items = [(rng.randrange(1 << depth), rng.randrange(R)) for _ in range(40)]
        items += [(items[0][0], 0), (items[1][0], 123)]  # repeats: the last value wins
        seq = SparseMerkleTree(depth, backend=backend)
        for i, v in items:
            seq.set(i, v)
        bulk = SparseMerkleTree(depth, backend=backend)
        assert bulk.set_many(items) == seq.root
        assert bulk._levels == seq._levels
        assert bulk.set_many([]) == seq.root


def test_tampered_proofs_fail():
    rng = random.Random(5)
    tree = SparseMerkleTree(8)
    for _ in range(20):
        tree.set(rng.randrange(256), rng.randrange(R))
    root = tree.root
    p = tree.proof(37)
    assert verify_proof(root, p)
    sibs = list(p.siblings)
    sibs[3] = (sibs[3] + 1) % R
    assert not verify_proof(root, MerkleProof(p.index, p.leaf, tuple(sibs))), "flipped sibling"
    assert not verify_proof(root, MerkleProof(p.index ^ 4, p.leaf, p.siblings)), "wrong index"
    assert not verify_proof(root, MerkleProof(p.index, (p.leaf + 1) % R, p.siblings))
    assert not verify_proof((root + 1) % R, p)
    assert not verify_proof(root, MerkleProof(p.index, p.leaf, p.siblings[:-1]))
    assert not verify_proof(root, MerkleProof(1 << 8, p.leaf, p.siblings)), "index too big"
    assert not verify_proof(root, MerkleProof(p.index, R, p.siblings)), "leaf out of range"

    u = tree.update(37, 555)
    assert verify_update(u)
    assert u.old_root == root and u.new_root == tree.root and u.bits == path_bits(37, 8)
    fields = u.__dict__
    for name, bad in (
        ("old_leaf", (u.old_leaf + 1) % R),
        ("new_leaf", 556),
        ("old_root", (u.old_root + 1) % R),
        ("new_root", (u.new_root + 1) % R),
        ("index", 38),
        ("siblings", (u.siblings[0], (u.siblings[1] + 1) % R, *u.siblings[2:])),
    ):
        assert not verify_update(UpdateProof(**{**fields, name: bad})), name


def test_bad_arguments():
    for depth in (0, 33, -1, 2.0, True):
        with pytest.raises(MerkleError):
            SparseMerkleTree(depth)  # type: ignore[arg-type]
    tree = SparseMerkleTree(4)
    for index in (-1, 16, 1.5):
        with pytest.raises(MerkleError):
            tree.set(index, 1)  # type: ignore[arg-type]
        with pytest.raises(MerkleError):
            tree.get(index)  # type: ignore[arg-type]
    for value in (-1, R, "1"):
        with pytest.raises(MerkleError):
            tree.set(3, value)  # type: ignore[arg-type]
        with pytest.raises(MerkleError):
            tree.set_many([(3, value)])  # type: ignore[list-item]
    with pytest.raises(MerkleError):
        SparseMerkleTree(4, backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(MerkleError):
        SparseMerkleTree(4, empty_leaf=R)
    with pytest.raises(MerkleError):
        path_nodes(1, [2, 3], [0])
    with pytest.raises(MerkleError):
        path_nodes(1, [2], [2])
    with pytest.raises(MerkleError):
        tree.node(5, 0)
    with pytest.raises(MerkleError):
        tree.node(4, 1)
    assert tree.root == empty_hashes(4)[4]  # nothing was written by the failed calls
    assert issubclass(MerkleError, ValueError)
