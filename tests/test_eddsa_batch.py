"""Numba Baby Jubjub kernels and batch EdDSA-Poseidon verification (``eddsa_batch``) against
their plain-Python twins, ``babyjubjub`` and ``eddsa.verify_poseidon``, and circomlibjs-made
signatures."""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets import babyjubjub_kernels as bk
from circuits.gadgets import poseidon_kernels as pk
from circuits.gadgets.eddsa import (
    Signature,
    challenge,
    private_scalar,
    prv2pub,
    sign_poseidon,
    verify_poseidon,
)
from circuits.gadgets.eddsa_batch import (
    EdDSABatchError,
    _row,
    clear_pubkey_cache,
    verify_many,
    verify_one,
)
from tests.test_eddsa_native import run_node, torsion8

P, L = bj.P, bj.SUBORDER
_R = (1 << 256) % P


def _ext_array(points: list[bj.Point]) -> np.ndarray:
    """Affine int points -> (n, 4, 4) extended Montgomery (Z = 1)."""
    out = np.zeros((len(points), 4, 4), dtype=np.uint64)
    for i, (x, y) in enumerate(points):
        for c, v in enumerate((x, y, x * y % P, 1)):
            out[i, c] = np.frombuffer((v * _R % P).to_bytes(32, "little"), dtype="<u8")
    return out


def _affine(a: np.ndarray) -> list[bj.Point]:
    res = []
    for row in a:
        x, y, _, z = (
            sum(int(row[c, k]) << (64 * k) for k in range(4)) * pow(_R, -1, P) % P for c in range(4)
        )
        zi = pow(z, -1, P)
        res.append((x * zi % P, y * zi % P))
    return res


def _scalars(es: list[int]) -> np.ndarray:
    buf = b"".join(e.to_bytes(32, "little") for e in es)
    return np.frombuffer(buf, dtype="<u8").astype(np.uint64).reshape(len(es), 4)


@cache
def _points() -> list[bj.Point]:
    rng = random.Random(11)
    t8 = torsion8()
    return [
        bj.BASE8,
        bj.IDENTITY,
        (0, P - 1),  # order 2
        t8,
        bj.GENERATOR,
        bj.mul_base8(rng.randrange(L)),
        bj.add(bj.mul_base8(rng.randrange(L)), t8),
    ]


# --- kernels against twins and babyjubjub ---------------------------------------------------


def test_add_double_kernels_match_twins():
    pts = _points()
    ps = _ext_array(pts)
    qs = _ext_array(pts[1:] + pts[:1])
    for kernel, twin, args in (
        (bk.ext_add_m, bk.ext_add_m_twin, (ps, qs)),
        (bk.ext_double_m, bk.ext_double_m_twin, (ps,)),
    ):
        out_k, out_t = np.zeros_like(ps), np.zeros_like(ps)
        kernel(*args, out_k)
        twin(*args, out_t)
        assert np.array_equal(out_k, out_t), kernel
    out = np.zeros_like(ps)
    bk.ext_add_m(ps, qs, out)
    assert _affine(out) == [bj.add(p, q) for p, q in zip(pts, pts[1:] + pts[:1], strict=True)]
    bk.ext_double_m(ps, out)
    assert _affine(out) == [bj.double(p) for p in pts]


def test_mul_kernels_match_twins():
    rng = random.Random(12)
    pts = _points()
    es = [0, 1, L, bj.ORDER, (1 << 256) - 1, 4 * (P - 1), rng.randrange(1 << 256)]
    ps, sc = _ext_array(pts), _scalars(es)
    out_k, out_t = np.zeros_like(ps), np.zeros_like(ps)
    bk.mul_m(ps, sc, out_k)
    bk.mul_m_twin(ps, sc, out_t)
    assert np.array_equal(out_k, out_t)
    assert _affine(out_k) == [bj.mul(p, e) for p, e in zip(pts, es, strict=True)]

    es8 = [0, 1, 255, 256, L - 1, L, (1 << 256) - 1, rng.randrange(L)]
    sc8 = _scalars(es8)
    table = bk.base8_table_m()
    out_k = np.zeros((len(es8), 4, 4), dtype=np.uint64)
    out_t = np.zeros_like(out_k)
    bk.mul_base8_m(sc8, table, out_k)
    bk.mul_base8_m_twin(sc8, table, out_t)
    assert np.array_equal(out_k, out_t)
    assert _affine(out_k) == [bj.mul_base8(e) for e in es8]


# --- cases ---------------------------------------------------------------------------------------


