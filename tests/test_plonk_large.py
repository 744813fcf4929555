"""Issue B acceptance 5 at the top of the test range: a 2^16-row circuit, set up, proven by our
prover, accepted by our verifier and by snarkjs, and rejected when tampered.

The circuit (built with circuits.builder) mixes multiplication and linear gates, copies across
distant rows and 3 public signals, so every selector and all three permutation columns are busy.
The SRS comes from a known tau (the setup tests check commitments against it with Python ints);
writing a 2^16 ptau is left to the benchmarks.
"""

from __future__ import annotations

import json
import random

import pytest

from circuits.builder import CircuitBuilder
from prover import formats, params
from prover.kzg import KnownTauPowers as _KnownTau
from prover.plonk.constraint_system import domain_power
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from prover.zkey import verification_key_json

R = params.R_ORDER
N_STEPS = 20_000  # 2.5 gates a step on average: ~50,000 rows -> a 2^16 domain


@pytest.fixture(scope="module")
def large():
    b = CircuitBuilder()
    x = b.public_input("x")
    y = b.public_input("y")
    acc = b.private_input("seed")
    history = []
    for i in range(N_STEPS):
        sq = b.mul(acc, acc + i)  # one gate: qM a a + i qL a - c
        acc = b.materialize(sq + 3 * x - y + i) if i % 2 else b.mul(sq, y + 1)
        history.append(acc)
        if i % 997 == 0 and len(history) > 500:  # a copy from far back
            acc = b.materialize(acc + history[-500])
    out = b.expose(acc, "out")
    assert out is not None
    circuit = b.compile()
    inputs = {"x": 12345, "y": 678, "seed": 9}
    witness = circuit.witness(inputs)
    assert domain_power(circuit.cs) == 16
    pk = setup(circuit.cs, _KnownTau(16, 0x5EED_0F_2_16))
    return pk, witness


@pytest.fixture(scope="module")
def proven(large):
    pk, witness = large
    proof, public = prove(pk, witness, rng=random.Random(216))
    return pk, proof, public


def test_prove_and_verify_2_16(proven):
    pk, proof, public = proven
    assert pk.domain_size == 1 << 16 and len(public) == 3
    result = verify(pk.vk, public, proof)
    assert result.valid, result.reason
    tampered = formats.Proof(**{**proof.__dict__, "eval_zw": (proof.eval_zw + 1) % R})
    assert not verify(pk.vk, public, tampered).valid
    assert not verify(pk.vk, [public[0], public[1], (public[2] + 1) % R], proof).valid


@pytest.mark.node
def test_snarkjs_accepts_the_2_16_proof(proven, tmp_path):
    from tests.interop import snarkjs_ok

    pk, proof, public = proven
    vk_path, public_path, proof_path = (tmp_path / f for f in ("vk.json", "public.json", "p.json"))
    vk_path.write_text(json.dumps(verification_key_json(pk.vk), indent=1))
    public_path.write_text(json.dumps(formats.public_to_json(public), indent=1))
    proof_path.write_text(json.dumps(formats.proof_to_json(proof), indent=1))
    assert snarkjs_ok("plonk", "verify", vk_path, public_path, proof_path)
