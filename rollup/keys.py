"""Proving and verification keys of a sequencer's batch circuits, one per batch shape, and the
files an operator's deployment keeps beside its database (layout v2, section 9).

For a sequencer database ``<db>`` the directory ``<db>.d/`` holds::

    keys/batch_<n_slots>.zkey       snarkjs PLONK zkey (prover.zkey; snarkjs reads it as its own)
    keys/batch_<n_slots>.vk.json    snarkjs verification_key.json (prover.formats.vk_to_json)
    keys/batch_<n_slots>.meta.json  what the key was made from: the shape, a digest of the
                                    circuit's gates and wiring, the ptau file (zkperp's cache key)
    keys/dev_pot<K>.ptau            the development SRS, when no ceremony file is given
    proofs/batch_<number>.proof.json, .public.json   (snarkjs formats) and .wtns (the witness)

A batch of ``n`` slots is proven by the circuit ``BatchShape(n, account_depth, order_depth,
n_markets, n_units, n_signatures)`` of the genesis config and the sequencer config's account
units and signature units of that shape (``SequencerConfig.units_for(n)``,
``SequencerConfig.signatures_for(n)``; ``circuits.state_transition``): one PLONK setup
(``prover.plonk.setup``, ePrint 2019/953 section 8.1) per shape of the sequencer's config. The
meta records the whole shape, ``n_units`` and ``n_signatures`` included: a key made for another
D or S is stale (a meta written before shapes recorded one of them was made with its default).
``setup_keys`` skips a shape whose key was made from the same circuit digest and ptau, so it is
cheap to re-run; a key whose circuit digest no longer matches the circuit (the circuit changed)
is reported as stale by ``check_fresh`` and redone by ``setup_keys``.

Without a ceremony file, ``dev_ptau`` writes a one-party development SRS
(``prover.ptau.write_dev_ptau``, what ``zkperp ptau new`` writes) of the power the largest shape
needs: insecure for production (whoever knew tau could forge proofs).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rollup.errors import RollupError
from rollup.types import Genesis

__all__ = [
    "MAX_POWER",
    "KeysError",
    "MissingKeysError",
    "StaleKeysError",
    "KeyInfo",
    "Deployment",
    "batch_shape",
    "circuit_digest",
    "compiled_circuit",
    "dev_ptau",
    "setup_keys",
    "setup_shape",
]

MAX_POWER = 20  # issue E: at most 2^20 gates a shape (larger does not fit these machines)
META_VERSION = 1


class KeysError(RollupError):
    """Keys that cannot be made or used (a shape too big, a ptau too small)."""

    code = "keys"


class MissingKeysError(KeysError):
    """No key for a shape: ``zkperp batch setup`` was not run (or not for this shape)."""

    code = "missing_keys"


class StaleKeysError(KeysError):
    """A key made for another version of the circuit (or another shape)."""

    code = "stale_keys"


def batch_shape(
    genesis: Genesis,
    n_slots: int,
    n_units: int | None = None,
    n_signatures: int | None = None,
):
    """The circuit shape that proves batches of ``n_slots`` slots under ``genesis``'s config,
    with ``n_units`` account units and ``n_signatures`` signature units (the deployment's:
    ``SequencerConfig.units_for(n_slots)``, ``SequencerConfig.signatures_for(n_slots)``; None:
    ``default_units(n_slots)``, ``default_signatures(n_slots)``)."""
    from circuits.state_transition import BatchShape

    cfg = genesis.config
    return BatchShape(
        n_slots,
        cfg.account_depth,
        cfg.order_depth,
        len(cfg.markets),
        0 if n_units is None else n_units,  # 0: the default
        0 if n_signatures is None else n_signatures,
    )


def compiled_circuit(shape):
    """The compiled circuit (``circuits.builder.CompiledCircuit``) of ``shape``."""
    from circuits.state_transition import build_batch_circuit

    built = build_batch_circuit(shape)
    return getattr(built, "circuit", built)  # first cut: a BatchCircuit wrapper


def circuit_digest(cs) -> str:
    """SHA-256 of what a PLONK key is made of: sizes, wire maps, selectors, additions (gate
    labels excluded). Two circuits with the same digest have the same zkey on the same ptau."""
    h = hashlib.sha256()
    h.update(f"zkpc-digest-v1 {cs.n_vars} {cs.n_public} {cs.n_gates}\n".encode())
    for col in (cs.a, cs.b, cs.c):
        h.update(np.asarray(col, dtype=np.uint32).tobytes())
    for col in (cs.qm, cs.ql, cs.qr, cs.qo, cs.qc):
        h.update(b"".join(int(v).to_bytes(32, "little") for v in col))
    for s1, s2, f1, f2 in cs.additions:
        h.update(s1.to_bytes(4, "little") + s2.to_bytes(4, "little"))
        h.update(f1.to_bytes(32, "little") + f2.to_bytes(32, "little"))
    return h.hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    """One shape's key files and what they were made from (the ``.meta.json``)."""

    n_slots: int
    shape: dict
    circuit_digest: str
    n_gates: int
    power: int
    n_public: int
    ptau: str
    seconds: float = 0.0
    cached: bool = False

    def to_json(self) -> dict:
        return {
            "version": META_VERSION,
            "n_slots": self.n_slots,
            "shape": self.shape,
            "circuit_digest": self.circuit_digest,
            "n_gates": self.n_gates,
            "power": self.power,
            "n_public": self.n_public,
            "ptau": self.ptau,
        }

    @classmethod
    def from_json(cls, d: dict) -> KeyInfo:
        return cls(
            d["n_slots"],
            d["shape"],
            d["circuit_digest"],
            d["n_gates"],
            d["power"],
            d["n_public"],
            d["ptau"],
        )


