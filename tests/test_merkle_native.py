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


# --- 4-ary trees (layout v2, /tmp/prompts/layout_v2.md section 1) -----------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from circuits.gadgets.merkle import (  # noqa: E402
    QUAD_MAX_DEPTH,
    QuadMerkleTree,
    QuadProof,
    QuadUpdateProof,
    quad_compute_root,
    quad_digits,
    quad_empty_hashes,
    quad_flush_many,
    quad_path_nodes,
    verify_quad_proof,
    verify_quad_update,
)


def dense_quad_levels(leaves: list[int]) -> list[list[int]]:
    """Every level of the dense 4-ary tree over ``leaves`` (plain Python, ``poseidon``)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        levels.append([poseidon(cur[i : i + 4]) for i in range(0, len(cur), 4)])
    return levels


def ref_quad_proof(leaves: list[int], index: int) -> tuple[tuple[int, int, int], ...]:
    """The spec's siblings from the dense tree: the 3 other children at each level."""
    out = []
    for k, level in enumerate(dense_quad_levels(leaves)[:-1]):
        pos = index >> (2 * k)
        base = pos & ~3
        out.append(tuple(level[base + c] for c in range(4) if base + c != pos))
    return tuple(out)


def test_quad_empty_hashes_and_digits():
    zeros = quad_empty_hashes(QUAD_MAX_DEPTH)
    assert zeros[0] == 0 and len(zeros) == QUAD_MAX_DEPTH + 1
    for h in range(QUAD_MAX_DEPTH):
        assert zeros[h + 1] == poseidon([zeros[h]] * 4)
    assert quad_empty_hashes(2) == zeros[:3]
    assert QuadMerkleTree(3).root == dense_quad_levels([0] * 64)[-1][0] == zeros[3]
    assert quad_digits(0b11_10_01, 3) == (1, 2, 3)
    assert quad_digits(27, 4) == (3, 2, 1, 0)
    with pytest.raises(MerkleError):
        quad_digits(64, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_quad_small_tree_against_dense(backend):
    rng = random.Random(11)
    depth = 2
    tree = QuadMerkleTree(depth, backend=backend)
    leaves = [0] * 16
    for step in range(20):
        i = rng.randrange(16)
        v = rng.choice([0, rng.randrange(R), rng.randrange(100)])
        u = tree.update(i, v)
        assert u.old_leaf == leaves[i] and u.new_leaf == v
        leaves[i] = v
        levels = dense_quad_levels(leaves)
        assert tree.root == levels[-1][0] == u.new_root, f"step {step}"
        assert u.digits == quad_digits(i, depth) and verify_quad_update(u, backend)
        j = rng.randrange(16)
        p = tree.proof(j)
        assert p.leaf == leaves[j] and p.siblings == ref_quad_proof(leaves, j)
        assert verify_quad_proof(tree.root, p, backend)
    levels = dense_quad_levels(leaves)
    for h in range(depth + 1):
        assert [tree.node(h, k) for k in range(4 ** (depth - h))] == levels[h]
    assert list(tree.items()) == [(i, v) for i, v in enumerate(leaves) if v]
    assert len(tree) == sum(1 for v in leaves if v)


def test_quad_backends_agree_on_paths():
    rng = random.Random(12)
    for depth in (1, 3, 8, QUAD_MAX_DEPTH):
        sibs = tuple(tuple(rng.randrange(R) for _ in range(3)) for _ in range(depth))
        leaf, index = rng.randrange(R), rng.randrange(4**depth)
        nodes = quad_path_nodes(leaf, index, sibs, "python")
        assert quad_path_nodes(leaf, index, sibs, "numba") == nodes
        # the spec's rule, by hand: insert the path node at its digit among the siblings
        cur = leaf
        for k, d in enumerate(quad_digits(index, depth)):
            row = list(sibs[k])
            row.insert(d, cur)
            cur = poseidon(row)
            assert nodes[k + 1] == cur
        assert quad_compute_root(leaf, index, sibs) == cur


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 63), st.one_of(st.just(0), st.integers(0, R - 1))),
        max_size=12,
    )
)
def test_quad_property_bulk_sequential_dense(writes):
    """Property: staged bulk writes, one-by-one updates and the dense tree agree."""
    leaves = [0] * 64
    seq = QuadMerkleTree(3, backend="python")
    for i, v in writes:
        seq.set(i, v)
        leaves[i] = v
    bulk = QuadMerkleTree(3, backend="python")
    assert bulk.set_many(writes) == seq.root == dense_quad_levels(leaves)[-1][0]
    assert bulk._levels == seq._levels
    assert seq.stored_nodes <= len(seq) * 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_quad_flush_many_and_sparse_depth_16(backend):
    rng = random.Random(13)
    big = QuadMerkleTree(QUAD_MAX_DEPTH, backend=backend)
    small = QuadMerkleTree(2, backend=backend)
    ref_big = QuadMerkleTree(QUAD_MAX_DEPTH, backend="python")
    ref_small = QuadMerkleTree(2, backend="python")
    for _ in range(15):
        i, v = rng.randrange(1 << 32), rng.randrange(1, R)
        big.stage(i, v)
        ref_big.set(i, v)
        j, w = rng.randrange(16), rng.randrange(R)
        small.stage(j, w)
        ref_small.set(j, w)
    assert big.get(i) == v  # staged writes are visible before the flush
    quad_flush_many([big, small], backend)
    assert big._staged == {} and small._staged == {}
    assert big.root == ref_big.root and small.root == ref_small.root
    assert big._levels == ref_big._levels
    p = big.proof(i)
    assert p.depth == QUAD_MAX_DEPTH and verify_quad_proof(big.root, p)
    absent = big.proof(5)
    assert absent.leaf == 0 and verify_quad_proof(big.root, absent)
    # emptying every leaf prunes every node
    big.set_many([(k, 0) for k, _ in list(big.items())])
    assert big.root == quad_empty_hashes(QUAD_MAX_DEPTH)[-1] and big.stored_nodes == 0
    c = small.copy()
    c.set(0, 1)
    assert small.root == ref_small.root != c.root


