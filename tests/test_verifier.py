"""The plain-Python PLONK verifier (prover/plonk/verifier.py) against snarkjs 0.7.6.

circom circuits with 0, 1 and many public signals are set up and proven by snarkjs itself
(``snarkjs plonk setup`` on a snarkjs-made, contributed ptau; ``snarkjs plonk prove``), except
the circuit without public signals, which snarkjs 0.7.6 cannot prove (recorded below): that one
is proven by ``zkperp plonk prove`` and checked by both verifiers. Then:

- our verifier accepts snarkjs's proofs (issue B acceptance 2), and every intermediate value
  (L_i(xi), PI(xi), r0, [D], [F], [E]) equals the one ``snarkjs plonk verify -v`` logs;
- semantic tampering (each proof point replaced by another valid point, each evaluation +-1,
  each public signal changed, a public signal missing or extra): ours rejects AND snarkjs rejects
  (acceptance 4);
- non-canonical encodings (a coordinate + p, an evaluation + r, a public signal + r): ours
  rejects all three. snarkjs's recorded behaviour: it ACCEPTS the first two (it reduces proof
  values mod p / mod r while parsing) and rejects the third (it checks public signals < r);
- an off-curve point, wrong types, garbage: an invalid result or a FormatError from the parser,
  never an exception out of ``verify``;
- ``zkperp plonk verify`` exit codes: 0 valid, 1 invalid, 2 unreadable or wrong schema.

snarkjs's verdicts on the tampered proofs come from one Node process that calls
``snarkjs.plonk.verify`` (the function ``snarkjs plonk verify`` calls, with a logger as the CLI
passes) on every case; one case is cross-checked through the snarkjs CLI itself. The setup and
the proof are cached on disk (.cache/tests/verifier/), keyed by the circuit, inputs and versions.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from prover import formats, params
from prover.curve import ref as curve
from prover.plonk import verifier
from prover.plonk.keys import VerifyingKey

P = params.P
R = params.R_ORDER
REPO_ROOT = Path(__file__).resolve().parent.parent
CASE_CACHE = REPO_ROOT / ".cache" / "tests" / "verifier"
PTAU_POWER = 8

# --- circuits -------------------------------------------------------------------------------------

NO_PUBLIC = """pragma circom 2.0.0;

template NoPublic() {
    signal input a;
    signal input b;
    signal ab;
    ab <== a * b;
    ab * b === 147;
}

component main = NoPublic();
"""

ONE_PUBLIC = """pragma circom 2.0.0;

template OnePublic() {
    signal input a;
    signal input b;
    signal output c;
    c <== a * b + 3;
}

component main = OnePublic();
"""

MANY_PUBLIC = """pragma circom 2.0.0;

template ManyPublic(N) {
    signal input x[N];       // public
    signal input k;          // private
    signal output y[N];
    signal acc[N + 1];
    acc[0] <== k;
    for (var i = 0; i < N; i++) {
        acc[i + 1] <== acc[i] * x[i];
        y[i] <== acc[i + 1] + x[i] * x[i] + 7;
    }
}

