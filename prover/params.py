"""BN254 (alt_bn128) constants, in one place, checked at import time.

The curve is the one of EIP-196/197 (the EVM precompiles 0x06-0x08), y^2 = x^3 + 3 over Fq,
with the twist y^2 = x^3 + 3/(9 + u) over Fq2 = Fq[u]/(u^2 + 1).

Montgomery form: an element x is stored as x * R mod m with R = 2^256, in four little-endian
64-bit limbs (the layout snarkjs/ffjavascript use inside .ptau and .zkey files).

Roots of unity follow snarkjs exactly: w_28 = 5^((r-1)/2^28) generates the 2^28-th roots and
w_k = w_28^(2^(28-k)) generates the 2^k-th.
"""

from __future__ import annotations

# --- moduli ------------------------------------------------------------------------------------
P: int = 21888242871839275222246405745257275088696311157297823662689037894645226208583  # base field
R_ORDER: int = (
    21888242871839275222246405745257275088548364400416034343698204186575808495617  # scalar
)

# --- curve --------------------------------------------------------------------------------------
CURVE_B: int = 3
G1_GENERATOR: tuple[int, int] = (1, 2)
# G2 generator as ((x.c0, x.c1), (y.c0, y.c1)), c0 the real part (py_ecc's and snarkjs's order).
G2_GENERATOR: tuple[tuple[int, int], tuple[int, int]] = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)
# b' = 3 / (9 + u) in Fq2, as (c0, c1)
TWIST_B: tuple[int, int] = (
    19485874751759354771024239261021720505790618469301721065564631296452457478373,
    266929791119991161246907387137283842545076965332900288569378510910307636690,
)

# --- Montgomery ---------------------------------------------------------------------------------
LIMBS: int = 4
LIMB_BITS: int = 64
MONT_R_BITS: int = LIMBS * LIMB_BITS  # R = 2^256
WORD_MASK: int = (1 << LIMB_BITS) - 1


def to_limbs(x: int) -> tuple[int, int, int, int]:
    """Little-endian 64-bit limbs of a non-negative int < 2^256."""
    if not 0 <= x < 1 << MONT_R_BITS:
        raise ValueError("value does not fit in 256 bits")
    return (x & WORD_MASK, (x >> 64) & WORD_MASK, (x >> 128) & WORD_MASK, x >> 192)


def _mont_constants(m: int) -> tuple[int, int, int, int]:
    """(R mod m, R^2 mod m, R^3 mod m, -m^-1 mod 2^64) for an odd modulus m."""
    r = (1 << MONT_R_BITS) % m
    return r, r * r % m, r * r * r % m, (-pow(m, -1, 1 << LIMB_BITS)) % (1 << LIMB_BITS)


P_MONT_R, P_MONT_R2, P_MONT_R3, P_MONT_INV = _mont_constants(P)
R_MONT_R, R_MONT_R2, R_MONT_R3, R_MONT_INV = _mont_constants(R_ORDER)

# --- 2-adic roots of unity in Fr (snarkjs / ffjavascript convention) ----------------------------
FR_TWO_ADICITY: int = 28
FR_NONRESIDUE: int = 5  # the multiplicative generator snarkjs uses
FR_ROOT_OF_UNITY_28: int = pow(FR_NONRESIDUE, (R_ORDER - 1) >> FR_TWO_ADICITY, R_ORDER)


def fr_root_of_unity(k: int) -> int:
    """The generator w_k of the 2^k-th roots of unity, w_k = w_28^(2^(28-k)) (snarkjs's choice)."""
    if not 0 <= k <= FR_TWO_ADICITY:
        raise ValueError(f"no 2^{k}-th root of unity in Fr: 0 <= k <= {FR_TWO_ADICITY}")
    return pow(FR_ROOT_OF_UNITY_28, 1 << (FR_TWO_ADICITY - k), R_ORDER)


# PLONK permutation coset shifts (snarkjs: k1 = 2, k2 = 3) and the coset shift of the NTT.
PLONK_K1: int = 2
PLONK_K2: int = 3
COSET_SHIFT: int = FR_NONRESIDUE


def _is_probable_prime(n: int) -> bool:
    """Miller-Rabin with fixed bases (deterministic enough for constant self-checks)."""
    if n < 2:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _check() -> None:
    """Import-time self-checks: a wrong constant must fail loudly, never compute garbage."""
    assert _is_probable_prime(P) and _is_probable_prime(R_ORDER)
    assert P.bit_length() == 254 and R_ORDER.bit_length() == 254
    # BN curve parametrisation with u = 4965661367192848881.
    u = 4965661367192848881
    assert P == 36 * u**4 + 36 * u**3 + 24 * u**2 + 6 * u + 1
    assert R_ORDER == 36 * u**4 + 36 * u**3 + 18 * u**2 + 6 * u + 1
    x, y = G1_GENERATOR
    assert (y * y - x**3 - CURVE_B) % P == 0
    c0, c1 = TWIST_B  # b' * (9 + u) == 3
    assert (9 * c0 - c1 - CURVE_B) % P == 0 and (c0 + 9 * c1) % P == 0
    # The top limb leaves a spare bit: needed by the no-carry Montgomery multiplication.
    assert P >> 192 < (WORD_MASK >> 1) - 1 and R_ORDER >> 192 < (WORD_MASK >> 1) - 1
    for m, (rr, r2, r3, inv) in (
        (P, (P_MONT_R, P_MONT_R2, P_MONT_R3, P_MONT_INV)),
        (R_ORDER, (R_MONT_R, R_MONT_R2, R_MONT_R3, R_MONT_INV)),
    ):
        assert rr == pow(2, 256, m) and r2 == pow(2, 512, m) and r3 == pow(2, 768, m)
        assert (m * inv + 1) % (1 << 64) == 0
    # 2-adicity and the roots of unity.
    assert (R_ORDER - 1) % (1 << FR_TWO_ADICITY) == 0
    assert ((R_ORDER - 1) >> FR_TWO_ADICITY) % 2 == 1
    w = FR_ROOT_OF_UNITY_28
    assert pow(w, 1 << FR_TWO_ADICITY, R_ORDER) == 1
    assert pow(w, 1 << (FR_TWO_ADICITY - 1), R_ORDER) == R_ORDER - 1
    # 5 is a quadratic non-residue, so it and k1, k2 are outside every 2^k subgroup coset clash.
    assert pow(FR_NONRESIDUE, (R_ORDER - 1) // 2, R_ORDER) == R_ORDER - 1
    # snarkjs's published w for a 2^3 domain (vk.json of a tiny circuit).
    assert fr_root_of_unity(3) == (
        19540430494807482326159819597004422086093766032135589407132600596362845576832
    )


_check()
