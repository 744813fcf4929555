"""prover/transcript.py (Keccak-256 Fiat-Shamir, snarkjs 0.7.6 ``Keccak256Transcript.js``) against
an independent Keccak-256 (pycryptodome's ``Crypto.Hash.keccak``) and against snarkjs itself.

- The bytes: a scalar is 32 bytes big-endian, a G1 point x || y (64 bytes), infinity 64 zero
  bytes; a challenge is keccak256(bytes) mod r; non-canonical input and an empty transcript are
  refused.
- snarkjs: the challenges our verifier derives from a real snarkjs proof (and those a from-scratch
  derivation in this file computes with pycryptodome straight from the JSON files) equal the
  values ``snarkjs plonk verify -v`` logs, and make the verifier accept; the same derivation in a
  wrong order (public signals after A, B, C; without the verification key, as snarkjs did before
  the Frozen Heart fix; a chained transcript; T1..T3 swapped; v^k replaced) makes it reject. (A
  wrong u does not: an honest proof verifies for any u; the golden values pin u.)
"""

from __future__ import annotations

import random

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import formats, params
from prover.curve import ref as curve
from prover.plonk import verifier
from prover.transcript import Transcript
from tests.test_verifier import SnarkjsCase, snarkjs_case, snarkjs_debug_values

P = params.P
R = params.R_ORDER


def keccak256(data: bytes) -> bytes:
    h = pycryptodome_keccak.new(digest_bits=256)
    h.update(data)
    return h.digest()


def challenge_of(data: bytes) -> int:
    return int.from_bytes(keccak256(data), "big") % R


# --- the independent Keccak itself ----------------------------------------------------------------


def test_independent_keccak_known_vectors() -> None:
    """Keccak-256 (Ethereum's padding), not NIST SHA3-256."""
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )


# --- bytes and challenges -------------------------------------------------------------------------


