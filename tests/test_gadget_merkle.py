"""Merkle trees in circuit (circuits.gadgets.merkle_circuit) against the native sparse tree:
inclusion and update proofs from ``SparseMerkleTree`` hold in circuit at random indices and
depths up to 32, the computed root equals the native one, gate counts are exact, and mutated
witnesses (a flipped sibling, a non-boolean path bit, a wrong leaf or root) fail at the right
gate with the right label."""

from __future__ import annotations

import random
from functools import cache

import pytest

from circuits.builder import CircuitBuilder, CircuitError, UnsatisfiedGate
from circuits.gadgets import merkle_circuit as mc
from circuits.gadgets.merkle import SparseMerkleTree, compute_root
from circuits.gadgets.poseidon import FIELD_MODULUS as R

POSEIDON2 = 509  # hash_var of two inputs (tests/test_gadget_poseidon.py)
SWAP = 4


def tree(depth: int, n_leaves: int, seed: int) -> SparseMerkleTree:
    rng = random.Random(seed)
    t = SparseMerkleTree(depth, backend="python")
    for _ in range(n_leaves):
        t.set(rng.randrange(1 << depth), rng.randrange(R))
    return t


@cache
def update_circuit(depth: int):
    b = CircuitBuilder()
    old_root, new_root = b.public_input("old_root"), b.public_input("new_root")
    old_leaf, new_leaf = b.private_input("old_leaf"), b.private_input("new_leaf")
    sibs = b.private_inputs("siblings", depth)
    bits = b.private_inputs("bits", depth)
    index = mc.assert_update(b, old_root, new_root, old_leaf, new_leaf, sibs, bits)
    b.expose(index, "index")
    return b.compile(), sibs, bits


@cache
def root_circuit(depth: int):
    b = CircuitBuilder()
    leaf = b.private_input("leaf")
    sibs = b.private_inputs("siblings", depth)
    bits = b.private_inputs("bits", depth)
    root = mc.merkle_root(b, leaf, sibs, bits)
    return b.compile(), root


@cache
def inclusion_circuit(depth: int):
    b = CircuitBuilder()
    root = b.public_input("root")
    leaf = b.private_input("leaf")
    sibs = b.private_inputs("siblings", depth)
    bits = b.private_inputs("bits", depth)
    mc.assert_inclusion(b, root, leaf, sibs, bits)
    return b.compile(), sibs, bits


def update_inputs(proof) -> dict:
    return {
        "old_root": proof.old_root,
        "new_root": proof.new_root,
        "old_leaf": proof.old_leaf,
        "new_leaf": proof.new_leaf,
        "siblings": list(proof.siblings),
        "bits": list(proof.bits),
    }


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_root_equals_native(depth):
    rng = random.Random(depth)
    c, root = root_circuit(depth)
    t = tree(depth, 6, depth)
    for _ in range(3):
        index = rng.randrange(1 << depth)
        proof = t.proof(index)
        w = c.check(
            {"leaf": proof.leaf, "siblings": list(proof.siblings), "bits": list(proof.bits)}
        )
        assert c.value(root, w) == t.root == compute_root(proof.leaf, index, proof.siblings)
    leaf, sibs = rng.randrange(R), [rng.randrange(R) for _ in range(depth)]
    index = rng.randrange(1 << depth)
    bits = [(index >> i) & 1 for i in range(depth)]
    w = c.check({"leaf": leaf, "siblings": sibs, "bits": bits})
    assert c.value(root, w) == compute_root(leaf, index, sibs, backend="python")


@pytest.mark.parametrize("depth", [2, 5])
def test_inclusion_and_non_membership(depth):
    c, _, _ = inclusion_circuit(depth)
    t = tree(depth, 3, 10 + depth)
    occupied = next(iter(t.items()))[0]
    empty = next(i for i in range(1 << depth) if t.get(i) == 0)
    for index in (occupied, empty):  # an empty leaf's inclusion proof: non-membership
        p = t.proof(index)
        c.check({"root": t.root, "leaf": p.leaf, "siblings": list(p.siblings),
                 "bits": list(p.bits)})  # fmt: skip
    p = t.proof(occupied)
    bad = {"root": t.root, "leaf": (p.leaf + 1) % R, "siblings": list(p.siblings),
           "bits": list(p.bits)}  # fmt: skip
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check(bad)
    assert exc.value.label == "merkle/root"


@pytest.mark.parametrize("depth", [1, 4, 20])
def test_update_proofs_hold(depth):
    rng = random.Random(depth)
    c, _, _ = update_circuit(depth)
    t = tree(depth, 5, 20 + depth)
    for _ in range(2):
        index = rng.randrange(1 << depth)
        proof = t.update(index, rng.randrange(R))
        w = c.check(update_inputs(proof))
        assert c.public_signals(w) == [proof.old_root, proof.new_root, index]