@dataclass(frozen=True)
class Deployment:
    """The files of a sequencer database ``<db>``: ``<db>.d/keys`` and ``<db>.d/proofs``."""

    db: Path

    @property
    def root(self) -> Path:
        return Path(f"{self.db}.d")

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def proofs_dir(self) -> Path:
        return self.root / "proofs"

    def zkey(self, n_slots: int) -> Path:
        return self.keys_dir / f"batch_{n_slots}.zkey"

    def vk(self, n_slots: int) -> Path:
        return self.keys_dir / f"batch_{n_slots}.vk.json"

    def meta(self, n_slots: int) -> Path:
        return self.keys_dir / f"batch_{n_slots}.meta.json"

    def dev_ptau(self, power: int) -> Path:
        return self.keys_dir / f"dev_pot{power}.ptau"

    @staticmethod
    def proof_files(directory: Path, number: int) -> tuple[Path, Path, Path]:
        """(proof.json, public.json, .wtns) of batch ``number`` in ``directory``."""
        stem = f"batch_{number}"
        return (
            directory / f"{stem}.proof.json",
            directory / f"{stem}.public.json",
            directory / f"{stem}.wtns",
        )

    # --- keys -----------------------------------------------------------------------------------

    def key_info(self, n_slots: int) -> KeyInfo | None:
        """The meta of shape ``n_slots``'s key, or None if it has none (or it does not read)."""
        path = self.meta(n_slots)
        if not (path.is_file() and self.zkey(n_slots).is_file() and self.vk(n_slots).is_file()):
            return None
        try:
            return KeyInfo.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def require_keys(self, n_slots: int) -> KeyInfo:
        """The meta of shape ``n_slots``'s key; MissingKeysError if any of its files is missing."""
        info = self.key_info(n_slots)
        if info is None:
            raise MissingKeysError(
                f"no keys for batches of {n_slots} slots in {self.keys_dir} "
                f"(run `zkperp batch setup {self.db}`)"
            )
        return info

    def check_fresh(self, info: KeyInfo, shape, cs) -> None:
        """StaleKeysError unless ``info`` was made for ``shape``'s circuit ``cs`` as it is now."""
        self.check_shape(info, shape)
        if info.circuit_digest != circuit_digest(cs):
            raise StaleKeysError(
                f"the keys in {self.zkey(info.n_slots)} were made for another version of the "
                f"batch circuit: run `zkperp batch setup {self.db}` again"
            )

    def check_shape(self, info: KeyInfo, shape) -> None:
        """StaleKeysError unless ``info`` was made for ``shape`` (its depths, markets, account
        units and signature units; cheap: no circuit is compiled)."""
        made, want = _meta_shape(info.shape), _shape_json(shape)
        if made != want:
            got = made if isinstance(made, dict) else {}
            diff = ", ".join(
                f"{k} {got.get(k)} (now {want[k]})" for k in want if got.get(k) != want[k]
            )
            raise StaleKeysError(
                f"the keys in {self.zkey(info.n_slots)} were made for another shape ({diff}): "
                f"run `zkperp batch setup {self.db}` again"
            )

    def load_proving_key(self, n_slots: int):
        """The proving key of shape ``n_slots`` (``prover.zkey.read_zkey``)."""
        from prover.zkey import read_zkey

        self.require_keys(n_slots)
        return read_zkey(self.zkey(n_slots))

    def load_verifying_key(self, n_slots: int):
        """The verifying key of shape ``n_slots``, from its ``vk.json``."""
        from prover import formats

        path = self.vk(n_slots)
        if not path.is_file():
            raise MissingKeysError(
                f"no verification key {path} (run `zkperp batch setup {self.db}`)"
            )
        return formats.parse_vk_json(formats.load_json(path))


