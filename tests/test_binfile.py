"""prover/binfile.py: the iden3 container, against files written by snarkjs and by hand."""

from __future__ import annotations

import struct

import pytest

from prover.binfile import BinFile, BinFileError, encode_binfile, write_binfile


def test_round_trip_keeps_order_and_repeats(tmp_path):
    path = tmp_path / "x.bin"
    write_binfile(path, "zkpc", 3, [(2, b"bb"), (1, b"a"), (2, b"second"), (7, b"")])
    bf = BinFile.read(path, "zkpc")
    assert bf.version == 3
    assert [bytes(b) for b in bf.sections[2]] == [b"bb", b"second"]
    assert bytes(bf.section(1)) == b"a"
    assert bytes(bf.section(7, expect_size=0)) == b""
    with pytest.raises(BinFileError, match="appears 2 times"):
        bf.section(2)
    with pytest.raises(BinFileError, match="section 9 is missing"):
        bf.section(9)
    with pytest.raises(BinFileError, match="expected 5"):
        bf.section(1, expect_size=5)
    assert path.read_bytes() == encode_binfile(
        "zkpc", 3, [(2, b"bb"), (1, b"a"), (2, b"second"), (7, b"")]
    )


def test_layout_is_little_endian_u32_u64():
    blob = encode_binfile("wtns", 2, [(1, b"\x01\x02")])
    assert blob[:4] == b"wtns"
    assert struct.unpack_from("<III", blob, 4) == (2, 1, 1)
    assert struct.unpack_from("<Q", blob, 16) == (2,)
    assert blob[24:] == b"\x01\x02"


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"zk", "too short"),
        (encode_binfile("r1cs", 1, []), "not a 'zkey' file"),
        (encode_binfile("zkey", 1, [(1, b"abcd")])[:-1], "claims 4 bytes"),
        (encode_binfile("zkey", 1, [(1, b"abcd")])[:20], "truncated in the header"),
        (encode_binfile("zkey", 9, []), "version 9"),
    ],
)
def test_bad_containers_are_rejected(blob, message):
    with pytest.raises(BinFileError, match=message):
        BinFile.parse(blob, "zkey", max_version=1)


def test_unreadable_path(tmp_path):
    with pytest.raises(BinFileError, match="cannot read"):
        BinFile.read(tmp_path / "missing.zkey", "zkey")


@pytest.mark.node
def test_reads_a_snarkjs_wtns():
    from tests.interop import circom_witness, compile_circom

    src = (
        "pragma circom 2.0.0;\n"
        "template Mul() { signal input a; signal input b; signal output c; c <== a*b; }\n"
        "component main = Mul();\n"
    )
    bf = BinFile.read(circom_witness(compile_circom(src, "mul"), {"a": 3, "b": 11}), "wtns")
    header = bytes(bf.section(1))
    (n8,) = struct.unpack_from("<I", header, 0)
    assert n8 == 32
    values = bytes(bf.section(2))
    words = [int.from_bytes(values[i : i + 32], "little") for i in range(0, len(values), 32)]
    assert words == [1, 33, 3, 11]  # one, c = a*b (output first), a, b