def test_quad_tampered_proofs_fail():
    rng = random.Random(14)
    tree = QuadMerkleTree(4)
    for _ in range(30):
        tree.stage(rng.randrange(256), rng.randrange(R))
    root = tree.root
    p = tree.proof(37)
    assert verify_quad_proof(root, p)
    sibs = [list(s) for s in p.siblings]
    sibs[2][1] = (sibs[2][1] + 1) % R
    bad = tuple(tuple(s) for s in sibs)
    assert not verify_quad_proof(root, QuadProof(p.index, p.leaf, bad)), "flipped sibling"
    assert not verify_quad_proof(root, QuadProof(p.index ^ 16, p.leaf, p.siblings)), "index"
    assert not verify_quad_proof(root, QuadProof(p.index, (p.leaf + 1) % R, p.siblings))
    assert not verify_quad_proof(root, QuadProof(p.index, p.leaf, p.siblings[:-1]))
    assert not verify_quad_proof(root, QuadProof(256, p.leaf, p.siblings)), "index too big"
    assert not verify_quad_proof(root, QuadProof(p.index, p.leaf, ((1, 2),) * 4)), "shape"
    u = tree.update(37, 555)
    assert verify_quad_update(u) and u.old_root == root and u.new_root == tree.root
    for name, val in (
        ("old_leaf", (u.old_leaf + 1) % R),
        ("new_leaf", 556),
        ("new_root", (u.new_root + 1) % R),
        ("index", 38),
    ):
        assert not verify_quad_update(QuadUpdateProof(**{**u.__dict__, name: val})), name


def test_quad_bad_arguments():
    for depth in (0, QUAD_MAX_DEPTH + 1, 2.0, True):
        with pytest.raises(MerkleError):
            QuadMerkleTree(depth)  # type: ignore[arg-type]
    tree = QuadMerkleTree(2)
    for index in (-1, 16, 1.5):
        with pytest.raises(MerkleError):
            tree.set(index, 1)  # type: ignore[arg-type]
        with pytest.raises(MerkleError):
            tree.stage(index, 1)  # type: ignore[arg-type]
    for value in (-1, R, "1"):
        with pytest.raises(MerkleError):
            tree.set_many([(1, 5), (3, value)])  # type: ignore[list-item]
    with pytest.raises(MerkleError):
        tree.node(3, 0)
    assert tree.root == quad_empty_hashes(2)[2]  # the failed calls wrote nothing
