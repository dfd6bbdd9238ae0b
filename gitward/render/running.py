"""The one place gitward.render starts external programs (helm, kubectl).

A small seam on purpose: every call has a timeout, captures both streams as
text, never inherits stdin, and turns "took too long" and "could not start"
into gitward errors. Tests count or replace calls here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.errors import RenderError, ToolError


@dataclass(frozen=True)
class ToolRun:
    """A finished program: its exit status and what it printed."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_tool(
    argv: Sequence[str],
    *,
    what: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ToolRun:
    """Run ``argv`` to completion; ``what`` names the step in errors.

    A program still running after ``timeout`` seconds is killed and reported
    as ``<what> did not finish within <timeout>s``.
    """
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=None if env is None else dict(env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"{what} did not finish within {timeout:g}s") from exc
    except OSError as exc:
        raise ToolError(f"{argv[0]}: cannot run: {exc.strerror or exc}") from exc
    return ToolRun(
        argv=tuple(argv), returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr
    )


def first_error_line(output: str) -> str:
    """The line a human needs from a failed program's output.

    The first line starting with ``Error:``/``error:`` (without that prefix),
    else the last non-empty line, else ``"no output"``.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("Error: ", "error: ", "ERROR: "):
            if line.startswith(prefix):
                return line[len(prefix) :]
    return lines[-1] if lines else "no output"
