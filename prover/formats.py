"""snarkjs 0.7.6 JSON formats for PLONK: ``proof.json``, ``public.json``, ``verification_key.json``.

What snarkjs writes, byte for byte (checked against files written by ``snarkjs plonk prove`` and
``snarkjs zkey export verificationkey``; the writers are ``plonk_prove.js`` with
``proof.js:toObjectProof``, and ``zkey_export_verificationkey.js:plonkVk``):

- every field element is a decimal string; JSON is written with a one-space indent
  (``bfj.write(..., {space: 1})``, the same bytes as ``json.dumps(obj, indent=1)``) and no
  trailing newline (``dumps_json`` / ``write_json``);
- a G1 point is ``["x", "y", "1"]`` (affine, ffjavascript ``G1.toObject``), the point at infinity
  ``["0", "1", "0"]``; a G2 point is ``[["x.c0", "x.c1"], ["y.c0", "y.c1"], ["1", "0"]]`` (real part
  first);
- proof.json keys: A, B, C, Z, T1, T2, T3, Wxi, Wxiw, eval_a, eval_b, eval_c, eval_s1, eval_s2,
  eval_zw, protocol ("plonk"), curve ("bn128"), in that order;
- public.json: a list of decimal strings;
- vk.json keys: protocol, curve, nPublic (number), power (number), k1, k2, Qm, Ql, Qr, Qo, Qc, S1,
  S2, S3, X_2, w.

Strictness. The readers are strict about the *schema*: exactly the expected keys (no missing, no
unknown, no duplicated key), the right JSON types (field elements are strings, never JSON
numbers), the right lengths, canonical decimal strings (``0`` or a non-zero digit followed by
digits: no sign, no ``0x``, no leading zero, no blank), protocol ``plonk`` and curve ``bn128``, and
projective ``z`` exactly ``"1"`` (or the exact infinity form ``["0", "1", "0"]``). A schema error
raises a ``FormatError`` subclass (a ``ValueError``).

The proof and public-signal readers deliberately *preserve non-canonical values*: a coordinate
``>= p``, an evaluation or a public signal ``>= r`` is kept as the raw int, so that the verifier
(``prover.plonk.verifier``), not the parser, rejects it and says why. (snarkjs's JavaScript
verifier reduces proof values mod p / mod r while parsing and accepts such proofs; ours must not.)
Curve membership is likewise left to the verifier. The verification key, by contrast, is trusted
configuration: ``parse_vk_json`` checks everything (canonical values, points on the curve, X_2 in
the order-r subgroup, w the domain generator snarkjs uses, k1 and k2 in distinct cosets of H) and
raises ``VkFormatError`` on any problem.

Where ours is stricter than snarkjs's readers (which accept hex strings, JSON numbers, 2-element
points, any z): every such input is a ``FormatError`` here; snarkjs never writes them.

The writers are strict too: they refuse values that are not canonical (a ``ValueError``), so a
file we write is always one snarkjs would write.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from prover import params
from prover.curve import ref as curve
from prover.plonk.keys import COMMITMENT_NAMES, VerifyingKey

P = params.P
R = params.R_ORDER

G1Point = tuple[int, int]
G2Point = tuple[tuple[int, int], tuple[int, int]]

PROTOCOL = "plonk"
CURVE = "bn128"
PROOF_POINT_NAMES = ("A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw")
PROOF_EVAL_NAMES = ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw")
PROOF_KEYS = (*PROOF_POINT_NAMES, *PROOF_EVAL_NAMES, "protocol", "curve")
VK_KEYS = ("protocol", "curve", "nPublic", "power", "k1", "k2", *COMMITMENT_NAMES, "X_2", "w")

G1_INFINITY_JSON = ["0", "1", "0"]

# A canonical decimal string: what ffjavascript's toString / BigInt.toString write.
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z")
# Generous bound on the digits of one value: a 256-bit word has 78; a proof may carry a
# non-canonical value (kept for the verifier to reject), but not a megabyte of digits.
MAX_DECIMAL_DIGITS = 160


class FormatError(ValueError):
    """A JSON file that is unreadable, not JSON, or not in the expected snarkjs schema."""


class ProofFormatError(FormatError):
    """proof.json does not have snarkjs's PLONK proof schema."""


class PublicFormatError(FormatError):
    """public.json is not a list of decimal strings."""


class VkFormatError(FormatError):
    """vk.json is not a valid snarkjs PLONK verification key."""


