"""Poseidon parameters for BN254's scalar field, derived exactly as circomlib's are.

Poseidon: Grassi, Khovratovich, Rechberger, Roy, Schofnegger, "Poseidon: A New Hash Function for
Zero-Knowledge Proof Systems", USENIX Security 2021 (ePrint 2019/458). circomlib (2.0.5,
``circuits/poseidon_constants.circom``) and circomlibjs (0.1.7, ``src/poseidon_constants.js``)
take their round constants and MDS matrices from the paper's reference script
``generate_parameters_grain.sage`` (field = 1 (prime), S-box = 0 (x^5), n = 254 bits, width t,
R_F = 8, R_P = N_ROUNDS_P[t - 2]). This module re-derives them with the same Grain LFSR (paper,
appendix F) instead of shipping the numbers, lazily, one width at a time (``params(t)``, cached):
about 10 ms for t = 3, 25 ms for t = 6, 0.3 s for t = 17 (most of it the optimised layout).
The tests compare every width with circomlibjs's tables.

Two layouts are exposed, both as tuples of canonical ints (shared by the native hash and the
in-circuit twin):

- the reference layout (circomlibjs ``poseidon_reference.js``): ``c`` holds (R_F + R_P) * t
  round constants, round r adds ``c[r*t : r*t + t]``; ``m`` is the MDS matrix applied as
  ``new[i] = sum_j m[i][j] * state[j]``;
- the optimised layout (circomlib ``poseidon.circom`` / circomlibjs ``poseidon_opt.js``, produced
  by circomlibjs ``tools/poseidon_optimize_constants.js``, the sparse partial-round trick of
  Filecoin's neptune): ``opt_c``, ``opt_s``, ``opt_m`` (the transpose of ``m``: circomlib applies
  ``new[i] = sum_j M[j][i] * state[j]``) and ``opt_p``.

The reference script also rejects MDS matrices that fail its three security tests (algorithms
1-3) and draws again. That loop is not reproduced: for every width circomlib uses, the first
matrix drawn is circomlib's (checked against circomlibjs in tests/test_poseidon_native.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prover.params import R_ORDER

FIELD_MODULUS: int = R_ORDER
FIELD_BITS = 254
N_ROUNDS_F = 8
# Partial rounds for t = 2..17 (circomlib poseidon.circom, circomlibjs poseidon_*.js).
N_ROUNDS_P: tuple[int, ...] = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MIN_WIDTH = 2
MAX_WIDTH = MIN_WIDTH + len(N_ROUNDS_P) - 1  # 17: up to 16 inputs, as circomlibjs

# The LFSR s[n] = s[n-80] + s[n-67] + s[n-57] + s[n-42] + s[n-29] + s[n-18] over GF(2)
# (the taps 0, 13, 23, 38, 51, 62 of the 80-bit Grain state).
_LAGS = (80, 67, 57, 42, 29, 18)
# Squaring the feedback polynomial 2^K times scales every lag by 2^K, so whole blocks of
# 18 * 2^K bits follow from one shift-and-xor of Python ints.
_K = 6
_SCALE = 1 << _K


class PoseidonParamsError(ValueError):
    """An unsupported Poseidon width or number of inputs."""


def _grain_init(t: int, r_f: int, r_p: int) -> list[int]:
    """The 80 initial bits: field (2), S-box (4), n (12), t (12), R_F (10), R_P (10), 30 ones."""
    bits: list[int] = []
    for value, width in ((1, 2), (0, 4), (FIELD_BITS, 12), (t, 12), (r_f, 10), (r_p, 10)):
        bits += [int(b) for b in format(value, f"0{width}b")]
    return bits + [1] * 30


def _pair_table() -> tuple[str, ...]:
    """For each byte of raw bits (bit j = raw bit j): the output of its four (a, b) pairs."""
    table = []
    for byte in range(256):
        table.append(
            "".join(str((byte >> (2 * i + 1)) & 1) for i in range(4) if (byte >> (2 * i)) & 1)
        )
    return tuple(table)


_PAIRS = _pair_table()


class _Grain:
    """The reference script's ``grain_sr_generator``: an 80-bit LFSR, 160 warm-up clocks, then
    self-shrinking (bit pairs (a, b): emit b when a = 1)."""

    def __init__(self, t: int, r_f: int, r_p: int) -> None:
        raw = _grain_init(t, r_f, r_p)
        while len(raw) < 80 * _SCALE:  # the first bits one at a time
            n = len(raw)
            bit = 0
            for lag in _LAGS:
                bit ^= raw[n - lag]
            raw.append(bit)
        # Raw bits base .. base + size - 1 as an int, bit i = raw bit base + i.
        self._raw = sum(b << i for i, b in enumerate(raw))
        self._base = 0
        self._size = len(raw)
        self._next_pair = 240  # raw index of the next (a, b) pair (after 160 warm-up clocks)
        self._out = ""  # decimated bits not yet consumed, in order
        self._pos = 0

    def _extend(self) -> None:
        """Clock the LFSR 16 blocks of 18 * 2^K bits further and decimate the new pairs."""
        block = 18 * _SCALE
        s, n = self._raw, self._size
        for _ in range(16):
            acc = 0
            for lag in _LAGS:
                acc ^= s >> (n - lag * _SCALE)
            s |= (acc & ((1 << block) - 1)) << n
            n += block
        start = self._next_pair - self._base
        nbytes = (n - start) // 8
        seg = (s >> start) & ((1 << (8 * nbytes)) - 1)
        self._out = self._out[self._pos :] + "".join(
            map(_PAIRS.__getitem__, seg.to_bytes(nbytes, "little"))
        )
        self._pos = 0
        self._next_pair += 8 * nbytes
        # Keep what the recurrence (the last 80 * 2^K raw bits) and the next pair need.
        drop = min(n - 80 * _SCALE, self._next_pair - self._base)
        self._raw = s >> drop
        self._base += drop
        self._size = n - drop

    def bits(self, k: int) -> int:
        """The next k output bits as an integer, most significant bit first."""
        while len(self._out) - self._pos < k:
            self._extend()
        chunk = self._out[self._pos : self._pos + k]
        self._pos += k
        return int(chunk, 2)

    def field_element(self) -> int:
        """``generate_constants``: n-bit draws, rejected until below the modulus."""
        while True:
            x = self.bits(FIELD_BITS)
            if x < FIELD_MODULUS:
                return x


def _cauchy_mds(grain: _Grain, t: int) -> tuple[tuple[int, ...], ...]:
    """``create_mds_p``: M[i][j] = 1 / (x_i + y_j) for 2t distinct draws (reduced, no
    rejection), drawn again while an x_i + y_j is zero."""
    p = FIELD_MODULUS
    while True:
        draws = [grain.bits(FIELD_BITS) % p for _ in range(2 * t)]
        while len(set(draws)) != len(draws):
            draws = [grain.bits(FIELD_BITS) % p for _ in range(2 * t)]
        xs, ys = draws[:t], draws[t:]
        if any((x + y) % p == 0 for x in xs for y in ys):
            continue
        return tuple(tuple(pow(x + y, -1, p) for y in ys) for x in xs)


# --- circomlibjs tools/poseidon_optimize_constants.js, on Python ints -------------------------


def _mat_inv(a: list[list[int]]) -> list[list[int]]:
    p = FIELD_MODULUS
    m = len(a)
    b = [list(row) + [int(i == j) for j in range(m)] for i, row in enumerate(a)]
    for col in range(m):
        piv = next(r for r in range(col, m) if b[r][col] % p)
        b[col], b[piv] = b[piv], b[col]
        inv = pow(b[col][col], -1, p)
        b[col] = [v * inv % p for v in b[col]]
        for r in range(m):
            if r != col and b[r][col]:
                f = b[r][col]
                b[r] = [(v - f * w) % p for v, w in zip(b[r], b[col])]
    return [row[m:] for row in b]


def _solve(a: list[list[int]], b: list[int]) -> list[int]:
    """x with a x = b (a invertible), Gaussian elimination with back substitution."""
    p = FIELD_MODULUS
    n = len(a)
    rows = [[*row, v] for row, v in zip(a, b)]
    for col in range(n):
        piv = next(r for r in range(col, n) if rows[r][col] % p)
        rows[col], rows[piv] = rows[piv], rows[col]
        inv = pow(rows[col][col], -1, p)
        pivot_row = [v * inv % p for v in rows[col][col:]]
        rows[col][col:] = pivot_row
        for r in range(col + 1, n):
            f = rows[r][col]
            if f:
                rows[r][col:] = [(v - f * w) % p for v, w in zip(rows[r][col:], pivot_row)]
    x = [0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (rows[i][n] - sum(rows[i][j] * x[j] for j in range(i + 1, n))) % p
    return x


def _vec_mat(v: list[int], a: list[list[int]]) -> list[int]:
    p = FIELD_MODULUS
    return [sum(v[i] * a[i][j] for i in range(len(v))) % p for j in range(len(a[0]))]


def _optimised_constants(t: int, c: tuple[int, ...], om: list[list[int]]) -> list[int]:
    """``convertConstants``: fold the round constants through M^-1 (om: circomlib's M)."""
    p = FIELD_MODULUS
    r_f, r_p = N_ROUNDS_F, N_ROUNDS_P[t - 2]
    minv = _mat_inv(om)
    res = list(c[:t])
    for r in range(r_f // 2 - 1):
        res += _vec_mat(list(c[(r + 1) * t : (r + 2) * t]), minv)
    partial: list[int] = []
    acc = list(c[(r_f // 2 + r_p) * t : (r_f // 2 + r_p + 1) * t])
    for r in range(r_f // 2 + r_p - 1, r_f // 2 - 1, -1):
        accp = _vec_mat(acc, minv)
        partial.append(accp[0])
        accp[0] = 0
        acc = [(accp[k] + c[r * t + k]) % p for k in range(t)]
    res += _vec_mat(acc, minv)
    res += partial[::-1]
    for r in range(r_f // 2 + r_p, r_f + r_p - 1):
        res += _vec_mat(list(c[(r + 1) * t : (r + 2) * t]), minv)
    return res


def _sparse_factorize(m: list[list[int]]) -> tuple[list[list[int]], list[int]]:
    n = len(m)
    m_hat = [row[1:] for row in m[1:]]
    mp = [[int(i == j == 0) if i == 0 or j == 0 else m[i][j] for j in range(n)] for i in range(n)]
    w = [m[i][0] for i in range(1, n)]
    wp = _solve(m_hat, w)  # m_hat^-1 w
    return mp, [m[0][0], *wp, *m[0][1:]]


def _optimised_ps(t: int, om: list[list[int]]) -> tuple[list[list[int]], list[int]]:
    """``calculatePS``: the pre-partial-rounds matrix P and the sparse matrices S."""
    sparse: list[list[int]] = []
    p = FIELD_MODULUS
    m = om
    cols = list(zip(*om))
    for _ in range(N_ROUNDS_P[t - 2]):
        mp, s = _sparse_factorize(m)
        sparse.append(s)
        # om * mp, where mp = diag(1, m_hat): column 0 of om, then om * m_hat's columns.
        mp_cols = list(zip(*mp))
        m_cols = [cols[0]] + [
            tuple(sum(a * b for a, b in zip(row, mc)) % p for row in om) for mc in mp_cols[1:]
        ]
        m = [list(r) for r in zip(*m_cols)]
    return m, [x for s in reversed(sparse) for x in s]


@dataclass(frozen=True)
class PoseidonParams:
    """Poseidon over BN254 Fr for width t (t - 1 inputs), circomlib's instance."""

    t: int
    n_rounds_f: int
    n_rounds_p: int
    c: tuple[int, ...]  # reference layout: (R_F + R_P) * t round constants
    m: tuple[tuple[int, ...], ...]  # reference layout: new[i] = sum_j m[i][j] * s[j]
    opt_c: tuple[int, ...]  # circomlib POSEIDON_C(t): t * R_F + R_P constants
    opt_s: tuple[int, ...]  # circomlib POSEIDON_S(t): R_P * (2t - 1) sparse-matrix entries
    opt_m: tuple[tuple[int, ...], ...]  # circomlib POSEIDON_M(t) = m transposed
    opt_p: tuple[tuple[int, ...], ...]  # circomlib POSEIDON_P(t)

    @property
    def n_inputs(self) -> int:
        return self.t - 1


def check_width(t: int) -> None:
    if not isinstance(t, int) or not MIN_WIDTH <= t <= MAX_WIDTH:
        raise PoseidonParamsError(
            f"Poseidon width t must be in {MIN_WIDTH}..{MAX_WIDTH} "
            f"(1..{MAX_WIDTH - 1} inputs), got {t!r}"
        )


def reference_constants(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """(C, M) for width t straight from the Grain LFSR, as ``generate_parameters_grain.sage``."""
    check_width(t)
    r_p = N_ROUNDS_P[t - 2]
    grain = _Grain(t, N_ROUNDS_F, r_p)
    c = tuple(grain.field_element() for _ in range((N_ROUNDS_F + r_p) * t))
    return c, _cauchy_mds(grain, t)


@cache
def params(t: int) -> PoseidonParams:
    """The parameters for width t = number of inputs + 1 (2..17), derived once and cached."""
    c, m = reference_constants(t)
    om = [list(row) for row in zip(*m)]
    opt_c = _optimised_constants(t, c, om)
    opt_p, opt_s = _optimised_ps(t, om)
    return PoseidonParams(
        t=t,
        n_rounds_f=N_ROUNDS_F,
        n_rounds_p=N_ROUNDS_P[t - 2],
        c=c,
        m=m,
        opt_c=tuple(opt_c),
        opt_s=tuple(opt_s),
        opt_m=tuple(tuple(row) for row in om),
        opt_p=tuple(tuple(row) for row in opt_p),
    )


def params_for_inputs(n_inputs: int) -> PoseidonParams:
    """``params(n_inputs + 1)`` with an error that speaks of inputs."""
    if not isinstance(n_inputs, int) or not 1 <= n_inputs <= MAX_WIDTH - 1:
        raise PoseidonParamsError(
            f"Poseidon takes 1..{MAX_WIDTH - 1} inputs (circomlibjs's widths), got {n_inputs!r}"
        )
    return params(n_inputs + 1)
