"""`gitward ci` is a short process: it loads neither the other commands nor the promotion side."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from gitward.cli.main import cli
try:
    cli(["ci", "publish", "--help"], prog_name="gitward")
except SystemExit as e:
    assert e.code in (0, None), e.code
print("\\n".join(sorted(sys.modules)))
"""


def _loaded() -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    return set(out.splitlines())


def test_ci_loads_no_other_command_and_no_promotion_side() -> None:
    loaded = _loaded()
    assert "gitward.cli.ci" in loaded
    others = ("controller", "dev", "promoting", "reports", "ui")
    assert not {f"gitward.cli.{name}" for name in others} & loaded
    assert not {m for m in loaded if m.startswith(("gitward.ci.promoting", "gitward.forge"))}


def test_every_command_is_listed_and_runs_its_help() -> None:
    from click.testing import CliRunner

    from gitward.cli.main import cli

    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0
    for name in ("ci", "controller", "dev", "history", "promote", "rollback", "status", "ui"):
        assert f"  {name} " in listed.output
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0, name