def _shape_json(shape) -> dict:
    return {
        "n_slots": shape.n_slots,
        "account_depth": shape.account_depth,
        "order_depth": shape.order_depth,
        "n_markets": shape.n_markets,
        "n_units": shape.n_units,
        "n_signatures": shape.n_signatures,
    }


def _meta_shape(shape: dict) -> dict:
    """A meta's shape; one written before shapes had ``n_units`` (``n_signatures``) was made
    with the default units (signature units)."""
    if not isinstance(shape, dict) or not isinstance(shape.get("n_slots"), int):
        return shape
    from circuits.state_transition import default_signatures, default_units

    n = shape["n_slots"]
    return {"n_units": default_units(n), "n_signatures": default_signatures(n), **shape}


def dev_ptau(
    dep: Deployment, power: int, progress: Callable[[str, float], None] | None = None
) -> Path:
    """A development ptau of at least ``power`` in ``dep``'s keys directory: an existing
    ``dev_pot<K>.ptau`` with K >= power (the smallest such), else a new one of ``power``
    (``prover.ptau.write_dev_ptau``, one party: insecure for production)."""
    from prover.ptau import write_dev_ptau

    dep.keys_dir.mkdir(parents=True, exist_ok=True)
    for k in range(power, MAX_POWER + 1):
        if dep.dev_ptau(k).is_file():
            return dep.dev_ptau(k)
    path = dep.dev_ptau(power)
    write_dev_ptau(path, power, progress=progress)
    return path


def setup_shape(
    dep: Deployment, shape, ptau_path: Path, *, force: bool = False, cs=None
) -> KeyInfo:
    """Set up ``shape``'s circuit (``cs``: its constraint system, compiled here if None) on
    ``ptau_path`` into ``dep``'s keys directory (zkey, vk.json, meta), unless a key from the same
    circuit digest and ptau is already there (``force`` redoes it). KeysError if the circuit is
    larger than the ptau or than 2^MAX_POWER."""
    from prover import formats
    from prover.plonk.constraint_system import domain_power
    from prover.plonk.setup import SetupError, setup
    from prover.ptau import read_ptau
    from prover.zkey import write_zkey

    t0 = time.perf_counter()
    if cs is None:
        cs = compiled_circuit(shape).cs
    power = domain_power(cs)
    if power > MAX_POWER:
        raise KeysError(
            f"batches of {shape.n_slots} slots need {cs.n_gates} gates (a domain of 2^{power}), "
            f"more than the 2^{MAX_POWER} a setup here allows: choose smaller batch shapes"
        )
    digest = circuit_digest(cs)
    ptau_name = str(Path(ptau_path).resolve())
    info = KeyInfo(
        shape.n_slots, _shape_json(shape), digest, cs.n_gates, power, cs.n_public, ptau_name
    )
    old = dep.key_info(shape.n_slots)
    if not force and old is not None and old.to_json() == info.to_json():
        return KeyInfo(**{**info.__dict__, "cached": True})
    try:
        pk = setup(cs, read_ptau(ptau_path))
    except SetupError as exc:
        raise KeysError(f"{ptau_path}: {exc}") from None
    dep.keys_dir.mkdir(parents=True, exist_ok=True)
    dep.meta(shape.n_slots).unlink(missing_ok=True)  # no meta = no key while we write
    write_zkey(pk, dep.zkey(shape.n_slots))
    _write_atomic(dep.vk(shape.n_slots), formats.dumps_json(formats.vk_to_json(pk.vk)))
    _write_atomic(dep.meta(shape.n_slots), json.dumps(info.to_json(), indent=1) + "\n")
    return KeyInfo(**{**info.__dict__, "seconds": time.perf_counter() - t0})


def setup_keys(
    dep: Deployment,
    shapes: Iterable,
    ptau_path: Path,
    *,
    force: bool = False,
    circuits: Mapping[int, object] | None = None,
    on_shape: Callable[[KeyInfo], None] | None = None,
) -> list[KeyInfo]:
    """``setup_shape`` for each shape (in order; ``circuits[n_slots]``: a constraint system
    already compiled); ``on_shape(info)`` after each."""
    out = []
    for shape in shapes:
        cs = None if circuits is None else circuits.get(shape.n_slots)
        info = setup_shape(dep, shape, ptau_path, force=force, cs=cs)
        if on_shape is not None:
            on_shape(info)
        out.append(info)
    return out


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