def _forged_small_order_a(prv: bytes, msg: int) -> tuple[Signature, bj.Point]:
    s = private_scalar(prv)
    a_bad = bj.add(bj.mul_base8(s >> 3), torsion8())
    r8 = bj.mul_base8(987654321)
    return Signature(r8, (987654321 + challenge(r8, a_bad, msg) * s) % L), a_bad


@cache
def _cases() -> list[tuple[object, object, object]]:
    """(msg, sig, pub): valid signatures and every kind of invalid one."""
    rng = random.Random(13)
    keys = [rng.randbytes(32) for _ in range(3)]
    pubs = [prv2pub(k) for k in keys]
    cases: list[tuple[object, object, object]] = []
    for k, a in zip(keys, pubs, strict=True):
        for msg in (0, 1, P - 1, rng.randrange(P)):
            cases.append((msg, sign_poseidon(k, msg), a))
    msg = 1234567
    sig, a1, a2 = sign_poseidon(keys[0], msg), pubs[0], pubs[1]
    t8 = torsion8()
    r8_t = bj.add(sig.r8, t8)
    bad_a, ident = _forged_small_order_a(keys[0], 42), bj.IDENTITY
    cases += [
        (msg + 1, sig, a1),  # wrong message
        (msg, sig, a2),  # wrong key
        (msg, Signature(sig.r8, (sig.s + 1) % L), a1),  # wrong S
        (msg, Signature(sig.r8, sig.s + L), a1),  # S >= l
        (msg, Signature(sig.r8, L), a1),
        (msg, Signature(sig.r8, -1), a1),
        (msg, Signature(sig.r8, True), a1),
        (msg, Signature(sig.r8, 1 << 300), a1),
        (msg, Signature((sig.r8[0], (sig.r8[1] + 1) % P), sig.s), a1),  # R8 off the curve
        (msg, sig, (a1[0], (a1[1] + 1) % P)),  # A off the curve
        (msg, Signature(r8_t, sig.s), a1),  # R8 not in the subgroup
        (42, bad_a[0], bad_a[1]),  # A not in the subgroup, equation holds
        (42, Signature(bj.mul_base8(777), 777), ident),  # A the identity
        (42, Signature(bj.mul_base8(777), 777), (0, P - 1)),  # A of order 2
        (42, Signature(t8, 0), t8),  # small-order R8 and A
        (P, sig, a1),  # message out of range
        (-1, sig, a1),
        (True, sig, a1),
        ("1", sig, a1),
        (msg, "sig", a1),
        (msg, sig, (a1[0], a1[1], 0)),
        (msg, sig, [a1[0], a1[1]]),  # a list is accepted, as by verify_poseidon
        (msg, Signature([sig.r8[0], sig.r8[1]], sig.s), a1),
        (msg, sig, (a1[0] + P, a1[1])),  # not canonical
        (msg, sig, (True, 1)),
        (msg, sig, "ab"),
        (msg, Signature((sig.r8[0], sig.r8[1] + P), sig.s), a1),
        (msg, Signature(None, sig.s), a1),
    ]
    return cases


@pytest.mark.parametrize("check_subgroup", [True, False])
def test_verify_many_equals_verify_poseidon(check_subgroup):
    clear_pubkey_cache()
    cases = _cases()
    expected = [verify_poseidon(m, s, a, check_subgroup=check_subgroup) for m, s, a in cases]
    assert any(expected) and not all(expected)
    msgs, sigs, pubs = (list(col) for col in zip(*cases, strict=True))
    assert verify_many(msgs, sigs, pubs, check_subgroup=check_subgroup) == expected
    assert [verify_one(m, s, a, check_subgroup=check_subgroup) for m, s, a in cases] == expected
    if check_subgroup:
        assert verify_many(msgs, sigs, pubs) == expected  # the default, keys cached now
    clear_pubkey_cache()
    assert [verify_one(m, s, a, check_subgroup=check_subgroup) for m, s, a in cases] == expected


def test_subgroup_forgeries_need_the_check():
    bad_sig, bad_a = _forged_small_order_a(b"k", 42)
    good_sig, good_a = sign_poseidon(b"k", 42), prv2pub(b"k")
    clear_pubkey_cache()
    for _ in range(2):  # the second round with good_a in the cache
        assert verify_many([42, 42], [good_sig, bad_sig], [good_a, bad_a]) == [True, False]
    assert verify_one(43, good_sig, good_a) is False
    assert verify_many([42], [bad_sig], [bad_a], check_subgroup=False) == [True]
    assert verify_many([42], [bad_sig], [bad_a]) == [False]
    ident_sig = Signature(bj.mul_base8(777), 777)
    assert verify_one(42, ident_sig, bj.IDENTITY, check_subgroup=False)
    assert not verify_one(42, ident_sig, bj.IDENTITY)


