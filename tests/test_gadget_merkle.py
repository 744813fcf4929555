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


# --- 4-ary trees (layout v2): quad_root / assert_quad_inclusion / assert_quad_update ----------

from circuits.gadgets.poseidon import poseidon  # noqa: E402

POSEIDON4 = 916  # hash_var of four inputs (layout v2's measured P_n table)


def ref_quad_empty(depth: int) -> list[int]:
    """E_0 = 0, E_h = P4(E_{h-1} x 4): a plain-Python reference, independent of merkle.py."""
    out = [0]
    for _ in range(depth):
        out.append(poseidon([out[-1]] * 4))
    return out


class RefQuadTree:
    """A dict-of-leaves 4-ary tree: nodes recomputed from scratch (the spec's definition)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.leaves: dict[int, int] = {}
        self.empty = ref_quad_empty(depth)

    def node(self, h: int, i: int) -> int:
        if h == 0:
            return self.leaves.get(i, 0)
        if not any(j >> (2 * h) == i for j in self.leaves):
            return self.empty[h]
        return poseidon([self.node(h - 1, 4 * i + c) for c in range(4)])

    @property
    def root(self) -> int:
        return self.node(self.depth, 0)

    def siblings(self, index: int) -> list[list[int]]:
        out = []
        for k in range(self.depth):
            parent, pos = index >> (2 * k + 2), (index >> (2 * k)) & 3
            out.append([self.node(k, 4 * parent + c) for c in range(4) if c != pos])
        return out


def ref_quad_root(leaf: int, index: int, siblings) -> int:
    cur = leaf
    for k, trio in enumerate(siblings):
        pos = (index >> (2 * k)) & 3
        children = list(trio)
        children.insert(pos, cur)
        cur = poseidon(children)
    return cur


def quad_tree(depth: int, n: int, seed: int) -> RefQuadTree:
    rng = random.Random(seed)
    t = RefQuadTree(depth)
    for _ in range(n):
        t.leaves[rng.randrange(4**depth)] = rng.randrange(R)
    return t


def digit_bits(index: int, depth: int) -> list[int]:
    return [(index >> j) & 1 for j in range(2 * depth)]


@cache
def quad_update_circuit(depth: int):
    b = CircuitBuilder()
    old_root, new_root = b.public_input("old_root"), b.public_input("new_root")
    old_leaf, new_leaf = b.private_input("old_leaf"), b.private_input("new_leaf")
    sibs = [b.private_inputs(f"sibs{k}", 3) for k in range(depth)]
    bits = b.private_inputs("bits", 2 * depth)
    index = mc.assert_quad_update(b, old_root, new_root, old_leaf, new_leaf, bits, sibs)
    b.expose(index, "index")
    return b.compile()


@cache
def quad_root_circuit(depth: int):
    b = CircuitBuilder()
    leaf = b.private_input("leaf")
    sibs = [b.private_inputs(f"sibs{k}", 3) for k in range(depth)]
    bits = b.private_inputs("bits", 2 * depth)
    root = mc.quad_root(b, leaf, bits, sibs)
    return b.compile(), root


@cache
def quad_inclusion_circuit(depth: int):
    b = CircuitBuilder()
    root = b.public_input("root")
    leaf = b.private_input("leaf")
    sibs = [b.private_inputs(f"sibs{k}", 3) for k in range(depth)]
    bits = b.private_inputs("bits", 2 * depth)
    mc.assert_quad_inclusion(b, root, leaf, bits, sibs)
    return b.compile()


def quad_inputs(leaf: int, index: int, sibs, depth: int) -> dict:
    out = {"leaf": leaf, "bits": digit_bits(index, depth)}
    out.update({f"sibs{k}": list(s) for k, s in enumerate(sibs)})
    return out


def _native_quad():
    """D1's native 4-ary tree when it has landed (layout v2), else None."""
    try:
        from circuits.gadgets import merkle as m

        return m if hasattr(m, "QuadMerkleTree") else None
    except ImportError:  # pragma: no cover
        return None


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_quad_root_equals_reference(depth):
    rng = random.Random(100 + depth)
    c, root = quad_root_circuit(depth)
    t = quad_tree(depth, 5, depth)
    for index in [0, 4**depth - 1, *(rng.randrange(4**depth) for _ in range(4))]:
        leaf = t.leaves.get(index, 0)
        sibs = t.siblings(index)
        w = c.check(quad_inputs(leaf, index, sibs, depth))
        assert c.value(root, w) == t.root == ref_quad_root(leaf, index, sibs)
    # every position at level 0 with distinct random siblings (the mux, digit by digit)
    sibs = [[rng.randrange(R) for _ in range(3)] for _ in range(depth)]
    for index in range(min(16, 4**depth)):
        w = c.check(quad_inputs(7, index, sibs, depth))
        assert c.value(root, w) == ref_quad_root(7, index, sibs)


def test_quad_empty_tree_root():
    assert RefQuadTree(3).root == ref_quad_empty(3)[3]
    native = _native_quad()
    if native is not None:
        assert list(native.quad_empty_hashes(3)) == ref_quad_empty(3)