def test_update_depth_32():
    c, _, _ = update_circuit(32)
    t = tree(32, 4, 32)
    proof = t.update((1 << 32) - 1, 77)
    w = c.check(update_inputs(proof))
    assert c.public_signals(w)[2] == (1 << 32) - 1


@pytest.mark.parametrize("depth", [1, 4, 20, 32])
def test_update_gate_count(depth):
    """Per level: the bit (1) and, for each of the two paths, the swap (4) and Poseidon(2) with
    its output a variable; plus the three public rows, the index materialised to expose it and the
    two root checks. A level is within the target 2 Poseidon(2) + 10."""
    c, _, _ = update_circuit(depth)
    per_level = 1 + 2 * (SWAP + POSEIDON2)
    expose = max(1, depth - 1)  # the index, an LC of the bits, copied into a public signal
    assert c.n_gates == 3 + expose + depth * per_level + 2
    assert per_level <= 2 * POSEIDON2 + 10
    report = c.report(2)
    assert report["merkle_update/level0"] == per_level
    assert report["merkle_update/old_root"] == report["merkle_update/new_root"] == 1


def test_flipped_sibling_fails_at_the_old_root():
    depth = 6
    c, sibs, _ = update_circuit(depth)
    proof = tree(depth, 5, 3).update(9, 1234)
    inputs = update_inputs(proof)
    for level in (0, 3, depth - 1):
        bad = dict(inputs, siblings=list(inputs["siblings"]))
        bad["siblings"][level] ^= 1
        with pytest.raises(UnsatisfiedGate) as exc:
            c.check(bad)
        assert exc.value.label == "merkle_update/old_root"


def test_non_boolean_path_bit_fails_at_its_level():
    depth = 6
    c, _, bits = update_circuit(depth)
    proof = tree(depth, 5, 4).update(9, 1234)
    for level, value in ((0, 2), (4, R - 1)):
        bad = update_inputs(proof)
        bad["bits"] = list(bad["bits"])
        bad["bits"][level] = value
        with pytest.raises(UnsatisfiedGate) as exc:
            c.check(bad)
        assert exc.value.label == f"merkle_update/level{level}/bit"


def test_wrong_new_leaf_or_root_fails_at_the_new_root():
    depth = 5
    c, _, _ = update_circuit(depth)
    proof = tree(depth, 5, 5).update(3, 42)
    for key in ("new_leaf", "new_root"):
        bad = update_inputs(proof)
        bad[key] = (bad[key] + 1) % R
        with pytest.raises(UnsatisfiedGate) as exc:
            c.check(bad)
        assert exc.value.label == "merkle_update/new_root"
    bad = update_inputs(proof)
    bad["old_leaf"] = (bad["old_leaf"] + 1) % R
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check(bad)
    assert exc.value.label == "merkle_update/old_root"


def test_swapped_order_is_not_accepted():
    """The bit decides the order: proving a leaf with the complementary bit at one level (the
    same siblings) gives another root (where the node and its sibling differ: for an empty
    leaf under an empty subtree both are the empty hash and either order is right)."""
    depth = 4
    c, _, _ = update_circuit(depth)
    t = tree(depth, 5, 6)
    t.set(5, 99)
    proof = t.update(5, 42)
    bad = update_inputs(proof)
    bad["bits"] = list(bad["bits"])
    bad["bits"][1] ^= 1
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check(bad)
    assert exc.value.label == "merkle_update/old_root"


def test_bad_shapes():
    b = CircuitBuilder()
    leaf = b.private_input("leaf")
    for depth in (0, 33):
        with pytest.raises(CircuitError, match="depth"):
            mc.merkle_root(b, leaf, [1] * depth, [0] * depth)
    with pytest.raises(CircuitError, match="path bits"):
        mc.merkle_root(b, leaf, [1, 2], [0])


def test_unchecked_bits_and_constant_siblings():
    """check_bits=False leaves the bits to the caller; constant siblings and bits (an empty
    subtree, a fixed position) are folded into the gates."""
    depth = 3
    t = tree(depth, 2, 8)
    index = 6
    p = t.proof(index)
    b = CircuitBuilder()
    leaf = b.private_input("leaf")
    bits = b.private_inputs("bits", depth)
    root = mc.merkle_root(b, leaf, list(p.siblings), bits, check_bits=False)
    root_const_bits = mc.merkle_root(b, leaf, list(p.siblings), list(p.bits))
    c = b.compile()
    w = c.check({"leaf": p.leaf, "bits": list(p.bits)})
    assert c.value(root, w) == c.value(root_const_bits, w) == t.root
    assert "merkle/level0/bit" not in c.report(3)
