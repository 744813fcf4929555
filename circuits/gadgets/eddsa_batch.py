"""Fast EdDSA-Poseidon verification: ``eddsa.verify_poseidon`` through the Numba kernels of
``circuits.gadgets.babyjubjub_kernels``, one signature or a batch (parallel over signatures).

Same answers as ``eddsa.verify_poseidon`` (circomlibjs 0.1.7 ``verifyPoseidon`` plus, with
``check_subgroup``, the default, the prime-order subgroup checks of R8 and A and A != identity)
for every input, malformed ones included: the structural checks (types, coordinates < r,
0 <= S < l) run here in Python, the curve and subgroup checks, the challenge
hm = Poseidon(R8x, R8y, Ax, Ay, M) and S * BASE8 == R8 + 8 hm A in the kernel, each signature
on its own (Bernstein et al., CHES 2011, section 3; no batch equation, so a batch answers for
every signature exactly).

Public keys that passed the subgroup check are remembered (``PUBKEY_CACHE_SIZE`` of them, a
pure function of the key, so no answer changes): a known signer costs one variable-base
multiplication instead of two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import babyjubjub_kernels as bk
from circuits.gadgets import poseidon_kernels as pk
from circuits.gadgets.eddsa import Signature

__all__ = [
    "PARALLEL_MIN_SIGS",
    "PUBKEY_CACHE_SIZE",
    "EdDSABatchError",
    "clear_pubkey_cache",
    "verify_many",
    "verify_one",
]

PARALLEL_MIN_SIGS = 8  # a verification is ~0.1-0.3 ms: threads pay off early


class EdDSABatchError(ValueError):
    """verify_many's sequences differ in length."""


def _fe(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < bj.P


def _point_ok(pt: object) -> bool:
    return isinstance(pt, tuple | list) and len(pt) == 2 and _fe(pt[0]) and _fe(pt[1])


def _row(msg: object, sig: object, pub: object) -> tuple[int, ...] | None:
    """(M, R8x, R8y, Ax, Ay, S) where the structural checks pass, else None (invalid)."""
    if not isinstance(sig, Signature) or not _fe(msg):
        return None
    r8, s = sig.r8, sig.s
    if not (_point_ok(r8) and _point_ok(pub)):
        return None
    if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s < bj.SUBORDER:
        return None
    return (msg, r8[0], r8[1], pub[0], pub[1], s)  # type: ignore[index,return-value]


# Public keys (x, y) already found on the curve, in the prime-order subgroup and not the
# identity: a pure function of the key, so remembering it changes no answer and spares the
# l * A multiplication (about half a verification) for accounts that sign again.
_SUBGROUP_OK: dict[tuple[int, int], None] = {}
PUBKEY_CACHE_SIZE = 1 << 16


def clear_pubkey_cache() -> None:
    """Forget the public keys whose subgroup check passed (for benchmarks and tests)."""
    _SUBGROUP_OK.clear()


def _run(rows: list[tuple[int, ...]], check_subgroup: bool, parallel: bool) -> np.ndarray:
    n = len(rows)
    buf = b"".join(v.to_bytes(32, "little") for row in rows for v in row)
    raw = np.frombuffer(buf, dtype="<u8").astype(np.uint64).reshape(n, 6, 4)
    msg = np.ascontiguousarray(raw[:, 0])
    r8 = np.ascontiguousarray(raw[:, 1:3])
    a = np.ascontiguousarray(raw[:, 3:5])
    s = np.ascontiguousarray(raw[:, 5])
    keys = [(row[3], row[4]) for row in rows]
    known = np.array([k in _SUBGROUP_OK for k in keys], dtype=np.uint8)
    out = np.zeros(n, dtype=np.uint8)
    a_ok = np.zeros(n, dtype=np.uint8)
    kc = pk.kernel_constants(6)
    consts = (kc.c_m, kc.s_m, kc.mc_m, kc.pc_m, kc.n_rounds_f, kc.n_rounds_p)
    table = bk.base8_table_m()
    if parallel:
        chunk = max(1, n // (4 * numba.get_num_threads()))
        bk.verify_raw_parallel(
            msg, r8, a, s, known, out, a_ok, check_subgroup, table, *consts, chunk
        )
    else:
        bk.verify_raw(msg, r8, a, s, known, out, a_ok, check_subgroup, table, *consts)
    if check_subgroup:
        for key, ok, was in zip(keys, a_ok.tolist(), known.tolist(), strict=True):
            if ok and not was:
                if len(_SUBGROUP_OK) >= PUBKEY_CACHE_SIZE:
                    _SUBGROUP_OK.clear()
                _SUBGROUP_OK[key] = None
    return out


def verify_many(
    msgs: Sequence[int],
    sigs: Sequence[Signature],
    pubkeys: Sequence[bj.Point],
    *,
    check_subgroup: bool = True,
) -> list[bool]:
    """``[verify_poseidon(m, s, a, check_subgroup=...) for m, s, a in zip(...)]``, in Numba,
    threads for batches of ``PARALLEL_MIN_SIGS`` or more. Raises ``EdDSABatchError`` only
    where the three sequences differ in length; a malformed entry is just False."""
    msgs, sigs, pubkeys = list(msgs), list(sigs), list(pubkeys)
    if not len(msgs) == len(sigs) == len(pubkeys):
        raise EdDSABatchError(
            f"{len(msgs)} messages, {len(sigs)} signatures and {len(pubkeys)} public keys"
        )
    result = [False] * len(msgs)
    idx: list[int] = []
    rows: list[tuple[int, ...]] = []
    for i, (m, sig, pub) in enumerate(zip(msgs, sigs, pubkeys, strict=True)):
        row = _row(m, sig, pub)
        if row is not None:
            idx.append(i)
            rows.append(row)
    if rows:
        out = _run(rows, bool(check_subgroup), len(rows) >= PARALLEL_MIN_SIGS)
        for i, ok in zip(idx, out.tolist(), strict=True):
            result[i] = bool(ok)
    return result


def verify_one(msg: int, sig: Signature, pub: bj.Point, *, check_subgroup: bool = True) -> bool:
    """``verify_poseidon(msg, sig, pub)`` through the one-thread kernel."""
    row = _row(msg, sig, pub)
    if row is None:
        return False
    return bool(_run([row], bool(check_subgroup), False)[0])