_points = st.one_of(
    st.just(curve.G1_INFINITY),
    st.integers(1, R - 1).map(lambda k: curve.g1_mul(curve.G1_GENERATOR, k)),
)
_items = st.lists(
    st.one_of(
        st.tuples(st.just("scalar"), st.integers(0, R - 1)),
        st.tuples(st.just("point"), _points),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(_items)
def test_challenge_is_keccak_of_the_concatenation(items) -> None:
    t = Transcript()
    blob = b""
    for kind, value in items:
        if kind == "scalar":
            t.add_scalar(value)
            blob += value.to_bytes(32, "big")
        else:
            t.add_point(value)
            blob += value[0].to_bytes(32, "big") + value[1].to_bytes(32, "big")
    assert t.data() == blob
    assert t.challenge() == challenge_of(blob)
    assert 0 <= t.challenge() < R


def test_layout_edges() -> None:
    t = Transcript()
    t.add_point(curve.G1_INFINITY)
    assert t.data() == bytes(64)  # infinity: 64 zero bytes (ffjavascript's zeroAffine)
    t.reset()
    t.add_scalar(R - 1)
    t.add_point(curve.G1_GENERATOR)
    assert t.data() == (R - 1).to_bytes(32, "big") + (1).to_bytes(32, "big") + (2).to_bytes(
        32, "big"
    )
    t.reset()
    t.add_scalar(0)
    assert t.data() == bytes(32)
    assert t.challenge() == challenge_of(bytes(32))


def test_challenge_does_not_reset_and_reset_is_not_chained() -> None:
    t = Transcript()
    t.add_scalar(7)
    first = t.challenge()
    assert t.challenge() == first  # challenge() keeps the data
    t.add_scalar(8)
    assert t.challenge() == challenge_of((7).to_bytes(32, "big") + (8).to_bytes(32, "big"))
    t.reset()
    t.add_scalar(8)
    assert t.challenge() == challenge_of((8).to_bytes(32, "big"))  # nothing carried over


@pytest.mark.parametrize("bad", [R, R + 5, -1, 1 << 256])
def test_rejects_non_canonical_scalar(bad: int) -> None:
    with pytest.raises(ValueError):
        Transcript().add_scalar(bad)


@pytest.mark.parametrize("bad", [(P, 2), (1, P), (-1, 2), (1 << 256, 0)])
def test_rejects_non_canonical_point(bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        Transcript().add_point(bad)


def test_empty_transcript_has_no_challenge() -> None:
    """snarkjs throws "No data to generate a transcript"; so do we."""
    t = Transcript()
    with pytest.raises(ValueError):
        t.challenge()
    t.add_scalar(1)
    t.reset()
    with pytest.raises(ValueError):
        t.challenge()


# --- against snarkjs ------------------------------------------------------------------------------


def _pt(point_json: list[str]) -> bytes:
    if point_json == formats.G1_INFINITY_JSON:
        return bytes(64)
    assert point_json[2] == "1"
    return int(point_json[0]).to_bytes(32, "big") + int(point_json[1]).to_bytes(32, "big")


def _sc(value: str | int) -> bytes:
    return int(value).to_bytes(32, "big")


def derive_challenges(case: SnarkjsCase, variant: str = "snarkjs") -> verifier.Challenges:
    """From-scratch Fiat-Shamir straight from the JSON (pycryptodome, no prover code), in
    snarkjs's order or in one of the wrong orders below."""
    vk, pub, proof = case.vk_json, case.public_json, case.proof_json
    vk_part = b"".join(_pt(vk[name]) for name in ("Qm", "Ql", "Qr", "Qo", "Qc", "S1", "S2", "S3"))
    pub_part = b"".join(_sc(x) for x in pub)
    abc = b"".join(_pt(proof[name]) for name in ("A", "B", "C"))
    if variant == "public after A, B, C":
        beta_data = vk_part + abc + pub_part
    elif variant == "no verification key (pre Frozen Heart)":
        beta_data = pub_part + abc
    else:
        beta_data = vk_part + pub_part + abc
    beta = challenge_of(beta_data)
    chained = variant == "chained transcript"
    gamma_data = (beta_data if chained else b"") + _sc(beta)
    gamma = challenge_of(gamma_data)
    alpha_data = (gamma_data if chained else b"") + _sc(beta) + _sc(gamma) + _pt(proof["Z"])
    alpha = challenge_of(alpha_data)
    ts = ["T1", "T2", "T3"] if variant != "T3, T2, T1" else ["T3", "T2", "T1"]
    xi_data = (alpha_data if chained else b"") + _sc(alpha) + b"".join(_pt(proof[t]) for t in ts)
    xi = challenge_of(xi_data)
    evals = ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw")
    v_data = (xi_data if chained else b"") + _sc(xi) + b"".join(_sc(proof[e]) for e in evals)
    v1 = challenge_of(v_data)
    if variant == "independent v_k":
        vs = [challenge_of(v_data + _sc(k)) for k in range(5)]
    else:
        vs = [pow(v1, k, R) for k in range(1, 6)]
    ws = ["Wxi", "Wxiw"] if variant != "Wxiw, Wxi" else ["Wxiw", "Wxi"]
    u = challenge_of((v_data if chained else b"") + b"".join(_pt(proof[w]) for w in ws))
    return verifier.Challenges(beta, gamma, alpha, xi, tuple(vs), u)  # type: ignore[arg-type]


WRONG_ORDERS = [
    "public after A, B, C",
    "no verification key (pre Frozen Heart)",
    "chained transcript",
    "T3, T2, T1",
    "independent v_k",
]


@pytest.fixture(scope="module", params=["onepub", "manypub"])
def case(request: pytest.FixtureRequest, node_tools) -> SnarkjsCase:
    return snarkjs_case(request.param)


@pytest.mark.node
def test_challenges_equal_snarkjs(case: SnarkjsCase) -> None:
    """Ours (prover.transcript via the verifier) == snarkjs's logged values == from scratch."""
    logged = snarkjs_debug_values(case.verify_log)
    ours = verifier.compute_challenges(case.vk, case.public, case.proof)
    assert (ours.beta, ours.gamma, ours.alpha, ours.xi, ours.u) == (
        logged["beta"],
        logged["gamma"],
        logged["alpha"],
        logged["xi"],
        logged["u"],
    )
    assert list(ours.v) == logged["v"]  # v, v^2, ..., v^5
    assert derive_challenges(case) == ours


@pytest.mark.node
def test_recomputed_challenges_make_the_verifier_accept(case: SnarkjsCase, monkeypatch) -> None:
    monkeypatch.setattr(verifier, "compute_challenges", lambda *_: derive_challenges(case))
    assert verifier.verify(case.vk, case.public, case.proof).valid


@pytest.mark.node
@pytest.mark.parametrize("variant", WRONG_ORDERS)
def test_wrong_transcript_order_makes_the_verifier_reject(variant: str, monkeypatch) -> None:
    case = snarkjs_case("manypub")
    wrong = derive_challenges(case, variant)
    assert wrong != derive_challenges(case)
    monkeypatch.setattr(verifier, "compute_challenges", lambda *_: wrong)
    result = verifier.verify(case.vk, case.public, case.proof)
    assert not result.valid and "pairing" in result.reason


@pytest.mark.node
def test_an_honest_proof_verifies_for_any_u(monkeypatch) -> None:
    """u only batches the two KZG openings (at xi and xi w); an honest proof satisfies each
    opening on its own, so it verifies whatever u is, and a wrong u order ("Wxiw, Wxi") cannot
    show up as a rejection. u matters against a cheating prover, who must not know it before
    fixing Wxi and Wxiw; the golden values of ``test_challenges_equal_snarkjs`` pin it."""
    case = snarkjs_case("manypub")
    right = derive_challenges(case)
    wrong = derive_challenges(case, "Wxiw, Wxi")
    assert wrong.u != right.u and wrong.xi == right.xi
    monkeypatch.setattr(verifier, "compute_challenges", lambda *_: wrong)
    assert verifier.verify(case.vk, case.public, case.proof).valid


@pytest.mark.node
def test_one_changed_transcript_input_changes_every_later_challenge(case: SnarkjsCase) -> None:
    """Changing Z (absorbed for alpha) leaves beta, gamma unchanged and changes alpha onwards."""
    from dataclasses import replace

    proof = case.proof
    other = replace(proof, Z=curve.g1_mul(proof.Z, random.Random(1).randrange(2, R)))
    a = verifier.compute_challenges(case.vk, case.public, proof)
    b = verifier.compute_challenges(case.vk, case.public, other)
    assert (a.beta, a.gamma) == (b.beta, b.gamma)
    assert a.alpha != b.alpha and a.xi != b.xi and a.v != b.v
    assert a.u == b.u  # u absorbs only Wxi and Wxiw
