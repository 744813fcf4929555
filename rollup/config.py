"""One TOML file for an operator's deployment (``zkperp run``, ``zkperp config``; issue G,
"Operator": "one config file (TOML) ... overridable by flags and environment variables").

Precedence, lowest first: the defaults below < the file (``--config FILE`` or ``$ZKPERP_CONFIG``)
< environment variables ``ZKPERP_<SECTION>_<KEY>`` (e.g. ``ZKPERP_CHAIN_RPC_URL``,
``ZKPERP_HTTP_PORT``) < command-line flags. ``OperatorConfig.sources`` says where each value came
from (``zkperp config show``). The file is read with the standard library's ``tomllib``.

The schema is strict: an unknown section or key (in the file or in a ``ZKPERP_<SECTION>_...``
variable of a known section) and a value of the wrong type or out of range are a
``ConfigFileError`` naming the key and where it came from. Environment variables of other
``ZKPERP_`` names (``ZKPERP_DEBUG``, ``ZKPERP_WALLET_PASSWORD``, ...) are not config keys and are
ignored here. Relative paths in a file are taken relative to the file's directory; relative
paths from the environment or flags, relative to the working directory.

Sections (``zkperp config init FILE`` writes them as a commented template)::

    [database]  path, synchronous
    [chain]     rpc_url, deployment (chain.json; default <db>.d/chain.json), rollup, poll_interval
    [batch]     shapes, units, signatures (checks against the database's: fixed at
                ``sequencer init``), max_age (seconds; 0 = cut when full)
    [keys]      dev_account | keystore + password_env (the operator's L1 account);
                operator_key + operator_key_password_env (the insurance account's BabyJubJub key)
    [http]      enabled, host, port, max_body
    [prover]    threads (0 = Numba's default)

Secrets are never in the file: a keystore's password and an encrypted wallet key's password are
read from the environment variables the file names.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollup.errors import RollupError

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "SCHEMA",
    "ConfigFileError",
    "OperatorConfig",
    "Setting",
    "load_config",
    "template",
]

ENV_PREFIX = "ZKPERP_"
CONFIG_ENV = "ZKPERP_CONFIG"


class ConfigFileError(RollupError):
    """An operator config that cannot be used: an unknown key, a wrong type, a bad value."""

    code = "bad_operator_config"


@dataclass(frozen=True)
class Setting:
    """One key of the schema. ``kind``: str, path, int, float, bool, ints (a list of ints),
    address (0x + 40 hex). ``default`` None: unset unless given. ``lo``/``hi``: the range of a
    number; ``choices``: the values a string may take."""

    section: str
    key: str
    kind: str
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}{self.section.upper()}_{self.key.upper()}"


SCHEMA: tuple[Setting, ...] = (
    Setting("database", "path", "path", "run/seq.db", "the sequencer's SQLite database"),
    Setting(
        "database",
        "synchronous",
        "str",
        "FULL",
        "SQLite durability: FULL survives power loss, NORMAL a killed process",
        choices=("FULL", "NORMAL"),
    ),
    Setting("chain", "rpc_url", "str", "http://127.0.0.1:8545", "the L1 node's JSON-RPC URL"),
    Setting(
        "chain",
        "deployment",
        "path",
        None,
        "the deployment's chain.json (default: <database>.d/chain.json, `zkperp chain deploy`)",
    ),
    Setting("chain", "rollup", "address", None, "the rollup contract (overrides chain.json's)"),
    Setting(
        "chain",
        "poll_interval",
        "float",
        1.0,
        "seconds between looks at the chain and the batch age when idle",
        lo=0.01,
        hi=3600,
    ),
    Setting(
        "batch",
        "shapes",
        "ints",
        None,
        "batch sizes in slots: checked against the database's (fixed at `sequencer init`)",
        lo=1,
        hi=4096,
    ),
    Setting(
        "batch",
        "units",
        "ints",
        None,
        "account units of each shape (the most distinct accounts a batch of it may touch, one "
        "per shape; default T // 2 + 1): checked against the database's (`sequencer init "
        "--units`)",
        lo=2,
        hi=8192,
    ),
    Setting(
        "batch",
        "signatures",
        "ints",
        None,
        "signature units of each shape (the most distinct signed messages a batch of it may "
        "verify, one per shape; default T + 1): checked against the database's (`sequencer "
        "init --signatures`)",
        lo=2,
        hi=8192,
    ),
    Setting(
        "batch",
        "max_age",
        "int",
        30,
        "cut the open batch once its first transaction is this old (seconds; 0: when full)",
        lo=0,
        hi=2**32 - 1,
    ),
    Setting(
        "keys",
        "dev_account",
        "int",
        None,
        "the operator's L1 account: an unlocked account of a dev node, by index (default 0)",
        lo=0,
        hi=1 << 16,
    ),
    Setting(
        "keys",
        "keystore",
        "path",
        None,
        "the operator's L1 account: an Ethereum keystore (JSON) file",
    ),
    Setting(
        "keys",
        "password_env",
        "str",
        "ZKPERP_OPERATOR_PASSWORD",
        "the environment variable holding the keystore's password",
    ),
    Setting(
        "keys",
        "operator_key",
        "path",
        None,
        "the insurance account's BabyJubJub key file (`zkperp wallet create`): checked "
        "against the genesis",
    ),
    Setting(
        "keys",
        "operator_key_password_env",
        "str",
        "ZKPERP_WALLET_PASSWORD",
        "the environment variable holding that key file's password",
    ),
    Setting("http", "enabled", "bool", True, "serve the HTTP API (rollup.http_api)"),
    Setting("http", "host", "str", "127.0.0.1", "the HTTP API's interface"),
    Setting("http", "port", "int", 8080, "the HTTP API's port (0: any free one)", lo=0, hi=65535),
    Setting(
        "http",
        "max_body",
        "int",
        64 * 1024,
        "the largest request body accepted (bytes)",
        lo=256,
        hi=1 << 24,
    ),
    Setting(
        "prover",
        "threads",
        "int",
        0,
        "proving threads (0: Numba's default, all cores)",
        lo=0,
        hi=1024,
    ),
)

_BY_NAME = {s.name: s for s in SCHEMA}
_SECTIONS = tuple(dict.fromkeys(s.section for s in SCHEMA))


def _check(s: Setting, value: Any, where: str, *, from_text: bool) -> Any:
    """``value`` as ``s``'s kind (parsed from a string if ``from_text``), else an error."""

    def bad(why: str) -> ConfigFileError:
        return ConfigFileError(f"{s.name} ({where}): {why}")

    kind = s.kind
    if from_text:
        text = str(value).strip()
        try:
            if kind == "int":
                value = int(text, 0)
            elif kind == "float":
                value = float(text)
            elif kind == "bool":
                low = text.lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                value = low in ("1", "true", "yes", "on")
            elif kind == "ints":
                value = [int(p, 0) for p in text.replace(",", " ").split()]
            else:
                value = text
        except ValueError:
            raise bad(f"{text!r} is not {_KIND_WORDS[kind]}") from None
    if kind in ("str", "path", "address"):
        if not isinstance(value, str):
            raise bad(f"expected {_KIND_WORDS[kind]}, got {_type_word(value)}")
        if kind in ("str", "path") and not value:
            raise bad("an empty string (leave the key out for the default)")
        if kind == "address":
            body = value[2:] if value.startswith("0x") else ""
            if len(body) != 40 or any(c not in "0123456789abcdefABCDEF" for c in body):
                raise bad(f"{value!r} is not an address (0x and 40 hex digits)")
        if s.choices and value not in s.choices:
            raise bad(f"{value!r}: one of {', '.join(s.choices)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad(f"expected true or false, got {_type_word(value)}")
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad(f"expected an integer, got {_type_word(value)}")
        return _in_range(s, value, bad)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"expected a number, got {_type_word(value)}")
        return float(_in_range(s, value, bad))
    if kind == "ints":
        if not isinstance(value, list | tuple) or not value:
            raise bad(f"expected a non-empty list of integers, got {_type_word(value)}")
        for v in value:
            if not isinstance(v, int) or isinstance(v, bool):
                raise bad(f"expected a list of integers, it holds {_type_word(v)}")
            _in_range(s, v, bad)
        return tuple(value)
    raise AssertionError(kind)  # pragma: no cover (the schema's kinds are the above)


