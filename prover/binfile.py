"""The iden3 binary container shared by snarkjs's .ptau, .zkey, .wtns and circom's .r1cs files.

Mirrors ``@iden3/binfileutils`` (``readBinFile``, ``createBinFile``, ``startWriteSection``):

    magic        4 bytes ASCII ("ptau", "zkey", "wtns", "r1cs", ...)
    version      u32
    n_sections   u32
    n_sections x { id: u32, size: u64, data: size bytes }

All integers are little-endian. A section id may repeat (the reader keeps every occurrence in file
order, as binfileutils does); the format readers in this package reject repeats where snarkjs would.
Files are memory-mapped, so a multi-gigabyte ptau costs only the pages that are read.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = struct.Struct("<4sII")
_SECTION = struct.Struct("<IQ")


class BinFileError(ValueError):
    """A container that is not what it claims to be (wrong magic, truncated, bad section table)."""


@dataclass(frozen=True)
class BinFile:
    """A parsed container. ``sections[id]`` lists the section bodies with that id, in file order."""

    path: str
    magic: str
    version: int
    sections: dict[int, list[memoryview]] = field(repr=False)

    @staticmethod
    def read(path: str | os.PathLike, magic: str, max_version: int | None = None) -> BinFile:
        """Open ``path`` and check its magic (and, if given, that version <= ``max_version``)."""
        path = os.fspath(path)
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < _HEADER.size:
                    raise BinFileError(f"{path}: {size} bytes is too short for a '{magic}' file")
                data = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
        except OSError as exc:
            raise BinFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return BinFile.parse(data, magic, max_version, path)

    @staticmethod
    def parse(
        data: bytes | memoryview, magic: str, max_version: int | None = None, path: str = "<bytes>"
    ) -> BinFile:
        view = memoryview(data)
        if len(view) < _HEADER.size:
            raise BinFileError(f"{path}: too short for a '{magic}' file")
        got, version, n_sections = _HEADER.unpack_from(view, 0)
        if got != magic.encode("ascii"):
            raise BinFileError(f"{path}: not a '{magic}' file (magic {bytes(got)!r})")
        if max_version is not None and version > max_version:
            raise BinFileError(f"{path}: '{magic}' version {version} > {max_version} (unsupported)")
        sections: dict[int, list[memoryview]] = {}
        pos = _HEADER.size
        for i in range(n_sections):
            if pos + _SECTION.size > len(view):
                raise BinFileError(f"{path}: truncated in the header of section #{i}")
            sid, size = _SECTION.unpack_from(view, pos)
            pos += _SECTION.size
            if pos + size > len(view):
                raise BinFileError(
                    f"{path}: section {sid} claims {size} bytes, only {len(view) - pos} remain"
                )
            sections.setdefault(sid, []).append(view[pos : pos + size])
            pos += size
        return BinFile(path, magic, version, sections)

    def has(self, sid: int) -> bool:
        return sid in self.sections

    def section(self, sid: int, expect_size: int | None = None) -> memoryview:
        """The body of the unique section ``sid`` (optionally checking its exact size)."""
        bodies = self.sections.get(sid)
        if not bodies:
            raise BinFileError(f"{self.path}: section {sid} is missing")
        if len(bodies) > 1:
            raise BinFileError(f"{self.path}: section {sid} appears {len(bodies)} times")
        body = bodies[0]
        if expect_size is not None and len(body) != expect_size:
            raise BinFileError(
                f"{self.path}: section {sid} has {len(body)} bytes, expected {expect_size}"
            )
        return body


def encode_binfile(
    magic: str, version: int, sections: Iterable[tuple[int, bytes | memoryview]]
) -> bytes:
    """The container bytes for ``sections`` (id, body) in the given order."""
    sections = list(sections)
    if len(magic) != 4:
        raise ValueError("magic must be 4 ASCII characters")
    parts = [_HEADER.pack(magic.encode("ascii"), version, len(sections))]
    for sid, body in sections:
        parts.append(_SECTION.pack(sid, len(body)))
        parts.append(bytes(body))
    return b"".join(parts)


def write_binfile(
    path: str | os.PathLike,
    magic: str,
    version: int,
    sections: Iterable[tuple[int, bytes | memoryview]],
) -> None:
    """Write a container atomically (to ``path.tmp``, then rename), streaming the section bodies."""
    sections = list(sections)
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(_HEADER.pack(magic.encode("ascii"), version, len(sections)))
        for sid, body in sections:
            fh.write(_SECTION.pack(sid, len(body)))
            fh.write(body)
    os.replace(tmp, target)
