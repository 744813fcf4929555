"""The PLONK verifier in plain Python: ePrint 2019/953 (Gabizon, Williamson, Ciobotaru),
section 8.3, exactly as snarkjs 0.7.6 computes it (``plonk_verify.js``).

One function per step of the paper's verifier, on canonical Python ints (no Numba, no numpy) and
``prover.curve.ref`` (py_ecc underneath):

1. ``check_proof_points``: every commitment is an affine point with coordinates < p, on the curve
   (G1 has cofactor 1, so that is also subgroup membership); infinity is allowed, as in snarkjs;
2. ``check_evaluations``: every opening evaluation is < r;
3. ``check_public_signals``: as many public signals as the key says, each < r;
4. ``compute_challenges``: beta, gamma, alpha, xi, v, u from the Keccak-256 transcript
   (``prover.transcript``), in snarkjs's order (see that function);
5. ``vanishing_at``: Z_H(xi) = xi^n - 1;
6. ``lagrange_at``: L_i(xi) = w^(i-1) (xi^n - 1) / (n (xi - w^(i-1))) for the public rows;
7. ``public_input_at``: PI(xi) = -sum_i x_i L_i(xi);
8. ``linearisation_constant``: snarkjs's r0, the constant part of the linearisation polynomial;
9. ``partial_commitment``: snarkjs's [D], the linearisation polynomial's commitment (minus r0);
10. ``full_commitment``: [F] = [D] + v [a] + v^2 [b] + v^3 [c] + v^4 [s1] + v^5 [s2];
11. ``batch_evaluation``: [E] = (-r0 + v a + v^2 b + v^3 c + v^4 s1 + v^5 s2 + u zw) [1]_1;
12. ``pairing_holds``: e(-([Wxi] + u [Wxiw]), [x]_2) * e(xi [Wxi] + u xi w [Wxiw] + [F] - [E],
    [1]_2) == 1.

snarkjs's verifier reduces proof coordinates mod p and evaluations mod r while it parses
(``G1.fromObject`` / ``Fr.fromObject``), so it accepts a coordinate + p or an evaluation + r.
Ours rejects every non-canonical value (steps 1-3); it checks public signals < r as snarkjs does.

``verify`` never raises for a malformed proof or malformed public signals: it returns a
``VerificationResult`` whose ``reason`` says what failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prover import params
from prover.curve import ref as curve
from prover.formats import PROOF_EVAL_NAMES, PROOF_POINT_NAMES, Proof
from prover.plonk.keys import VerifyingKey
from prover.transcript import Transcript

P = params.P
R = params.R_ORDER

G1Point = tuple[int, int]


@dataclass(frozen=True)
class VerificationResult:
    """The verdict: ``valid`` and, either way, a one-line ``reason``. Truthy iff valid."""

    valid: bool
    reason: str

    def __bool__(self) -> bool:
        return self.valid


@dataclass(frozen=True)
class Challenges:
    """The Fiat-Shamir challenges of section 8.3 (snarkjs's names); ``v[k]`` is v^(k+1)."""

    beta: int
    gamma: int
    alpha: int
    xi: int
    v: tuple[int, int, int, int, int]  # v^1 .. v^5
    u: int


_OK = VerificationResult(True, "OK")


def _invalid(reason: str) -> VerificationResult:
    return VerificationResult(False, reason)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --- steps 1-3: validate the inputs ---------------------------------------------------------------


def check_g1_point(pt: object, what: str) -> str | None:
    """Why ``pt`` is not a canonical G1 point (affine, coordinates < p, on the curve), or None."""
    if not isinstance(pt, tuple) or len(pt) != 2 or not all(_is_int(c) for c in pt):
        return f"{what} is not an (x, y) pair of ints"
    x, y = pt
    if not (0 <= x < P and 0 <= y < P):
        return f"{what} has a coordinate outside [0, p) (non-canonical encoding)"
    if not curve.is_on_g1(pt):
        return f"{what} is not on the curve y^2 = x^3 + 3"
    return None


def check_proof_points(proof: Proof) -> str | None:
    """Step 1: [a], [b], [c], [z], [t_lo], [t_mid], [t_hi], [W_xi], [W_xiw] in G1."""
    for name in PROOF_POINT_NAMES:
        reason = check_g1_point(getattr(proof, name), f"proof point {name}")
        if reason:
            return reason
    return None


def check_evaluations(proof: Proof) -> str | None:
    """Step 2: a(xi), b(xi), c(xi), s1(xi), s2(xi), z(xi w) in Fr, canonical."""
    for name in PROOF_EVAL_NAMES:
        value = getattr(proof, name)
        if not _is_int(value):
            return f"proof evaluation {name} is not an int"
        if not 0 <= value < R:
            return f"proof evaluation {name} is outside [0, r) (non-canonical encoding)"
    return None


def check_public_signals(vk: VerifyingKey, public_signals: Sequence[int]) -> str | None:
    """Step 3: exactly nPublic signals, each canonical in Fr (x and x + r must not alias)."""
    if isinstance(public_signals, (str, bytes)) or not isinstance(public_signals, Sequence):
        return "the public signals are not a sequence of ints"
    if len(public_signals) != vk.n_public:
        return (
            f"wrong number of public signals: the verification key expects {vk.n_public}, "
            f"got {len(public_signals)}"
        )
    for i, value in enumerate(public_signals):
        if not _is_int(value):
            return f"public signal {i} is not an int"
        if not 0 <= value < R:
            return f"public signal {i} is outside [0, r) (non-canonical; x and x + r would alias)"
    return None


# --- step 4: Fiat-Shamir --------------------------------------------------------------------------


def compute_challenges(vk: VerifyingKey, public_signals: Sequence[int], proof: Proof) -> Challenges:
    """Step 4, as snarkjs's ``calculatechallenges``; the transcript is reset before each one.

    beta  <- Qm, Ql, Qr, Qo, Qc, S1, S2, S3 (vk), the public signals, [a], [b], [c]
    gamma <- beta
    alpha <- beta, gamma, [z]
    xi    <- alpha, [t_lo], [t_mid], [t_hi]
    v     <- xi, a(xi), b(xi), c(xi), s1(xi), s2(xi), z(xi w); then v^2 .. v^5 as powers
    u     <- [W_xi], [W_xiw]
    Inputs must already be canonical (steps 1-3).
    """
    t = Transcript()
    for point in vk.commitments():
        t.add_point(point)
    for value in public_signals:
        t.add_scalar(value)
    for point in (proof.A, proof.B, proof.C):
        t.add_point(point)
    beta = t.challenge()

    t.reset()
    t.add_scalar(beta)
    gamma = t.challenge()

    t.reset()
    t.add_scalar(beta)
    t.add_scalar(gamma)
    t.add_point(proof.Z)
    alpha = t.challenge()

    t.reset()
    t.add_scalar(alpha)
    for point in (proof.T1, proof.T2, proof.T3):
        t.add_point(point)
    xi = t.challenge()

    t.reset()
    t.add_scalar(xi)
    for name in PROOF_EVAL_NAMES:
        t.add_scalar(getattr(proof, name))
    v1 = t.challenge()
    v = [v1]
    for _ in range(4):
        v.append(v[-1] * v1 % R)

    t.reset()
    t.add_point(proof.Wxi)
    t.add_point(proof.Wxiw)
    u = t.challenge()
    return Challenges(beta, gamma, alpha, xi, (v[0], v[1], v[2], v[3], v[4]), u)


# --- steps 5-7: vanishing polynomial, Lagrange basis, public-input polynomial ---------------------


def vanishing_at(vk: VerifyingKey, xi: int) -> tuple[int, int]:
    """Step 5: (xi^n, Z_H(xi) = xi^n - 1), n = 2^power."""
    xin = pow(xi, vk.domain_size, R)
    return xin, (xin - 1) % R


def lagrange_at(vk: VerifyingKey, xi: int, zh: int) -> list[int]:
    """Step 6: [L_1(xi), ..., L_m(xi)], m = max(1, nPublic), L_i(X) = w^(i-1) Z_H(X) /
    (n (X - w^(i-1))). Requires xi outside H (zh != 0)."""
    n = vk.domain_size
    out = []
    w_i = 1
    for _ in range(max(1, vk.n_public)):
        out.append(w_i * zh * pow(n * (xi - w_i), -1, R) % R)
        w_i = w_i * vk.w % R
    return out


def public_input_at(public_signals: Sequence[int], lagrange: Sequence[int]) -> int:
    """Step 7: PI(xi) = -sum_i x_i L_i(xi) (public inputs sit on the first rows, snarkjs's sign)."""
    return -sum(x * l_i for x, l_i in zip(public_signals, lagrange)) % R


# --- steps 8-11: linearisation, batched commitment and evaluation ---------------------------------


def linearisation_constant(proof: Proof, ch: Challenges, pi: int, l1: int) -> int:
    """Step 8, snarkjs's r0 = PI(xi) - L_1(xi) alpha^2
    - alpha (a + beta s1 + gamma)(b + beta s2 + gamma)(c + gamma) z(xi w)."""
    e2 = l1 * ch.alpha * ch.alpha
    e3 = (
        (proof.eval_a + ch.beta * proof.eval_s1 + ch.gamma)
        * (proof.eval_b + ch.beta * proof.eval_s2 + ch.gamma)
        * (proof.eval_c + ch.gamma)
        * proof.eval_zw
        * ch.alpha
    )
    return (pi - e2 - e3) % R


def partial_commitment(
    vk: VerifyingKey, proof: Proof, ch: Challenges, l1: int, xin: int, zh: int
) -> G1Point:
    """Step 9, snarkjs's [D]:
      a b [qM] + a [qL] + b [qR] + c [qO] + [qC]
    + ((a + beta xi + gamma)(b + beta k1 xi + gamma)(c + beta k2 xi + gamma) alpha
       + L_1(xi) alpha^2 + u) [z]
    - (a + beta s1 + gamma)(b + beta s2 + gamma) alpha beta z(xi w) [s3]
    - Z_H(xi) ([t_lo] + xi^n [t_mid] + xi^2n [t_hi])
    """
    a, b, c = proof.eval_a, proof.eval_b, proof.eval_c
    beta_xi = ch.beta * ch.xi
    z_scalar = (
        (a + beta_xi + ch.gamma)
        * (b + beta_xi * vk.k1 + ch.gamma)
        * (c + beta_xi * vk.k2 + ch.gamma)
        * ch.alpha
        + l1 * ch.alpha * ch.alpha
        + ch.u
    )
    s3_scalar = (
        (a + ch.beta * proof.eval_s1 + ch.gamma)
        * (b + ch.beta * proof.eval_s2 + ch.gamma)
        * ch.alpha
        * ch.beta
        * proof.eval_zw
    )
    points = [vk.Qm, vk.Ql, vk.Qr, vk.Qo, vk.Qc, proof.Z, vk.S3, proof.T1, proof.T2, proof.T3]
    scalars = [
        a * b,
        a,
        b,
        c,
        1,
        z_scalar,
        -s3_scalar,
        -zh,
        -zh * xin,
        -zh * xin * xin,
    ]
    return curve.g1_lincomb(points, [s % R for s in scalars])


def full_commitment(vk: VerifyingKey, proof: Proof, ch: Challenges, d: G1Point) -> G1Point:
    """Step 10, [F] = [D] + v [a] + v^2 [b] + v^3 [c] + v^4 [s1] + v^5 [s2]."""
    points = [d, proof.A, proof.B, proof.C, vk.S1, vk.S2]
    return curve.g1_lincomb(points, [1, *ch.v])


def batch_evaluation(proof: Proof, ch: Challenges, r0: int) -> G1Point:
    """Step 11, [E] = (-r0 + v a + v^2 b + v^3 c + v^4 s1 + v^5 s2 + u z(xi w)) [1]_1."""
    v1, v2, v3, v4, v5 = ch.v
    e = (
        -r0
        + v1 * proof.eval_a
        + v2 * proof.eval_b
        + v3 * proof.eval_c
        + v4 * proof.eval_s1
        + v5 * proof.eval_s2
        + ch.u * proof.eval_zw
    ) % R
    return curve.g1_mul(curve.G1_GENERATOR, e)


# --- step 12: the pairing -------------------------------------------------------------------------


def pairing_holds(vk: VerifyingKey, proof: Proof, ch: Challenges, f: G1Point, e: G1Point) -> bool:
    """Step 12: e(-([Wxi] + u [Wxiw]), [x]_2) * e(xi [Wxi] + u xi w [Wxiw] + [F] - [E], [1]_2) == 1.

    (snarkjs's A1 and B1.) Every point is already validated: py_ecc is called without re-checks.
    """
    a1 = curve.g1_lincomb([proof.Wxi, proof.Wxiw], [1, ch.u])
    b1 = curve.g1_lincomb(
        [proof.Wxi, proof.Wxiw, f, e],
        [ch.xi, ch.u * ch.xi % R * vk.w % R, 1, R - 1],
    )
    return curve.pairing_check(
        [(curve.g1_neg(a1), vk.X_2), (b1, curve.G2_GENERATOR)], validate=False
    )


# --- the verifier ---------------------------------------------------------------------------------


def verify(vk: VerifyingKey, public_signals: Sequence[int], proof: Proof) -> VerificationResult:
    """Verify a snarkjs-compatible PLONK proof. Never raises for a malformed proof or malformed
    public signals: the result says why it is invalid.

    ``vk`` is trusted (``prover.formats.parse_vk_json`` checks it); a non-``VerifyingKey`` is a
    TypeError.
    """
    if not isinstance(vk, VerifyingKey):
        raise TypeError(f"vk must be a VerifyingKey, got {type(vk).__name__}")
    if not isinstance(proof, Proof):
        return _invalid(f"the proof is not a Proof, got {type(proof).__name__}")

    for reason in (
        check_proof_points(proof),
        check_evaluations(proof),
        check_public_signals(vk, public_signals),
    ):
        if reason:
            return _invalid(reason)

    ch = compute_challenges(vk, public_signals, proof)
    xin, zh = vanishing_at(vk, ch.xi)
    if zh == 0:  # xi in H: L_i(xi) is undefined (probability ~ n / r for an honest transcript)
        return _invalid("the challenge xi lies in the evaluation domain")
    lagrange = lagrange_at(vk, ch.xi, zh)
    pi = public_input_at(public_signals, lagrange)
    r0 = linearisation_constant(proof, ch, pi, lagrange[0])
    d = partial_commitment(vk, proof, ch, lagrange[0], xin, zh)
    f = full_commitment(vk, proof, ch, d)
    e = batch_evaluation(proof, ch, r0)
    if not pairing_holds(vk, proof, ch, f, e):
        return _invalid("the pairing check failed (the proof does not verify)")
    return _OK


def is_valid(vk: VerifyingKey, public_signals: Sequence[int], proof: Proof) -> bool:
    """``verify(...).valid``."""
    return verify(vk, public_signals, proof).valid
