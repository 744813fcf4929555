"""The PLONK prover (Gabizon, Williamson, Ciobotaru, ePrint 2019/953, section 8.3), producing
exactly what snarkjs 0.7.6 ``plonk_prove.js`` produces: the same blinding layout, quotient split,
linearisation and openings, and its Keccak-256 Fiat-Shamir transcript (``prover.transcript``), so
``snarkjs plonk verify`` and ``prover.plonk.verifier`` accept our proofs.

Rounds, each a function over an explicit ``ProverState`` (named after the paper's rounds):

1. ``round_1_wire_commitments``: the internal witness (witness, slot 0 zeroed as snarkjs does,
   then the additions), wire columns a, b, c on H, their interpolants blinded with
   (b1 X + b2) Z_H, (b3 X + b4) Z_H, (b5 X + b6) Z_H, and [a]_1, [b]_1, [c]_1.
2. ``round_2_permutation``: beta = H(Qm..S3, public signals, A, B, C), gamma = H(beta); the grand
   product z on H, blinded with (b7 X^2 + b8 X + b9) Z_H, and [z]_1.
3. ``round_3_quotient``: alpha = H(beta, gamma, Z); t evaluated pointwise on the 4n coset
   shift * H_4n (t has degree <= 3n + 5 < 4n, so dividing the numerator by Z_H pointwise is
   exact; snarkjs's detour through the 4n roots of unity and its "z" correction terms is not
   needed), interpolated back, split into T1 = t[0..n) + b10 X^n, T2 = t[n..2n) - b10 + b11 X^n,
   T3 = t[2n..) - b11, and [T1]_1, [T2]_1, [T3]_1.
4. ``round_4_evaluations``: xi = H(alpha, T1, T2, T3); a(xi), b(xi), c(xi), S1(xi), S2(xi),
   z(xi w).
5. ``round_5_openings``: v = H(xi, the six evaluations), v_i = v^i; the linearisation r(X)
   (snarkjs's ``computeR``: what ``plonk_verify.js``'s r0 and D assume), W_xi = (r + v a + v^2 b
   + v^3 c + v^4 S1 + v^5 S2 - const) / (X - xi), W_xiw = (z - z(xi w)) / (X - xi w), and their
   commitments. (u = H(Wxi, Wxiw) is the verifier's; the prover does not need it.)

Per-key data (selector and permutation evaluations on H and on the 4n coset, L1 on the coset,
1 / Z_H on the coset, checked wire maps and SRS) is computed once by ``ProverContext.from_key``
and cached per proving key; its build time is reported apart from the proof's. The heavy work
runs on the kernels of ``prover.plonk.kernels`` (fused, parallel), the NTTs of
``prover.poly.ntt`` and the MSM of ``prover.curve.msm``. ``ProveResult.timings`` reports seconds
per round and per kernel family. Where the time goes (2^16, one thread): the nine MSMs of ~n
points ~65%, the thirteen NTTs (four interpolations on H, four 4n coset transforms, the
quotient's inverse) ~22%, the quotient kernel ~8%.
"""

from __future__ import annotations

import secrets
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numba
import numpy as np

from prover import params
from prover.curve import g1
from prover.curve.msm import MSMBases, msm_g1, msm_g1_bases
from prover.field import convert
from prover.field.kernels import FR_M
from prover.field.mont import FR_MOD
from prover.formats import Proof
from prover.kzg import divide_by_linear_m
from prover.plonk import kernels as kern
from prover.plonk.keys import ProvingKey
from prover.poly import ntt
from prover.poly.domain import Domain
from prover.transcript import Transcript

R = params.R_ORDER
G1Point = tuple[int, int]

# Up to this many public inputs the quotient kernel rotates L1's coset values (one
# multiplication per public input per point); beyond it PI's coset evaluations come from an
# NTT (an interpolation on H and a 4n coset transform).
PI_ROTATE_MAX = 8

EVAL_NAMES = ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw")
ROUND_NAMES = (
    "round_1_wire_commitments",
    "round_2_permutation",
    "round_3_quotient",
    "round_4_evaluations",
    "round_5_openings",
)
KERNEL_NAMES = (
    "witness",
    "check",
    "wires",
    "ntt",
    "msm",
    "z",
    "quotient",
    "evaluate",
    "linearise",
    "divide",
)


class ProverError(ValueError):
    """The prover cannot make a proof from this input."""


class WitnessError(ProverError):
    """The witness does not fit the proving key (length, values outside Fr)."""


