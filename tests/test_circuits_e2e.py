"""Issue C's acceptance, end to end: circuits built from every gadget are set up, proven and
verified with our PLONK tools, and one of them is also proven by snarkjs from our exported zkey
and witness, with each verifier accepting the other's proof.

- ``gadgets``: Poseidon(2), a Merkle update (depth 2), a 64-bit range check and a comparison, a
  fixed-point a b / d rounded down, with public outputs: about 3,200 gates, a 2^12 domain.
  Proven by us and by ``snarkjs plonk prove`` (our zkey, our .wtns); both proofs verify in both
  verifiers; a changed public signal fails in both.
- ``eddsa``: an EdDSA-Poseidon signature verified in circuit (message and key public): about
  7,000 gates, a 2^13 domain. Proven and verified by us; snarkjs verifies our proof too.

One development powers of tau (``prover.ptau.write_dev_ptau``, a fixed rng: insecure, for tests
only) serves both circuits.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from circuits.builder import CircuitBuilder
from circuits.gadgets import bits, eddsa, fixedpoint
from circuits.gadgets import eddsa_circuit as ec
from circuits.gadgets import merkle_circuit as mc
from circuits.gadgets import poseidon_circuit as pc
from circuits.gadgets.merkle import SparseMerkleTree
from circuits.gadgets.poseidon import FIELD_MODULUS as R
from circuits.gadgets.poseidon import poseidon
from prover import formats
from prover.plonk.constraint_system import load_circuit
from prover.plonk.prover import UnsatisfiedWitness, prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from prover.ptau import read_ptau, write_dev_ptau
from prover.zkey import dumps_verification_key, write_zkey

PTAU_POWER = 13
DEPTH = 2
SCALE = 10**8


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("circuits_e2e")
    write_dev_ptau(d / "dev.ptau", PTAU_POWER, rng=random.Random(2024))
    return d


def gadgets_circuit():
    b = CircuitBuilder()
    old_root, new_root = b.public_input("old_root"), b.public_input("new_root")
    x, y = b.private_input("x"), b.private_input("y")
    price, size = b.private_input("price"), b.private_input("size")
    old_leaf, new_leaf = b.private_input("old_leaf"), b.private_input("new_leaf")
    sibs, path = b.private_inputs("siblings", DEPTH), b.private_inputs("bits", DEPTH)
    with b.scope("hash"):
        h = pc.hash_var(b, [x, y])
    b.expose(h, "hash")
    mc.assert_update(b, old_root, new_root, old_leaf, new_leaf, sibs, path)
    bits.range_check(b, x, 64)
    bits.range_check(b, y, 64)
    b.expose(bits.less_than(b, x, y, 64), "x_lt_y")
    bits.range_check(b, price, 64)
    bits.range_check(b, size, 64)
    b.expose(fixedpoint.mul_div_floor(b, price, size, SCALE, q_bits=128), "notional")
    return b.compile()


def gadgets_inputs() -> tuple[dict, list[int]]:
    rng = random.Random(5)
    t = SparseMerkleTree(DEPTH, backend="python")
    for _ in range(3):
        t.set(rng.randrange(1 << DEPTH), rng.randrange(R))
    proof = t.update(2, 4242)
    x, y = rng.randrange(1 << 64), rng.randrange(1 << 64)
    price, size = rng.randrange(1 << 64), rng.randrange(1 << 64)
    inputs = {
        "old_root": proof.old_root, "new_root": proof.new_root, "x": x, "y": y,
        "price": price, "size": size, "old_leaf": proof.old_leaf, "new_leaf": proof.new_leaf,
        "siblings": list(proof.siblings), "bits": list(proof.bits),
    }  # fmt: skip
    public = [proof.old_root, proof.new_root, poseidon([x, y]), int(x < y), price * size // SCALE]
    return inputs, public


def eddsa_circuit():
    b = CircuitBuilder()
    msg, ax, ay = b.public_input("msg"), b.public_input("ax"), b.public_input("ay")
    r8x, r8y, s = b.private_input("r8x"), b.private_input("r8y"), b.private_input("s")
    ec.verify(b, msg, ax, ay, r8x, r8y, s)
    return b.compile()


def _write_json(path: Path, obj) -> Path:
    formats.write_json(path, obj)
    return path


@pytest.mark.node
def test_gadgets_circuit_ours_and_snarkjs(work):
    from tests.interop import snarkjs, snarkjs_ok

    d = work / "gadgets"
    d.mkdir()
    c = gadgets_circuit()
    inputs, public = gadgets_inputs()
    w = c.check(inputs)
    assert c.public_signals(w) == public
    assert 2**11 < c.n_gates <= 2**12
    report = c.report(1)
    for gadget in ("hash", "merkle_update", "range64", "lt64", "muldiv_floor"):
        assert report[gadget] > 0, gadget

    # the circuit file and witness as the CLI would write them
    c.save(d / "c.zkpc")
    c.write_wtns(d / "w.wtns", w)
    pk = setup(load_circuit(d / "c.zkpc"), read_ptau(work / "dev.ptau"))
    assert pk.power == 12
    write_zkey(pk, d / "c.zkey")
    vk_path = d / "vk.json"
    vk_path.write_text(dumps_verification_key(pk.vk))

    ours, ours_public = prove(pk, w, rng=random.Random(1))
    assert ours_public == public
    assert verify(pk.vk, public, ours).valid
    ours_path = _write_json(d / "ours.json", formats.proof_to_json(ours))
    public_path = _write_json(d / "public.json", formats.public_to_json(public))
    assert snarkjs_ok("plonk", "verify", vk_path, public_path, ours_path)

    snarkjs("plonk", "prove", d / "c.zkey", d / "w.wtns", d / "sj.json", d / "sj_public.json")
    assert json.loads((d / "sj_public.json").read_text()) == [str(v) for v in public]
    sj = formats.parse_proof_json(json.loads((d / "sj.json").read_text()))
    assert verify(pk.vk, public, sj).valid
    assert snarkjs_ok("plonk", "verify", vk_path, public_path, d / "sj.json")

    wrong = list(public)
    wrong[4] += 1  # another notional
    wrong_path = _write_json(d / "wrong.json", formats.public_to_json(wrong))
    for proof, path in ((ours, ours_path), (sj, d / "sj.json")):
        assert not verify(pk.vk, wrong, proof).valid
        assert not snarkjs_ok("plonk", "verify", vk_path, wrong_path, path)


def test_eddsa_circuit_proven_and_verified(work):
    c = eddsa_circuit()
    rng = random.Random(9)
    prv, msg = rng.randbytes(32), rng.randrange(R)
    sig, pub = eddsa.sign_poseidon(prv, msg), eddsa.prv2pub(prv)
    inputs = {"msg": msg, "ax": pub[0], "ay": pub[1], "r8x": sig.r8[0], "r8y": sig.r8[1],
              "s": sig.s}  # fmt: skip
    w = c.check(inputs)
    assert 2**12 < c.n_gates <= 2**13
    pk = setup(c.cs, read_ptau(work / "dev.ptau"))
    proof, public = prove(pk, w, rng=random.Random(3))
    assert public == [msg, pub[0], pub[1]]
    assert verify(pk.vk, public, proof).valid
    assert not verify(pk.vk, [(msg + 1) % R, pub[0], pub[1]], proof).valid
    # a forged signature has no proof: the prover names the failing gate
    bad = c.witness(dict(inputs, s=(sig.s + 1) % eddsa.bj.SUBORDER))
    with pytest.raises(UnsatisfiedWitness):
        prove(pk, bad, rng=random.Random(4))
    work.joinpath("eddsa_vk.json").write_text(dumps_verification_key(pk.vk))
    _write_json(work / "eddsa_proof.json", formats.proof_to_json(proof))
    _write_json(work / "eddsa_public.json", formats.public_to_json(public))


@pytest.mark.node
def test_snarkjs_verifies_our_eddsa_proof(work):
    from tests.interop import snarkjs_ok

    if not (work / "eddsa_proof.json").is_file():
        test_eddsa_circuit_proven_and_verified(work)
    assert snarkjs_ok(
        "plonk", "verify", work / "eddsa_vk.json", work / "eddsa_public.json",
        work / "eddsa_proof.json",
    )  # fmt: skip
