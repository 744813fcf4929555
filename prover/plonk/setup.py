"""PLONK preprocessing: a constraint system and an SRS -> ProvingKey and VerifyingKey.

Gabizon, Williamson, Ciobotaru, ePrint 2019/953, section 8.1 ("preprocessed input"): the
selector polynomials qM, qL, qR, qO, qC interpolate the gates' selectors on H = <w> (rows past the
gates are 0), and the permutation polynomials S_sigma1..3 interpolate the copy-constraint
permutation sigma on the three wire columns, whose positions are labelled by the identity
values w^i (column a), k1 w^i (column b), k2 w^i (column c), with k1 = 2 and k2 = 3 (section 5:
H, k1 H, k2 H are disjoint cosets). The verifying key holds their KZG commitments [q(tau)]_1 and
[tau]_2.

The permutation is built exactly as snarkjs 0.7.6's ``plonk_setup.js`` ``writeSigma`` does, so the
polynomials and commitments are identical to snarkjs's: positions are visited row by row (row i:
a_i, then b_i, then c_i; padding rows put every wire on signal 0); each position takes the identity
value of the PREVIOUS visit of the same signal, and the first visit of a signal takes its last
visit's value: one cycle per signal, in visit order. Here that is one stable argsort by signal.

Commitments are MSMs of the coefficients on the monomial SRS [tau^i]_1 (snarkjs uses the
evaluations on the Lagrange points; both give [q(tau)]_1). Heavy work runs on the kernels: INTTs
(``prover.poly.ntt``) and Pippenger MSMs (``prover.curve.msm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from prover import params
from prover.curve.g1 import validate_g1_affine_m
from prover.curve.msm import MSMBases, msm_g1_bases
from prover.field import convert
from prover.field.kernels import FR_M
from prover.plonk.constraint_system import ConstraintSystem, domain_power
from prover.plonk.keys import G2Point, ProvingKey, VerifyingKey
from prover.poly.domain import Domain
from prover.poly.ntt import intt

K1 = params.PLONK_K1
K2 = params.PLONK_K2


class SetupError(ValueError):
    """The circuit and the powers of tau do not fit together."""


class PowersOfTau(Protocol):
    """What setup needs from a powers-of-tau file (``prover.ptau.Ptau`` has it)."""

    power: int  # the ceremony supports domains up to 2^power

    def tau_g1_m(self, count: int) -> np.ndarray:
        """[tau^i]_1 for i < count, an (count, 2, 4) affine Fq Montgomery array."""
        ...

    def tau_g2(self, i: int) -> G2Point:
        """[tau^i]_2 as ints."""
        ...


def _column_m(values: Sequence[int], n: int) -> np.ndarray:
    """Gate-row values padded with zeros to n rows, as a Montgomery array."""
    return convert.to_mont(FR_M, list(values) + [0] * (n - len(values)))


def wire_signals(cs: ConstraintSystem, n: int) -> np.ndarray:
    """(n, 3) int64: the internal signal on wires a, b, c of every row (padding: signal 0)."""
    wires = np.zeros((n, 3), dtype=np.int64)
    if cs.n_gates:
        wires[: cs.n_gates] = np.array([cs.a, cs.b, cs.c], dtype=np.int64).T
    return wires


def identity_m(power: int) -> np.ndarray:
    """(n, 3, 4): the identity labels w^i, k1 w^i, k2 w^i of the positions of row i."""
    dom = Domain(power)
    w = dom.elements_m()
    return np.stack([w, FR_M.scale(w, K1), FR_M.scale(w, K2)], axis=1)


def sigma_evaluations_m(cs: ConstraintSystem, power: int) -> tuple[np.ndarray, ...]:
    """S1, S2, S3 on H (three (n, 4) Montgomery arrays), exactly as snarkjs's writeSigma."""
    n = 1 << power
    signals = wire_signals(cs, n).reshape(-1)  # visit v = 3 i + column
    order = np.argsort(signals, kind="stable")  # visits grouped by signal, in visit order
    sorted_signals = signals[order]
    first = np.ones(3 * n, dtype=bool)
    first[1:] = sorted_signals[1:] != sorted_signals[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], 3 * n) - 1
    source = np.empty(3 * n, dtype=np.int64)  # source[j]: visit whose label sorted visit j takes
    source[1:] = order[:-1]
    source[starts] = order[ends]
    ident = identity_m(power).reshape(3 * n, 4)
    sigma = np.empty_like(ident)
    sigma[order] = ident[source]
    sigma = sigma.reshape(n, 3, 4)
    return tuple(np.ascontiguousarray(sigma[:, k]) for k in range(3))


def selector_evaluations_m(cs: ConstraintSystem, power: int) -> tuple[np.ndarray, ...]:
    """qM, qL, qR, qO, qC on H (rows past the gates are 0)."""
    n = 1 << power
    return tuple(_column_m(col, n) for col in (cs.qm, cs.ql, cs.qr, cs.qo, cs.qc))


def setup(cs: ConstraintSystem, ptau: PowersOfTau) -> ProvingKey:
    """The proving key (with its verifying key) of ``cs`` on the SRS of ``ptau``."""
    power = domain_power(cs)
    n = 1 << power
    if power > ptau.power:
        raise SetupError(
            f"circuit too big for this powers of tau: {cs.n_gates} PLONK gates need a domain of "
            f"2^{power}, the file supports 2^{ptau.power}"
        )
    srs = np.ascontiguousarray(ptau.tau_g1_m(n + 6))
    if srs.shape != (n + 6, 2, 4):
        raise SetupError(f"the powers of tau gave {srs.shape[0]} G1 points, {n + 6} are needed")
    validate_g1_affine_m(srs, "powers of tau G1 points")  # once, not in each of the 8 MSMs
    dom = Domain(power)

    polys = []
    for evals in (*selector_evaluations_m(cs, power), *sigma_evaluations_m(cs, power)):
        polys.append(intt(evals, dom))  # in place: evaluations -> coefficients
    bases = MSMBases.prepare(srs[:n], validate=False)  # GLV images etc. once for the 8 MSMs
    commitments = [msm_g1_bases(bases, coeffs) for coeffs in polys]

    vk = VerifyingKey(
        n_public=cs.n_public,
        power=power,
        k1=K1,
        k2=K2,
        Qm=commitments[0],
        Ql=commitments[1],
        Qr=commitments[2],
        Qo=commitments[3],
        Qc=commitments[4],
        S1=commitments[5],
        S2=commitments[6],
        S3=commitments[7],
        X_2=ptau.tau_g2(1),
        w=dom.omega,
    )
    return ProvingKey(
        n_vars=cs.n_vars,
        n_public=cs.n_public,
        power=power,
        n_constraints=cs.n_gates,
        k1=K1,
        k2=K2,
        additions=cs.additions,
        a_map=np.array(cs.a, dtype=np.uint32),
        b_map=np.array(cs.b, dtype=np.uint32),
        c_map=np.array(cs.c, dtype=np.uint32),
        qm_m=polys[0],
        ql_m=polys[1],
        qr_m=polys[2],
        qo_m=polys[3],
        qc_m=polys[4],
        s1_m=polys[5],
        s2_m=polys[6],
        s3_m=polys[7],
        srs_g1_m=srs,
        vk=vk,
    )
