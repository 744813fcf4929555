"""KZG: commitments and openings against Python-int/py_ecc recomputation; forged openings fail."""

from __future__ import annotations

import random

import numpy as np
import pytest

from prover import kzg, params
from prover.curve import ref as curve
from prover.field import convert
from prover.field.kernels import FR_M

R = params.R_ORDER
TAU = 0x1234567890ABCDEF1234567890ABCDEF


@pytest.fixture(scope="module")
def srs():
    return kzg.SRS.insecure_from_tau(64, TAU)


def poly_at(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % R
    return acc


def test_srs_points_are_powers_of_tau(srs):
    from prover.curve import g1

    pts = [g1.affine_tuple_to_int(srs.g1_powers_m[i]) for i in (0, 1, 2, 63)]
    assert pts[0] == params.G1_GENERATOR
    for i, p in zip((1, 2, 63), pts[1:], strict=True):
        assert p == curve.g1_mul(params.G1_GENERATOR, pow(TAU, i, R))
    assert srs.g2_tau == curve.g2_mul(params.G2_GENERATOR, TAU)


@pytest.mark.parametrize("n", [1, 2, 17, 64])
def test_commit_open_verify(srs, n):
    rnd = random.Random(n)
    coeffs = [rnd.randrange(R) for _ in range(n)]
    coeffs_m = convert.to_mont(FR_M, coeffs)
    c = kzg.commit(srs, coeffs_m)
    assert c == curve.g1_mul(params.G1_GENERATOR, poly_at(coeffs, TAU))
    z = rnd.randrange(R)
    op = kzg.open_at(srs, coeffs_m, z)
    assert op.value == poly_at(coeffs, z)
    if n > 1:  # W = [q(tau)]_1 with q = (p - p(z)) / (X - z)
        q_tau = (poly_at(coeffs, TAU) - op.value) * pow(TAU - z, -1, R) % R
        assert op.proof == curve.g1_mul(params.G1_GENERATOR, q_tau)
    assert kzg.verify_opening(srs.g2_tau, c, op)
    # Tampering: wrong value, wrong point, wrong proof, wrong commitment, non-canonical value.
    bad = [
        kzg.Opening(op.point, (op.value + 1) % R, op.proof),
        kzg.Opening((op.point + 1) % R, op.value, op.proof) if n > 1 else None,
        kzg.Opening(op.point, op.value, curve.g1_add(op.proof, params.G1_GENERATOR)),
        kzg.Opening(op.point, op.value + R, op.proof),
        kzg.Opening(op.point, op.value, (op.proof[0], (op.proof[1] + 1) % params.P)),
    ]
    for b in bad:
        if b is not None:
            assert not kzg.verify_opening(srs.g2_tau, c, b)
    assert not kzg.verify_opening(srs.g2_tau, curve.g1_add(c, params.G1_GENERATOR), op)


def test_divide_by_linear_kernel_matches_twin():
    rnd = random.Random(5)
    for n in (1, 2, 3, 50):
        coeffs_m = convert.to_mont(FR_M, [rnd.randrange(R) for _ in range(n)])
        z = FR_M.element(rnd.randrange(R))
        q1 = np.zeros((max(n - 1, 1), 4), np.uint64)
        q2 = np.zeros_like(q1)
        v1 = kzg.divide_by_linear_m(coeffs_m, z, q1, FR_M.mod)
        v2 = kzg.divide_by_linear_twin(coeffs_m, z, q2, FR_M.mod)
        assert np.array_equal(q1, q2) and tuple(v1) == tuple(v2)


def test_bad_inputs(srs):
    too_long = convert.to_mont(FR_M, list(range(65)))
    with pytest.raises(ValueError, match="exceeds the SRS"):
        kzg.commit(srs, too_long)
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        kzg.commit(srs, np.zeros((3, 3), np.uint64))
    with pytest.raises(ValueError):
        kzg.open_at(srs, convert.to_mont(FR_M, [1, 2]), R)
    with pytest.raises(ValueError):
        kzg.SRS.insecure_from_tau(4, 0)
