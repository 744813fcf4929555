"""PLONK proving and verification keys (Gabizon, Williamson, Ciobotaru, ePrint 2019/953,
section 8.3: the "preprocessed input"), shaped like snarkjs 0.7.6's PLONK ``.zkey`` and
``verification_key.json``.

The proving key holds what the prover needs, in the form snarkjs's zkey stores it:
- the circuit's wiring: ``a_map``, ``b_map``, ``c_map`` give, for each gate row, the index of the
  *internal signal* on wire a, b, c. Internal signals are the witness (index 0 is the constant 1,
  1..n_public the public signals) followed by one signal per entry of ``additions``: internal signal
  ``n_vars + i`` equals ``f1 * s[sig1] + f2 * s[sig2]`` for ``additions[i] = (sig1, sig2, f1, f2)``;
  an addition may refer to an earlier addition's signal. Rows past ``n_constraints`` are padding
  (every wire on signal 0, every selector 0).
- the selector polynomials qM, qL, qR, qO, qC and the permutation polynomials S1, S2, S3 in
  coefficient form over the domain H of size n (Fr Montgomery arrays, shape (n, 4)); their
  evaluations on H are recovered with one NTT each;
- the SRS points [tau^i]_1 for i < n + 6 (the quotient pieces T1..T3 need n + 6) and [tau]_2.

Points are canonical int pairs (prover.curve.ref conventions: infinity = (0, 0)); G2 points are
``((x.c0, x.c1), (y.c0, y.c1))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prover import params

G1Point = tuple[int, int]
G2Point = tuple[tuple[int, int], tuple[int, int]]

COMMITMENT_NAMES = ("Qm", "Ql", "Qr", "Qo", "Qc", "S1", "S2", "S3")


@dataclass(frozen=True)
class VerifyingKey:
    """snarkjs's PLONK ``verification_key.json`` in ints: what the verifier and transcript use."""

    n_public: int
    power: int  # log2 of the domain size n
    k1: int
    k2: int
    Qm: G1Point
    Ql: G1Point
    Qr: G1Point
    Qo: G1Point
    Qc: G1Point
    S1: G1Point
    S2: G1Point
    S3: G1Point
    X_2: G2Point  # [tau]_2
    w: int  # generator of the domain H (snarkjs's Fr.w[power])

    @property
    def domain_size(self) -> int:
        return 1 << self.power

    def commitments(self) -> tuple[G1Point, ...]:
        """Qm, Ql, Qr, Qo, Qc, S1, S2, S3: the order in which the transcript absorbs them."""
        return tuple(getattr(self, name) for name in COMMITMENT_NAMES)

    def __post_init__(self) -> None:
        if not 0 <= self.power <= params.FR_TWO_ADICITY:
            raise ValueError(f"power {self.power} is outside [0, {params.FR_TWO_ADICITY}]")
        if self.n_public < 0:
            raise ValueError("n_public must be >= 0")


@dataclass(frozen=True, eq=False)
class ProvingKey:
    """Everything a PLONK prover needs; the contents of a snarkjs PLONK zkey (sections 1-14)."""

    n_vars: int  # witness length (including the constant 1 at index 0)
    n_public: int
    power: int  # domain size n = 2^power
    n_constraints: int  # PLONK gate rows actually used (public rows included), <= n
    k1: int
    k2: int
    additions: tuple[tuple[int, int, int, int], ...]  # (sig1, sig2, f1, f2), ints
    a_map: np.ndarray  # (n_constraints,) uint32 internal-signal index per row
    b_map: np.ndarray
    c_map: np.ndarray
    qm_m: np.ndarray  # (n, 4) Fr Montgomery coefficients
    ql_m: np.ndarray
    qr_m: np.ndarray
    qo_m: np.ndarray
    qc_m: np.ndarray
    s1_m: np.ndarray
    s2_m: np.ndarray
    s3_m: np.ndarray
    srs_g1_m: np.ndarray  # (n + 6, 2, 4) Fq Montgomery affine: [tau^i]_1
    vk: VerifyingKey

    @property
    def domain_size(self) -> int:
        return 1 << self.power

    @property
    def X_2(self) -> G2Point:  # noqa: N802 (snarkjs's name)
        return self.vk.X_2

    def __post_init__(self) -> None:
        n = self.domain_size
        if self.n_constraints > n:
            raise ValueError(f"{self.n_constraints} gates do not fit a domain of size {n}")
        for name in ("a_map", "b_map", "c_map"):
            arr = getattr(self, name)
            if arr.shape != (self.n_constraints,):
                raise ValueError(f"{name} must have shape ({self.n_constraints},)")
        for name in ("qm_m", "ql_m", "qr_m", "qo_m", "qc_m", "s1_m", "s2_m", "s3_m"):
            arr = getattr(self, name)
            if arr.shape != (n, 4) or arr.dtype != np.uint64:
                raise ValueError(f"{name} must be an ({n}, 4) uint64 Montgomery array")
        if self.srs_g1_m.shape[0] < n + 6:
            raise ValueError(
                f"the proving key needs {n + 6} SRS points, has {self.srs_g1_m.shape[0]}"
            )
        if self.vk.power != self.power or self.vk.n_public != self.n_public:
            raise ValueError("verifying key does not match the proving key's shape")

    @property
    def n_internal(self) -> int:
        """Witness signals plus one signal per addition."""
        return self.n_vars + len(self.additions)
