"""prover/formats.py: snarkjs 0.7.6's proof.json, public.json and verification_key.json.

- Files written by snarkjs (``plonk prove``, ``zkey export verificationkey``) parse, and
  re-serialise byte for byte (one-space indent, no trailing newline); the parsed key equals the
  one read from the zkey (``prover.zkey``) and one built by hand from the JSON's numbers.
- The readers are strict about the schema (missing, unknown or duplicated keys, JSON types,
  lengths, canonical decimal strings, protocol, curve, z) and raise a FormatError (a ValueError);
  the proof and public readers keep non-canonical VALUES (>= p, >= r) for the verifier to reject.
  The vk reader checks everything (canonical, on the curve, X_2 in G2, w, k1/k2, nPublic).
- The writers refuse what snarkjs would never write.
- ``load_json``: unreadable files and bad JSON are one-line FormatErrors.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import formats, params
from prover.curve import ref as curve
from prover.formats import (
    FormatError,
    Proof,
    ProofFormatError,
    PublicFormatError,
    VkFormatError,
)
from prover.plonk.keys import VerifyingKey
from tests.test_verifier import SnarkjsCase, snarkjs_case, snarkjs_setup

P = params.P
R = params.R_ORDER


@pytest.fixture(scope="module", params=["onepub", "manypub"])
def case(request: pytest.FixtureRequest, node_tools) -> SnarkjsCase:
    return snarkjs_case(request.param)


@pytest.fixture(scope="module")
def many(node_tools) -> SnarkjsCase:
    return snarkjs_case("manypub")


# --- snarkjs's own files ------------------------------------------------------------------------


@pytest.mark.node
def test_snarkjs_files_round_trip_byte_for_byte(case: SnarkjsCase) -> None:
    vk_text = case.vk_path.read_text()
    public_text = case.public_path.read_text()
    proof_text = case.proof_path.read_text()
    vk = formats.parse_vk_json(formats.load_json(case.vk_path))
    public = formats.parse_public_json(formats.load_json(case.public_path))
    proof = formats.parse_proof_json(formats.load_json(case.proof_path))
    assert formats.dumps_json(formats.vk_to_json(vk)) == vk_text
    assert formats.dumps_json(formats.public_to_json(public)) == public_text
    assert formats.dumps_json(formats.proof_to_json(proof)) == proof_text
    assert not proof_text.endswith("\n")  # snarkjs (bfj) writes no trailing newline
    assert list(json.loads(proof_text)) == list(formats.PROOF_KEYS)
    assert list(json.loads(vk_text)) == list(formats.VK_KEYS)


@pytest.mark.node
def test_write_json_writes_snarkjs_bytes(case: SnarkjsCase, tmp_path: Path) -> None:
    formats.write_json(tmp_path / "proof.json", formats.proof_to_json(case.proof))
    assert (tmp_path / "proof.json").read_bytes() == case.proof_path.read_bytes()


@pytest.mark.node
@pytest.mark.parametrize("name", ["nopub", "onepub", "manypub"])
def test_vk_equals_our_model_and_the_zkey(name: str, node_tools) -> None:
    """parse_vk_json(snarkjs's vk.json) == the key read from the zkey == one built by hand; the
    "nopub" key has commitments at infinity (["0", "1", "0"])."""
    from prover.zkey import read_verifying_key

    d, _ = snarkjs_setup(name)
    obj = json.loads((d / "vk.json").read_text())
    vk = formats.parse_vk_json(obj)

    def g1(v: list[str]) -> tuple[int, int]:
        return (0, 0) if v[2] == "0" else (int(v[0]), int(v[1]))

    by_hand = VerifyingKey(
        n_public=obj["nPublic"],
        power=obj["power"],
        k1=2,
        k2=3,
        X_2=(tuple(map(int, obj["X_2"][0])), tuple(map(int, obj["X_2"][1]))),  # type: ignore[arg-type]
        w=params.fr_root_of_unity(obj["power"]),
        **{n: g1(obj[n]) for n in ("Qm", "Ql", "Qr", "Qo", "Qc", "S1", "S2", "S3")},
    )
    assert vk == by_hand
    assert vk == read_verifying_key(d / "circuit.zkey")
    assert formats.dumps_json(formats.vk_to_json(vk)) == (d / "vk.json").read_text()
    if name == "nopub":
        assert vk.n_public == 0 and curve.G1_INFINITY in vk.commitments()


# --- proof.json: strict schema, raw values ----------------------------------------------------


def _valid_proof() -> Proof:
    g = curve.G1_GENERATOR
    pts = {name: curve.g1_mul(g, i + 2) for i, name in enumerate(formats.PROOF_POINT_NAMES)}
    pts["T3"] = curve.G1_INFINITY
    evals = {name: R - 1 - i for i, name in enumerate(formats.PROOF_EVAL_NAMES)}
    return Proof(**pts, **evals)


def _proof_json() -> dict[str, Any]:
    return formats.proof_to_json(_valid_proof())


def _mutated(path: tuple, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(_proof_json())
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


_DELETE = object()

BAD_PROOFS: dict[str, tuple[Any, str]] = {
    "not an object": ([], "must be a JSON object"),
    "missing eval_zw": (_mutated(("eval_zw",), _DELETE), "lacks key(s) eval_zw"),
    "missing protocol": (_mutated(("protocol",), _DELETE), "lacks key(s) protocol"),
    "unknown key": ({**_proof_json(), "publicSignals": []}, "unknown key(s) publicSignals"),
    "groth16": (_mutated(("protocol",), "groth16"), "protocol must be 'plonk'"),
    "fflonk": (_mutated(("protocol",), "fflonk"), "protocol must be 'plonk'"),
    "other curve": (_mutated(("curve",), "bls12381"), "curve must be 'bn128'"),
    "point a string": (_mutated(("A",), "1"), "must be a list of 3"),
    "point of 2": (_mutated(("A",), ["1", "2"]), "must be a list of 3"),
    "point of 4": (_mutated(("B",), ["1", "2", "1", "0"]), "must be a list of 3"),
    "coordinate a number": (_mutated(("C", 0), 1), "decimal string, got a number"),
    "coordinate null": (_mutated(("C", 1), None), "decimal string, got null"),
    "coordinate hex": (_mutated(("Z", 0), "0x1"), "not a canonical decimal"),
    "coordinate negative": (_mutated(("Z", 1), "-1"), "not a canonical decimal"),
    "coordinate empty": (_mutated(("T1", 0), ""), "not a canonical decimal"),
    "coordinate blank": (_mutated(("T1", 0), " 1"), "not a canonical decimal"),
    "coordinate leading zero": (_mutated(("T1", 1), "01"), "not a canonical decimal"),
    "coordinate decimal point": (_mutated(("T2", 0), "1.0"), "not a canonical decimal"),
    "coordinate exponent": (_mutated(("T2", 0), "1e3"), "not a canonical decimal"),
    "coordinate unicode digits": (_mutated(("T2", 0), "\u0661"), "not a canonical decimal"),
    "coordinate 200 digits": (_mutated(("T2", 1), "9" * 200), "too long"),
    "z = 2 (projective)": (_mutated(("Wxi", 2), "2"), "z must be 1"),
    "z = 1 + r": (_mutated(("Wxi", 2), str(1 + R)), "z must be 1"),
    "z = 0, not the infinity form": (_mutated(("Wxiw",), ["5", "7", "0"]), "infinity"),
    "(0, 0) affine": (_mutated(("Wxiw",), ["0", "0", "1"]), "not a curve point"),
    "eval a number": (_mutated(("eval_a",), 5), "decimal string, got a number"),
    "eval a bool": (_mutated(("eval_b",), True), "decimal string, got a boolean"),
    "eval a list": (_mutated(("eval_c",), ["5"]), "decimal string, got a list"),
    "eval negative": (_mutated(("eval_s1",), "-5"), "not a canonical decimal"),
    "eval hex": (_mutated(("eval_s2",), "0xff"), "not a canonical decimal"),
}


@pytest.mark.parametrize("name", list(BAD_PROOFS))
def test_proof_schema_errors(name: str) -> None:
    obj, needle = BAD_PROOFS[name]
    with pytest.raises(ProofFormatError) as info:
        formats.parse_proof_json(obj)
    assert needle in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, FormatError)


def test_proof_parse_keeps_non_canonical_values_for_the_verifier() -> None:
    proof = _valid_proof()
    obj = _proof_json()
    obj["A"][0] = str(proof.A[0] + P)
    obj["B"][1] = str(proof.B[1] + 5 * P)
    obj["C"][1] = str(proof.C[1] + 1)  # off the curve
    obj["eval_a"] = str(proof.eval_a + R)
    obj["eval_zw"] = str((1 << 256) + 7)
    parsed = formats.parse_proof_json(obj)
    assert parsed.A == (proof.A[0] + P, proof.A[1])
    assert parsed.B == (proof.B[0], proof.B[1] + 5 * P)
    assert parsed.C == (proof.C[0], proof.C[1] + 1)
    assert parsed.eval_a == proof.eval_a + R
    assert parsed.eval_zw == (1 << 256) + 7


def test_proof_key_order_and_infinity() -> None:
    obj = _proof_json()
    assert list(obj) == list(formats.PROOF_KEYS)
    assert obj["T3"] == ["0", "1", "0"]
    assert obj["A"] == [str(c) for c in curve.g1_mul(curve.G1_GENERATOR, 2)] + ["1"]
    assert (obj["protocol"], obj["curve"]) == ("plonk", "bn128")
    assert formats.parse_proof_json(obj).T3 == curve.G1_INFINITY


_g1 = st.one_of(
    st.just(curve.G1_INFINITY),
    st.integers(1, R - 1).map(lambda k: curve.g1_mul(curve.G1_GENERATOR, k)),
)


@settings(max_examples=15, deadline=None)
@given(
    st.fixed_dictionaries({name: _g1 for name in formats.PROOF_POINT_NAMES}),
    st.fixed_dictionaries({name: st.integers(0, R - 1) for name in formats.PROOF_EVAL_NAMES}),
)
def test_proof_round_trip(points, evals) -> None:
    proof = Proof(**points, **evals)
    text = formats.dumps_json(formats.proof_to_json(proof))
    assert formats.parse_proof_json(formats.loads_json(text)) == proof


@pytest.mark.parametrize(
    "change",
    [
        {"eval_a": R},
        {"eval_b": -1},
        {"eval_c": True},
        {"A": (P, 2)},
        {"B": (1, 3)},  # off the curve
        {"C": (1, 2, 1)},
        {"Z": None},
    ],
)
def test_proof_writer_refuses_what_snarkjs_would_not_write(change: dict) -> None:
    with pytest.raises(ValueError):
        formats.proof_to_json(replace(_valid_proof(), **change))


# --- public.json ---------------------------------------------------------------------------------


def test_public_round_trip_and_raw_values() -> None:
    values = [0, 1, R - 1, 12345]
    assert formats.public_to_json(values) == ["0", "1", str(R - 1), "12345"]
    assert formats.parse_public_json(formats.public_to_json(values)) == values
    assert formats.parse_public_json([]) == []
    assert formats.dumps_json(formats.public_to_json([])) == "[]"
    assert formats.parse_public_json([str(R), str(R + 5)]) == [R, R + 5]  # kept for the verifier


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ({"0": "1"}, "must be a JSON list, got an object"),
        ("1", "must be a JSON list, got a string"),
        (None, "must be a JSON list, got null"),
        ([1, 2], "public signal 0 must be a decimal string, got a number"),
        (["1", ["2"]], "public signal 1 must be a decimal string, got a list"),
        (["0x10"], "not a canonical decimal"),
        (["-1"], "not a canonical decimal"),
        (["007"], "not a canonical decimal"),
    ],
)
def test_public_schema_errors(obj: Any, needle: str) -> None:
    with pytest.raises(PublicFormatError) as info:
        formats.parse_public_json(obj)
    assert needle in str(info.value)


@pytest.mark.parametrize("bad", [[R], [-1], [True], ["1"], [1.0]])
def test_public_writer_refuses_non_canonical(bad: list) -> None:
    with pytest.raises(ValueError):
        formats.public_to_json(bad)


# --- vk.json --------------------------------------------------------------------------------------


def _twist_point_outside_g2() -> curve.G2Point:
    for i in range(1, 100):
        x = (i, 1)
        rhs = curve.fq2_add(curve.fq2_mul(curve.fq2_sqr(x), x), curve.TWIST_B)
        y = curve.fq2_sqrt(rhs)
        if y is not None and not curve.is_in_g2_subgroup((x, y)):
            return (x, y)
    raise AssertionError("no twist point found")


def _g2_json(pt: curve.G2Point) -> list:
    (x0, x1), (y0, y1) = pt
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def _vk_variants(vk_json: dict) -> dict[str, tuple[dict, str]]:
    def m(**changes: Any) -> dict:
        out = copy.deepcopy(vk_json)
        for k, v in changes.items():
            if v is _DELETE:
                del out[k]
            else:
                out[k] = v
        return out

    qm = vk_json["Qm"]
    x2 = vk_json["X_2"]
    n = 1 << vk_json["power"]
    w = params.fr_root_of_unity(vk_json["power"])
    return {
        "not an object": ([vk_json], "must be a JSON object"),  # type: ignore[dict-item]
        "missing w": (m(w=_DELETE), "lacks key(s) w"),
        "unknown key": ({**vk_json, "nConstraints": 5}, "unknown key(s) nConstraints"),
        "groth16": (m(protocol="groth16"), "protocol must be 'plonk'"),
        "other curve": (m(curve="bls12381"), "curve must be 'bn128'"),
        "nPublic a string": (m(nPublic=str(vk_json["nPublic"])), "nPublic must be a JSON integer"),
        "nPublic a bool": (m(nPublic=True), "nPublic must be a JSON integer"),
        "nPublic a float": (m(nPublic=1.0), "nPublic must be a JSON integer"),
        "nPublic negative": (m(nPublic=-1), "nPublic must be in"),
        "nPublic > n": (m(nPublic=n + 1), "nPublic must be in"),
        "power 29": (m(power=29), "power must be in"),
        "power a string": (m(power="5"), "power must be a JSON integer"),
        "k1 a number": (m(k1=2), "decimal string"),
        "k1 non-canonical": (m(k1=str(2 + R)), "not a canonical Fr element"),
        "k1 = k2": (m(k1="3"), "not disjoint cosets"),
        "k1 in H": (m(k1=str(w)), "not disjoint cosets"),
        "k2 zero": (m(k2="0"), "non-zero"),
        "k2 = k1 * w": (m(k2=str(2 * w % R)), "not disjoint cosets"),
        "w wrong": (m(w=str(w * w % R)), "w is not the generator"),
        "w non-canonical": (m(w=str(w + R)), "not a canonical Fr element"),
        "Qm off curve": (m(Qm=[qm[0], str((int(qm[1]) + 1) % P), "1"]), "not on the curve"),
        "Qm x + p": (m(Qm=[str(int(qm[0]) + P), qm[1], "1"]), "not a canonical Fq element"),
        "Qm (0, 0)": (m(Qm=["0", "0", "1"]), "not a curve point"),
        "Qm projective": (m(Qm=[qm[0], qm[1], "2"]), "z must be 1"),
        "S3 of 2": (m(S3=["1", "2"]), "must be a list of 3"),
        "X_2 off the twist": (
            m(X_2=[x2[0], [x2[1][0], str((int(x2[1][1]) + 1) % P)], ["1", "0"]]),
            "not on the twist",
        ),
        "X_2 outside G2": (m(X_2=_g2_json(_twist_point_outside_g2())), "subgroup"),
        "X_2 infinity": (m(X_2=[["0", "0"], ["1", "0"], ["0", "0"]]), "not infinity"),
        "X_2 z = (1, 1)": (m(X_2=[x2[0], x2[1], ["1", "1"]]), "must be affine"),
        "X_2 of 2": (m(X_2=[x2[0], x2[1]]), "must be a list of 3"),
        "X_2 coordinate of 3": (m(X_2=[[*x2[0], "0"], x2[1], x2[2]]), "must be a list of 2"),
        "X_2 coordinate + p": (
            m(X_2=[[str(int(x2[0][0]) + P), x2[0][1]], x2[1], x2[2]]),
            "not a canonical Fq element",
        ),
    }


@pytest.mark.node
def test_vk_schema_and_validity_errors(many: SnarkjsCase) -> None:
    assert formats.parse_vk_json(many.vk_json) == many.vk  # the untouched key parses
    for name, (obj, needle) in _vk_variants(many.vk_json).items():
        with pytest.raises(VkFormatError) as info:
            formats.parse_vk_json(obj)
        assert needle in str(info.value), (name, str(info.value))


def test_twist_point_outside_g2_is_on_the_twist() -> None:
    """The X_2 test above really uses a point on the twist (it must fail the subgroup check)."""
    pt = _twist_point_outside_g2()
    assert curve.is_on_twist(pt) and not curve.is_in_g2_subgroup(pt)


def _toy_vk(**changes: Any) -> VerifyingKey:
    g = curve.G1_GENERATOR
    fields = dict(
        n_public=1, power=3, k1=2, k2=3, Qm=g, Ql=g, Qr=curve.G1_INFINITY, Qo=g, Qc=g, S1=g,
        S2=g, S3=g, X_2=curve.G2_GENERATOR, w=params.fr_root_of_unity(3),
    )  # fmt: skip
    fields.update(changes)
    return VerifyingKey(**fields)  # type: ignore[arg-type]


def test_vk_round_trip_without_node() -> None:
    vk = _toy_vk()
    obj = formats.vk_to_json(vk)
    assert list(obj) == list(formats.VK_KEYS)
    assert obj["Qr"] == ["0", "1", "0"]
    assert obj["X_2"][2] == ["1", "0"]
    assert formats.parse_vk_json(formats.loads_json(formats.dumps_json(obj))) == vk


@pytest.mark.parametrize(
    "change",
    [
        {"w": 5},
        {"k1": R},
        {"Qm": (1, 3)},
        {"S1": (P, 2)},
        {"X_2": ((1, 0), (1, 0))},
        {"X_2": curve.G2_INFINITY},
    ],
)
def test_vk_writer_refuses_invalid_keys(change: dict) -> None:
    with pytest.raises(ValueError):
        formats.vk_to_json(_toy_vk(**change))


# --- load_json ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"a": [1, 2', "invalid JSON: Expecting"),
        (b"", "invalid JSON: Expecting value (line 1, column 1)"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b'{"a": "1", "a": "2"}', "duplicate key 'a'"),
        (b"\xff\xfe\x00garbage", "invalid JSON"),
    ],
)
def test_load_json_bad_content(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(FormatError) as info:
        formats.load_json(path)
    message = str(info.value)
    assert message.startswith(str(path)) and needle in message, message
    assert "\n" not in message


def test_load_json_unreadable(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read: No such file"):
        formats.load_json(tmp_path / "missing.json")
    with pytest.raises(FormatError, match="cannot read: Is a directory"):
        formats.load_json(tmp_path)


def test_load_json_good(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    formats.write_json(path, {"b": ["1", "2"], "a": 3})
    assert path.read_text() == '{\n "b": [\n  "1",\n  "2"\n ],\n "a": 3\n}'
    assert formats.load_json(path) == {"b": ["1", "2"], "a": 3}
