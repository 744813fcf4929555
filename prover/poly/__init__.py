"""Evaluation domains, NTTs and polynomials over Fr (the PLONK prover's polynomial layer).

- ``domain``: ``Domain`` (H = 2^k-th roots of unity, snarkjs's omega, coset shift 5, twiddles).
- ``ntt``: in-place parallel NTT / inverse / coset transforms on (n, 4) Montgomery arrays
  (``from prover.poly import ntt``; ``ntt.ntt(a_m)``, ``ntt.intt(a_m)``, ...).
- ``polynomial``: ``Coeffs``, ``Evals``, ``CosetEvals`` (the basis is the type).
- ``twin``: plain-Python twins of the kernels, for tests.
"""

from prover.poly.domain import Domain
from prover.poly.polynomial import Coeffs, CosetEvals, Evals, evaluate_many

__all__ = ["Coeffs", "CosetEvals", "Domain", "Evals", "evaluate_many"]