@dataclass(frozen=True)
class Proof:
    """A PLONK proof (ePrint 2019/953 section 8.3, the prover's output pi_SNARK), snarkjs's fields.

    Points are affine int pairs with infinity ``(0, 0)``; evaluations are ints. Values are as read
    from the file: ``parse_proof_json`` keeps non-canonical values (coordinates >= p, evaluations
    >= r) so that the verifier can reject them with a reason; nothing here is validated.
    """

    A: G1Point  # [a(tau)]_1
    B: G1Point  # [b(tau)]_1
    C: G1Point  # [c(tau)]_1
    Z: G1Point  # [z(tau)]_1, the permutation accumulator
    T1: G1Point  # [t_lo(tau)]_1
    T2: G1Point  # [t_mid(tau)]_1
    T3: G1Point  # [t_hi(tau)]_1
    Wxi: G1Point  # [W_xi(tau)]_1, the opening at xi
    Wxiw: G1Point  # [W_xi*omega(tau)]_1, the opening at xi * omega
    eval_a: int  # a(xi)
    eval_b: int  # b(xi)
    eval_c: int  # c(xi)
    eval_s1: int  # S_sigma1(xi)
    eval_s2: int  # S_sigma2(xi)
    eval_zw: int  # z(xi * omega)

    def points(self) -> dict[str, G1Point]:
        return {name: getattr(self, name) for name in PROOF_POINT_NAMES}

    def evaluations(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in PROOF_EVAL_NAMES}


assert tuple(f.name for f in fields(Proof)) == PROOF_POINT_NAMES + PROOF_EVAL_NAMES


# --- JSON text ------------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise FormatError(f"{name} is not JSON")


def loads_json(text: str | bytes, what: str = "JSON") -> Any:
    """Parse JSON text strictly (no NaN/Infinity, no duplicate keys); FormatError otherwise."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except FormatError as exc:
        raise FormatError(f"{what}: invalid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{what}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise FormatError(f"{what}: invalid JSON: {exc}") from None


def load_json(path: str | os.PathLike) -> Any:
    """Read and parse a JSON file; FormatError (one clear line) if unreadable or not JSON."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return loads_json(data, what=str(path))