class UnsatisfiedWitness(ProverError):  # noqa: N818 (the name the issue uses)
    """The witness breaks a gate (``row`` is the first failing gate row) or the copy
    constraints (``row`` is None)."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


class RandomSource(Protocol):
    def randrange(self, stop: int) -> int: ...


ProgressFn = Callable[[int, str, float | None], None]


# --- small helpers ----------------------------------------------------------------------------


def _e(x: int) -> tuple:
    return FR_M.element(x % R)


def _i(t: tuple) -> int:
    return FR_M.element_int(t)


def _row_int(a_m: np.ndarray, i: int) -> int:
    return FR_M.element_int(tuple(a_m[i]))


def _row_set(a_m: np.ndarray, i: int, x: int) -> None:
    a_m[i] = np.array(_e(x), dtype=np.uint64)


def _row_add(a_m: np.ndarray, i: int, x: int) -> None:
    _row_set(a_m, i, _row_int(a_m, i) + x)


def _is_fr(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < R


def _threads() -> int:
    return int(numba.get_num_threads())


def _chunks(n: int) -> int:
    """Chunks for the chunked parallel kernels: enough to balance the threads, few enough that
    the per-chunk work (an inversion, a carry) stays negligible."""
    return max(1, min(8 * _threads(), n // 512))


def _div_linear(p_m: np.ndarray, x: int, q_m: np.ndarray) -> tuple:
    """q = p div (X - x), returns the remainder: chunked on >= 4 threads (the chunked form does
    ~3x the work of the sequential one), else on one thread."""
    t = _threads()
    if t < 4 or p_m.shape[0] < 1 << 14:
        return divide_by_linear_m(p_m, _e(x), q_m, FR_MOD)
    return kern.div_linear_m(p_m, _e(x), q_m, 4 * t)


def _to_mont(xs: Sequence[int]) -> np.ndarray:
    if len(xs) == 0:
        return np.zeros((0, 4), dtype=np.uint64)
    return convert.to_mont(FR_M, xs)


# --- per-key precomputation -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProverContext:
    """Everything the prover derives from a proving key alone, computed once.

    ``*_e``: evaluations on H (size n); ``*_c``: evaluations on the coset shift * H_4n (size 4n),
    the quotient's domain. ``l1_c``: L_1 (the Lagrange polynomial of row 0) on the coset;
    ``zh_inv_m``: 1 / Z_H on the coset, by point index mod 4.
    """

    key: weakref.ref[ProvingKey]  # the key it was built from (weak: a cache must not pin it)
    domain: Domain
    domain4: Domain
    coef: dict[str, np.ndarray]  # the key's coefficient arrays qm..qc, s1..s3 (C, writeable)
    srs_m: np.ndarray  # [tau^i]_1 for i < n + 6, validated
    bases: MSMBases  # srs_m prepared once (validated, GLV images) for the nine MSMs
    a_map: np.ndarray
    b_map: np.ndarray
    c_map: np.ndarray
    add_sig1: np.ndarray
    add_sig2: np.ndarray
    add_f1_m: np.ndarray
    add_f2_m: np.ndarray
    qm_e: np.ndarray
    ql_e: np.ndarray
    qr_e: np.ndarray
    qo_e: np.ndarray
    qc_e: np.ndarray
    s1_e: np.ndarray
    s2_e: np.ndarray
    s3_e: np.ndarray
    qm_c: np.ndarray
    ql_c: np.ndarray
    qr_c: np.ndarray
    qo_c: np.ndarray
    qc_c: np.ndarray
    s1_c: np.ndarray
    s2_c: np.ndarray
    s3_c: np.ndarray
    l1_c: np.ndarray
    zh_inv_m: np.ndarray
    build_s: float

    @property
    def n(self) -> int:
        return self.domain.n

    @staticmethod
    def from_key(pk: ProvingKey) -> ProverContext:
        """Check the key's wiring and SRS, and precompute its evaluations (see the class)."""
        t0 = time.perf_counter()
        if not isinstance(pk, ProvingKey):
            raise TypeError(f"expected a ProvingKey, got {type(pk).__name__}")
        n = pk.domain_size
        if n < 4:
            raise ProverError(f"domain size {n} is too small for PLONK (snarkjs uses >= 8)")
        domain, domain4 = Domain(pk.power), Domain(pk.power + 2)
        n_int = pk.n_internal
        maps = []
        for name in ("a_map", "b_map", "c_map"):
            m = np.ascontiguousarray(getattr(pk, name), dtype=np.int64)
            if m.size and (int(m.min()) < 0 or int(m.max()) >= n_int):
                raise ProverError(
                    f"malformed proving key: {name} refers to a signal outside 0..{n_int - 1}"
                )
            maps.append(m)
        nadd = len(pk.additions)
        sig1 = np.empty(nadd, dtype=np.int64)
        sig2 = np.empty(nadd, dtype=np.int64)
        f1, f2 = [], []
        for i, (s1, s2, a, b) in enumerate(pk.additions):
            limit = pk.n_vars + i
            if not (0 <= s1 < limit and 0 <= s2 < limit):
                raise ProverError(
                    f"malformed proving key: addition {i} reads a signal not computed before it"
                )
            sig1[i], sig2[i] = s1, s2
            f1.append(a)
            f2.append(b)
        srs_m = np.require(pk.srs_g1_m[: n + 6], np.uint64, ["C", "W"])
        g1.validate_g1_affine_m(srs_m, "proving key SRS")
        bases = MSMBases.prepare(srs_m, validate=False)

        def evals_h(coef: np.ndarray) -> np.ndarray:
            return ntt.ntt(np.array(coef, dtype=np.uint64, order="C"), domain)

        def evals_coset(coef: np.ndarray) -> np.ndarray:
            ext = np.zeros((4 * n, 4), dtype=np.uint64)
            ext[:n] = coef
            return ntt.coset_ntt(ext, domain4)

        coefs = {
            name: np.require(getattr(pk, f"{name}_m"), np.uint64, ["C", "W"])
            for name in ("qm", "ql", "qr", "qo", "qc", "s1", "s2", "s3")
        }
        values: dict[str, Any] = {}
        for name, coef in coefs.items():
            values[f"{name}_e"] = evals_h(coef)
            values[f"{name}_c"] = evals_coset(coef)
        # L1(x) = (x^n - 1) / (n (x - 1)) on the coset; Z_H there has period 4.
        zh = domain.vanishing_on_coset(domain4)
        x_m = domain4.coset_elements_m()
        den = FR_M.scale(FR_M.sub(x_m, np.broadcast_to(FR_M.element(1), x_m.shape).copy()), n)
        l1_c = FR_M.batch_inv(den)
        zh_m = _to_mont(zh)
        from prover.poly.polynomial import mul_periodic_m

        mul_periodic_m(l1_c, zh_m, l1_c)
        zh_inv_m = _to_mont([pow(v, -1, R) for v in zh])
        return ProverContext(
            key=weakref.ref(pk),
            domain=domain,
            domain4=domain4,
            coef=coefs,
            srs_m=srs_m,
            bases=bases,
            a_map=maps[0],
            b_map=maps[1],
            c_map=maps[2],
            add_sig1=sig1,
            add_sig2=sig2,
            add_f1_m=_to_mont(f1),
            add_f2_m=_to_mont(f2),
            l1_c=l1_c,
            zh_inv_m=zh_inv_m,
            build_s=time.perf_counter() - t0,
            **values,
        )

    def built_for(self, pk: ProvingKey) -> bool:
        return self.key() is pk


