"""prover.r1cs: circom .r1cs files, checked against snarkjs's own reader (`r1cs export json`)."""

from __future__ import annotations

import json
import struct

import pytest

from prover import params
from prover.binfile import encode_binfile
from prover.r1cs import R1cs, R1csError, encode_r1cs, parse_r1cs, read_r1cs, write_r1cs
from tests.interop import compile_circom, snarkjs

R = params.R_ORDER

CIRCUIT = """pragma circom 2.0.0;
template T() {
    signal input x;
    signal input y;
    signal input s[4];
    signal output out;
    signal output out2;
    signal t;
    signal u;
    t <== x * y + 7;
    u <== (s[0] + 2*s[1] + 3*s[2] + 4*s[3] + x + 5) * t;
    out <== u + t + s[0] + s[1] - 3;
    out2 <== out * out;
}
component main {public [x, s]} = T();
"""


def small_r1cs(**changes) -> R1cs:
    fields = dict(
        prime=R,
        n_wires=6,
        n_pub_out=1,
        n_pub_in=1,
        n_prv_in=2,
        n_labels=9,
        constraints=(
            ({2: 1}, {3: 1}, {5: 1}),
            ({}, {}, {0: 7, 1: R - 1, 5: 3, 4: 0}),
            ({0: 2, 4: 5}, {0: 1}, {1: 10}),
        ),
        wire_to_label=(0, 1, 2, 3, 4, 8),
    )
    fields.update(changes)
    return R1cs(**fields)


def test_round_trip_and_fields(tmp_path):
    r1cs = small_r1cs()
    path = tmp_path / "c.r1cs"
    write_r1cs(r1cs, path)
    back = read_r1cs(path)
    assert back == r1cs
    assert back.n_public == 2 and back.n_constraints == 3
    # key order inside a combination is the file's order
    assert list(back.constraints[1][2]) == [0, 1, 5, 4]
    assert parse_r1cs(encode_r1cs(small_r1cs(wire_to_label=None))).wire_to_label is None


def test_repeated_wire_later_term_wins():
    """r1csfile does `lc[idx] = val`: a repeated wire keeps the last coefficient."""
    r1cs = small_r1cs(constraints=(({2: 1}, {3: 1}, {5: 1}),))
    # section 2 by hand, with wire 2 twice in A
    lc = struct.pack("<I", 2) + b"".join(
        struct.pack("<I", 2) + c.to_bytes(32, "little") for c in (4, 9)
    )
    one = lambda w: struct.pack("<I", 1) + struct.pack("<I", w) + (1).to_bytes(32, "little")  # noqa: E731
    header = encode_r1cs(r1cs)[24 : 24 + 64]  # after the file and section headers
    data = encode_binfile("r1cs", 1, [(1, header), (2, lc + one(3) + one(5))])
    assert parse_r1cs(data).constraints[0][0] == {2: 9}


def _expect(data: bytes, match: str) -> None:
    with pytest.raises(R1csError, match=match):
        parse_r1cs(data)


def test_errors():
    good = encode_r1cs(small_r1cs())
    _expect(b"zkey" + good[4:], "not a 'r1cs' file")
    _expect(good[:-5], "claims|truncated")
    _expect(encode_r1cs(small_r1cs(prime=params.P)), "not BN254's scalar field")
    _expect(encode_r1cs(small_r1cs(constraints=(({9: 1}, {}, {}),))), "uses wire 9 >= nWires 6")
    _expect(encode_r1cs(small_r1cs(constraints=(({1: R}, {}, {}),))), "coefficient >= r")
    _expect(encode_r1cs(small_r1cs(n_prv_in=5)), "do not fit 6 wires")
    # custom gates (sections 4/5) are rejected
    r1cs = small_r1cs(wire_to_label=None)
    sections = [(1, b""), (2, b""), (4, b"\0\0\0\0"), (5, b"\0\0\0\0")]
    _expect(encode_binfile("r1cs", 1, sections), "custom gates")
    # a section 2 with bytes left over, a section 3 of the wrong size, wrong version
    data = bytearray(encode_r1cs(r1cs))
    _expect(encode_binfile("r1cs", 2, [(1, b"")]), "version 2")
    header = encode_r1cs(r1cs)[24 : 24 + 64]
    _expect(encode_binfile("r1cs", 1, [(1, header), (2, bytes(100))]), "truncated|bytes after")
    _expect(encode_binfile("r1cs", 1, [(1, header[:-1]), (2, b"")]), "header has 63 bytes")
    _expect(encode_binfile("r1cs", 1, [(1, header)]), "section 2 is missing")
    assert data  # (the good encoding itself parses)
    parse_r1cs(bytes(data))


def test_missing_file(tmp_path):
    with pytest.raises(R1csError, match="cannot read"):
        read_r1cs(tmp_path / "nope.r1cs")


@pytest.mark.node
def test_matches_snarkjs_reader(tmp_path):
    build = compile_circom(CIRCUIT, "r1cs_reader")
    ours = read_r1cs(build.r1cs)
    snarkjs("r1cs", "export", "json", build.r1cs, tmp_path / "r.json")
    theirs = json.loads((tmp_path / "r.json").read_text())
    assert ours.prime == int(theirs["prime"])
    assert (ours.n_wires, ours.n_pub_out, ours.n_pub_in, ours.n_prv_in, ours.n_labels) == (
        theirs["nVars"],
        theirs["nOutputs"],
        theirs["nPubInputs"],
        theirs["nPrvInputs"],
        theirs["nLabels"],
    )
    assert ours.n_public == 7  # 2 outputs, then x and s[0..3]
    assert ours.n_constraints == theirs["nConstraints"] == len(theirs["constraints"])
    got = [[{str(k): str(v) for k, v in lc.items()} for lc in c] for c in ours.constraints]
    assert got == theirs["constraints"]
    assert list(ours.wire_to_label) == theirs["map"]
