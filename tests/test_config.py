"""The operator's config (``rollup.config``, ``zkperp config``): precedence defaults < file <
environment < flags with the source of each value, the strict schema (unknown sections, keys and
variables; wrong types; out-of-range values; both operator accounts), the template (it loads
back to the defaults), and the CLI's one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import zkperp
from rollup.config import SCHEMA, ConfigFileError, load_config, template


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "op.toml"
    path.write_text(text)
    return path


FILE = """
[database]
path = "data/seq.db"
[chain]
rpc_url = "http://node:8545"
poll_interval = 0.5
[batch]
shapes = [1, 4]
max_age = 10
[http]
port = 9000
enabled = false
[keys]
dev_account = 2
"""


def test_defaults_without_a_file():
    cfg = load_config(env={})
    for s in SCHEMA:
        assert cfg[s.name] == s.default and cfg.sources[s.name] == "default"
    assert cfg.operator_account() == ("dev", 0)
    assert cfg.chain_json == Path("run/seq.db.d/chain.json")


def test_precedence_defaults_file_env_flags(tmp_path):
    path = write(tmp_path, FILE)
    cfg = load_config(path, env={})
    assert cfg["chain.rpc_url"] == "http://node:8545"
    assert cfg.sources["chain.rpc_url"] == f"file {path}"
    assert cfg["database.path"] == str(tmp_path / "data/seq.db")  # relative to the file
    assert cfg["batch.shapes"] == (1, 4) and cfg["http.enabled"] is False
    assert cfg["chain.poll_interval"] == 0.5 and cfg["http.host"] == "127.0.0.1"
    assert cfg.operator_account() == ("dev", 2)
    env = {"ZKPERP_CHAIN_RPC_URL": "http://env:1", "ZKPERP_HTTP_PORT": "9100",
           "ZKPERP_HTTP_ENABLED": "yes", "ZKPERP_BATCH_SHAPES": "2,8",
           "ZKPERP_DEBUG": "1", "ZKPERP_WALLET_PASSWORD": "x", "OTHER": "y"}  # fmt: skip
    cfg = load_config(path, env=env)
    assert cfg["chain.rpc_url"] == "http://env:1"
    assert cfg.sources["chain.rpc_url"] == "env ZKPERP_CHAIN_RPC_URL"
    assert cfg["http.port"] == 9100 and cfg["http.enabled"] is True
    assert cfg["batch.shapes"] == (2, 8)
    assert cfg["batch.max_age"] == 10 and cfg.sources["batch.max_age"] == f"file {path}"
    cfg = load_config(path, env=env, overrides={"chain.rpc_url": "http://flag:2",
                                                 "http.port": None})  # fmt: skip
    assert cfg["chain.rpc_url"] == "http://flag:2"
    assert cfg.sources["chain.rpc_url"] == "command line"
    assert cfg["http.port"] == 9100  # None: the flag was not given
    # $ZKPERP_CONFIG names the file when no path is given
    cfg = load_config(env={"ZKPERP_CONFIG": str(path)})
    assert cfg.path == path and cfg["http.port"] == 9000


@pytest.mark.parametrize(
    "text,message",
    [
        ("[chain]\nrpc = 'x'\n", "unknown key chain.rpc"),
        ("[chains]\nrpc_url = 'x'\n", r"unknown section \[chains\]"),
        ("[http]\nport = '80'\n", r"http.port \(file .*\): expected an integer, got a string"),
        ("[http]\nport = 70000\n", r"http.port .*out of range"),
        ("[http]\nport = true\n", "http.port .*expected an integer, got a boolean"),
        ("[http]\nenabled = 1\n", "http.enabled .*expected true or false"),
        ("[batch]\nshapes = 4\n", "batch.shapes .*list of integers"),
        ("[batch]\nshapes = [1, 'a']\n", "batch.shapes .*list of integers"),
        ("[batch]\nshapes = [0]\n", "batch.shapes .*out of range"),
        ("[batch]\nunits = 3\n", "batch.units .*list of integers"),
        ("[batch]\nunits = [1, 3]\n", "batch.units .*out of range"),
        ("[batch]\nsignatures = 3\n", "batch.signatures .*list of integers"),
        ("[batch]\nsignatures = [1, 3]\n", "batch.signatures .*out of range"),
        ("[batch]\nsignatures = [2, true]\n", "batch.signatures .*a boolean"),
        ("[database]\nsynchronous = 'OFF'\n", "database.synchronous .*one of FULL, NORMAL"),
        ("[database]\npath = ''\n", "database.path .*empty"),
        ("[chain]\nrollup = '0x12'\n", "chain.rollup .*not an address"),
        ("chain = 3\n", "chain must be a"),
        ("[chain\n", "not valid TOML"),
        ("[keys]\ndev_account = 0\nkeystore = 'k.json'\n", "both name the operator's L1 account"),
    ],
)
def test_schema_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigFileError, match=message):
        load_config(write(tmp_path, text), env={})


@pytest.mark.parametrize(
    "env,message",
    [
        ({"ZKPERP_HTTP_PORT": "eighty"}, r"http.port \(env ZKPERP_HTTP_PORT\): 'eighty' is not"),
        ({"ZKPERP_HTTP_PORTS": "80"}, "unknown variable ZKPERP_HTTP_PORTS"),
        ({"ZKPERP_HTTP_ENABLED": "maybe"}, "http.enabled"),
        ({"ZKPERP_CHAIN_POLL_INTERVAL": "0"}, "out of range"),
    ],
)
def test_environment_errors_name_the_variable(env, message):
    with pytest.raises(ConfigFileError, match=message):
        load_config(env=env)


def test_flag_errors_and_missing_file(tmp_path):
    with pytest.raises(ConfigFileError, match="http.port .*command line"):
        load_config(env={}, overrides={"http.port": -1})
    with pytest.raises(ConfigFileError, match="no config key"):
        load_config(env={}, overrides={"http.ports": 1})
    with pytest.raises(ConfigFileError, match="no such config file"):
        load_config(tmp_path / "missing.toml", env={})


def test_password_variables_named_by_the_config_are_not_keys():
    # keys.password_env may name a variable that looks like a config key of [keys]
    env = {"ZKPERP_KEYS_PASSWORD_ENV": "ZKPERP_KEYS_SECRET", "ZKPERP_KEYS_SECRET": "pw"}
    assert load_config(env=env)["keys.password_env"] == "ZKPERP_KEYS_SECRET"


def test_template_loads_back_to_the_defaults(tmp_path):
    text = template()
    for s in SCHEMA:
        assert f"{s.key} = " in text and s.env in text
    cfg = load_config(write(tmp_path, text), env={})
    for s in SCHEMA:
        want = s.default
        if s.kind == "path" and want is not None:
            want = str(tmp_path / want)
        assert cfg[s.name] == want, s.name


def run(*args, env=None):
    return CliRunner().invoke(zkperp, [str(a) for a in args], env=env, prog_name="zkperp")


def test_cli_config_init_and_show(tmp_path, monkeypatch):
    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    path = tmp_path / "zk.toml"
    result = run("config", "init", path)
    assert result.exit_code == 0, result.output
    assert path.read_text() == template()
    result = run("config", "init", path)
    assert result.exit_code == 1 and "exists" in result.output
    path.write_text(FILE)
    result = run("config", "show", "--config", path, env={"ZKPERP_HTTP_PORT": "9300"})
    assert result.exit_code == 0, result.output
    lines = {ln.split("=")[0].strip(): ln for ln in result.output.splitlines() if "=" in ln}
    assert lines["rpc_url"].split("#")[-1].strip() == f"file {path}"
    assert "9300" in lines["port"] and lines["port"].endswith("# env ZKPERP_HTTP_PORT")
    assert lines["host"].endswith("# default")


def test_cli_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    bad = write(tmp_path, "[http]\nport = 'x'\n")
    for args in (("config", "show", "--config", bad), ("run", "--config", bad)):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "http.port" in result.output
    result = run("run", "--db", tmp_path / "none.db")
    assert result.exit_code == 1 and "no sequencer database" in result.output


def test_cli_run_checks_before_the_chain(tmp_path, monkeypatch):
    """Shapes and the operator's key are checked against the database, and a missing
    chain.json is reported, before any node is contacted."""
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis
    from rollup.types import DEMO_INSURANCE_KEY
    from rollup.wallet import create_key_file

    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    db = tmp_path / "seq.db"
    Sequencer.create(db, demo_genesis(1_700_000_000), SequencerConfig(shapes=(1, 2))).close()
    result = run("run", "--db", db, "--rpc-url", "http://127.0.0.1:9")
    assert result.exit_code == 1 and "zkperp chain deploy" in result.output, result.output
    path = write(tmp_path, f'[database]\npath = "{db}"\n[batch]\nshapes = [4]\n')
    result = run("run", "--config", path)
    assert result.exit_code == 1 and "created with shapes [1, 2]" in result.output
    create_key_file(tmp_path / "other.key", None)  # not the genesis's insurance key
    path = write(tmp_path, f'[database]\npath = "{db}"\n[keys]\noperator_key = "other.key"\n')
    result = run("run", "--config", path)
    assert result.exit_code == 1 and "insurance account" in result.output, result.output
    create_key_file(tmp_path / "ins.key", None, rng=lambda n: DEMO_INSURANCE_KEY)
    path = write(tmp_path, f'[database]\npath = "{db}"\n[keys]\noperator_key = "ins.key"\n')
    result = run("run", "--config", path)  # the key matches: on to chain.json
    assert result.exit_code == 1 and "zkperp chain deploy" in result.output, result.output


def test_batch_units_from_file_env_and_show(tmp_path, monkeypatch):
    """``batch.units``: a list of ints like ``batch.shapes``, from the file or
    ``ZKPERP_BATCH_UNITS``; ``zkperp config show`` lists it with its source."""
    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    assert load_config(env={})["batch.units"] is None
    path = write(tmp_path, "[batch]\nshapes = [2, 4]\nunits = [2, 4]\n")
    cfg = load_config(path, env={})
    assert cfg["batch.units"] == (2, 4) and cfg.sources["batch.units"] == f"file {path}"
    cfg = load_config(path, env={"ZKPERP_BATCH_UNITS": "2 3"})
    assert cfg["batch.units"] == (2, 3) and cfg.sources["batch.units"] == "env ZKPERP_BATCH_UNITS"
    with pytest.raises(ConfigFileError, match="batch.units .*'2,x' is not a list of integers"):
        load_config(path, env={"ZKPERP_BATCH_UNITS": "2,x"})
    result = run("config", "show", "--config", path)
    assert result.exit_code == 0, result.output
    lines = {ln.split("=")[0].strip(): ln for ln in result.output.splitlines() if "=" in ln}
    assert "[2, 4]" in lines["units"] and lines["units"].endswith(f"# file {path}")
    text = template()
    assert "# units = [2, 3, 5]" in text and "ZKPERP_BATCH_UNITS" in text


def test_batch_signatures_from_file_env_and_show(tmp_path, monkeypatch):
    """``batch.signatures``: a list of ints like ``batch.units``, from the file or
    ``ZKPERP_BATCH_SIGNATURES`` (which wins over the file); ``zkperp config show`` lists it
    with its source; the template shows the defaults T + 1."""
    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    assert load_config(env={})["batch.signatures"] is None
    path = write(tmp_path, "[batch]\nshapes = [2, 4]\nsignatures = [4, 8]\n")
    cfg = load_config(path, env={})
    assert cfg["batch.signatures"] == (4, 8)
    assert cfg.sources["batch.signatures"] == f"file {path}"
    cfg = load_config(path, env={"ZKPERP_BATCH_SIGNATURES": "3, 5"})
    assert cfg["batch.signatures"] == (3, 5)
    assert cfg.sources["batch.signatures"] == "env ZKPERP_BATCH_SIGNATURES"
    with pytest.raises(ConfigFileError, match="batch.signatures .*'3,x' is not a list"):
        load_config(path, env={"ZKPERP_BATCH_SIGNATURES": "3,x"})
    with pytest.raises(ConfigFileError, match=r"batch.signatures \(env .*\): 1 is out of range"):
        load_config(path, env={"ZKPERP_BATCH_SIGNATURES": "1,3"})
    result = run("config", "show", "--config", path)
    assert result.exit_code == 0, result.output
    lines = {ln.split("=")[0].strip(): ln for ln in result.output.splitlines() if "=" in ln}
    assert "[4, 8]" in lines["signatures"] and lines["signatures"].endswith(f"# file {path}")
    text = template()
    assert "# signatures = [3, 5, 9]" in text and "ZKPERP_BATCH_SIGNATURES" in text


def test_cli_run_checks_the_units_against_the_database(tmp_path, monkeypatch):
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis

    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    db = tmp_path / "seq.db"
    config = SequencerConfig(shapes=(1, 2), units=(2, 3))
    Sequencer.create(db, demo_genesis(1_700_000_000), config).close()
    path = write(tmp_path, f'[database]\npath = "{db}"\n[batch]\nunits = [2, 2]\n')
    result = run("run", "--config", path)
    assert result.exit_code == 1, result.output
    assert "batch.units = [2, 2]" in result.output and "created with units [2, 3]" in result.output
    path = write(tmp_path, f'[database]\npath = "{db}"\n[batch]\nunits = [2, 3]\n')
    result = run("run", "--config", path, "--rpc-url", "http://127.0.0.1:9")
    assert result.exit_code == 1 and "zkperp chain deploy" in result.output, result.output


def test_cli_run_checks_the_signature_units_against_the_database(tmp_path, monkeypatch):
    from rollup.sequencer import Sequencer, SequencerConfig, demo_genesis

    monkeypatch.delenv("ZKPERP_CONFIG", raising=False)
    db = tmp_path / "seq.db"
    config = SequencerConfig(shapes=(1, 2), signatures=(2, 4))
    Sequencer.create(db, demo_genesis(1_700_000_000), config).close()
    for sigs in ("[2, 3]", "[2, 3, 4]"):  # the default S of shape 2 (3), one too many
        path = write(tmp_path, f'[database]\npath = "{db}"\n[batch]\nsignatures = {sigs}\n')
        result = run("run", "--config", path)
        assert result.exit_code == 1, result.output
        assert f"batch.signatures = {sigs} (file {path})" in result.output
        assert "created with signature units [2, 4] (shapes [1, 2])" in result.output
    monkeypatch.setenv("ZKPERP_BATCH_SIGNATURES", "2 3")  # the environment names its source
    result = run("run", "--config", path)
    assert result.exit_code == 1 and "env ZKPERP_BATCH_SIGNATURES" in result.output
    monkeypatch.delenv("ZKPERP_BATCH_SIGNATURES")
    path = write(tmp_path, f'[database]\npath = "{db}"\n[batch]\nsignatures = [2, 4]\n')
    result = run("run", "--config", path, "--rpc-url", "http://127.0.0.1:9")
    assert result.exit_code == 1 and "zkperp chain deploy" in result.output, result.output


def test_cli_sequencer_init_units_and_the_genesis_export(tmp_path):
    """`sequencer init --units` stores each shape's units in the settings; bad units are one
    clear line and create nothing; `sequencer genesis --with-units` wraps the genesis with the
    shapes and units (what `zkperp audit --ptau` reads) and `init --genesis` takes it back."""
    import json

    from rollup.sequencer import Sequencer
    from rollup.storage import Storage

    db = tmp_path / "u.db"
    result = run("sequencer", "init", db, "--time", 1_700_000_000, "--shapes", "4,2",
                 "--units", "4,2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "batch shapes [2, 4], account units [2, 4], pad True" in result.output
    with Storage.open(db) as storage:
        assert storage.settings_json["units"] == [2, 4]
    with Sequencer.open(db) as seq:
        assert seq.config.units_for(4) == 4 and seq.status()["units"] == [2, 4]
    result = run("sequencer", "init", tmp_path / "d.db", "--time", 1_700_000_000)
    assert "account units [2, 3, 5] (default)" in result.output, result.output
    for units, why in (("2", "1 counts for 3 shapes"), ("2,3,17", "units of shape 8"),
                       ("3,2,5", "must not decrease"), ("2,x,5", "--units")):  # fmt: skip
        result = run("sequencer", "init", tmp_path / "bad.db", "--units", units)
        assert result.exit_code in (1, 2) and why in result.output, result.output
        assert "Traceback" not in result.output and not (tmp_path / "bad.db").exists()
    plain = json.loads(run("sequencer", "genesis", db).output)
    result = run("sequencer", "genesis", db, "--with-units")
    assert result.exit_code == 0, result.output
    wrapped = json.loads(result.output)
    assert wrapped == {
        "genesis": plain,
        "shapes": [2, 4],
        "units": [2, 4],
        "signatures": [3, 5],  # the defaults T + 1: none given
    }
    out = tmp_path / "g.json"
    assert run("sequencer", "genesis", db, "--with-units", "-o", out).exit_code == 0
    result = run("sequencer", "init", tmp_path / "copy.db", "--genesis", out)
    assert result.exit_code == 0, result.output
    assert json.loads(run("sequencer", "genesis", tmp_path / "copy.db").output) == plain


def test_cli_sequencer_init_signatures_and_the_genesis_export(tmp_path):
    """`sequencer init --signatures` stores each shape's signature units in the settings (sorted
    with the shapes); bad ones are one clear line and create nothing; `sequencer genesis
    --with-units` exports them with the account units."""
    import json

    from rollup.sequencer import Sequencer
    from rollup.storage import Storage

    db = tmp_path / "s.db"
    result = run("sequencer", "init", db, "--time", 1_700_000_000, "--shapes", "4,2",
                 "--signatures", "8,4")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "account units [2, 3] (default), pad True" in result.output
    assert "signature units [4, 8] (signed" in result.output
    with Storage.open(db) as storage:
        assert storage.settings_json["signatures"] == [4, 8]
        assert storage.settings_json["units"] is None
    with Sequencer.open(db) as seq:
        assert seq.config.signatures_for(4) == 8 and seq.status()["signatures"] == [4, 8]
        assert seq.config.max_signatures == 8
    result = run("sequencer", "init", tmp_path / "d.db", "--time", 1_700_000_000)
    assert "signature units [3, 5, 9] (default)" in result.output, result.output
    for sigs, why in (("3", "1 counts for 3 shapes"), ("3,5,17", "signature units of shape 8"),
                      ("1,5,9", "signature units of shape 2 must be an integer in 2..4"),
                      ("4,3,9", "signatures must not decrease"),
                      ("3,x,9", "--signatures")):  # fmt: skip
        result = run("sequencer", "init", tmp_path / "bad.db", "--signatures", sigs)
        assert result.exit_code in (1, 2) and why in result.output, result.output
        assert "Traceback" not in result.output and not (tmp_path / "bad.db").exists()
    plain = json.loads(run("sequencer", "genesis", db).output)
    result = run("sequencer", "genesis", db, "--with-units")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "genesis": plain, "shapes": [2, 4], "units": [2, 3], "signatures": [4, 8]
    }  # fmt: skip
