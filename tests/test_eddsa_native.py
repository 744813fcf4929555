"""Native BLAKE-512, Baby Jubjub and EdDSA-Poseidon against circomlibjs 0.1.7.

One Node process (``_NODE_JS``) computes everything circomlibjs has to say for a batch of
cases: ``blake-hash`` digests, ``prv2pub``, ``signPoseidon`` and ``packSignature``,
``verifyPoseidon`` on our signatures and on forged ones, ``packPoint`` / ``unpackPoint``.
"""

from __future__ import annotations

import json
import random
import subprocess
from functools import cache

import pytest

from circuits.gadgets import babyjubjub as bj
from circuits.gadgets.blake512 import blake512
from circuits.gadgets.eddsa import (
    EdDSAError,
    Signature,
    challenge,
    pack_signature,
    private_scalar,
    prune_buffer,
    prv2pub,
    sign_poseidon,
    unpack_signature,
    verify_poseidon,
)
from tests.conftest import REPO_ROOT

L = bj.SUBORDER

_NODE_JS = """
import { buildBabyjub, buildEddsa } from "circomlibjs";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(process.cwd() + "/");
const createBlakeHash = require("blake-hash");
const q = JSON.parse(readFileSync(0, "utf8"));
const eddsa = await buildEddsa();
const bj = eddsa.babyJub;
const F = bj.F;
const pt = (p) => [F.e(BigInt(p[0])), F.e(BigInt(p[1]))];
const str = (p) => (p === null ? null : [F.toString(p[0]), F.toString(p[1])]);
const hex = (b) => Buffer.from(b).toString("hex");
const out = {};
const blake = (m) => createBlakeHash("blake512").update(Buffer.from(m, "hex")).digest("hex");
out.blake = q.blake.map(blake);
out.pub = q.keys.map((k) => str(eddsa.prv2pub(Buffer.from(k, "hex"))));
out.sign = q.sign.map(([k, m]) => {
    const sig = eddsa.signPoseidon(Buffer.from(k, "hex"), F.e(BigInt(m)));
    return { R8: str(sig.R8), S: sig.S.toString(), packed: hex(eddsa.packSignature(sig)) };
});
out.verify = q.verify.map(([m, r8, s, a]) =>
    eddsa.verifyPoseidon(F.e(BigInt(m)), { R8: pt(r8), S: BigInt(s) }, pt(a)));
out.pack = q.pack.map((p) => hex(bj.packPoint(pt(p))));
out.unpack = q.unpack.map((b) => str(bj.unpackPoint(Buffer.from(b, "hex"))));
console.log(JSON.stringify(out));
process.exit(0);
"""


def run_node(payload: dict) -> dict:
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", _NODE_JS],
        input=json.dumps(payload),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"node failed:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _point(p) -> bj.Point:
    return (int(p[0]), int(p[1]))


def torsion8() -> bj.Point:
    """A point of order 8: l * GENERATOR (GENERATOR has the full order 8 l)."""
    t8 = bj.mul(bj.GENERATOR, L)
    assert t8 != bj.IDENTITY and bj.mul(t8, 4) != bj.IDENTITY and bj.mul(t8, 8) == bj.IDENTITY
    return t8


# --- BLAKE-512 ---------------------------------------------------------------------------------


def test_blake512_known_answers():
    """The BLAKE submission's known answers (and the empty message)."""
    assert blake512(b"").hex() == (
        "a8cfbbd73726062df0c6864dda65defe58ef0cc52a5625090fa17601e1eecd1b"
        "628e94f396ae402a00acc9eab77b4d4c2e852aaaa25a636d80af3fc7913ef5b8"
    )
    assert blake512(b"\x00").hex() == (
        "97961587f6d970faba6d2478045de6d1fabd09b61ae50932054d52bc29d31be4"
        "ff9102b9f69e2bbdb83be13d4b9c06091e5fa0b48bd081b634058be0ec49beb3"
    )
    assert blake512(bytes(144)).hex() == (
        "313717d608e9cf758dcb1eb0f0c3cf9fc150b2d500fb33f51c52afc99d358a2f"
        "1374b8a38bba7974e7f6ef79cab16f22ce1e649d6e01ad9589c213045d545dde"
    )