def test_quad_against_native_tree():
    native = _native_quad()
    if native is None:
        pytest.skip("circuits.gadgets.merkle.QuadMerkleTree has not landed yet")
    depth = 2
    rng = random.Random(7)
    t = native.QuadMerkleTree(depth, backend="python")
    ref = RefQuadTree(depth)
    for _ in range(5):
        i, v = rng.randrange(4**depth), rng.randrange(R)
        t.set(i, v)
        ref.leaves[i] = v
    assert t.root == ref.root
    c = quad_inclusion_circuit(depth)
    for index in (0, 5, 15):
        p = t.proof(index)
        assert native.quad_digits(index, depth) == tuple(
            (index >> (2 * k)) & 3 for k in range(depth)
        )
        inputs = quad_inputs(p.leaf, index, p.siblings, depth)
        c.check({**inputs, "root": t.root})


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_quad_update_holds(depth):
    rng = random.Random(depth)
    c = quad_update_circuit(depth)
    t = quad_tree(depth, 4, 30 + depth)
    for _ in range(2):
        index = rng.randrange(4**depth)
        old_root, old_leaf, sibs = t.root, t.leaves.get(index, 0), t.siblings(index)
        new_leaf = rng.randrange(R)
        t.leaves[index] = new_leaf
        inputs = quad_inputs(0, index, sibs, depth)
        del inputs["leaf"]
        w = c.check(
            {**inputs, "old_root": old_root, "new_root": t.root, "old_leaf": old_leaf,
             "new_leaf": new_leaf}
        )  # fmt: skip
        assert c.public_signals(w) == [old_root, t.root, index]


def test_quad_gates_per_level():
    """A level of one path: Poseidon(4) with its output a variable, 19 gates of mux (digit
    product 1, differences and products 11, children materialised 7), 2 bit checks. An update
    shares the bits and the digit product between its two paths."""
    c, _ = quad_root_circuit(3)
    rep = c.report(2)
    per_level = POSEIDON4 + 1 + 11 + 7 + 2
    assert c.n_gates == 3 * per_level
    upd = quad_update_circuit(3)
    # public rows (3), index exposed (5 bits -> 5 gates), 2 root checks
    assert upd.n_gates == 3 + 5 + 2 + 3 * (2 + 1 + 2 * (POSEIDON4 + 11 + 7))
    assert rep["quad/level0"] == POSEIDON4 + 19 + 2  # mux (with lo hi) and the 2 bit checks


@pytest.fixture(scope="module")
def quad_case():
    depth = 3
    t = quad_tree(depth, 6, 99)
    index = next(iter(t.leaves))
    old_root, old_leaf, sibs = t.root, t.leaves[index], t.siblings(index)
    t.leaves[index] = 4242
    inputs = {f"sibs{k}": list(s) for k, s in enumerate(sibs)}
    inputs.update(
        bits=digit_bits(index, depth), old_root=old_root, new_root=t.root, old_leaf=old_leaf,
        new_leaf=4242,
    )  # fmt: skip
    return depth, index, inputs


def _quad_fails(c, inputs) -> str:
    with pytest.raises(UnsatisfiedGate) as exc:
        c.check(inputs)
    return exc.value.label


def test_quad_wrong_sibling_fails_at_old_root(quad_case):
    depth, _, inputs = quad_case
    c = quad_update_circuit(depth)
    c.check(inputs)
    for k in range(depth):
        for j in range(3):
            bad = dict(inputs)
            bad[f"sibs{k}"] = list(inputs[f"sibs{k}"])
            bad[f"sibs{k}"][j] = (bad[f"sibs{k}"][j] + 1) % R
            assert _quad_fails(c, bad) == "quad_update/old_root"


def test_quad_wrong_digit_fails(quad_case):
    """Another position at any level (a digit changed, the same siblings) gives another root;
    a non-boolean digit bit fails at its own bit check."""
    depth, index, inputs = quad_case
    c = quad_update_circuit(depth)
    for k in range(depth):
        digit = (index >> (2 * k)) & 3
        for other in range(4):
            if other == digit:
                continue
            wrong = index ^ ((digit ^ other) << (2 * k))
            bad = {**inputs, "bits": digit_bits(wrong, depth)}
            assert _quad_fails(c, bad) == "quad_update/old_root"
    bad = {**inputs, "bits": [*inputs["bits"][:3], 2, *inputs["bits"][4:]]}
    assert _quad_fails(c, bad) == "quad_update/level1/bit"


def test_quad_wrong_leaf_or_root(quad_case):
    depth, _, inputs = quad_case
    c = quad_update_circuit(depth)
    for key, label in (("new_leaf", "new_root"), ("new_root", "new_root"),
                       ("old_leaf", "old_root"), ("old_root", "old_root")):  # fmt: skip
        bad = {**inputs, key: (inputs[key] + 1) % R}
        assert _quad_fails(c, bad) == f"quad_update/{label}"
    ci = quad_inclusion_circuit(depth)
    inc = {k: v for k, v in inputs.items() if k.startswith("sibs") or k == "bits"}
    ci.check({**inc, "root": inputs["old_root"], "leaf": inputs["old_leaf"]})
    bad = {**inc, "root": inputs["old_root"], "leaf": inputs["new_leaf"]}
    assert _quad_fails(ci, bad) == "quad/root"


def test_quad_bad_shapes():
    b = CircuitBuilder()
    leaf = b.private_input("leaf")
    with pytest.raises(CircuitError, match="depth"):
        mc.quad_root(b, leaf, [], [])
    with pytest.raises(CircuitError, match="digit bits"):
        mc.quad_root(b, leaf, [0, 1, 0], [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(CircuitError, match="3 siblings"):
        mc.quad_root(b, leaf, [0, 1], [[1, 2]])
