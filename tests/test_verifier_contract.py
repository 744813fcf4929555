"""The generated Solidity PLONK verifier (``verifier_contract``) on the embedded EVM (py-evm).

- our proofs are accepted, and so are snarkjs's (circom + ``snarkjs plonk prove``), for 0, 1, 2
  and 5 public signals; snarkjs's own generated verifier accepts our proofs too (cross-check);
- rejected: each of the 24 proof words tampered, a changed public signal, a public signal + r
  (snarkjs's generated verifier ACCEPTS it, with a proof whose transcript hashed x + r:
  CVE-2023-33252 class, recorded here), a coordinate + p, an
  evaluation + r, a point off the curve, a wrong point on the curve, a short calldata; the
  Python verifier (``prover.plonk.verifier``) gives the same verdict on every non-canonical case;
- the rendered Solidity is a golden vector (``tests/vectors/verifier/``), the calldata string is
  byte-identical to ``snarkjs zkey export soliditycalldata``, the CLI commands, EIP-170.

The pairing precompile costs ~0.5 s in py-evm: one chain and one deployment per key, and every
check that fails before the pairing (non-canonical values, points off the curve) returns early.
"""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from circuits.builder import CircuitBuilder
from prover import formats, params
from prover.formats import Proof
from prover.kzg import KnownTauPowers as _KnownTau
from prover.plonk import prover as plonk_prover
from prover.plonk.prover import prove
from prover.plonk.setup import setup
from prover.plonk.verifier import verify
from prover.transcript import Transcript
from prover.zkey import dumps_verification_key, read_verifying_key, write_zkey
from verifier_contract.chain import (
    Chain,
    ChainError,
    deploy_compiled_verifier,
    deploy_verifier,
    intrinsic_gas,
)
from verifier_contract.compile import (
    EIP170_MAX_RUNTIME,
    CompiledContract,
    ContractTooLargeError,
    SolcError,
    check_size,
    compile_contract,
)
from verifier_contract.render import (
    RenderError,
    compile_verifier,
    proof_words,
    render_verifier,
    solidity_calldata,
    verifier_arguments,
)

P = params.P
R = params.R_ORDER
WORD_NAMES = [f"{n}.{c}" for n in formats.PROOF_POINT_NAMES for c in "xy"] + list(
    formats.PROOF_EVAL_NAMES
)
EVAL_WORDS = range(18, 24)


def _circuit(n_public: int):
    """A small circuit with ``n_public`` public inputs (domain 2^4 .. 2^5), its witness."""
    b = CircuitBuilder()
    xs = [b.public_input(f"x{i}") for i in range(n_public)]
    acc = b.private_input("s")
    for i in range(6):
        acc = b.mul(acc, acc + (xs[i % n_public] if xs else i + 1))
    for x in xs[6:]:
        acc = b.mul(acc, x)
    circuit = b.compile()
    inputs = {**{f"x{i}": 1000 + 7 * i for i in range(n_public)}, "s": 3}
    return circuit, circuit.witness(inputs)


def _keyed(n_public: int, seed: int):
    circuit, witness = _circuit(n_public)
    pk = setup(circuit.cs, _KnownTau(8, 0xC0FFEE + n_public))
    proof, public = prove(pk, witness, rng=random.Random(seed))
    assert verify(pk.vk, public, proof).valid
    return pk, proof, public


def _with_word(proof: Proof, index: int, value: int) -> list[int]:
    words = proof_words(proof)
    words[index] = value
    return words


def _proof_from_words(words: list[int]) -> Proof:
    names = formats.PROOF_POINT_NAMES
    points = {n: (words[2 * i], words[2 * i + 1]) for i, n in enumerate(names)}
    evals = dict(zip(formats.PROOF_EVAL_NAMES, words[18:]))
    return Proof(**points, **evals)


# --- rendering (no Node) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two():
    """The 2-public-signal key, a proof and its signals (the module's main fixture)."""
    return _keyed(2, seed=2)


@pytest.fixture(scope="module")
def zero():
    return _keyed(0, seed=0)


def test_rendered_solidity_is_golden(two, zero, golden):
    golden("verifier/PlonkVerifier_2.sol", render_verifier(two[0].vk))
    golden("verifier/PlonkVerifier_0.sol", render_verifier(zero[0].vk, "PlonkVerifierNoInputs"))


def test_render_shape(two, zero):
    src = render_verifier(two[0].vk)
    assert "pragma solidity 0.8.28;" in src
    assert "uint256[24] calldata proof, uint256[2] calldata pubSignals" in src
    assert src.count("xin := mulmod(xin, xin, R)") == two[0].vk.power
    assert "$" not in src  # every placeholder substituted
    src0 = render_verifier(zero[0].vk)
    assert "uint256[24] calldata proof, uint256[] calldata pubSignals" in src0
    assert "if (pubSignals.length != 0) return false;" in src0


