"""BN254 G1/G2 on plain Python ints: validation, group law, pairing check and byte encodings.

The reference the Numba curve kernels are tested against, and what the verifier calls. The group
law and the pairing come from py_ecc (``py_ecc.optimized_bn128``); this module fixes the point
representation and checks every input.

Representation (canonical ints, c0 the real part of an Fq2 element ``c0 + c1*u``, u^2 = -1):
- G1 affine: ``(x, y)``; G2 affine: ``((x.c0, x.c1), (y.c0, y.c1))``.
- The point at infinity is all zeros: ``G1_INFINITY = (0, 0)`` and
  ``G2_INFINITY = ((0, 0), (0, 0))``. Neither is on its curve (b != 0), so the encoding is
  unambiguous; it is also how snarkjs (ptau/zkey files) and EIP-197 write infinity, and how the
  Numba kernels store it (all-zero rows).

Encodings:
- EIP-196/197 (EVM precompiles 0x06-0x08): big-endian 32-byte words, G1 = x || y (64 bytes),
  G2 = x.c1 || x.c0 || y.c1 || y.c0 (128 bytes: the imaginary part FIRST), infinity all zeros.
  The same bytes as ffjavascript's ``toUncompressed`` (which also writes infinity as zeros).
- snarkjs / ffjavascript "LEM": each coordinate a 32-byte little-endian word in Montgomery form
  (x * 2^256 mod p); G1 = x || y, G2 = x.c0 || x.c1 || y.c0 || y.c1 (real part first), as in the
  sections of .ptau and .zkey files (ffjavascript ``G.toRprLEM``); infinity all zeros.

Pairing: py_ecc's optimal-ate Miller loop, one per pair, and a single final exponentiation for
a product (``pairing_check``), computed ~2x faster than py_ecc's (see ``final_exponentiate``).

Subgroups: G1 has cofactor 1 (every curve point is in the order-r group). The twist
E'(Fq2): y^2 = x^3 + 3/(9 + u) has order r * (2p - r), so G2 membership is checked (r * P == O).

References: EIP-196, EIP-197; Barreto-Naehrig, "Pairing-friendly elliptic curves of prime order"
(SAC 2005); Adj, Rodriguez-Henriquez, "Square root computation over even extension fields"
(IEEE TC 2014), Algorithm 9 for ``fq2_sqrt``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from py_ecc import optimized_bn128 as bn

from prover import params

P = params.P
R_ORDER = params.R_ORDER
_MONT_R = 1 << params.MONT_R_BITS
_MONT_R_INV_P = pow(_MONT_R, -1, P)

Fq2 = tuple[int, int]
G1Point = tuple[int, int]
G2Point = tuple[Fq2, Fq2]

G1_INFINITY: G1Point = (0, 0)
G2_INFINITY: G2Point = ((0, 0), (0, 0))
G1_GENERATOR: G1Point = params.G1_GENERATOR
G2_GENERATOR: G2Point = params.G2_GENERATOR
TWIST_B: Fq2 = params.TWIST_B

G1_BYTES = 64
G2_BYTES = 128

BN_U = 4965661367192848881  # the BN parameter: p = 36u^4 + 36u^3 + 24u^2 + 6u + 1
XI: Fq2 = (9, 1)  # the twist's non-residue: b' = 3 / xi


# --- Fq2 on ints --------------------------------------------------------------------------------


def fq2_add(a: Fq2, b: Fq2) -> Fq2:
    return (a[0] + b[0]) % P, (a[1] + b[1]) % P


def fq2_sub(a: Fq2, b: Fq2) -> Fq2:
    return (a[0] - b[0]) % P, (a[1] - b[1]) % P


def fq2_neg(a: Fq2) -> Fq2:
    return -a[0] % P, -a[1] % P


def fq2_mul(a: Fq2, b: Fq2) -> Fq2:
    return (a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P


def fq2_sqr(a: Fq2) -> Fq2:
    return fq2_mul(a, a)


def fq2_mul_fq(a: Fq2, s: int) -> Fq2:
    return a[0] * s % P, a[1] * s % P


def fq2_conj(a: Fq2) -> Fq2:
    return a[0], -a[1] % P


def fq2_inv(a: Fq2) -> Fq2:
    """1 / a = conj(a) / (c0^2 + c1^2); the norm is non-zero for a != 0 since -1 is a non-square."""
    norm = (a[0] * a[0] + a[1] * a[1]) % P
    if norm == 0:
        raise ZeroDivisionError("inverse of zero in Fq2")
    t = pow(norm, -1, P)
    return a[0] * t % P, -a[1] * t % P


def fq2_pow(a: Fq2, e: int) -> Fq2:
    if e < 0:
        return fq2_pow(fq2_inv(a), -e)
    acc: Fq2 = (1, 0)
    for bit in bin(e)[2:]:
        acc = fq2_sqr(acc)
        if bit == "1":
            acc = fq2_mul(acc, a)
    return acc


def fq2_sqrt(a: Fq2) -> Fq2 | None:
    """A square root of a in Fq2 (p = 3 mod 4), or None if a is not a square.

    Adj and Rodriguez-Henriquez, Algorithm 9; the result is verified before it is returned.
    """
    a = (a[0] % P, a[1] % P)
    if a == (0, 0):
        return (0, 0)
    a1 = fq2_pow(a, (P - 3) // 4)
    alpha = fq2_mul(fq2_sqr(a1), a)
    a0 = fq2_mul(fq2_pow(alpha, P), alpha)  # the norm of a to the (p-1)/2: -1 iff a non-square
    if a0 == (P - 1, 0):
        return None
    x0 = fq2_mul(a1, a)
    if alpha == (P - 1, 0):
        x = fq2_mul((0, 1), x0)
    else:
        b = fq2_pow(fq2_add((1, 0), alpha), (P - 1) // 2)
        x = fq2_mul(b, x0)
    return x if fq2_sqr(x) == a else None


# --- shape and range checks ---------------------------------------------------------------------


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_fq(v: object, what: str) -> int:
    if not _is_int(v):
        raise ValueError(f"{what} must be an int, got {type(v).__name__}")
    if not 0 <= v < P:  # type: ignore[operator]
        raise ValueError(f"{what} is not a canonical Fq element (0 <= v < p): {v}")
    return v  # type: ignore[return-value]


def _check_pair(v: object, what: str) -> tuple:
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        raise ValueError(f"{what} must be a pair, got {v!r}")
    return tuple(v)


def _g1_shape(pt: object) -> G1Point:
    x, y = _check_pair(pt, "G1 point")
    return _check_fq(x, "G1 x"), _check_fq(y, "G1 y")


def _g2_shape(pt: object) -> G2Point:
    x, y = _check_pair(pt, "G2 point")
    x0, x1 = _check_pair(x, "G2 x")
    y0, y1 = _check_pair(y, "G2 y")
    return (
        (_check_fq(x0, "G2 x.c0"), _check_fq(x1, "G2 x.c1")),
        (_check_fq(y0, "G2 y.c0"), _check_fq(y1, "G2 y.c1")),
    )


# --- curve membership -----------------------------------------------------------------------------


def is_on_g1(pt: G1Point) -> bool:
    """y^2 = x^3 + 3 (or infinity); coordinates assumed canonical."""
    if pt == G1_INFINITY:
        return True
    x, y = pt
    return (y * y - x * x * x - params.CURVE_B) % P == 0


def is_on_twist(pt: G2Point) -> bool:
    """y^2 = x^3 + b' over Fq2 (or infinity); coordinates assumed canonical."""
    if pt == G2_INFINITY:
        return True
    x, y = pt
    return fq2_sqr(y) == fq2_add(fq2_mul(fq2_sqr(x), x), TWIST_B)


