"""Turning results into text: tables and colour on a terminal, JSON or YAML otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

FORMATS = ("table", "json", "yaml")

_COLOURS = {
    "create": "green",
    "created": "green",
    "update": "yellow",
    "configured": "yellow",
    "recreate": "magenta",
    "recreated": "magenta",
    "prune": "red",
    "pruned": "red",
    "failed": "red",
    "degraded": "red",
    "timed-out": "red",
    "skipped": "yellow",
    "Degraded": "red",
    "Missing": "red",
    "OutOfSync": "yellow",
    "Progressing": "yellow",
    "Healthy": "green",
    "Synced": "green",
    "succeeded": "green",
    "unchanged": None,
}


def colour(text: str) -> str:
    fg = _COLOURS.get(text)
    return click.style(text, fg=fg) if fg else text


def emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        # Imported here: most commands print tables or JSON, and a short one (``gitward
        # ci``) would spend a noticeable part of its run importing PyYAML.
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain aligned table; cells in the colour of their value on a terminal."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    click.echo(
        "  ".join(
            click.style(h.ljust(w), bold=True) for h, w in zip(headers, widths, strict=True)
        ).rstrip()
    )
    for row in rows:
        cells = [colour(c) + " " * (w - len(c)) for c, w in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def diff(text: str) -> None:
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            click.echo(click.style(line, bold=True))
        elif line.startswith("+"):
            click.echo(click.style(line, fg="green"))
        elif line.startswith("-"):
            click.echo(click.style(line, fg="red"))
        elif line.startswith("@@"):
            click.echo(click.style(line, fg="cyan"))
        else:
            click.echo(line)


def is_terminal() -> bool:
    return sys.stdout.isatty()


class progress:
    """A one-line spinner with elapsed seconds on a terminal; silent otherwise."""

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._task: Any = None

    def __enter__(self) -> progress:
        if self.enabled:
            import threading
            import time

            self._stop = threading.Event()
            start = time.monotonic()

            def spin() -> None:
                frames = "|/-\\"
                i = 0
                while not self._stop.wait(0.1):
                    sys.stderr.write(
                        f"\r{frames[i % 4]} {self.label} {time.monotonic() - start:.0f}s"
                    )
                    sys.stderr.flush()
                    i += 1
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()

            self._task = threading.Thread(target=spin, daemon=True)
            self._task.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._stop.set()
            self._task.join()


class WaitReporter:
    """``--wait`` progress: which objects are not Healthy yet, and why.

    At most one line a second on a terminal, one every 10 s otherwise (a CI
    log). Written to stderr, so ``-o json`` output stays parseable.
    """

    def __init__(self, app: str) -> None:
        import time

        self.app = app
        self.every = 1.0 if sys.stderr.isatty() else 10.0
        self._clock = time.monotonic
        self._last = self._clock()

    def __call__(self, waiting: Sequence[tuple[Any, Any]]) -> None:
        now = self._clock()
        if now - self._last < self.every:
            return
        self._last = now
        shown = ", ".join(
            f"{ref} ({h.status.value}{': ' + h.message if h.message else ''})"
            for ref, h in waiting[:5]
        )
        more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        prefix = "\r\033[K" if sys.stderr.isatty() else ""
        sys.stderr.write(f"{prefix}{self.app}: waiting for {shown}{more}\n")
        sys.stderr.flush()
