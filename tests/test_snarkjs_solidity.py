"""Cross-check on the embedded EVM: snarkjs 0.7.6's own generated Solidity PLONK verifier
(``snarkjs zkey export solidityverifier`` on a .zkey written by us, ``prover.zkey.write_zkey``)
accepts OUR proofs, called with the arguments ``snarkjs zkey export soliditycalldata`` prints for
our proof.json / public.json, and rejects tampered ones; its gas is measured next to ours on the
same key and the same proof.

- our calldata string (``render.solidity_calldata``) is snarkjs's, byte for byte, for our proof;
- snarkjs's verifier and ours both accept the proof; both reject a tampered proof word (a point
  coordinate, an evaluation) and a changed public signal;
- gas (receipt ``gasUsed`` and execution gas without the intrinsic calldata gas): ours is at most
  snarkjs's for the same circuit (issue F's target). The figures are printed (``pytest -s``).

Each valid verification runs one BN254 pairing (~0.5 s in py-evm): one chain per module, one
deployment per key.
"""

from __future__ import annotations

import json
import random

import pytest

from circuits.builder import CircuitBuilder
from prover import formats, params
from prover.kzg import KnownTauPowers
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from prover.zkey import write_zkey
from verifier_contract.chain import Chain, deploy_compiled_verifier, deploy_verifier
from verifier_contract.compile import compile_contract
from verifier_contract.render import proof_words, solidity_calldata

P = params.P
R = params.R_ORDER
N_PUBLIC = (2, 8)
TAMPERED = {"A.x": 0, "Wxiw.y": 17, "eval_a": 18, "eval_zw": 23}  # name -> word index


def _keyed(n_public: int):
    """A circuit with ``n_public`` public inputs (domain 2^4 .. 2^5), its key, proof, signals."""
    b = CircuitBuilder()
    xs = [b.public_input(f"x{i}") for i in range(n_public)]
    acc = b.private_input("s")
    for i in range(6):
        acc = b.mul(acc, acc + xs[i % n_public])
    for x in xs[6:]:
        acc = b.mul(acc, x)
    circuit = b.compile()
    pk = setup(circuit.cs, KnownTauPowers(8, 0x5A4C + n_public))
    inputs = {**{f"x{i}": 31 * i + 2 for i in range(n_public)}, "s": 9}
    proof, public = prove(pk, circuit.witness(inputs), rng=random.Random(n_public))
    assert verify(pk.vk, public, proof).valid
    return pk, proof, public


@pytest.fixture(scope="module")
def chain():
    return Chain.embedded()


@pytest.fixture(scope="module", params=N_PUBLIC, ids=[f"{n}-public" for n in N_PUBLIC])
def case(request, chain, tmp_path_factory):
    """Our key, proof and signals; snarkjs's verifier for our zkey and ours, both deployed;
    snarkjs's calldata for our proof.json / public.json."""
    from tests.interop import snarkjs

    pk, proof, public = _keyed(request.param)
    d = tmp_path_factory.mktemp(f"snarkjs_solidity_{request.param}")
    write_zkey(pk, d / "ours.zkey")
    snarkjs("zkey", "export", "solidityverifier", d / "ours.zkey", d / "verifier.sol")
    theirs = deploy_compiled_verifier(
        chain, compile_contract((d / "verifier.sol").read_text(), "PlonkVerifier"), pk.vk.n_public
    )
    (d / "proof.json").write_text(formats.dumps_json(formats.proof_to_json(proof)))
    (d / "public.json").write_text(formats.dumps_json(formats.public_to_json(public)))
    calldata = snarkjs("zkey", "export", "soliditycalldata", d / "public.json", d / "proof.json")
    return {
        "pk": pk,
        "proof": proof,
        "public": public,
        "ours": deploy_verifier(chain, pk.vk),
        "theirs": theirs,
        "calldata": calldata.strip(),
    }


def _parse_calldata(text: str) -> tuple[list[int], list[int]]:
    words, signals = json.loads(f"[{text.replace('][', '],[')}]")
    return [int(w, 16) for w in words], [int(s, 16) for s in signals]


@pytest.mark.node
def test_snarkjs_calldata_of_our_proof_is_ours(case):
    assert solidity_calldata(case["proof"], case["public"]) == case["calldata"]
    words, signals = _parse_calldata(case["calldata"])
    assert words == proof_words(case["proof"]) and signals == case["public"]


@pytest.mark.node
def test_snarkjs_verifier_accepts_our_proof_via_its_calldata(case):
    words, signals = _parse_calldata(case["calldata"])
    assert case["theirs"].verify(words, signals) is True
    assert case["ours"].verify(words, signals) is True


@pytest.mark.node
@pytest.mark.parametrize("name", list(TAMPERED))
def test_snarkjs_verifier_rejects_a_tampered_proof_word(case, name):
    index = TAMPERED[name]
    words = proof_words(case["proof"])
    words[index] = (words[index] + 1) % (R if index >= 18 else P)
    assert case["theirs"].verify(words, case["public"]) is False
    assert case["ours"].verify(words, case["public"]) is False


@pytest.mark.node
def test_snarkjs_verifier_rejects_a_changed_public_signal(case):
    changed = list(case["public"])
    changed[-1] = (changed[-1] + 1) % R
    assert case["theirs"].verify(case["proof"], changed) is False
    assert case["ours"].verify(case["proof"], changed) is False


@pytest.mark.node
def test_gas_ours_at_most_snarkjs(case):
    proof, public = case["proof"], case["public"]
    ours = case["ours"].verify_transaction(proof, public)
    theirs = case["theirs"].verify_transaction(proof, public)
    n = len(public)
    print(
        f"\nverifyProof gas, {n} public signals (domain 2^{case['pk'].vk.power}): "
        f"ours {ours.gas_used} (execution {ours.execution_gas}), "
        f"snarkjs {theirs.gas_used} (execution {theirs.execution_gas}); deploy: ours "
        f"{case['ours'].deployment.gas_used}, snarkjs {case['theirs'].deployment.gas_used}"
    )
    assert ours.gas_used - ours.execution_gas == theirs.gas_used - theirs.execution_gas
    assert ours.execution_gas <= theirs.execution_gas