def test_random_batch_parallel():
    """A larger batch through the parallel kernel, a quarter of it tampered with."""
    rng = random.Random(14)
    keys = [rng.randbytes(32) for _ in range(4)]
    pubs = [prv2pub(k) for k in keys]
    msgs, sigs, apubs = [], [], []
    for i in range(40):
        m = rng.randrange(P)
        sig = sign_poseidon(keys[i % 4], m)
        if i % 4 == 3:
            m = (m + 1) % P
        msgs.append(m)
        sigs.append(sig)
        apubs.append(pubs[i % 4])
    got = verify_many(msgs, sigs, apubs)
    assert got == [i % 4 != 3 for i in range(40)]


def test_verify_raw_matches_twin():
    """Three valid signatures and the structurally sound invalid ones (a few)."""
    ok = [c for c in _cases() if _row(*c) is not None]
    cases = [c for c in ok if verify_poseidon(*c)][:3] + [c for c in ok if not verify_poseidon(*c)]
    rows = [_row(*c) for c in cases]
    raw = _scalars([v for row in rows for v in row]).reshape(len(rows), 6, 4)
    msg, r8, a, s = (
        np.ascontiguousarray(x) for x in (raw[:, 0], raw[:, 1:3], raw[:, 3:5], raw[:, 5])
    )
    kc = pk.kernel_constants(6)
    consts = (kc.c_m, kc.s_m, kc.mc_m, kc.pc_m, kc.n_rounds_f, kc.n_rounds_p)
    table = bk.base8_table_m()
    n = len(rows)
    known = np.zeros(n, dtype=np.uint8)
    for check in (True, False):
        outs = [np.zeros(n, dtype=np.uint8) for _ in range(8)]
        bk.verify_raw(msg, r8, a, s, known, outs[0], outs[4], check, table, *consts)
        bk.verify_raw_twin(msg, r8, a, s, known, outs[1], outs[5], check, table, *consts)
        bk.verify_raw_parallel(msg, r8, a, s, known, outs[2], outs[6], check, table, *consts, 3)
        bk.verify_raw_parallel_twin(
            msg, r8, a, s, known, outs[3], outs[7], check, table, *consts, 3
        )
        assert all(np.array_equal(outs[0], o) for o in outs[1:4])
        assert all(np.array_equal(outs[4], o) for o in outs[5:])
        assert 0 < outs[0].sum() < n
        expected_a = [  # a_ok: both points on the curve, A in the subgroup, not the identity
            check
            and bj.on_curve((r[1], r[2]))
            and bj.in_subgroup((r[3], r[4]))
            and (r[3], r[4]) != bj.IDENTITY
            for r in rows
        ]
        assert outs[4].tolist() == [int(e) for e in expected_a]
    # a_known skips the l * A check: the small-order-A forgery then passes (caller's promise)
    bad = [i for i, c in enumerate(cases) if c[0] == 42 and bj.on_curve(c[2]) and c[2][0]]
    out = np.zeros(n, dtype=np.uint8)
    bk.verify_raw(msg, r8, a, s, known | 1, out, np.zeros(n, np.uint8), True, table, *consts)
    assert any(out[i] for i in bad)


def test_empty_and_length_mismatch():
    assert verify_many([], [], []) == []
    with pytest.raises(EdDSABatchError, match="2 messages, 1 signatures"):
        verify_many([1, 2], [sign_poseidon(b"k", 1)], [prv2pub(b"k")])


@pytest.mark.node
def test_circomlibjs_signatures():
    """Signatures made by circomlibjs's signPoseidon verify, and fail with a changed message."""
    rng = random.Random(15)
    keys = [rng.randbytes(32) for _ in range(4)] + [b"", rng.randbytes(70)]
    sign_cases = [(k, rng.randrange(P)) for k in keys] + [(keys[0], 0), (keys[1], P - 1)]
    res = run_node(
        {
            "blake": [],
            "keys": [k.hex() for k in keys],
            "sign": [[k.hex(), str(m)] for k, m in sign_cases],
            "verify": [],
            "pack": [],
            "unpack": [],
        }
    )
    pubs = {k: (int(p[0]), int(p[1])) for k, p in zip(keys, res["pub"], strict=True)}
    msgs = [m for _, m in sign_cases]
    sigs = [Signature((int(s["R8"][0]), int(s["R8"][1])), int(s["S"])) for s in res["sign"]]
    apubs = [pubs[k] for k, _ in sign_cases]
    assert verify_many(msgs, sigs, apubs) == [True] * len(msgs)
    assert verify_many([(m + 1) % P for m in msgs], sigs, apubs) == [False] * len(msgs)
