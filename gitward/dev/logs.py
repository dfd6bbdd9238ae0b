"""What a failed start of a dev component quotes: the last line its log or output said."""

from __future__ import annotations

from pathlib import Path


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def last_log_line(log: Path) -> str:
    """The log's last line; ``no output`` when it is empty or cannot be read."""
    try:
        return last_line(log.read_text(errors="replace"))
    except OSError:
        return "no output"
