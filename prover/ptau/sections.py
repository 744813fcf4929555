"""The .ptau container layout: constants, section sizes, point validation, ``PtauError``.

Mirrors snarkjs 0.7.6 ``powersoftau_new.js`` (the header and the sections it writes),
``powersoftau_utils.js`` (``readPTauHeader``) and ``powersoftau_preparephase2.js`` (the Lagrange
sections).

Layout (iden3 container, magic ``"ptau"``, version 1; points affine, each coordinate a 32-byte
little-endian word in Montgomery form, G2 as x.c0 | x.c1 | y.c0 | y.c1, infinity all zeros):

    1  header          n8 = 32 (u32) | q = p (32 bytes LE) | power (u32) | ceremony power (u32)
    2  tau G1          [tau^i]_1,        i < 2^(power+1) - 1
    3  tau G2          [tau^i]_2,        i < 2^power
    4  alpha tau G1    [alpha tau^i]_1,  i < 2^power
    5  beta tau G1     [beta tau^i]_1,   i < 2^power
    6  beta G2         [beta]_2
    7  contributions   u32 count, then per contribution: tauG1, tauG2, alphaG1, betaG1, betaG2,
                       the public key (6 G1 + 3 G2 points), the 216-byte partial BLAKE2b state of
                       the response hash, the 64-byte next challenge hash, u32 type (0, 1 =
                       beacon), u32 length + parameters (1: name, 2: iterations exp, 3: beacon)
    after ``prepare phase2``, one block per domain size 2^q, block q at offset 2^q - 1 points:
    12 Lagrange tau G1        [L_i(tau)]_1 for q <= power + 1
    13 Lagrange tau G2        [L_i(tau)]_2 for q <= power
    14 Lagrange alpha tau G1  [alpha L_i(tau)]_1 for q <= power
    15 Lagrange beta tau G1   [beta L_i(tau)]_1 for q <= power

(``prover.ptau.lagrange`` says what the blocks hold.)
"""

from __future__ import annotations

import numpy as np

from prover import params
from prover.curve import g1, g2

MAGIC = "ptau"
VERSION = 1
N8 = 32
G1_BYTES = 64
G2_BYTES = 128
MAX_POWER = params.FR_TWO_ADICITY - 1  # block power + 1 of section 12 needs 2^(power+1) roots
PUBKEY_BYTES = 6 * G1_BYTES + 3 * G2_BYTES
PARTIAL_HASH_BYTES = 216
HASH_BYTES = 64
MAX_FIRST_CHALLENGE_POWER = 24  # its first challenge hashes 384 * 2^24 bytes = 6 GiB (seconds)
DEV_CONTRIBUTION_NAME = "zkperp development setup (one party, insecure)"


SECTION_NAMES = {
    1: "header",
    2: "tau G1",
    3: "tau G2",
    4: "alpha tau G1",
    5: "beta tau G1",
    6: "beta G2",
    7: "contributions",
    12: "Lagrange tau G1",
    13: "Lagrange tau G2",
    14: "Lagrange alpha tau G1",
    15: "Lagrange beta tau G1",
}
PHASE2_SECTIONS = (12, 13, 14, 15)

CHUNK = 1 << 16  # points per fixed-base call, file write and hash update


class PtauError(ValueError):
    """A .ptau file that is malformed, or not what the caller needs (e.g. not prepared)."""


def section_label(sid: int) -> str:
    return f"section {sid} ({SECTION_NAMES.get(sid, 'unknown')})"


def section_points(sid: int, power: int) -> int:
    """How many points section ``sid`` holds in a file of ``power``."""
    n = 1 << power
    counts = {
        2: 2 * n - 1,
        3: n,
        4: n,
        5: n,
        6: 1,
        12: 4 * n - 1,  # blocks q = 0 .. power + 1
        13: 2 * n - 1,  # blocks q = 0 .. power
        14: 2 * n - 1,
        15: 2 * n - 1,
    }
    return counts[sid]


def is_g2_section(sid: int) -> bool:
    return sid in (3, 6, 13)


def section_size(sid: int, power: int) -> int:
    return section_points(sid, power) * (G2_BYTES if is_g2_section(sid) else G1_BYTES)


def first_invalid_point(arr: np.ndarray, subgroup: bool = True) -> tuple[int, str] | None:
    """(index, reason) of the first invalid point of a G1 (n, 2, 4) or G2 (n, 2, 2, 4) array."""
    if not arr.shape[0]:
        return None
    if arr.ndim == 3:
        status = np.empty(arr.shape[0], dtype=np.int8)
        g1.affine_status_m(arr, status)
        bad = np.flatnonzero(status)
        if not bad.size:
            return None
        i = int(bad[0])
        why = "has a coordinate >= p" if status[i] == g1.STATUS_NOT_CANONICAL else "is off G1"
        return i, f"{why} ({bad.size} invalid points in all)"
    status = np.empty(arr.shape[0], dtype=np.uint8)
    g2.affine_status_m(arr, subgroup, status)
    bad = np.flatnonzero(status)
    if not bad.size:
        return None
    i = int(bad[0])
    why = {
        g2.STATUS_NOT_CANONICAL: "has a coordinate >= p",
        g2.STATUS_NOT_ON_CURVE: "is off the twist",
        g2.STATUS_NOT_IN_SUBGROUP: "is on the twist but not in G2",
    }[int(status[i])]
    return i, f"{why} ({bad.size} invalid points in all)"