def test_render_rejects_bad_input(two):
    with pytest.raises(RenderError, match="identifier"):
        render_verifier(two[0].vk, "Plonk Verifier")
    with pytest.raises(RenderError, match="VerifyingKey"):
        render_verifier("vk")  # type: ignore[arg-type]


def test_calldata_words(two):
    _, proof, public = two
    words = proof_words(proof)
    assert words[:2] == list(proof.A) and words[16:18] == list(proof.Wxiw)
    assert words[18:] == [proof.eval_a, proof.eval_b, proof.eval_c, proof.eval_s1,
                          proof.eval_s2, proof.eval_zw]  # fmt: skip
    with pytest.raises(RenderError, match="24 words"):
        verifier_arguments(words[:23], public)
    with pytest.raises(RenderError, match="256-bit"):
        verifier_arguments(words, [1 << 256])
    with pytest.raises(RenderError, match="takes 2 public signals"):
        verifier_arguments(words, public[:1], 2)
    with pytest.raises(RenderError, match="256-bit"):
        proof_words(Proof(**{**proof.__dict__, "eval_a": -1}))


def test_size_limits_are_enforced():
    big = CompiledContract("Big", (), b"\0" * 100, b"\0" * (EIP170_MAX_RUNTIME + 1))
    with pytest.raises(ContractTooLargeError, match="EIP-170"):
        check_size(big)
    check_size(CompiledContract("Fits", (), b"\0", b"\0" * EIP170_MAX_RUNTIME))


def test_intrinsic_gas():
    assert intrinsic_gas(b"") == 21_000
    assert intrinsic_gas(b"\0\1\0\2") == 21_000 + 2 * 4 + 2 * 16


# --- on the embedded EVM ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain():
    return Chain.embedded()


@pytest.fixture(scope="module")
def ours(chain, two):
    return deploy_verifier(chain, two[0].vk)


@pytest.fixture(scope="module")
def snarkjs_verifier(chain, two, tmp_path_factory):
    """snarkjs's generated Solidity verifier for the same key (our zkey), compiled alike."""
    from tests.interop import snarkjs

    d = tmp_path_factory.mktemp("snarkjs_sol")
    write_zkey(two[0], d / "c.zkey")
    snarkjs("zkey", "export", "solidityverifier", d / "c.zkey", d / "verifier.sol")
    compiled = compile_contract((d / "verifier.sol").read_text(), "PlonkVerifier")
    return deploy_compiled_verifier(chain, compiled, two[0].vk.n_public)


@pytest.mark.node
def test_compiles_within_eip170(two):
    compiled = compile_verifier(two[0].vk)
    assert 0 < compiled.size <= EIP170_MAX_RUNTIME
    assert [f["name"] for f in compiled.abi if f["type"] == "function"] == ["verifyProof"]
    with pytest.raises(SolcError, match="solc failed"):
        compile_contract("pragma solidity 0.8.28; contract X { uint256[0] a; }", "X")


@pytest.mark.node
def test_accepts_our_proof(ours, two):
    _, proof, public = two
    assert ours.verify(proof, public) is True
    tx = ours.verify_transaction(proof, public)
    assert tx.gas_used == tx.execution_gas + intrinsic_gas(
        bytes(ours.chain.w3.eth.get_transaction(tx.receipt["transactionHash"])["input"])
    )


@pytest.mark.node
@pytest.mark.parametrize("index", range(24), ids=WORD_NAMES)
def test_rejects_each_tampered_proof_word(ours, two, index):
    _, proof, public = two
    words = proof_words(proof)
    modulus = R if index in EVAL_WORDS else P
    assert ours.verify(_with_word(proof, index, (words[index] + 1) % modulus), public) is False


@pytest.mark.node
@pytest.mark.parametrize("index", [0, 1])
def test_rejects_a_changed_public_signal(ours, two, index):
    _, proof, public = two
    changed = list(public)
    changed[index] = (changed[index] + 1) % R
    assert ours.verify(proof, changed) is False


class _AliasingTranscript(Transcript):
    """What a malicious prover hashes: the first public signal as x + r (a 256-bit value that
    is x in the field). The first scalar any PLONK transcript absorbs is public signal 0."""

    def __init__(self) -> None:
        super().__init__()
        self._aliased = False

    def add_scalar(self, x: int) -> None:
        if self._aliased:
            super().add_scalar(x)
            return
        self._aliased = True
        self._parts.append((x + R).to_bytes(32, "big"))


@pytest.fixture(scope="module")
def aliased(two):
    """A proof for the public signals [x0 + r, x1]: the algebra mod r, the transcript raw."""
    pk, _, public = two
    circuit, witness = _circuit(2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plonk_prover, "Transcript", _AliasingTranscript)
        proof, _ = prove(pk, witness, rng=random.Random(99))
    return proof, [public[0] + R, public[1]]