# --- Baby Jubjub ---------------------------------------------------------------------------------


def test_curve_parameters():
    assert bj.on_curve(bj.GENERATOR) and bj.on_curve(bj.BASE8) and bj.on_curve(bj.IDENTITY)
    assert bj.mul(bj.GENERATOR, 8) == bj.BASE8
    assert bj.ORDER == 8 * L and pow(2, L - 1, L) == 1  # l is (probably) prime
    assert bj.mul(bj.BASE8, L) == bj.IDENTITY
    assert bj.mul(bj.GENERATOR, bj.ORDER) == bj.IDENTITY
    assert bj.in_subgroup(bj.BASE8) and not bj.in_subgroup(bj.GENERATOR)
    assert not bj.in_subgroup(torsion8())
    assert (bj.A, bj.D, bj.P) == (168700, 168696, bj.P)


def test_group_law():
    rng = random.Random(3)
    for _ in range(10):
        a, b = rng.randrange(L), rng.randrange(L)
        pa, pb = bj.mul_base8(a), bj.mul_base8(b)
        assert bj.mul(bj.BASE8, a) == pa
        assert bj.add(pa, pb) == bj.mul_base8(a + b)
        assert bj.add(pa, bj.neg(pa)) == bj.IDENTITY
        assert bj.double(pa) == bj.mul_base8(2 * a)
        assert bj.add(pa, bj.IDENTITY) == pa
    assert bj.mul(bj.BASE8, 0) == bj.IDENTITY and bj.mul_base8(0) == bj.IDENTITY
    assert bj.mul_base8(L + 5) == bj.mul_base8(5)
    with pytest.raises(bj.BabyJubJubError):
        bj.mul(bj.BASE8, -1)


def test_on_curve_rejects():
    x, y = bj.BASE8
    assert not bj.on_curve((x, y + 1))
    assert not bj.on_curve((x + bj.P, y))  # not canonical
    assert not bj.on_curve((x, -y))
    assert not bj.on_curve((x,))  # type: ignore[arg-type]
    assert not bj.on_curve("ab")  # type: ignore[arg-type]


def test_pack_unpack_local():
    rng = random.Random(4)
    for _ in range(10):
        pt = bj.mul_base8(rng.randrange(L))
        assert bj.unpack_point(bj.pack_point(pt)) == pt
        assert bj.unpack_point(bj.pack_point(bj.neg(pt))) == bj.neg(pt)
    bad_y = (bj.P + 5).to_bytes(32, "little")
    with pytest.raises(bj.BabyJubJubError, match="below the field modulus"):
        bj.unpack_point(bad_y)  # circomlibjs reduces it silently: we refuse
    with pytest.raises(bj.BabyJubJubError):
        bj.unpack_point(bj.pack_point(bj.IDENTITY))  # as circomlibjs (null)
    with pytest.raises(bj.BabyJubJubError):
        bj.unpack_point(b"\x01" * 31)
    with pytest.raises(bj.BabyJubJubError):
        bj.pack_point((bj.P, 1))


# --- EdDSA (local) -------------------------------------------------------------------------------


@cache
def _keys() -> list[bytes]:
    rng = random.Random(5)
    keys = [rng.randbytes(32) for _ in range(4)]
    return keys + [b"", b"\x01", rng.randbytes(16), rng.randbytes(64), rng.randbytes(129)]


def test_prune_and_scalar():
    h = prune_buffer(bytes([0xFF]) * 64)
    assert h[0] == 0xF8 and h[31] == 0x7F and h[1:31] == bytes([0xFF]) * 30
    assert prune_buffer(bytes(64))[31] == 0x40
    for k in _keys():
        s = private_scalar(k)
        assert s % 8 == 0 and (1 << 254) <= s < (1 << 255)
        assert prv2pub(k) == bj.mul_base8(s >> 3)


