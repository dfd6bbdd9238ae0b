"""How gitward.render starts helm and kubectl: through :mod:`gitward.programs`.

A thin seam on purpose: tests count or replace :func:`run_tool`, and a
program that runs too long becomes a :class:`RenderError` rather than the
generic tool failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gitward.errors import RenderError
from gitward.programs import Program, ProgramRun, run_program

ToolRun = ProgramRun


def run_tool(
    program: Program,
    argv: Sequence[str],
    *,
    what: str,
    timeout: float,
    env: Mapping[str, str] = {},
    cwd: Path | None = None,
) -> ToolRun:
    """Run ``argv`` as ``program`` with only the environment it is allowed; see ``run_program``."""
    return run_program(
        program, argv, what=what, timeout=timeout, env=env, cwd=cwd, failure=RenderError
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