def dumps_json(obj: Any) -> str:
    """JSON text exactly as snarkjs writes its files (``bfj.write(..., {space: 1})``)."""
    return json.dumps(obj, indent=1)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as snarkjs would (one-space indent, no trailing newline)."""
    Path(path).write_text(dumps_json(obj))


# --- field elements and points --------------------------------------------------------------------


def _decimal(value: Any, what: str, error: type[FormatError]) -> int:
    """A canonical decimal string -> int (range NOT checked: the caller decides)."""
    if not isinstance(value, str):
        raise error(f"{what} must be a decimal string, got {_json_type(value)}")
    if len(value) > MAX_DECIMAL_DIGITS:
        raise error(f"{what} is too long ({len(value)} characters) for a field element")
    if not _DECIMAL.match(value):
        raise error(f"{what} is not a canonical decimal string: {value[:40]!r}")
    return int(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _list(value: Any, length: int, what: str, error: type[FormatError]) -> list:
    if not isinstance(value, list):
        raise error(f"{what} must be a list of {length}, got {_json_type(value)}")
    if len(value) != length:
        raise error(f"{what} must be a list of {length}, got {len(value)} elements")
    return value


def _object(obj: Any, keys: Sequence[str], what: str, error: type[FormatError]) -> dict:
    if not isinstance(obj, dict):
        raise error(f"{what} must be a JSON object, got {_json_type(obj)}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise error(f"{what} lacks key(s) {', '.join(missing)}")
    unknown = [k for k in obj if k not in keys]
    if unknown:
        raise error(f"{what} has unknown key(s) {', '.join(map(str, unknown))}")
    return obj


def _g1_from_json(value: Any, what: str, error: type[FormatError]) -> G1Point:
    """["x", "y", "1"] -> (x, y) raw ints; ["0", "1", "0"] -> (0, 0)."""
    x_s, y_s, z_s = _list(value, 3, what, error)
    x = _decimal(x_s, f"{what}.x", error)
    y = _decimal(y_s, f"{what}.y", error)
    z = _decimal(z_s, f"{what}.z", error)
    if z == 0:
        if (x, y) != (0, 1):
            raise error(f'{what}: the point at infinity must be written ["0", "1", "0"]')
        return curve.G1_INFINITY
    if z != 1:
        raise error(f"{what}: z must be 1 (affine) or the infinity form, got z = {z}")
    if (x, y) == curve.G1_INFINITY:
        # (0, 0) is our infinity; as an affine point it is not on the curve (0 != 0 + 3).
        raise error(f'{what}: (0, 0) is not a curve point (infinity is written ["0", "1", "0"])')
    return x, y


def _fq_str(v: int, what: str) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < P:
        raise ValueError(f"{what} is not a canonical Fq element: {v!r}")
    return str(v)


def _fr_str(v: int, what: str) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < R:
        raise ValueError(f"{what} is not a canonical Fr element: {v!r}")
    return str(v)


def g1_to_json(pt: G1Point, what: str = "G1 point") -> list[str]:
    """(x, y) -> ["x", "y", "1"]; (0, 0) -> ["0", "1", "0"]. Refuses points off the curve."""
    if not isinstance(pt, tuple) or len(pt) != 2:
        raise ValueError(f"{what} must be an (x, y) int pair, got {pt!r}")
    x, y = pt
    xs, ys = _fq_str(x, f"{what}.x"), _fq_str(y, f"{what}.y")
    if pt == curve.G1_INFINITY:
        return list(G1_INFINITY_JSON)
    if not curve.is_on_g1(pt):
        raise ValueError(f"{what} is not on the curve: {pt}")
    return [xs, ys, "1"]


# --- proof.json -----------------------------------------------------------------------------------


def parse_proof_json(obj: Any) -> Proof:
    """snarkjs ``proof.json`` (parsed JSON) -> ``Proof``; ``ProofFormatError`` on a schema error.

    Non-canonical values (coordinates >= p, evaluations >= r) and off-curve points are kept as
    they are, for the verifier to reject with a reason.
    """
    err = ProofFormatError
    obj = _object(obj, PROOF_KEYS, "proof", err)
    if obj["protocol"] != PROTOCOL:
        raise err(f"proof: protocol must be {PROTOCOL!r}, got {obj['protocol']!r}")
    if obj["curve"] != CURVE:
        raise err(f"proof: curve must be {CURVE!r}, got {obj['curve']!r}")
    values: dict[str, Any] = {}
    for name in PROOF_POINT_NAMES:
        values[name] = _g1_from_json(obj[name], f"proof.{name}", err)
    for name in PROOF_EVAL_NAMES:
        values[name] = _decimal(obj[name], f"proof.{name}", err)
    return Proof(**values)


def proof_to_json(proof: Proof) -> dict[str, Any]:
    """``Proof`` -> the dict snarkjs writes as proof.json (same keys, same order).

    Refuses non-canonical values and off-curve points (ValueError): we only write what snarkjs
    would.
    """
    out: dict[str, Any] = {}
    for name in PROOF_POINT_NAMES:
        out[name] = g1_to_json(getattr(proof, name), f"proof.{name}")
    for name in PROOF_EVAL_NAMES:
        out[name] = _fr_str(getattr(proof, name), f"proof.{name}")
    out["protocol"] = PROTOCOL
    out["curve"] = CURVE
    return out


# --- public.json ----------------------------------------------------------------------------------


def parse_public_json(obj: Any) -> list[int]:
    """snarkjs ``public.json`` -> ints; ``PublicFormatError`` on a schema error.

    Values >= r are kept, for the verifier to reject (x and x + r must never alias).
    """
    if not isinstance(obj, list):
        raise PublicFormatError(f"public signals must be a JSON list, got {_json_type(obj)}")
    return [_decimal(v, f"public signal {i}", PublicFormatError) for i, v in enumerate(obj)]


def public_to_json(values: Sequence[int]) -> list[str]:
    """Public signals -> snarkjs's public.json list; refuses values outside [0, r)."""
    return [_fr_str(v, f"public signal {i}") for i, v in enumerate(values)]


# --- vk.json --------------------------------------------------------------------------------------


