"""prover.wtns: snarkjs .wtns files (snarkjs 0.7.6 src/wtns_utils.js).

Golden data: a witness computed by circom's own wasm (``snarkjs wtns calculate``) for a small
circuit, whose values we know (the product of the inputs); and snarkjs reading back what we
write (``snarkjs wtns export json``).
"""

from __future__ import annotations

import json
import random
import struct

import pytest

from prover import params
from prover.binfile import write_binfile
from prover.wtns import WtnsError, read_wtns, write_wtns

R = params.R_ORDER

MUL_CIRCUIT = """pragma circom 2.0.0;

template Mul() {
    signal input a;
    signal input b;
    signal input e;
    signal output c;
    signal d;
    d <== a * b;
    c <== d * e + 7;
}

component main {public [a]} = Mul();
"""


def _header(n8: int = 32, q: int = R, count: int = 0) -> bytes:
    return struct.pack("<I", n8) + q.to_bytes(n8, "little") + struct.pack("<I", count)


def test_round_trip(tmp_path):
    rng = random.Random(7)
    values = [1, 0, R - 1, *(rng.randrange(R) for _ in range(40))]
    path = tmp_path / "w.wtns"
    write_wtns(path, values)
    assert read_wtns(path) == values
    raw = path.read_bytes()
    assert raw[:4] == b"wtns" and struct.unpack_from("<II", raw, 4) == (2, 2)
    # section 1: n8, q = r, count; section 2: the values, 32-byte little-endian, normal form
    assert struct.unpack_from("<IQ", raw, 12) == (1, 40)
    assert raw[24:64] == _header(count=len(values))
    assert struct.unpack_from("<IQ", raw, 64) == (2, 32 * len(values))
    assert raw[76:108] == (1).to_bytes(32, "little")


def test_empty_witness_round_trip(tmp_path):
    write_wtns(tmp_path / "e.wtns", [])
    assert read_wtns(tmp_path / "e.wtns") == []


@pytest.mark.node
def test_reads_circom_witness():
    from tests.interop import circom_witness, compile_circom

    build = compile_circom(MUL_CIRCUIT, "wtns_mul")
    a, b, e = 3, 11, R - 2  # e = -2: the output wraps around r
    # decimal strings: JSON numbers this big lose precision in JavaScript
    values = read_wtns(circom_witness(build, {"a": str(a), "b": str(b), "e": str(e)}))
    c = (a * b * e + 7) % R
    # circom's order: 1, outputs, public inputs, private inputs, internal signals
    assert values[:5] == [1, c, a, b, e]
    assert values[5] == a * b  # d
    assert c == R - 59


@pytest.mark.node
def test_snarkjs_reads_ours(tmp_path):
    from tests.interop import snarkjs

    values = [1, 5, R - 1, 2**200 + 3, 0]
    write_wtns(tmp_path / "w.wtns", values)
    snarkjs("wtns", "export", "json", tmp_path / "w.wtns", tmp_path / "w.json")
    assert [int(v) for v in json.loads((tmp_path / "w.json").read_text())] == values


@pytest.mark.parametrize(
    "sections, message",
    [
        ([(1, _header(n8=8, q=5, count=0)), (2, b"")], "n8 = 8"),
        ([(1, _header(q=params.P, count=0)), (2, b"")], "not BN254's scalar field"),
        ([(1, _header(count=2)), (2, bytes(32))], "announces 2 values"),
        ([(1, _header(count=1)), (2, R.to_bytes(32, "little"))], "value 0 is not < r"),
        ([(1, _header(count=2)), (2, bytes(32) + (2**256 - 1).to_bytes(32, "little"))],
         "value 1 is not < r"),
        ([(1, _header(count=1)[:-1]), (2, bytes(32))], "header section has 39 bytes"),
        ([(1, _header(count=1))], "section 2 is missing"),
        ([(2, bytes(32))], "section 1 is missing"),
    ],
)  # fmt: skip
def test_rejects_malformed(tmp_path, sections, message):
    path = tmp_path / "bad.wtns"
    write_binfile(path, "wtns", 2, sections)
    with pytest.raises(WtnsError, match=message):
        read_wtns(path)


def test_rejects_other_containers(tmp_path):
    path = tmp_path / "x.wtns"
    write_binfile(path, "zkey", 1, [(1, b"")])
    with pytest.raises(WtnsError, match="not a 'wtns' file"):
        read_wtns(path)
    (tmp_path / "short.wtns").write_bytes(b"wt")
    with pytest.raises(WtnsError, match="too short"):
        read_wtns(tmp_path / "short.wtns")
    with pytest.raises(WtnsError, match="cannot read"):
        read_wtns(tmp_path / "missing.wtns")


@pytest.mark.parametrize("bad", [R, -1, 1.5, True, "3"])
def test_write_rejects_non_field_values(tmp_path, bad):
    with pytest.raises(WtnsError, match="value 1"):
        write_wtns(tmp_path / "w.wtns", [1, bad])
    assert not (tmp_path / "w.wtns").exists()
