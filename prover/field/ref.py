"""Prime fields on canonical Python ints: the reference twin of the Numba kernels.

Used by the verifier, circuits and rollup (field elements are canonical ints there), and by the
tests as the oracle for ``prover.field.kernels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prover import params


@dataclass(frozen=True)
class PrimeField:
    """Arithmetic modulo a prime ``modulus`` on canonical ints in [0, modulus)."""

    name: str
    modulus: int

    def check(self, x: int) -> int:
        """Return x if it is a canonical element, else raise ValueError."""
        if not isinstance(x, int) or isinstance(x, bool):
            raise TypeError(f"{self.name} element must be an int, got {type(x).__name__}")
        if not 0 <= x < self.modulus:
            raise ValueError(f"{self.name} element out of range [0, {self.name}.modulus): {x}")
        return x

    def add(self, a: int, b: int) -> int:
        return (a + b) % self.modulus

    def sub(self, a: int, b: int) -> int:
        return (a - b) % self.modulus

    def neg(self, a: int) -> int:
        return -a % self.modulus

    def mul(self, a: int, b: int) -> int:
        return a * b % self.modulus

    def sqr(self, a: int) -> int:
        return a * a % self.modulus

    def pow(self, a: int, e: int) -> int:
        return pow(a, e, self.modulus)

    def inv(self, a: int) -> int:
        if a % self.modulus == 0:
            raise ZeroDivisionError(f"inverse of zero in {self.name}")
        return pow(a, -1, self.modulus)

    def div(self, a: int, b: int) -> int:
        return a * self.inv(b) % self.modulus

    def batch_inv(self, xs: Sequence[int]) -> list[int]:
        """Montgomery's trick: n inverses for one inversion and 3(n-1) multiplications."""
        m = self.modulus
        prefix = []
        acc = 1
        for x in xs:
            if x % m == 0:
                raise ZeroDivisionError(f"inverse of zero in {self.name}")
            prefix.append(acc)
            acc = acc * x % m
        inv_acc = pow(acc, -1, m)
        out = [0] * len(xs)
        for i in range(len(xs) - 1, -1, -1):
            out[i] = prefix[i] * inv_acc % m
            inv_acc = inv_acc * xs[i] % m
        return out


FR = PrimeField("Fr", params.R_ORDER)
FQ = PrimeField("Fq", params.P)