_KIND_WORDS = {
    "str": "a string",
    "path": "a path (a string)",
    "address": "an address string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "ints": "a list of integers",
}


def _type_word(v: Any) -> str:
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, int | float):
        return f"a number ({v})"
    if isinstance(v, str):
        return f"a string ({v!r})"
    if isinstance(v, list | tuple):
        return "a list"
    if isinstance(v, dict):
        return "a table"
    return type(v).__name__


def _in_range(s: Setting, v: float, bad: Any) -> float:
    if (s.lo is not None and v < s.lo) or (s.hi is not None and v > s.hi):
        raise bad(f"{v} is out of range [{s.lo:g}, {s.hi:g}]")
    return v


@dataclass(frozen=True)
class OperatorConfig:
    """The effective configuration: ``values["section.key"]`` (None: unset) and where each came
    from (``sources``: ``default``, ``file FILE``, ``env ZKPERP_...``, ``flag``)."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    path: Path | None = None
    env_used: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> Any:
        if name not in _BY_NAME:
            raise KeyError(f"no config key {name!r}")
        return self.values[name]

    # --- derived values ------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return Path(self["database.path"])

    @property
    def chain_json(self) -> Path:
        """The deployment file: ``chain.deployment``, else ``<database>.d/chain.json``."""
        given = self["chain.deployment"]
        return Path(given) if given is not None else Path(f"{self.db_path}.d") / "chain.json"

    def operator_account(self) -> tuple[str, Any]:
        """("dev", index) or ("keystore", path): the operator's L1 account."""
        if self["keys.keystore"] is not None:
            return "keystore", Path(self["keys.keystore"])
        index = self["keys.dev_account"]
        return "dev", 0 if index is None else index

    def show(self) -> str:
        """The effective config as TOML-like lines, each with its source."""
        lines = [f"# effective zkperp config (file: {self.path or 'none'})"]
        for section in _SECTIONS:
            lines.append(f"\n[{section}]")
            for s in SCHEMA:
                if s.section != section:
                    continue
                v = self.values[s.name]
                text = f"# {s.key} (unset)" if v is None else f"{s.key} = {_toml_value(v)}"
                lines.append(f"{text:<52} # {self.sources[s.name]}")
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    text = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _read_file(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{path}: a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read it: {exc}") from None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> OperatorConfig:
    """The effective config: defaults < the file at ``path`` (else ``$ZKPERP_CONFIG``, else
    none) < ``env`` (default ``os.environ``) < ``overrides`` (``{"section.key": value}``, the
    command line's flags; a None value means "not given"). ConfigFileError names the first bad
    key and where it came from."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {s.name: s.default for s in SCHEMA}
    sources: dict[str, str] = {s.name: "default" for s in SCHEMA}
    file_path: Path | None = None
    if path is None and env.get(CONFIG_ENV):
        path = env[CONFIG_ENV]
    if path is not None:
        file_path = Path(path)
        data = _read_file(file_path)
        where = f"file {file_path}"
        for section, table in data.items():
            if section not in _SECTIONS:
                raise ConfigFileError(
                    f"{file_path}: unknown section [{section}] (sections: {', '.join(_SECTIONS)})"
                )
            if not isinstance(table, dict):
                raise ConfigFileError(f"{file_path}: {section} must be a [{section}] table")
            for key, value in table.items():
                s = _BY_NAME.get(f"{section}.{key}")
                if s is None:
                    known = ", ".join(x.key for x in SCHEMA if x.section == section)
                    raise ConfigFileError(
                        f"{file_path}: unknown key {section}.{key} (keys of [{section}]: {known})"
                    )
                value = _check(s, value, where, from_text=False)
                if s.kind == "path":
                    value = str(
                        (file_path.parent / value) if not Path(value).is_absolute() else value
                    )
                values[s.name], sources[s.name] = value, where
    used = []
    prefixes = {f"{ENV_PREFIX}{sec.upper()}_": sec for sec in _SECTIONS}
    for var in sorted(env):
        section = next((sec for p, sec in prefixes.items() if var.startswith(p)), None)
        if section is None:
            continue
        key = var[len(ENV_PREFIX) + len(section) + 1 :].lower()
        s = _BY_NAME.get(f"{section}.{key}")
        if s is None:
            # a password variable the config itself names is not a key
            if var in (values["keys.password_env"], values["keys.operator_key_password_env"]):
                continue
            known = ", ".join(x.env for x in SCHEMA if x.section == section)
            raise ConfigFileError(f"environment: unknown variable {var} (known: {known})")
        values[s.name] = _check(s, env[var], f"env {var}", from_text=True)
        sources[s.name] = f"env {var}"
        used.append(var)
    for name, value in (overrides or {}).items():
        s = _BY_NAME.get(name)
        if s is None:
            raise ConfigFileError(f"no config key {name!r}")
        if value is None:
            continue
        if s.kind == "path":
            value = str(value)
        values[name] = _check(s, value, "command line", from_text=False)
        sources[name] = "command line"
    if values["keys.keystore"] is not None and values["keys.dev_account"] is not None:
        raise ConfigFileError(
            f"keys.keystore ({sources['keys.keystore']}) and keys.dev_account "
            f"({sources['keys.dev_account']}) both name the operator's L1 account: give one"
        )
    return OperatorConfig(values, sources, file_path, tuple(used))


def template() -> str:
    """A commented config file with every key at its default (``zkperp config init``)."""
    lines = [
        "# zkperp operator config (TOML). Precedence: defaults < this file < environment",
        "# variables ZKPERP_<SECTION>_<KEY> (e.g. ZKPERP_CHAIN_RPC_URL) < command-line flags.",
        "# Relative paths are relative to this file's directory. No secrets here: passwords",
        "# are read from the environment variables named in [keys].",
    ]
    for section in _SECTIONS:
        lines.append(f"\n[{section}]")
        for s in SCHEMA:
            if s.section != section:
                continue
            lines.append(f"# {s.help} (env {s.env})")
            if s.default is None:
                example = {
                    "batch.shapes": "[2, 4, 8]",
                    "batch.units": "[2, 3, 5]",
                    "batch.signatures": "[3, 5, 9]",
                }.get(s.name)
                example = example or {
                    "ints": "[1, 4]",
                    "int": "0",
                    "address": '"0x0000000000000000000000000000000000000000"',
                }.get(s.kind, '"..."')
                lines.append(f"# {s.key} = {example}")
            else:
                lines.append(f"{s.key} = {_toml_value(s.default)}")
    return "\n".join(lines) + "\n"