@pytest.mark.node
def test_public_signal_plus_r_rejected_by_ours_accepted_by_snarkjs(
    ours, snarkjs_verifier, two, aliased
):
    """x and x + r are the same field element. snarkjs's generated verifier does not check
    public signals < r (CVE-2023-33252 class): given a proof made with x + r in the transcript,
    it accepts the public signal x + r as well as x, so a contract keying on the raw uint256
    (a nullifier, a batch number) sees two values. Ours and the Python verifier reject x + r."""
    pk, proof, public = two
    alias_proof, alias_public = aliased
    assert snarkjs_verifier.verify(alias_proof, alias_public) is True  # the CVE
    assert snarkjs_verifier.verify(proof, public) is True
    assert ours.verify(alias_proof, alias_public) is False
    assert not verify(pk.vk, alias_public, alias_proof).valid
    for i in range(len(public)):  # and a plain x + r (any proof) is rejected before any algebra
        changed = list(public)
        changed[i] += R
        assert ours.verify(proof, changed) is False
        assert not verify(pk.vk, changed, proof).valid


@pytest.mark.node
def test_rejects_coordinate_plus_p(ours, two):
    pk, proof, public = two
    for index in range(18):
        words = _with_word(proof, index, proof_words(proof)[index] + P)
        assert ours.verify(words, public) is False, WORD_NAMES[index]
        assert not verify(pk.vk, public, _proof_from_words(words)).valid


@pytest.mark.node
def test_rejects_evaluation_plus_r(ours, snarkjs_verifier, two):
    pk, proof, public = two
    for index in EVAL_WORDS:
        words = _with_word(proof, index, proof_words(proof)[index] + R)
        assert ours.verify(words, public) is False, WORD_NAMES[index]
        assert not verify(pk.vk, public, _proof_from_words(words)).valid
    # snarkjs's template checks evaluations too (before its pairing)
    assert snarkjs_verifier.verify(_with_word(proof, 18, proof.eval_a + R), public) is False


@pytest.mark.node
def test_rejects_points_off_the_curve_and_wrong_points(ours, two):
    pk, proof, public = two
    for name in formats.PROOF_POINT_NAMES:
        off = Proof(**{**proof.__dict__, name: (1, 3)})  # 3^2 != 1 + 3
        assert ours.verify(off, public) is False, name
        assert not verify(pk.vk, public, off).valid
    for name in ("A", "Wxi"):  # on the curve but wrong: the transcript and pairing fail
        for point in (params.G1_GENERATOR, (0, 0)):
            wrong = Proof(**{**proof.__dict__, name: point})
            assert ours.verify(wrong, public) is False, (name, point)


@pytest.mark.node
def test_short_calldata_reverts(ours, two):
    _, proof, public = two
    fn = ours.deployment.contract.functions.verifyProof(proof_words(proof), public)
    data = bytes.fromhex(fn._encode_transaction_data()[2:])
    assert ours.chain.raw_call(ours.address, data, 2_000_000)[-1] == 1
    with pytest.raises(ChainError, match="reverted"):  # the ABI decoder: a word missing
        ours.chain.raw_call(ours.address, data[:-32], 2_000_000)


@pytest.mark.node
def test_snarkjs_generated_verifier_accepts_our_proof(snarkjs_verifier, two):
    _, proof, public = two
    assert snarkjs_verifier.verify(proof, public) is True
    changed = [public[0], (public[1] + 1) % R]
    assert snarkjs_verifier.verify(proof, changed) is False


@pytest.mark.node
@pytest.mark.parametrize("n_public", [0, 1, 5])
def test_other_public_input_counts(chain, n_public, zero):
    pk, proof, public = zero if n_public == 0 else _keyed(n_public, seed=n_public)
    contract = deploy_verifier(chain, pk.vk)
    assert contract.verify(proof, public) is True
    if n_public == 0:
        assert contract.verify(proof, [1]) is False  # the dynamic array must be empty
        words = _with_word(proof, 23, (proof.eval_zw + 1) % R)
        assert contract.verify(words, []) is False
    else:
        changed = list(public)
        changed[-1] = (changed[-1] + 1) % R
        assert contract.verify(proof, changed) is False
        changed[-1] = public[-1] + R
        assert contract.verify(proof, changed) is False


# --- snarkjs's proofs and calldata --------------------------------------------------------------

CIRCOM = """pragma circom 2.0.0;

template Small() {
    signal input x;
    signal input y;
    signal input s;
    signal output out;
    signal t;
    t <== s * s + x;
    out <== t * (y + 3) + 7;
}

component main {public [x, y]} = Small();
"""