def test_sign_verify_and_negatives():
    k1, k2 = _keys()[0], _keys()[1]
    a1, a2 = prv2pub(k1), prv2pub(k2)
    msg = 1234567890
    sig = sign_poseidon(k1, msg)
    assert sig == sign_poseidon(k1, msg)  # deterministic
    assert verify_poseidon(msg, sig, a1)
    assert verify_poseidon(msg, sig, a1, check_subgroup=False)
    assert not verify_poseidon(msg + 1, sig, a1), "wrong message"
    assert not verify_poseidon(msg, sig, a2), "wrong key"
    assert not verify_poseidon(msg, Signature(sig.r8, (sig.s + 1) % L), a1), "wrong S"
    assert not verify_poseidon(msg, Signature(sig.r8, sig.s + L), a1), "S >= l"
    assert not verify_poseidon(msg, Signature(sig.r8, -1), a1)
    r8_off = (sig.r8[0], (sig.r8[1] + 1) % bj.P)
    assert not verify_poseidon(msg, Signature(r8_off, sig.s), a1), "R8 off the curve"
    assert not verify_poseidon(msg, sig, (a1[0], (a1[1] + 1) % bj.P)), "A off the curve"
    assert not verify_poseidon(bj.P, sig, a1), "message out of range"
    assert not verify_poseidon(msg, "sig", a1)  # type: ignore[arg-type]
    assert not verify_poseidon(msg, sign_poseidon(k2, msg), a1)
    r8_torsion = bj.add(sig.r8, torsion8())
    assert not verify_poseidon(msg, Signature(r8_torsion, sig.s), a1), "R8 not in subgroup"
    assert not verify_poseidon(msg, Signature(r8_torsion, sig.s), a1, check_subgroup=False)


def _forged_small_order_a(prv: bytes, msg: int) -> tuple[Signature, bj.Point]:
    """A signature under A' = A + T8 (not in the subgroup) that satisfies the verification
    equation: 8 * hm * A' = 8 * hm * A, so only a subgroup check catches it."""
    s = private_scalar(prv)
    a_bad = bj.add(bj.mul_base8(s >> 3), torsion8())
    r = 987654321
    r8 = bj.mul_base8(r)
    hm = challenge(r8, a_bad, msg)
    return Signature(r8, (r + hm * s) % L), a_bad


def _forged_identity_a() -> tuple[Signature, bj.Point]:
    """With A = identity any S works with R8 = S * BASE8."""
    return Signature(bj.mul_base8(777), 777), bj.IDENTITY


def test_subgroup_and_identity_checks():
    msg = 42
    sig, a_bad = _forged_small_order_a(_keys()[0], msg)
    assert not verify_poseidon(msg, sig, a_bad)
    assert verify_poseidon(msg, sig, a_bad, check_subgroup=False)  # the equation holds
    sig0, ident = _forged_identity_a()
    assert not verify_poseidon(msg, sig0, ident)
    assert verify_poseidon(msg, sig0, ident, check_subgroup=False)


def test_pack_unpack_signature_local():
    sig = sign_poseidon(_keys()[2], 99)
    packed = pack_signature(sig)
    assert len(packed) == 64 and unpack_signature(packed) == sig
    with pytest.raises(EdDSAError):
        unpack_signature(packed[:63])
    with pytest.raises(EdDSAError):
        unpack_signature((bj.P + 5).to_bytes(32, "little") + packed[32:])
    with pytest.raises(EdDSAError):
        sign_poseidon(_keys()[0], bj.P)
    with pytest.raises(EdDSAError):
        sign_poseidon("key", 1)  # type: ignore[arg-type]
    with pytest.raises(EdDSAError):
        pack_signature(Signature(sig.r8, 1 << 256))


# --- against circomlibjs, one Node process --------------------------------------------------------