def _xi_power(e: int) -> Fq2:
    acc: Fq2 = (1, 0)
    for bit in bin(e)[2:]:
        acc = (acc[0] * acc[0] - acc[1] * acc[1]) % P, 2 * acc[0] * acc[1] % P
        if bit == "1":
            acc = (acc[0] * 9 - acc[1]) % P, (acc[0] + acc[1] * 9) % P
    return acc


# psi = twist^-1 o Frobenius o twist: (x, y) -> (conj(x) xi^((p-1)/3), conj(y) xi^((p-1)/2)).
PSI_COEFF_X: Fq2 = _xi_power((P - 1) // 3)
PSI_COEFF_Y: Fq2 = _xi_power((P - 1) // 2)
# On G2, psi acts as multiplication by p = 6u^2 (mod r); the test psi(Q) == [6u^2] Q is also
# sufficient for Q on the twist to be in G2 (El Housni, Guillevic, Piellard, "Co-factor clearing
# and subgroup membership testing on pairing-friendly curves", AFRICACRYPT 2022).
PSI_EIGENVALUE = 6 * BN_U * BN_U


def g2_psi(pt: G2Point) -> G2Point:
    """The untwist-Frobenius-twist endomorphism of the twist."""
    if pt == G2_INFINITY:
        return pt
    x, y = pt
    return fq2_mul(fq2_conj(x), PSI_COEFF_X), fq2_mul(fq2_conj(y), PSI_COEFF_Y)


def is_in_g2_subgroup(pt: G2Point) -> bool:
    """r * P == O for a point on the twist (the twist has cofactor 2p - r): the obviously right
    oracle. The kernels use the faster psi(P) == [6u^2] P (``prover.curve.g2``)."""
    if pt == G2_INFINITY:
        return True
    return bn.is_inf(bn.multiply(g2_to_py_ecc(pt), R_ORDER))


def check_g1(pt: object) -> G1Point:
    """Return pt as a G1 point, or raise ValueError: shape, canonical coordinates, on the curve."""
    p = _g1_shape(pt)
    if not is_on_g1(p):
        raise ValueError(f"G1 point is not on the curve y^2 = x^3 + 3: {p}")
    return p


def check_g2(pt: object, subgroup: bool = True) -> G2Point:
    """Return pt as a G2 point, or raise ValueError: shape, canonical coordinates, on the twist,
    and (unless ``subgroup=False``) in the order-r subgroup."""
    p = _g2_shape(pt)
    if not is_on_twist(p):
        raise ValueError(f"G2 point is not on the twist y^2 = x^3 + 3/(9+u): {p}")
    if subgroup and not is_in_g2_subgroup(p):
        raise ValueError(f"G2 point is on the twist but not in the order-r subgroup: {p}")
    return p


# --- py_ecc conversions --------------------------------------------------------------------------


def g1_to_py_ecc(pt: G1Point) -> tuple:
    """Our affine G1 point -> py_ecc.optimized_bn128 Jacobian-like (x, y, z) of FQ."""
    if pt == G1_INFINITY:
        return bn.Z1
    return bn.FQ(pt[0]), bn.FQ(pt[1]), bn.FQ.one()


def g2_to_py_ecc(pt: G2Point) -> tuple:
    """Our affine G2 point -> py_ecc.optimized_bn128 (x, y, z) of FQ2."""
    if pt == G2_INFINITY:
        return bn.Z2
    (x0, x1), (y0, y1) = pt
    return bn.FQ2([x0, x1]), bn.FQ2([y0, y1]), bn.FQ2.one()


def g1_from_py_ecc(pt: object) -> G1Point:
    """py_ecc G1 point -> ours. Accepts optimized_bn128 (x, y, z), bn128 affine (x, y) or None."""
    if pt is None:
        return G1_INFINITY
    if len(pt) == 3:  # type: ignore[arg-type]
        if bn.is_inf(pt):
            return G1_INFINITY
        x, y = bn.normalize(pt)
    else:
        x, y = pt  # type: ignore[misc]
    return int(x), int(y)


def g2_from_py_ecc(pt: object) -> G2Point:
    """py_ecc G2 point -> ours. Accepts optimized_bn128 (x, y, z), bn128 affine (x, y) or None."""
    if pt is None:
        return G2_INFINITY
    if len(pt) == 3:  # type: ignore[arg-type]
        if bn.is_inf(pt):
            return G2_INFINITY
        x, y = bn.normalize(pt)
    else:
        x, y = pt  # type: ignore[misc]
    return (
        (int(x.coeffs[0]), int(x.coeffs[1])),
        (int(y.coeffs[0]), int(y.coeffs[1])),
    )


# --- group law ------------------------------------------------------------------------------------


def g1_neg(pt: G1Point) -> G1Point:
    return pt if pt == G1_INFINITY else (pt[0], -pt[1] % P)


def g2_neg(pt: G2Point) -> G2Point:
    return pt if pt == G2_INFINITY else (pt[0], fq2_neg(pt[1]))


def g1_add(a: G1Point, b: G1Point) -> G1Point:
    return g1_from_py_ecc(bn.add(g1_to_py_ecc(a), g1_to_py_ecc(b)))


def g2_add(a: G2Point, b: G2Point) -> G2Point:
    return g2_from_py_ecc(bn.add(g2_to_py_ecc(a), g2_to_py_ecc(b)))


def g1_mul(pt: G1Point, k: int) -> G1Point:
    """k * pt for any int k (negative allowed; G1 has cofactor 1, so k may be reduced mod r)."""
    k %= R_ORDER
    if k == 0 or pt == G1_INFINITY:
        return G1_INFINITY
    return g1_from_py_ecc(bn.multiply(g1_to_py_ecc(pt), k))


def g2_mul(pt: G2Point, k: int) -> G2Point:
    """k * pt for any int k. Not reduced mod r: also right for twist points outside G2."""
    if k < 0:
        return g2_mul(g2_neg(pt), -k)
    if k == 0 or pt == G2_INFINITY:
        return G2_INFINITY
    return g2_from_py_ecc(bn.multiply(g2_to_py_ecc(pt), k))


def g1_sum(points: Iterable[G1Point]) -> G1Point:
    acc = bn.Z1
    for p in points:
        acc = bn.add(acc, g1_to_py_ecc(p))
    return g1_from_py_ecc(acc)


def g1_lincomb(points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    """sum_i scalars[i] * points[i] (the slow, obviously right MSM oracle)."""
    if len(points) != len(scalars):
        raise ValueError(f"{len(points)} points but {len(scalars)} scalars")
    acc = bn.Z1
    for p, k in zip(points, scalars, strict=True):
        k %= R_ORDER
        if k and p != G1_INFINITY:
            acc = bn.add(acc, bn.multiply(g1_to_py_ecc(p), k))
    return g1_from_py_ecc(acc)


# --- pairing --------------------------------------------------------------------------------------


_FE_HARD_EXPONENT = (P**6 + 1) // R_ORDER  # (p^12 - 1) / r = (p^6 - 1) * (p^6 + 1) / r


def final_exponentiate(f: bn.FQ12) -> bn.FQ12:
    """f^((p^12 - 1) / r), as py_ecc's ``final_exponentiate`` but ~2x faster: f^(p^6) is the
    conjugation w -> -w of Fq12 = Fq6[w] (negate the odd coefficients of py_ecc's w-basis),
    so f^(p^6 - 1) costs one inversion and only the 1270-bit (p^6 + 1) / r remains."""
    conj = bn.FQ12([c if k % 2 == 0 else -c % P for k, c in enumerate(f.coeffs)])
    return (conj / f) ** _FE_HARD_EXPONENT


def miller_loop(g1: G1Point, g2: G2Point) -> bn.FQ12:
    """py_ecc's optimal-ate Miller loop (no final exponentiation); 1 for an infinity input."""
    if g1 == G1_INFINITY or g2 == G2_INFINITY:
        return bn.FQ12.one()
    return bn.pairing(g2_to_py_ecc(g2), g1_to_py_ecc(g1), final_exponentiate=False)


def pairing(g1: G1Point, g2: G2Point, validate: bool = True) -> bn.FQ12:
    """The optimal ate pairing e(g1, g2) in py_ecc's FQ12 (with the final exponentiation)."""
    if validate:
        g1, g2 = check_g1(g1), check_g2(g2)
    return final_exponentiate(miller_loop(g1, g2))


def pairing_check(pairs: Iterable[tuple[G1Point, G2Point]], validate: bool = True) -> bool:
    """True iff prod_i e(g1_i, g2_i) == 1: what EIP-197's precompile (0x08) computes.

    Every point is validated (G2 including the subgroup check) unless ``validate=False``; a
    malformed point raises ValueError. One Miller loop per pair, one final exponentiation.
    """
    f = bn.FQ12.one()
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"pairing_check takes (G1, G2) pairs, got {pair!r}")
        g1, g2 = pair
        if validate:
            g1, g2 = check_g1(g1), check_g2(g2)
        f = f * miller_loop(g1, g2)
    return final_exponentiate(f) == bn.FQ12.one()


# --- encodings ------------------------------------------------------------------------------------


def _check_len(data: bytes, n: int, what: str) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"{what} must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) != n:
        raise ValueError(f"{what} must be {n} bytes, got {len(data)}")
    return data


def _words(data: bytes, order: str) -> list[int]:
    return [int.from_bytes(data[i : i + 32], order) for i in range(0, len(data), 32)]  # type: ignore[arg-type]


def _be(*vs: int) -> bytes:
    return b"".join(v.to_bytes(32, "big") for v in vs)


def _lem(*vs: int) -> bytes:
    return b"".join((v * _MONT_R % P).to_bytes(32, "little") for v in vs)


def _from_lem_words(data: bytes, what: str) -> list[int]:
    out = []
    for k, w in enumerate(_words(data, "little")):
        if w >= P:
            raise ValueError(f"{what}: Montgomery word {k} is not canonical (>= p)")
        out.append(w * _MONT_R_INV_P % P)
    return out


def g1_to_bytes_be(pt: G1Point) -> bytes:
    """EIP-196 encoding: x || y, 32-byte big-endian each; infinity = 64 zero bytes."""
    x, y = _g1_shape(pt)
    return _be(x, y)


def g1_from_bytes_be(data: bytes) -> G1Point:
    """Decode and validate an EIP-196 G1 point (ValueError if malformed or off the curve)."""
    x, y = _words(_check_len(data, G1_BYTES, "G1 encoding"), "big")
    return check_g1((x, y))


def g2_to_bytes_be(pt: G2Point) -> bytes:
    """EIP-197 encoding: x.c1 || x.c0 || y.c1 || y.c0 (imaginary part first), big-endian."""
    (x0, x1), (y0, y1) = _g2_shape(pt)
    return _be(x1, x0, y1, y0)


def g2_from_bytes_be(data: bytes, subgroup: bool = True) -> G2Point:
    """Decode and validate an EIP-197 G2 point (on the twist and, by default, in G2)."""
    x1, x0, y1, y0 = _words(_check_len(data, G2_BYTES, "G2 encoding"), "big")
    return check_g2(((x0, x1), (y0, y1)), subgroup=subgroup)


def g1_to_lem(pt: G1Point) -> bytes:
    """snarkjs LEM: x || y as 32-byte little-endian Montgomery words; infinity = zeros."""
    x, y = _g1_shape(pt)
    return _lem(x, y)


def g1_from_lem(data: bytes) -> G1Point:
    x, y = _from_lem_words(_check_len(data, G1_BYTES, "G1 LEM encoding"), "G1 LEM encoding")
    return check_g1((x, y))


def g2_to_lem(pt: G2Point) -> bytes:
    """snarkjs LEM: x.c0 || x.c1 || y.c0 || y.c1, 32-byte little-endian Montgomery words."""
    (x0, x1), (y0, y1) = _g2_shape(pt)
    return _lem(x0, x1, y0, y1)


def g2_from_lem(data: bytes, subgroup: bool = True) -> G2Point:
    x0, x1, y0, y1 = _from_lem_words(
        _check_len(data, G2_BYTES, "G2 LEM encoding"), "G2 LEM encoding"
    )
    return check_g2(((x0, x1), (y0, y1)), subgroup=subgroup)