def _json_int(value: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise VkFormatError(f"{what} must be a JSON integer, got {_json_type(value)}")
    if not lo <= value <= hi:
        raise VkFormatError(f"{what} must be in [{lo}, {hi}], got {value}")
    return value


def _vk_fr(value: Any, what: str) -> int:
    v = _decimal(value, what, VkFormatError)
    if v >= R:
        raise VkFormatError(f"{what} is not a canonical Fr element (>= r)")
    return v


def _vk_g1(value: Any, what: str) -> G1Point:
    pt = _g1_from_json(value, what, VkFormatError)
    try:
        return curve.check_g1(pt)
    except ValueError as exc:
        raise VkFormatError(f"{what}: {exc}") from None


def _vk_g2(value: Any, what: str) -> G2Point:
    x, y, z = _list(value, 3, what, VkFormatError)
    x0, x1 = (_decimal(c, f"{what}.x[{i}]", VkFormatError) for i, c in enumerate(_pair(x, what)))
    y0, y1 = (_decimal(c, f"{what}.y[{i}]", VkFormatError) for i, c in enumerate(_pair(y, what)))
    z0, z1 = (_decimal(c, f"{what}.z[{i}]", VkFormatError) for i, c in enumerate(_pair(z, what)))
    if (z0, z1) != (1, 0):
        raise VkFormatError(f'{what}: must be affine (z = ["1", "0"]) and not infinity')
    try:
        return curve.check_g2(((x0, x1), (y0, y1)), subgroup=True)
    except ValueError as exc:
        raise VkFormatError(f"{what}: {exc}") from None


def _pair(value: Any, what: str) -> list:
    return _list(value, 2, f"{what} coordinate", VkFormatError)


def check_coset_shifts(k1: int, k2: int, power: int) -> None:
    """PLONK's permutation needs H, k1 H and k2 H disjoint (ePrint 2019/953 section 8): k1, k2
    and k1/k2 must not be n-th roots of unity. VkFormatError otherwise."""
    n = 1 << power
    if k1 == 0 or k2 == 0:
        raise VkFormatError("k1 and k2 must be non-zero")
    if pow(k1, n, R) == 1 or pow(k2, n, R) == 1 or pow(k1 * pow(k2, -1, R), n, R) == 1:
        raise VkFormatError(f"k1 = {k1}, k2 = {k2}: H, k1 H and k2 H are not disjoint cosets")


def parse_vk_json(obj: Any) -> VerifyingKey:
    """snarkjs PLONK ``verification_key.json`` -> ``VerifyingKey``, fully checked.

    VkFormatError for a schema error, a non-canonical value, a point off the curve (or X_2 off
    the order-r subgroup, or at infinity), a ``w`` that is not snarkjs's generator of the domain
    of size 2^power, k1/k2 that do not give disjoint cosets, or nPublic > 2^power.
    """
    err = VkFormatError
    obj = _object(obj, VK_KEYS, "verification key", err)
    if obj["protocol"] != PROTOCOL:
        raise err(f"verification key: protocol must be {PROTOCOL!r}, got {obj['protocol']!r}")
    if obj["curve"] != CURVE:
        raise err(f"verification key: curve must be {CURVE!r}, got {obj['curve']!r}")
    power = _json_int(obj["power"], "verification key: power", 0, params.FR_TWO_ADICITY)
    n_public = _json_int(obj["nPublic"], "verification key: nPublic", 0, 1 << power)
    k1 = _vk_fr(obj["k1"], "verification key: k1")
    k2 = _vk_fr(obj["k2"], "verification key: k2")
    check_coset_shifts(k1, k2, power)
    w = _vk_fr(obj["w"], "verification key: w")
    if w != params.fr_root_of_unity(power):
        raise err(f"verification key: w is not the generator of the domain of size 2^{power}")
    points = {name: _vk_g1(obj[name], f"verification key: {name}") for name in COMMITMENT_NAMES}
    x_2 = _vk_g2(obj["X_2"], "verification key: X_2")
    return VerifyingKey(n_public=n_public, power=power, k1=k1, k2=k2, X_2=x_2, w=w, **points)


def vk_to_json(vk: VerifyingKey) -> dict[str, Any]:
    """``VerifyingKey`` -> the dict ``snarkjs zkey export verificationkey`` writes (same order).

    The serialisation itself is ``prover.zkey.verification_key_json`` (the one implementation;
    imported here lazily so that the plain-Python verifier never loads the Numba kernels that
    module needs); this checks first that every value is canonical and every point on its curve,
    so that we never write a key snarkjs would not.
    """
    if not isinstance(vk, VerifyingKey):
        raise TypeError(f"vk must be a VerifyingKey, got {type(vk).__name__}")
    if vk.w != params.fr_root_of_unity(vk.power):
        raise ValueError("verifying key: w is not the generator of its domain")
    for name, value in (("k1", vk.k1), ("k2", vk.k2)):
        _fr_str(value, name)
    for name in COMMITMENT_NAMES:
        g1_to_json(getattr(vk, name), name)
    (x0, x1), (y0, y1) = vk.X_2
    for what, value in (("x.c0", x0), ("x.c1", x1), ("y.c0", y0), ("y.c1", y1)):
        _fq_str(value, f"X_2.{what}")
    if not curve.is_on_twist(vk.X_2) or vk.X_2 == curve.G2_INFINITY:
        raise ValueError("verifying key: X_2 is not a point of the twist (or is infinity)")

    from prover.zkey import verification_key_json

    return verification_key_json(vk)