@pytest.mark.node
def test_against_circomlibjs():
    rng = random.Random(6)
    keys = _keys()
    blake_msgs = [b"", b"\x00", bytes(144), *(rng.randbytes(n) for n in (1, 64, 111, 112, 128))]
    blake_msgs += [rng.randbytes(n) for n in (127, 129, 200, 239, 240, 256, 1000)]
    sign_cases = [(k, rng.randrange(bj.P)) for k in keys] + [(keys[0], 0), (keys[0], bj.P - 1)]
    ours = [sign_poseidon(k, m) for k, m in sign_cases]
    pubs = [prv2pub(k) for k in keys]
    key_pub = dict(zip(keys, pubs))

    msg = 4242
    forged_a = _forged_small_order_a(keys[1], msg)
    forged_id = _forged_identity_a()
    good = ours[0]
    verify_cases = [(m, s, key_pub[k], True) for (k, m), s in zip(sign_cases, ours)]
    verify_cases += [
        (sign_cases[0][1] + 1, good, key_pub[keys[0]], False),  # wrong message
        (sign_cases[0][1], good, key_pub[keys[1]], False),  # wrong key
        (sign_cases[0][1], Signature(good.r8, (good.s + 1) % L), key_pub[keys[0]], False),
        (sign_cases[0][1], Signature(good.r8, good.s + L), key_pub[keys[0]], False),  # S >= l
        (msg, forged_a[0], forged_a[1], "circomlibjs only"),
        (msg, forged_id[0], forged_id[1], "circomlibjs only"),
    ]
    points = [bj.mul_base8(rng.randrange(L)) for _ in range(6)]
    points += [bj.neg(p) for p in points[:3]] + [bj.BASE8, bj.GENERATOR, torsion8()]
    unpack_cases = [bj.pack_point(p) for p in points]
    unpack_cases += [
        bytes(32),  # y = 0: x^2 = 1 / a, not a square
        (2).to_bytes(32, "little"),
        bj.pack_point(bj.IDENTITY),
        bytes([0xFF]) * 32,
    ]

    theirs = run_node(
        {
            "blake": [m.hex() for m in blake_msgs],
            "keys": [k.hex() for k in keys],
            "sign": [[k.hex(), str(m)] for k, m in sign_cases],
            "verify": [
                [str(m), [str(v) for v in s.r8], str(s.s), [str(v) for v in a]]
                for m, s, a, _ in verify_cases
            ],
            "pack": [[str(v) for v in p] for p in points],
            "unpack": [b.hex() for b in unpack_cases],
        }
    )

    assert theirs["blake"] == [blake512(m).hex() for m in blake_msgs]
    assert [_point(p) for p in theirs["pub"]] == pubs
    for (k, m), mine, t in zip(sign_cases, ours, theirs["sign"]):
        assert Signature(_point(t["R8"]), int(t["S"])) == mine, "signPoseidon differs"
        assert bytes.fromhex(t["packed"]) == pack_signature(mine)
        assert unpack_signature(bytes.fromhex(t["packed"])) == mine
        assert verify_poseidon(m, mine, key_pub[k])
    for (m, s, a, expected), t in zip(verify_cases, theirs["verify"]):
        if expected == "circomlibjs only":  # circomlibjs checks no subgroup; we do
            assert t is True and not verify_poseidon(m, s, a)
            assert verify_poseidon(m, s, a, check_subgroup=False)
        else:
            assert t is expected and verify_poseidon(m, s, a) is expected
    assert theirs["pack"] == [bj.pack_point(p).hex() for p in points]
    for data, t in zip(unpack_cases, theirs["unpack"]):
        if t is None:
            with pytest.raises(bj.BabyJubJubError):
                bj.unpack_point(data)
        elif int.from_bytes(data, "little") & ((1 << 255) - 1) >= bj.P:
            with pytest.raises(bj.BabyJubJubError):  # circomlibjs reduces y; we refuse
                bj.unpack_point(data)
        else:
            assert bj.unpack_point(data) == _point(t)