# Contexts hold only a weak reference to their key, so this cache lets a key (and its context)
# be collected once the caller drops the key.
_CONTEXTS: weakref.WeakKeyDictionary[ProvingKey, ProverContext] = weakref.WeakKeyDictionary()


def context_for(pk: ProvingKey) -> ProverContext:
    """The cached ``ProverContext`` of ``pk`` (built on first use, dropped with the key)."""
    ctx = _CONTEXTS.get(pk)
    if ctx is None:
        ctx = _CONTEXTS[pk] = ProverContext.from_key(pk)
    return ctx


# --- timings ----------------------------------------------------------------------------------


class Timer:
    """Seconds per round and per kernel family (``KERNEL_NAMES``), and MSM count."""

    def __init__(self) -> None:
        self.rounds: dict[str, float] = {}
        self.kernels: dict[str, float] = dict.fromkeys(KERNEL_NAMES, 0.0)
        self.msm_count = 0
        self.msm_points = 0

    @contextmanager
    def kernel(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.kernels[name] += time.perf_counter() - t0

    def msm(self, ctx: ProverContext, scalars_m: np.ndarray) -> G1Point:
        """[p(tau)]_1 for the coefficients scalars_m (Pippenger over the key's SRS)."""
        with self.kernel("msm"):
            out = msm_g1_bases(ctx.bases, scalars_m)
        self.msm_count += 1
        self.msm_points += scalars_m.shape[0]
        return out

    def as_dict(self) -> dict[str, float]:
        out = {f"{name}_s": s for name, s in self.rounds.items()}
        out.update({f"kernel_{name}_s": s for name, s in self.kernels.items()})
        out["total_s"] = sum(self.rounds.values())
        out["msm_count"] = float(self.msm_count)
        out["msm_points"] = float(self.msm_points)
        return out


# --- the state the rounds share ---------------------------------------------------------------


@dataclass
class ProverState:
    """The prover's working state, filled round by round (mutable on purpose: each round adds
    its polynomials, commitments and challenges). Coefficient arrays (``*_coef``) are in the
    monomial basis, blinded; ``*_e`` are evaluations on H."""

    pk: ProvingKey
    ctx: ProverContext
    w_m: np.ndarray  # internal witness (slot 0 zeroed, additions appended)
    public: list[int]
    blind: list[int]  # b_1..b_11 at indices 1..11 (snarkjs's challenges.b)
    timer: Timer = field(default_factory=Timer)
    check: bool = True
    a_e: np.ndarray | None = None
    b_e: np.ndarray | None = None
    c_e: np.ndarray | None = None
    a_coef: np.ndarray | None = None
    b_coef: np.ndarray | None = None
    c_coef: np.ndarray | None = None
    z_coef: np.ndarray | None = None
    t1_coef: np.ndarray | None = None
    t2_coef: np.ndarray | None = None
    t3_coef: np.ndarray | None = None
    commitments: dict[str, G1Point] = field(default_factory=dict)
    challenges: dict[str, int] = field(default_factory=dict)
    evals: dict[str, int] = field(default_factory=dict)


def internal_witness(
    pk: ProvingKey, ctx: ProverContext, witness: Sequence[int], timer: Timer
) -> np.ndarray:
    """Witness (slot 0 zeroed: snarkjs's "first element in plonk is not used") + additions."""
    if len(witness) != pk.n_vars:
        raise WitnessError(
            f"witness has {len(witness)} values, the proving key expects {pk.n_vars}"
        )
    with timer.kernel("witness"):
        w_m = np.zeros((pk.n_internal, 4), dtype=np.uint64)
        try:
            if pk.n_vars > 1:
                w_m[1 : pk.n_vars] = convert.to_mont(FR_M, list(witness[1:]))
            bad = None
        except (ValueError, TypeError, OverflowError):
            bad = -1
        if bad is not None or not _is_fr(witness[0]):
            i = next((i for i, x in enumerate(witness) if not _is_fr(x)), 0)
            raise WitnessError(
                f"witness value {i} is not a canonical Fr element (an int in [0, r)): "
                f"{witness[i]!r}"
            ) from None
        kern.additions_m(w_m, pk.n_vars, ctx.add_sig1, ctx.add_sig2, ctx.add_f1_m, ctx.add_f2_m)
    return w_m


def _gate_error(state: ProverState, row: int) -> UnsatisfiedWitness:
    ctx = state.ctx
    vals = {
        name: _row_int(arr, row)
        for name, arr in (
            ("a", state.a_e),
            ("b", state.b_e),
            ("c", state.c_e),
            ("qM", ctx.qm_e),
            ("qL", ctx.ql_e),
            ("qR", ctx.qr_e),
            ("qO", ctx.qo_e),
            ("qC", ctx.qc_e),
        )  # fmt: skip
    }
    pi = -state.public[row] % R if row < len(state.public) else 0
    res = (
        vals["qM"] * vals["a"] * vals["b"]
        + vals["qL"] * vals["a"]
        + vals["qR"] * vals["b"]
        + vals["qO"] * vals["c"]
        + vals["qC"]
        + pi
    ) % R
    sigs = f"a = signal {ctx.a_map[row]}, b = signal {ctx.b_map[row]}, c = signal {ctx.c_map[row]}"
    kind = "public-input gate" if row < state.pk.n_public else "gate"
    return UnsatisfiedWitness(
        f"the witness does not satisfy {kind} {row} ({sigs}): qM*a*b + qL*a + qR*b + qO*c + qC"
        f"{' + PI' if pi else ''} = {res} != 0",
        row,
    )


# --- round 1 ----------------------------------------------------------------------------------


def _blinded_coefficients(
    state: ProverState, evals: np.ndarray, blinders: Sequence[int]
) -> np.ndarray:
    """Interpolate evals on H and add (sum_j blinders[j] X^j) Z_H(X), as snarkjs's
    ``blindCoefficients([b_low, ..., b_high])``: coefficient j gets -b_j, coefficient n + j +b_j."""
    n = state.ctx.n
    coef = np.zeros((n + len(blinders), 4), dtype=np.uint64)
    coef[:n] = evals
    with state.timer.kernel("ntt"):
        ntt.intt(coef[:n], state.ctx.domain)
    for j, bj in enumerate(blinders):
        _row_add(coef, j, -bj)
        _row_add(coef, n + j, bj)
    return coef


def round_1_wire_commitments(state: ProverState) -> None:
    """Wire columns a, b, c on H, blinded interpolants, [a]_1, [b]_1, [c]_1."""
    ctx, tm, b = state.ctx, state.timer, state.blind
    n = ctx.n
    a_e, b_e, c_e = (np.empty((n, 4), dtype=np.uint64) for _ in range(3))
    with tm.kernel("wires"):
        kern.wires_m(state.w_m, ctx.a_map, ctx.b_map, ctx.c_map, a_e, b_e, c_e)
    state.a_e, state.b_e, state.c_e = a_e, b_e, c_e
    if state.check:
        pub_m = _to_mont(state.public)
        with tm.kernel("check"):
            row = kern.gate_check_m(
                a_e, b_e, c_e, ctx.qm_e, ctx.ql_e, ctx.qr_e, ctx.qo_e, ctx.qc_e, pub_m,
                _chunks(n),
            )  # fmt: skip
        if row >= 0:
            raise _gate_error(state, int(row))
    state.a_coef = _blinded_coefficients(state, a_e, (b[2], b[1]))
    state.b_coef = _blinded_coefficients(state, b_e, (b[4], b[3]))
    state.c_coef = _blinded_coefficients(state, c_e, (b[6], b[5]))
    for name in ("A", "B", "C"):
        state.commitments[name] = tm.msm(ctx, getattr(state, f"{name.lower()}_coef"))


# --- round 2 ----------------------------------------------------------------------------------


def round_2_permutation(state: ProverState, transcript: Transcript) -> None:
    """beta, gamma; the grand product z, blinded with (b7 X^2 + b8 X + b9) Z_H; [z]_1."""
    ctx, tm = state.ctx, state.timer
    vk = state.pk.vk
    transcript.reset()
    for pt in vk.commitments():
        transcript.add_point(pt)
    for x in state.public:
        transcript.add_scalar(x)
    for name in ("A", "B", "C"):
        transcript.add_point(state.commitments[name])
    beta = transcript.challenge()
    transcript.reset()
    transcript.add_scalar(beta)
    gamma = transcript.challenge()
    state.challenges.update(beta=beta, gamma=gamma)

    n = ctx.n
    z_e = np.empty((n, 4), dtype=np.uint64)
    num_tmp = np.empty((n, 4), dtype=np.uint64)
    den_tmp = np.empty((n, 4), dtype=np.uint64)
    with tm.kernel("z"):
        wrap = kern.permutation_z_m(
            state.a_e, state.b_e, state.c_e, ctx.s1_e, ctx.s2_e, ctx.s3_e, _e(beta), _e(gamma),
            _e(state.pk.k1), _e(state.pk.k2), ctx.domain.omega_m, z_e, num_tmp, den_tmp, _chunks(n),
        )  # fmt: skip
    del num_tmp, den_tmp
    if state.check and _i(wrap) != 1:
        raise UnsatisfiedWitness(
            "the copy constraints do not hold (z(w^n) != 1): the proving key's permutation "
            "polynomials do not match its wire maps",
            None,
        )
    b = state.blind
    state.z_coef = _blinded_coefficients(state, z_e, (b[9], b[8], b[7]))
    state.commitments["Z"] = tm.msm(ctx, state.z_coef)


# --- round 3 ----------------------------------------------------------------------------------


def _coset_evals(state: ProverState, coef: np.ndarray) -> np.ndarray:
    ctx = state.ctx
    ext = np.zeros((4 * ctx.n, 4), dtype=np.uint64)
    ext[: coef.shape[0]] = coef
    with state.timer.kernel("ntt"):
        ntt.coset_ntt(ext, ctx.domain4)
    return ext


def _pi_coset(state: ProverState) -> np.ndarray:
    """PI(X) = -sum_j pub_j L_j(X) on the 4n coset, through an interpolation on H."""
    ctx = state.ctx
    n = ctx.n
    pi = np.zeros((n, 4), dtype=np.uint64)
    if state.public:
        pi[: len(state.public)] = _to_mont([-x % R for x in state.public])
    with state.timer.kernel("ntt"):
        ntt.intt(pi, ctx.domain)
    return _coset_evals(state, pi)


def round_3_quotient(state: ProverState, transcript: Transcript) -> None:
    """alpha; t on the 4n coset, interpolated and split into T1, T2, T3; their commitments."""
    ctx, tm = state.ctx, state.timer
    ch = state.challenges
    transcript.reset()
    transcript.add_scalar(ch["beta"])
    transcript.add_scalar(ch["gamma"])
    transcript.add_point(state.commitments["Z"])
    alpha = transcript.challenge()
    ch["alpha"] = alpha

    n = ctx.n
    a_c = _coset_evals(state, state.a_coef)
    b_c = _coset_evals(state, state.b_coef)
    c_c = _coset_evals(state, state.c_coef)
    z_c = _coset_evals(state, state.z_coef)
    if len(state.public) > PI_ROTATE_MAX:
        pi_c = _pi_coset(state)
        pub_m = np.zeros((0, 4), dtype=np.uint64)
    else:
        pi_c = np.zeros((0, 4), dtype=np.uint64)
        pub_m = _to_mont(state.public)
    t_c = np.empty((4 * n, 4), dtype=np.uint64)
    beta = ch["beta"]
    with tm.kernel("quotient"):
        kern.quotient_m(
            a_c, b_c, c_c, z_c, ctx.qm_c, ctx.ql_c, ctx.qr_c, ctx.qo_c, ctx.qc_c, ctx.s1_c,
            ctx.s2_c, ctx.s3_c, ctx.l1_c, ctx.zh_inv_m, pub_m, pi_c, _e(beta), _e(ch["gamma"]),
            _e(alpha), _e(state.pk.k1), _e(state.pk.k2), _e(beta * ctx.domain4.shift),
            ctx.domain4.omega_m, t_c, _chunks(4 * n),
        )  # fmt: skip
    del a_c, b_c, c_c, z_c, pi_c
    with tm.kernel("ntt"):
        ntt.coset_intt(t_c, ctx.domain4)
    if state.check and t_c[3 * n + 6 :].any():
        raise ProverError(
            "internal error: the quotient has degree > 3n + 5 although every gate holds"
        )
    b10, b11 = state.blind[10], state.blind[11]
    t1 = np.zeros((n + 1, 4), dtype=np.uint64)
    t1[:n] = t_c[:n]
    _row_set(t1, n, b10)
    t2 = np.zeros((n + 1, 4), dtype=np.uint64)
    t2[:n] = t_c[n : 2 * n]
    _row_add(t2, 0, -b10)
    _row_set(t2, n, b11)
    t3 = np.ascontiguousarray(t_c[2 * n : 3 * n + 6])
    _row_add(t3, 0, -b11)
    del t_c
    state.t1_coef, state.t2_coef, state.t3_coef = t1, t2, t3
    for name, coef in (("T1", t1), ("T2", t2), ("T3", t3)):
        state.commitments[name] = tm.msm(ctx, coef)


# --- round 4 ----------------------------------------------------------------------------------


def round_4_evaluations(state: ProverState, transcript: Transcript) -> None:
    """xi; a(xi), b(xi), c(xi), S1(xi), S2(xi), z(xi w)."""
    ctx, tm = state.ctx, state.timer
    transcript.reset()
    transcript.add_scalar(state.challenges["alpha"])
    for name in ("T1", "T2", "T3"):
        transcript.add_point(state.commitments[name])
    xi = transcript.challenge()
    xiw = xi * ctx.domain.omega % R
    state.challenges.update(xi=xi, xiw=xiw)
    xs_m = _to_mont([xi] * 5 + [xiw])
    out = np.empty((6, 4), dtype=np.uint64)
    with tm.kernel("evaluate"):
        kern.evaluate6_m(
            state.a_coef, state.b_coef, state.c_coef, ctx.coef["s1"], ctx.coef["s2"],
            state.z_coef, xs_m, out, max(1, min(_chunks(ctx.n), 16)),
        )  # fmt: skip
    values = convert.from_mont(FR_M, out)
    state.evals.update(zip(EVAL_NAMES, values, strict=True))


# --- round 5 ----------------------------------------------------------------------------------


def linearisation_scalars(state: ProverState) -> list[int]:
    """The ``kernels.LIN_*`` scalars of snarkjs's r(X) and W_xi (``computeR``, ``computeWxi``)."""
    ctx = state.ctx
    pk = state.pk
    ch, ev = state.challenges, state.evals
    beta, gamma, alpha, xi = ch["beta"], ch["gamma"], ch["alpha"], ch["xi"]
    n = ctx.n
    xin = pow(xi, n, R)
    zh = (xin - 1) % R
    # L_i(xi) = w^i Z_H(xi) / (n (xi - w^i)) for the public rows i
    lag = ctx.domain.lagrange_range_at(xi, max(1, len(state.public)))
    eval_l1 = lag[0]
    eval_pi = -sum(x * lag[i] for i, x in enumerate(state.public)) % R
    a, b, c = ev["eval_a"], ev["eval_b"], ev["eval_c"]
    s1, s2, zw = ev["eval_s1"], ev["eval_s2"], ev["eval_zw"]
    betaxi = beta * xi % R
    e2 = (a + betaxi + gamma) * (b + betaxi * pk.k1 + gamma) % R
    e2 = e2 * (c + betaxi * pk.k2 + gamma) % R * alpha % R
    e3 = (a + beta * s1 + gamma) * (b + beta * s2 + gamma) % R * zw % R * alpha % R
    e4 = eval_l1 * alpha % R * alpha % R
    r0 = (eval_pi - e3 * (c + gamma) - e4) % R
    v = [0, ch["v"]]
    for _ in range(4):
        v.append(v[-1] * v[1] % R)
    const = (r0 - v[1] * a - v[2] * b - v[3] * c - v[4] * s1 - v[5] * s2) % R
    out = [0] * kern.LIN_ROWS
    out[kern.LIN_AB] = a * b % R
    out[kern.LIN_A], out[kern.LIN_B], out[kern.LIN_C] = a, b, c
    out[kern.LIN_Z] = (e2 + e4) % R
    out[kern.LIN_S3] = e3 * beta % R
    out[kern.LIN_ZH] = zh
    out[kern.LIN_ZH_XIN] = zh * xin % R
    out[kern.LIN_ZH_XIN2] = zh * xin % R * xin % R
    for k in range(5):
        out[kern.LIN_V1 + k] = v[k + 1]
    out[kern.LIN_CONST] = const
    return out


def round_5_openings(state: ProverState, transcript: Transcript) -> None:
    """v; W_xi and W_xiw (snarkjs's linearisation and openings); [W_xi]_1, [W_xiw]_1."""
    ctx, tm = state.ctx, state.timer
    ch, ev = state.challenges, state.evals
    transcript.reset()
    transcript.add_scalar(ch["xi"])
    for name in EVAL_NAMES:
        transcript.add_scalar(ev[name])
    ch["v"] = transcript.challenge()

    n = ctx.n
    scalars_m = _to_mont(linearisation_scalars(state))
    w_num = np.empty((n + 6, 4), dtype=np.uint64)
    with tm.kernel("linearise"):
        q = ctx.coef
        kern.linearise_m(
            q["qm"], q["ql"], q["qr"], q["qo"], q["qc"], q["s1"], q["s2"], q["s3"],
            state.a_coef, state.b_coef, state.c_coef, state.z_coef, state.t1_coef,
            state.t2_coef, state.t3_coef, scalars_m, w_num,
        )  # fmt: skip
    wxi = np.empty((n + 5, 4), dtype=np.uint64)
    zw_num = state.z_coef.copy()
    _row_add(zw_num, 0, -ev["eval_zw"])
    wxiw = np.empty((zw_num.shape[0] - 1, 4), dtype=np.uint64)
    with tm.kernel("divide"):
        rem = _div_linear(w_num, ch["xi"], wxi)
        rem_w = _div_linear(zw_num, ch["xiw"], wxiw)
    if state.check and (_i(rem) or _i(rem_w)):
        raise ProverError("internal error: an opening polynomial does not vanish at its point")
    state.commitments["Wxi"] = tm.msm(ctx, wxi)
    state.commitments["Wxiw"] = tm.msm(ctx, wxiw)


# --- the prover -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProveResult:
    """A proof, its public signals, and where the time went (``Timer.as_dict`` keys, plus
    ``context_s``: the per-key precomputation, 0 when it was already cached)."""

    proof: Proof
    public_signals: list[int]
    timings: dict[str, float]


def _blinders(rng: RandomSource | None) -> list[int]:
    """b_1..b_11, uniform in Fr (snarkjs's ``Fr.random()``), drawn in order."""
    draw = secrets.randbelow if rng is None else rng.randrange
    return [0] + [int(draw(R)) for _ in range(11)]


def prove_with_timings(
    pk: ProvingKey,
    witness: Sequence[int],
    rng: RandomSource | None = None,
    progress: ProgressFn | None = None,
    check: bool = True,
    context: ProverContext | None = None,
) -> ProveResult:
    """``prove``, returning the timings too."""
    t_ctx = time.perf_counter()
    if context is None:
        cached = _CONTEXTS.get(pk)
        context = context_for(pk)
        ctx_s = 0.0 if cached is not None else time.perf_counter() - t_ctx
    else:
        if not context.built_for(pk):
            raise ValueError("the prover context was built for another proving key")
        ctx_s = 0.0
    timer = Timer()
    t0 = time.perf_counter()
    w_m = internal_witness(pk, context, witness, timer)
    public = [int(x) for x in witness[1 : pk.n_public + 1]]
    state = ProverState(pk, context, w_m, public, _blinders(rng), timer, check)
    transcript = Transcript()
    steps: list[Callable[[], None]] = [
        lambda: round_1_wire_commitments(state),
        lambda: round_2_permutation(state, transcript),
        lambda: round_3_quotient(state, transcript),
        lambda: round_4_evaluations(state, transcript),
        lambda: round_5_openings(state, transcript),
    ]
    for k, (name, step) in enumerate(zip(ROUND_NAMES, steps), start=1):
        if progress is not None:
            progress(k, name, None)
        t = time.perf_counter()
        step()
        elapsed = time.perf_counter() - t
        if k == 1:
            elapsed += t - t0  # the witness preparation counts in round 1
        timer.rounds[name] = elapsed
        if progress is not None:
            progress(k, name, elapsed)
    c, ev = state.commitments, state.evals
    proof = Proof(
        A=c["A"], B=c["B"], C=c["C"], Z=c["Z"], T1=c["T1"], T2=c["T2"], T3=c["T3"],
        Wxi=c["Wxi"], Wxiw=c["Wxiw"], **ev,
    )  # fmt: skip
    timings = timer.as_dict()
    timings["context_s"] = ctx_s
    return ProveResult(proof, public, timings)


def prove(
    pk: ProvingKey,
    witness: Sequence[int],
    rng: RandomSource | None = None,
    progress: ProgressFn | None = None,
    check: bool = True,
    *,
    context: ProverContext | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[Proof, list[int]]:
    """A PLONK proof of ``witness`` (snarkjs's witness vector: index 0 is the constant 1, then
    the public signals) for ``pk``, and its public signals.

    ``rng`` draws the eleven blinding scalars (``randrange(r)``; default: the OS's secrets);
    inject a seeded ``random.Random`` for reproducible proofs. ``progress(k, name, seconds)`` is
    called before (seconds None) and after each round. ``check`` verifies every gate on the
    internal witness first and raises ``UnsatisfiedWitness`` naming the first failing row; with
    ``check=False`` a bad witness yields a proof that no verifier accepts. ``timings``, if given,
    receives ``ProveResult.timings``. ``context`` reuses a ``ProverContext.from_key(pk)``.
    """
    result = prove_with_timings(pk, witness, rng, progress, check, context)
    if timings is not None:
        timings.update(result.timings)
    return result.proof, result.public_signals


# --- JIT warm-up ------------------------------------------------------------------------------


def _tiny_key(power: int = 3, tau: int = 7) -> ProvingKey:
    """A real but insecure key (tau is public) on n = 2^power rows, for the JIT warm-up and for
    tests without Node tools: row 0 is the gate a + b - 2c = 0 with a, b, c all on internal
    signal 2 = s[1] + s[1] (one addition), any witness [1, x] satisfies it; the other rows are
    padding on signal 0. The permutation has one cycle per signal, as snarkjs's setup builds."""
    from prover.curve import ref as curve_ref
    from prover.curve.fixed_base_g1 import fixed_base_g1
    from prover.plonk.keys import VerifyingKey

    n = 1 << power
    dom = Domain(power)
    k1, k2 = params.PLONK_K1, params.PLONK_K2
    # Copy cycles: signal 2 at a0, b0, c0; signal 0 at every other position (row by row).
    sel = np.zeros((5, n), dtype=object)
    sel[1, 0], sel[2, 0], sel[3, 0] = 1, 1, R - 2
    ident = [pow(dom.omega, i, R) for i in range(n)]
    pos = [ident, [k1 * x % R for x in ident], [k2 * x % R for x in ident]]
    cycles: dict[int, list[tuple[int, int]]] = {}
    for i in range(n):
        for col in range(3):
            cycles.setdefault(2 if i == 0 else 0, []).append((col, i))
    sigma = [[0] * n for _ in range(3)]
    for members in cycles.values():
        for j, (col, i) in enumerate(members):
            ncol, ni = members[j - 1]
            sigma[col][i] = pos[ncol][ni]
    coeffs = [ntt.intt(_to_mont([int(v) for v in row]), dom) for row in (*sel, *sigma)]
    srs = fixed_base_g1(params.G1_GENERATOR, FR_M.powers(tau, n + 6))
    comms = [msm_g1(srs[:n], c) for c in coeffs]
    vk = VerifyingKey(
        n_public=0, power=power, k1=k1, k2=k2, Qm=comms[0], Ql=comms[1], Qr=comms[2],
        Qo=comms[3], Qc=comms[4], S1=comms[5], S2=comms[6], S3=comms[7],
        X_2=curve_ref.g2_mul(params.G2_GENERATOR, tau), w=dom.omega,
    )  # fmt: skip
    maps = np.array([2], dtype=np.uint32)
    return ProvingKey(
        n_vars=2, n_public=0, power=power, n_constraints=1, k1=k1, k2=k2,
        additions=((1, 1, 1, 1),), a_map=maps, b_map=maps.copy(), c_map=maps.copy(),
        qm_m=coeffs[0], ql_m=coeffs[1], qr_m=coeffs[2], qo_m=coeffs[3], qc_m=coeffs[4],
        s1_m=coeffs[5], s2_m=coeffs[6], s3_m=coeffs[7], srs_g1_m=srs, vk=vk,
    )  # fmt: skip


def warm_up() -> float:
    """Load every kernel the prover uses (compiling on a cold Numba cache) by proving a tiny
    synthetic key; returns the seconds it took. Benchmarks and the CLI time this apart."""
    from prover.curve.fixed_base_g1 import fixed_base_g1

    t0 = time.perf_counter()
    pk = _tiny_key()
    prove_with_timings(pk, [1, 0], check=True, context=ProverContext.from_key(pk))
    # MSMs of 2^12+ points take other code paths (batch-affine, AVX-512 IFMA where available)
    size = 1 << 12
    pts = fixed_base_g1(params.G1_GENERATOR, FR_M.powers(3, size))
    scalars = FR_M.powers(5, size)
    msm_g1_bases(MSMBases.prepare(pts, validate=False), scalars)
    return time.perf_counter() - t0