@pytest.fixture(scope="module")
def snarkjs_proven(tmp_path_factory):
    from tests.interop import circom_witness, compile_circom, snarkjs, snarkjs_ptau

    d = tmp_path_factory.mktemp("snarkjs_proof")
    build = compile_circom(CIRCOM, "verifier_contract_small")
    wtns = circom_witness(build, {"x": 5, "y": 9, "s": 11})
    snarkjs("plonk", "setup", build.r1cs, snarkjs_ptau(8), d / "c.zkey")
    snarkjs("zkey", "export", "verificationkey", d / "c.zkey", d / "vk.json")
    snarkjs("plonk", "prove", d / "c.zkey", wtns, d / "proof.json", d / "public.json")
    return d


@pytest.mark.node
def test_accepts_snarkjs_proof(chain, snarkjs_proven):
    d = snarkjs_proven
    vk = read_verifying_key(d / "c.zkey")
    assert render_verifier(vk) == render_verifier(
        formats.parse_vk_json(formats.load_json(d / "vk.json"))
    )
    proof = formats.parse_proof_json(formats.load_json(d / "proof.json"))
    public = formats.parse_public_json(formats.load_json(d / "public.json"))
    assert len(public) == 3  # out, x, y
    contract = deploy_verifier(chain, vk)
    assert contract.verify(proof, public) is True
    assert contract.verify(proof, [public[0], public[1], public[2] + 1]) is False


@pytest.mark.node
def test_calldata_matches_snarkjs(snarkjs_proven):
    from tests.interop import snarkjs

    d = snarkjs_proven
    theirs = snarkjs("zkey", "export", "soliditycalldata", d / "public.json", d / "proof.json")
    proof = formats.parse_proof_json(formats.load_json(d / "proof.json"))
    public = formats.parse_public_json(formats.load_json(d / "public.json"))
    assert solidity_calldata(proof, public) == theirs.strip()


# --- CLI ----------------------------------------------------------------------------------------


def _cli():
    import click

    from cli import contract_cmds

    @click.group()
    def root() -> None:
        pass

    @root.group()
    def plonk() -> None:
        pass

    @root.group()
    def zkey() -> None:
        pass

    @zkey.group("export")
    def export() -> None:
        pass

    contract_cmds.register(plonk, export)
    return root


def _run(*args):
    result = CliRunner().invoke(_cli(), [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_cli_solidityverifier(two, tmp_path):
    pk = two[0]
    write_zkey(pk, tmp_path / "c.zkey")
    (tmp_path / "vk.json").write_text(dumps_verification_key(pk.vk))
    expected = render_verifier(pk.vk)
    code, out = _run("zkey", "export", "solidityverifier", tmp_path / "c.zkey", tmp_path / "a.sol")
    assert code == 0, out
    assert (tmp_path / "a.sol").read_text() == expected
    code, out = _run("zkey", "export", "solidityverifier", tmp_path / "vk.json", tmp_path / "b.sol")
    assert code == 0, out
    assert (tmp_path / "b.sol").read_text() == expected
    code, out = _run("zkey", "export", "solidityverifier", tmp_path / "nope.zkey", tmp_path / "c")
    assert code == 1 and "nope.zkey" in out
    (tmp_path / "bad.json").write_text("{}")
    code, out = _run("zkey", "export", "solidityverifier", tmp_path / "bad.json", tmp_path / "c")
    assert code == 1 and "bad.json" in out
    code, out = _run(
        "zkey", "export", "solidityverifier", tmp_path / "vk.json", tmp_path / "c", "--name", "1x"
    )
    assert code == 1 and "identifier" in out


@pytest.mark.node
def test_cli_solidityverifier_compile(two, tmp_path):
    (tmp_path / "vk.json").write_text(dumps_verification_key(two[0].vk))
    code, out = _run(
        "zkey", "export", "solidityverifier", tmp_path / "vk.json", tmp_path / "v.sol", "--compile"
    )
    assert code == 0, out
    assert "runtime" in out and "EIP-170" in out


def test_cli_calldata(two, tmp_path):
    _, proof, public = two
    (tmp_path / "proof.json").write_text(formats.dumps_json(formats.proof_to_json(proof)))
    (tmp_path / "public.json").write_text(formats.dumps_json(formats.public_to_json(public)))
    expected = solidity_calldata(proof, public)
    for cmd in (("plonk", "calldata"), ("zkey", "export", "soliditycalldata")):
        code, out = _run(*cmd, tmp_path / "public.json", tmp_path / "proof.json")
        assert code == 0, out
        assert out.strip() == expected
        assert json.loads(f"[{out.strip().replace('][', '],[')}]")[0][0] == f"0x{proof.A[0]:064x}"
    code, out = _run("plonk", "calldata", tmp_path / "proof.json", tmp_path / "public.json")
    assert code == 1 and "proof.json" in out  # proof.json given as the public signals
