"""From errors to one line and an exit code; never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from gitward.cli import output
from gitward.errors import ExitCode, GitwardError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK, EXIT_DIFF, EXIT_INPUT = ExitCode.OK, ExitCode.DIFF, ExitCode.INPUT


def fail(message: str, code: int) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


def errors_to_exit(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a GitwardError as one line and exit with its code; never a traceback.

    An error that stands for several (a plan with many invalid objects) says
    "(and N more)"; ``-v`` lists the others on the lines after it, and ``-o
    json|yaml`` prints them all as ``{"error": …, "errors": […]}`` on stdout.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from gitward.reconcile import exit_code_of

        try:
            return fn(*args, **kwargs)
        except GitwardError as e:
            _failed(e, exit_code_of(e), kwargs.get("fmt"))

    return wrapper


def is_verbose() -> bool:
    """``gitward -v``: list every error, not just the first."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("verbose"))


def _failed(e: GitwardError, code: int, fmt: object) -> NoReturn:
    every = [str(x) for x in getattr(e, "errors", ())]
    if fmt in ("json", "yaml"):
        output.emit({"error": str(e), "errors": every or [str(e)], "exitCode": code}, str(fmt))
    if is_verbose() and len(every) > 1:
        click.echo(click.style("error: ", fg="red", bold=True) + str(e), err=True)
        for more in every[1:]:
            click.echo(f"  also: {more}", err=True)
        sys.exit(code)
    fail(str(e), code)


def run(coro: Coroutine[Any, Any, R]) -> R:
    import asyncio  # only the commands that talk to a cluster pay for it

    return asyncio.run(coro)
