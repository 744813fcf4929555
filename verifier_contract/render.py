"""Render the Solidity PLONK verifier of a verifying key, and the calldata it takes.

The template, ``templates/PlonkVerifier.sol.tmpl`` (``string.Template``: ``${NAME}``
placeholders), computes what ``prover.plonk.verifier`` computes (ePrint 2019/953 section 8.3
as snarkjs 0.7.6's ``plonk_verify.js``: the same transcript, r0, [D], [F], [E] and pairing),
expanded into one multi-scalar multiplication with the BN254 precompiles: ecAdd (0x06), ecMul
(0x07), the pairing (0x08), and modexp (0x05) for the one field inversion. It accepts exactly
the proofs our Python verifier accepts: every proof coordinate < p and on the curve ((0, 0) is
infinity), every evaluation < r, every public signal < r.

The ABI is snarkjs's (``templates/verifier_plonk.sol.ejs``):
``verifyProof(uint256[24] proof, uint256[nPublic] pubSignals) returns (bool)``, the proof words
in snarkjs's order (``proof_words``), so ``snarkjs zkey export soliditycalldata`` output calls
either contract. With no public signals the second parameter is a ``uint256[]`` that must be
empty: Solidity has no ``uint256[0]`` (snarkjs's template does not compile for nPublic = 0).

``solidity_calldata`` prints the arguments as ``snarkjs zkey export soliditycalldata`` does,
byte for byte (``plonk_exportsoliditycalldata.js``), except for a proof point at infinity:
snarkjs writes its proof.json form (0, 1), which no verifier contract accepts; we write (0, 0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from string import Template

from prover import params
from prover.formats import PROOF_EVAL_NAMES, PROOF_POINT_NAMES, Proof
from prover.plonk.keys import COMMITMENT_NAMES, VerifyingKey
from verifier_contract.compile import SOLC_VERSION, CompiledContract, compile_contract

P = params.P
R = params.R_ORDER
WORD = 1 << 256
PROOF_WORDS = 2 * len(PROOF_POINT_NAMES) + len(PROOF_EVAL_NAMES)  # 24
VERIFIER_CONTRACT_NAME = "PlonkVerifier"
TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "PlonkVerifier.sol.tmpl"

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_INDENT = " " * 16


class RenderError(ValueError):
    """The verifying key or the arguments cannot be rendered (bad name, values out of range)."""


def _template() -> Template:
    return Template(TEMPLATE_PATH.read_text())


def _public_input_code(n_public: int) -> str:
    """Step 3 of the template: num (and den, rest) over the public signals, each checked < r."""
    if n_public == 0:
        return f"{_INDENT}let num := 0"
    lines = [
        "let num := calldataload(pubSignals)",
        "ok := and(ok, lt(num, R))",
    ]
    if n_public > 1:
        lines += [
            "let w := 1",
            f"for {{ let o := add(pubSignals, 0x20) }} lt(o, add(pubSignals, {32 * n_public:#x})) "
            "{ o := add(o, 0x20) } {",
            "    let x := calldataload(o)",
            "    ok := and(ok, lt(x, R))",
            "    w := mulmod(w, W1, R)",
            "    let d := addmod(xi, sub(R, w), R)",
            "    num := addmod(mulmod(num, d, R), mulmod(mulmod(x, w, R), den, R), R)",
            "    den := mulmod(den, d, R)",
            "    rest := mulmod(rest, d, R)",
            "}",
        ]
    return "\n".join(_INDENT + line for line in lines)


def _check_vk(vk: VerifyingKey) -> None:
    if not isinstance(vk, VerifyingKey):
        raise RenderError(f"expected a VerifyingKey, got {type(vk).__name__}")
    for name in COMMITMENT_NAMES:
        x, y = getattr(vk, name)
        if not (0 <= x < P and 0 <= y < P):
            raise RenderError(f"verifying key point {name} has a coordinate outside [0, p)")
    for c in (*vk.X_2[0], *vk.X_2[1]):
        if not 0 <= c < P:
            raise RenderError("verifying key point X_2 has a coordinate outside [0, p)")
    for name in ("k1", "k2", "w"):
        if not 0 <= getattr(vk, name) < R:
            raise RenderError(f"verifying key value {name} is outside [0, r)")


def render_verifier(vk: VerifyingKey, contract_name: str = VERIFIER_CONTRACT_NAME) -> str:
    """The Solidity source of the PLONK verifier contract for ``vk``."""
    _check_vk(vk)
    if not _IDENTIFIER.match(contract_name):
        raise RenderError(f"{contract_name!r} is not a Solidity identifier")
    n_public = vk.n_public
    values: dict[str, str | int] = {
        "SOLC_VERSION": SOLC_VERSION,
        "CONTRACT_NAME": contract_name,
        "N_PUBLIC": n_public,
        "POWER": vk.power,
        "DOMAIN_SIZE": vk.domain_size,
        "W": vk.w,
        "K1": vk.k1,
        "K2": vk.k2,
        "X2_X0": vk.X_2[0][0],
        "X2_X1": vk.X_2[0][1],
        "X2_Y0": vk.X_2[1][0],
        "X2_Y1": vk.X_2[1][1],
        "ZERO_PUBLIC_NOTE": (
            "\n/// No public signals: pubSignals is a uint256[] that must be empty (Solidity has"
            "\n/// no uint256[0])."
            if n_public == 0
            else ""
        ),
        "PUB_PARAM": "uint256[]" if n_public == 0 else f"uint256[{n_public}]",
        "PUB_LENGTH_CHECK": (
            "\n        if (pubSignals.length != 0) return false;\n" if n_public == 0 else ""
        ),
        "TRANSCRIPT_PUBLIC": (
            f"\n{_INDENT}calldatacopy(0x200, pubSignals, {32 * n_public:#x})" if n_public else ""
        ),
        "ABC_AT": f"{0x200 + 32 * n_public:#x}",
        "BETA_LEN": f"{0x2C0 + 32 * n_public:#x}",
        "SQUARINGS": "".join(f"\n{_INDENT}    xin := mulmod(xin, xin, R)" for _ in range(vk.power)),
        "PUBLIC_INPUT_CODE": _public_input_code(n_public),
    }
    for name in COMMITMENT_NAMES:
        x, y = getattr(vk, name)
        values[f"{name.upper()}_X"] = x
        values[f"{name.upper()}_Y"] = y
    return _template().substitute(values)


def compile_verifier(
    vk: VerifyingKey, contract_name: str = VERIFIER_CONTRACT_NAME
) -> CompiledContract:
    """Render and compile the verifier for ``vk`` (``verifier_contract.compile`` settings)."""
    return compile_contract(render_verifier(vk, contract_name), contract_name)


# --- calldata -------------------------------------------------------------------------------------


def proof_words(proof: Proof) -> list[int]:
    """The 24 ``uint256`` words of ``proof`` in the contract's order: A.x, A.y, B.x, ... Wxiw.y,
    then eval_a, eval_b, eval_c, eval_s1, eval_s2, eval_zw. Values are passed as they are
    (a non-canonical one is for the contract to reject); each must fit 256 bits."""
    if not isinstance(proof, Proof):
        raise RenderError(f"expected a Proof, got {type(proof).__name__}")
    words: list[int] = []
    for name in PROOF_POINT_NAMES:
        words.extend(getattr(proof, name))
    words.extend(getattr(proof, name) for name in PROOF_EVAL_NAMES)
    _check_words(words, "proof")
    return words


def _check_words(words: Sequence[int], what: str) -> None:
    for i, v in enumerate(words):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < WORD:
            raise RenderError(f"{what} word {i} is not a 256-bit unsigned integer")


def verifier_arguments(
    words: Sequence[int], public: Sequence[int], n_public: int | None = None
) -> tuple[list[int], list[int]]:
    """The two ``verifyProof`` arguments: 24 proof words and the public signals (256-bit each);
    with ``n_public``, exactly that many signals (a ``uint256[n_public]``)."""
    words, public = list(words), list(public)
    if len(words) != PROOF_WORDS:
        raise RenderError(f"a proof is {PROOF_WORDS} words, got {len(words)}")
    if n_public is not None and len(public) != n_public:
        raise RenderError(f"the verifier takes {n_public} public signals, got {len(public)}")
    _check_words(words, "proof")
    _check_words(public, "public signal")
    return words, public


def _p256(v: int) -> str:
    return f'"0x{v:064x}"'


def solidity_calldata(proof: Proof, public: Sequence[int]) -> str:
    """``snarkjs zkey export soliditycalldata`` for a PLONK proof: ``[24 words][signals]``."""
    words, signals = verifier_arguments(proof_words(proof), public)
    points = ",".join(f"{_p256(words[i])},{_p256(words[i + 1])}" for i in range(2, 18, 2))
    evals = ",".join(_p256(w) for w in words[18:])
    head = f"[{_p256(words[0])}, {_p256(words[1])},"
    return f"{head}{points},{evals}][{','.join(_p256(v) for v in signals)}]"