component main {public [x]} = ManyPublic(5);
"""

CIRCUITS: dict[str, tuple[str, dict[str, Any], int]] = {
    # name: (source, inputs, expected nPublic)
    "nopub": (NO_PUBLIC, {"a": 3, "b": 7}, 0),
    "onepub": (ONE_PUBLIC, {"a": 3, "b": 11}, 1),
    "manypub": (MANY_PUBLIC, {"x": [2, 3, 5, 7, str(R - 1)], "k": 13}, 10),
}


@dataclass(frozen=True)
class SnarkjsCase:
    """One circuit set up and proven by snarkjs: the files, their JSON and our parse of it."""

    name: str
    dir: Path
    vk_json: dict
    public_json: list
    proof_json: dict
    verify_log: str  # ``snarkjs plonk verify -v`` output (debug values, colours stripped)

    @property
    def vk_path(self) -> Path:
        return self.dir / "vk.json"

    @property
    def public_path(self) -> Path:
        return self.dir / "public.json"

    @property
    def proof_path(self) -> Path:
        return self.dir / "proof.json"

    @cached_property
    def vk(self) -> VerifyingKey:
        return formats.parse_vk_json(self.vk_json)

    @cached_property
    def public(self) -> list[int]:
        return formats.parse_public_json(self.public_json)

    @cached_property
    def proof(self) -> formats.Proof:
        return formats.parse_proof_json(self.proof_json)


def _snarkjs_version() -> str:
    return json.loads((REPO_ROOT / "node_modules" / "snarkjs" / "package.json").read_text())[
        "version"
    ]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _case_dir(name: str) -> Path:
    source, inputs, _ = CIRCUITS[name]
    key = hashlib.sha256(
        json.dumps([source, inputs, PTAU_POWER, _snarkjs_version()], sort_keys=True).encode()
    ).hexdigest()[:16]
    return CASE_CACHE / f"{name}-{key}"


def snarkjs_setup(name: str) -> tuple[Path, Path]:
    """(directory holding circuit.zkey and vk.json from snarkjs, the witness): cached on disk."""
    from tests.interop import circom_witness, compile_circom, snarkjs, snarkjs_ptau

    source, inputs, _ = CIRCUITS[name]
    out = _case_dir(name)
    build = compile_circom(source, name)
    wtns = circom_witness(build, inputs)
    CASE_CACHE.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "vk.json").is_file():
            ptau = snarkjs_ptau(PTAU_POWER)
            tmp = Path(tempfile.mkdtemp(dir=CASE_CACHE, prefix=f"{name}-"))
            try:
                snarkjs("plonk", "setup", build.r1cs, ptau, tmp / "circuit.zkey")
                snarkjs("zkey", "export", "verificationkey", tmp / "circuit.zkey", tmp / "vk.json")
                shutil.rmtree(out, ignore_errors=True)
                os.replace(tmp, out)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return out, wtns


def _verify_log(d: Path) -> str:
    from tests.interop import snarkjs

    log = snarkjs("plonk", "verify", "-v", d / "vk.json", d / "public.json", d / "proof.json")
    return _ANSI.sub("", log)


def _load_case(name: str, d: Path, log: str) -> SnarkjsCase:
    return SnarkjsCase(
        name=name,
        dir=d,
        vk_json=json.loads((d / "vk.json").read_text()),
        public_json=json.loads((d / "public.json").read_text()),
        proof_json=json.loads((d / "proof.json").read_text()),
        verify_log=log,
    )


def snarkjs_case(name: str) -> SnarkjsCase:
    """snarkjs's setup, proof and verify log for ``CIRCUITS[name]``, cached on disk.

    Not for "nopub": snarkjs 0.7.6 cannot prove a circuit without public signals (see
    ``test_snarkjs_cannot_prove_without_public_signals``); ``zkperp_case`` proves it with ours.
    """
    from tests.interop import snarkjs

    d, wtns = snarkjs_setup(name)
    with open(d.with_name(d.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (d / "verify.log").is_file():
            snarkjs(
                "plonk", "prove", d / "circuit.zkey", wtns, d / "proof.tmp.json",
                d / "public.tmp.json",
            )  # fmt: skip
            os.replace(d / "public.tmp.json", d / "public.json")
            os.replace(d / "proof.tmp.json", d / "proof.json")
            (d / "verify.log").write_text(_verify_log(d))
    return _load_case(name, d, (d / "verify.log").read_text())


def zkperp_case(name: str, work: Path) -> SnarkjsCase:
    """snarkjs's setup, OUR proof (``zkperp plonk prove``, never cached), snarkjs's verify log."""
    from cli.main import zkperp

    d, wtns = snarkjs_setup(name)
    shutil.copy(d / "vk.json", work / "vk.json")
    result = CliRunner().invoke(
        zkperp,
        ["plonk", "prove", str(d / "circuit.zkey"), str(wtns), str(work / "proof.json"),
         str(work / "public.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return _load_case(name, work, _verify_log(work))


def snarkjs_debug_values(log: str) -> dict[str, Any]:
    """What ``snarkjs plonk verify -v`` logs: the challenges (v as a list), L_i, PI, r0, D, F, E."""
    out: dict[str, Any] = {"v": [], "L": []}
    for line in log.splitlines():
        m = re.search(r"snarkJS: (\w+): ([0-9a-f]+)$", line)
        if m:
            name, value = m.group(1), int(m.group(2), 16)
            if name == "v":
                out["v"].append(value)
            else:
                out[name] = value
            continue
        m = re.search(r"snarkJS: L(\d+)\(xi\)=([0-9a-f]+)$", line)
        if m:
            assert int(m.group(1)) == len(out["L"]) + 1
            out["L"].append(int(m.group(2), 16))
            continue
        m = re.search(r"snarkJS: PI\(xi\): ([0-9a-f]+)$", line)
        if m:
            out["PI"] = int(m.group(1), 16)
            continue
        m = re.search(r"snarkJS: ([DFE]): \[ ([0-9a-f]+), ([0-9a-f]+) \]$", line)
        if m:
            out[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    return out


# --- snarkjs's verdicts, many cases in one Node process -------------------------------------------

_BATCH_VERIFY_JS = r"""
const snarkjs = require("snarkjs");
const fs = require("fs");
// plonk_verify.js calls logger.error unconditionally on bad commitments: pass one, as the CLI does.
const quiet = {debug() {}, info() {}, warn() {}, error() {}};
(async () => {
  const cases = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const out = [];
  for (const c of cases) {
    try { out.push(await snarkjs.plonk.verify(c.vk, c.public, c.proof, quiet)); }
    catch (e) { out.push("error: " + e.message); }
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
"""


def snarkjs_verdicts(cases: list[tuple[dict, list, dict]]) -> list[bool | str]:
    """``snarkjs.plonk.verify(vk, public, proof)`` for each case (True/False, or "error: ...")."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump([{"vk": v, "public": p, "proof": pr} for v, p, pr in cases], fh)
    try:
        proc = subprocess.run(
            ["node", "-e", _BATCH_VERIFY_JS, fh.name],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        os.unlink(fh.name)
    assert proc.returncode == 0, proc.stderr[-4000:]
    verdicts = json.loads(proc.stdout)
    assert len(verdicts) == len(cases)
    return verdicts


# --- tampered proofs ------------------------------------------------------------------------------


def _double(point_json: list[str]) -> list[str]:
    pt = (int(point_json[0]), int(point_json[1]))
    return formats.g1_to_json(curve.g1_add(pt, pt))


def _semantic_tampers(case: SnarkjsCase) -> dict[str, tuple[list, dict]]:
    """name -> (public_json, proof_json): well-formed, canonical, and wrong."""
    pub, proof = case.public_json, case.proof_json
    out: dict[str, tuple[list, dict]] = {}

    def with_proof(**changes: Any) -> dict:
        q = copy.deepcopy(proof)
        q.update(changes)
        return q

    for name in formats.PROOF_POINT_NAMES:
        out[f"{name}=2*{name}"] = (pub, with_proof(**{name: _double(proof[name])}))
    out["A=G1"] = (pub, with_proof(A=formats.g1_to_json(curve.G1_GENERATOR)))
    out["Wxi=infinity"] = (pub, with_proof(Wxi=list(formats.G1_INFINITY_JSON)))
    out["A<->B"] = (pub, with_proof(A=proof["B"], B=proof["A"]))
    for name in formats.PROOF_EVAL_NAMES:
        for delta in (1, -1):
            value = str((int(proof[name]) + delta) % R)
            out[f"{name}{delta:+d}"] = (pub, with_proof(**{name: value}))
    for i in range(len(pub)):
        changed = list(pub)
        changed[i] = str((int(pub[i]) + 1) % R)
        out[f"public[{i}]+1"] = (changed, proof)
    if len(pub) >= 2:
        out["public[0]<->public[1]"] = ([pub[1], pub[0], *pub[2:]], proof)
    if pub:
        out["public missing"] = (pub[:-1], proof)
    out["public extra"] = ([*pub, "0"], proof)
    return out


def _non_canonical(case: SnarkjsCase) -> dict[str, tuple[list, dict, bool]]:
    """name -> (public_json, proof_json, snarkjs's recorded verdict): same value, other encoding."""
    pub, proof = case.public_json, case.proof_json
    out: dict[str, tuple[list, dict, bool]] = {}
    for name in formats.PROOF_POINT_NAMES:
        for axis, label in ((0, "x"), (1, "y")):
            q = copy.deepcopy(proof)
            q[name][axis] = str(int(q[name][axis]) + P)
            out[f"{name}.{label}+p"] = (pub, q, True)  # snarkjs reduces mod p and accepts
    for name in formats.PROOF_EVAL_NAMES:
        q = copy.deepcopy(proof)
        q[name] = str(int(q[name]) + R)
        out[f"{name}+r"] = (pub, q, True)  # snarkjs reduces mod r and accepts
    for i in range(len(pub)):
        changed = list(pub)
        changed[i] = str(int(pub[i]) + R)
        out[f"public[{i}]+r"] = (changed, proof, False)  # snarkjs checks public signals < r
    return out


def _off_curve(case: SnarkjsCase) -> dict[str, tuple[list, dict]]:
    pub, proof = case.public_json, case.proof_json
    out = {}
    for name in ("A", "Z", "Wxiw"):
        q = copy.deepcopy(proof)
        q[name][1] = str((int(q[name][1]) + 1) % P)
        out[f"{name} off curve"] = (pub, q)
    return out


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=sorted(CIRCUITS))
def case(request: pytest.FixtureRequest, node_tools, tmp_path_factory) -> SnarkjsCase:
    """The snarkjs proof of each circuit; for "nopub" (which snarkjs cannot prove), ours."""
    if request.param == "nopub":
        return zkperp_case("nopub", tmp_path_factory.mktemp("nopub"))
    return snarkjs_case(request.param)


@pytest.fixture(scope="session")
def many(node_tools) -> SnarkjsCase:
    return snarkjs_case("manypub")


@pytest.fixture(scope="session")
def many_verdicts(many: SnarkjsCase) -> dict[str, bool | str]:
    """snarkjs's verdict on every tampered version of the many-public-signal proof."""
    cases: dict[str, tuple[list, dict]] = {"untouched": (many.public_json, many.proof_json)}
    cases.update(_semantic_tampers(many))
    cases.update({k: (pub, pr) for k, (pub, pr, _) in _non_canonical(many).items()})
    cases.update(_off_curve(many))
    verdicts = snarkjs_verdicts([(many.vk_json, pub, pr) for pub, pr in cases.values()])
    return dict(zip(cases, verdicts))


def _ours(case: SnarkjsCase, public_json: list, proof_json: dict) -> verifier.VerificationResult:
    return verifier.verify(
        case.vk, formats.parse_public_json(public_json), formats.parse_proof_json(proof_json)
    )


# --- acceptance: snarkjs proofs verify with ours --------------------------------------------------


@pytest.mark.node
def test_accepts_snarkjs_proof(case: SnarkjsCase) -> None:
    assert case.vk.n_public == CIRCUITS[case.name][2]
    assert "OK!" in case.verify_log
    result = verifier.verify(case.vk, case.public, case.proof)
    assert result == verifier.VerificationResult(True, "OK")
    assert result  # truthy iff valid
    assert verifier.is_valid(case.vk, case.public, case.proof)


@pytest.mark.node
def test_intermediate_values_equal_snarkjs_debug_log(case: SnarkjsCase) -> None:
    """L_i(xi), PI(xi), r0, [D], [F], [E] (steps 5-11) equal what snarkjs's verifier logs."""
    logged = snarkjs_debug_values(case.verify_log)
    vk, public, proof = case.vk, case.public, case.proof
    ch = verifier.compute_challenges(vk, public, proof)
    xin, zh = verifier.vanishing_at(vk, ch.xi)
    lagrange = verifier.lagrange_at(vk, ch.xi, zh)
    assert lagrange == logged["L"]
    assert len(lagrange) == max(1, vk.n_public)
    pi = verifier.public_input_at(public, lagrange)
    assert pi == logged["PI"]
    r0 = verifier.linearisation_constant(proof, ch, pi, lagrange[0])
    assert r0 == logged["r0"]
    d = verifier.partial_commitment(vk, proof, ch, lagrange[0], xin, zh)
    assert d == logged["D"]
    f = verifier.full_commitment(vk, proof, ch, d)
    assert f == logged["F"]
    e = verifier.batch_evaluation(proof, ch, r0)
    assert e == logged["E"]
    assert verifier.pairing_holds(vk, proof, ch, f, e)


@pytest.mark.node
def test_snarkjs_cannot_prove_without_public_signals(tmp_path: Path) -> None:
    """Recorded snarkjs 0.7.6 behaviour: ``plonk setup`` accepts a circuit with no public signal,
    but ``plonk prove`` fails (plonk_prove.js reads L_1's evaluations from a buffer of
    4n * nPublic = 0 elements). Its verifier handles nPublic = 0 (it uses max(1, nPublic))."""
    from tests.interop import SnarkjsError, snarkjs

    d, wtns = snarkjs_setup("nopub")
    assert json.loads((d / "vk.json").read_text())["nPublic"] == 0
    with pytest.raises(SnarkjsError, match="out of bounds"):
        snarkjs(
            "plonk", "prove", d / "circuit.zkey", wtns, tmp_path / "p.json", tmp_path / "pub.json"
        )


@pytest.mark.node
def test_lagrange_matches_definition(many: SnarkjsCase) -> None:
    """L_i(xi) from snarkjs's closed form equals prod_{j != i} (xi - w^j) / (w^i - w^j)."""
    vk = many.vk
    xi = 1234567
    _, zh = verifier.vanishing_at(vk, xi)
    n = vk.domain_size
    roots = [pow(vk.w, j, R) for j in range(n)]
    for i, value in enumerate(verifier.lagrange_at(vk, xi, zh)):
        num = den = 1
        for j in range(n):
            if j != i:
                num = num * (xi - roots[j]) % R
                den = den * (roots[i] - roots[j]) % R
        assert value == num * pow(den, -1, R) % R


# --- tampering ------------------------------------------------------------------------------------


@pytest.mark.node
def test_batch_harness_matches_snarkjs_cli(many: SnarkjsCase, many_verdicts, tmp_path) -> None:
    """The in-process verdicts are the CLI's: untouched valid, eval_a+1 invalid, in both."""
    from tests.interop import snarkjs_ok

    assert many_verdicts["untouched"] is True
    assert snarkjs_ok("plonk", "verify", many.vk_path, many.public_path, many.proof_path)
    pub, proof = _semantic_tampers(many)["eval_a+1"]
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    assert many_verdicts["eval_a+1"] is False
    assert not snarkjs_ok(
        "plonk", "verify", many.vk_path, many.public_path, tmp_path / "proof.json"
    )


def _semantic_names() -> list[str]:
    # The names only depend on the circuit's public-signal count (10 for "manypub").
    fake = SnarkjsCase(
        "manypub", Path("."), {}, ["1"] * CIRCUITS["manypub"][2],
        {**{n: ["1", "2", "1"] for n in formats.PROOF_POINT_NAMES},
         **{n: "5" for n in formats.PROOF_EVAL_NAMES}},
        "",
    )  # fmt: skip
    return list(_semantic_tampers(fake))


@pytest.mark.node
@pytest.mark.parametrize("tamper", _semantic_names())
def test_semantic_tampering_rejected_by_both(many: SnarkjsCase, many_verdicts, tamper) -> None:
    pub, proof = _semantic_tampers(many)[tamper]
    result = _ours(many, pub, proof)
    assert not result.valid
    if tamper.startswith("public missing") or tamper.startswith("public extra"):
        assert "wrong number of public signals" in result.reason
    else:
        assert "pairing check failed" in result.reason
    assert many_verdicts[tamper] is False


@pytest.mark.node
def test_non_canonical_rejected_by_ours_snarkjs_behaviour_recorded(
    many: SnarkjsCase, many_verdicts
):
    """Ours rejects coordinate + p, evaluation + r and public + r; snarkjs 0.7.6 accepts the
    first two (it reduces mod p / mod r while parsing) and rejects the third. If this fails
    because snarkjs changed, update the record (and the notes), not our verifier."""
    for name, (pub, proof, snarkjs_accepts) in _non_canonical(many).items():
        result = _ours(many, pub, proof)
        assert not result.valid, name
        assert "non-canonical" in result.reason, (name, result.reason)
        assert many_verdicts[name] is snarkjs_accepts, (name, many_verdicts[name])


@pytest.mark.node
def test_off_curve_rejected_by_both(many: SnarkjsCase, many_verdicts) -> None:
    for name, (pub, proof) in _off_curve(many).items():
        result = _ours(many, pub, proof)
        assert not result.valid
        assert "not on the curve" in result.reason
        assert many_verdicts[name] is False, name


@pytest.mark.node
def test_public_signal_count_must_match(case: SnarkjsCase) -> None:
    """A public signal appended to a 0-public proof, or one removed from a 1-public proof."""
    vk, public, proof = case.vk, case.public, case.proof
    assert not verifier.verify(vk, [*public, 1], proof).valid
    if public:
        assert not verifier.verify(vk, public[:-1], proof).valid


# --- malformed input: never an exception ---------------------------------------------------------


def _garbage_proofs(proof: formats.Proof) -> dict[str, Any]:
    return {
        "point a string": replace(proof, A="garbage"),
        "point of 3": replace(proof, B=(1, 2, 1)),
        "point of floats": replace(proof, C=(1.0, 2.0)),
        "point of bools": replace(proof, Z=(True, True)),
        "point None": replace(proof, T1=None),
        "negative coordinate": replace(proof, T2=(-1, 2)),
        "huge coordinate": replace(proof, T3=(1 << 4000, 2)),
        "(0, 0) is infinity, but (p, 0) is not": replace(proof, Wxi=(P, 0)),
        "eval None": replace(proof, eval_a=None),
        "eval string": replace(proof, eval_b="5"),
        "eval negative": replace(proof, eval_c=-1),
        "eval bool": replace(proof, eval_s1=True),
        "eval float": replace(proof, eval_zw=1.5),
        "not a proof": {"A": proof.A},
    }


@pytest.mark.node
def test_garbage_never_raises(many: SnarkjsCase) -> None:
    vk, public, proof = many.vk, many.public, many.proof
    for name, bad in _garbage_proofs(proof).items():
        result = verifier.verify(vk, public, bad)
        assert isinstance(result, verifier.VerificationResult), name
        assert not result.valid, name
        assert result.reason
    for bad_public in (None, "12", b"12", [str(x) for x in public], [*public[:-1], 1.0],
                       [*public[:-1], None], [*public[:-1], -1], 5, {0: 1}):  # fmt: skip
        result = verifier.verify(vk, bad_public, proof)
        assert not result.valid, bad_public
    with pytest.raises(TypeError):
        verifier.verify(many.vk_json, public, proof)  # a vk must be parsed first


@pytest.mark.node
def test_infinity_points_are_checked_not_crashed(many: SnarkjsCase) -> None:
    """Every proof point at infinity (snarkjs allows infinity): a clean rejection."""
    vk, public, proof = many.vk, many.public, many.proof
    inf = {name: curve.G1_INFINITY for name in formats.PROOF_POINT_NAMES}
    result = verifier.verify(vk, public, replace(proof, **inf))
    assert not result.valid and "pairing" in result.reason


def test_xi_in_domain_is_rejected_not_crashed(monkeypatch) -> None:
    """If xi fell in H, L_i(xi) would divide by zero: ``verify`` says so instead."""
    vk = _toy_vk()
    proof = _toy_proof()
    fake = verifier.Challenges(1, 2, 3, vk.w, (1, 1, 1, 1, 1), 4)
    monkeypatch.setattr(verifier, "compute_challenges", lambda *_: fake)
    result = verifier.verify(vk, [], proof)
    assert not result.valid and "domain" in result.reason


def _toy_vk() -> VerifyingKey:
    g = curve.G1_GENERATOR
    return VerifyingKey(
        n_public=0, power=3, k1=2, k2=3, Qm=g, Ql=g, Qr=g, Qo=g, Qc=g, S1=g, S2=g, S3=g,
        X_2=curve.G2_GENERATOR, w=params.fr_root_of_unity(3),
    )  # fmt: skip


def _toy_proof() -> formats.Proof:
    g = curve.G1_GENERATOR
    pts = {name: g for name in formats.PROOF_POINT_NAMES}
    return formats.Proof(**pts, eval_a=1, eval_b=2, eval_c=3, eval_s1=4, eval_s2=5, eval_zw=6)


def test_toy_proof_is_rejected_by_the_pairing() -> None:
    """No Node needed: a well-formed but meaningless proof reaches the pairing and fails."""
    result = verifier.verify(_toy_vk(), [], _toy_proof())
    assert result == verifier.VerificationResult(False, result.reason)
    assert "pairing check failed" in result.reason
    assert not verifier.is_valid(_toy_vk(), [], _toy_proof())
    assert not verifier.verify(_toy_vk(), [1], _toy_proof()).valid


# --- the CLI --------------------------------------------------------------------------------------


def _cli(*args: str | Path, cwd: Path | None = None) -> tuple[int, str]:
    from cli.main import zkperp

    runner = CliRunner()
    if cwd is None:
        result = runner.invoke(zkperp, ["plonk", "verify", *map(str, args)], prog_name="zkperp")
    else:
        old = os.getcwd()
        os.chdir(cwd)
        try:
            result = runner.invoke(zkperp, ["plonk", "verify", *map(str, args)])
        finally:
            os.chdir(old)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.node
def test_cli_valid_exits_0(many: SnarkjsCase) -> None:
    code, out = _cli(many.vk_path, many.public_path, many.proof_path)
    assert (code, out.strip()) == (0, "OK!")


@pytest.mark.node
def test_cli_defaults_like_snarkjs(many: SnarkjsCase, tmp_path: Path) -> None:
    shutil.copy(many.vk_path, tmp_path / "verification_key.json")
    shutil.copy(many.public_path, tmp_path / "public.json")
    shutil.copy(many.proof_path, tmp_path / "proof.json")
    code, out = _cli(cwd=tmp_path)
    assert (code, out.strip()) == (0, "OK!")
    code, out = _cli("-v", cwd=tmp_path)
    assert code == 0 and "xi: 0x" in out and out.strip().endswith("OK!")


@pytest.mark.node
def test_cli_invalid_exits_1(many: SnarkjsCase, tmp_path: Path) -> None:
    pub, proof = _semantic_tampers(many)["eval_zw-1"]
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    code, out = _cli(many.vk_path, many.public_path, tmp_path / "proof.json")
    assert code == 1
    assert "Invalid proof: the pairing check failed" in out
    pub, proof, _ = _non_canonical(many)["public[0]+r"]
    (tmp_path / "public.json").write_text(json.dumps(pub))
    code, out = _cli(many.vk_path, tmp_path / "public.json", many.proof_path)
    assert code == 1 and "non-canonical" in out


@pytest.mark.node
def test_cli_bad_input_exits_2(many: SnarkjsCase, tmp_path: Path) -> None:
    vk, pub, proof = many.vk_path, many.public_path, many.proof_path
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"A": [1, 2')
    wrong_proof = tmp_path / "groth.json"
    wrong_proof.write_text(json.dumps({**many.proof_json, "protocol": "groth16"}))
    wrong_public = tmp_path / "pubobj.json"
    wrong_public.write_text(json.dumps({"0": "1"}))
    wrong_vk = tmp_path / "vk_missing.json"
    wrong_vk.write_text(json.dumps({k: v for k, v in many.vk_json.items() if k != "X_2"}))
    numbers_public = tmp_path / "pubnum.json"
    numbers_public.write_text(json.dumps([int(x) for x in many.public_json]))
    cases = {
        "missing file": (tmp_path / "nope.json", pub, proof, "cannot read"),
        "a directory": (vk, tmp_path, proof, "cannot read"),
        "invalid JSON": (vk, pub, bad_json, "invalid JSON"),
        "wrong proof schema": (vk, pub, wrong_proof, "protocol"),
        "wrong public schema": (vk, wrong_public, proof, "must be a JSON list"),
        "numbers in public": (vk, numbers_public, proof, "decimal string"),
        "wrong vk schema": (wrong_vk, pub, proof, "X_2"),
        "a proof given as vk": (proof, pub, proof, "verification key"),
    }
    for name, (a, b, c, needle) in cases.items():
        code, out = _cli(a, b, c)
        assert code == 2, (name, out)
        assert out.startswith("Error: ") and out.count("\n") == 1, (name, out)
        assert needle in out, (name, out)
