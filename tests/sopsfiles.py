"""age keys and SOPS-encrypted files, made with the pinned age-keygen and sops."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitward.tools import find_tool


class AgeKey:
    """An age identity file and its recipient."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        subprocess.run(
            [str(find_tool("age-keygen")), "-o", str(path)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self.identity = next(
            line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")
        )
        self.recipient = next(
            line.split(": ", 1)[1]
            for line in path.read_text().splitlines()
            if line.startswith("# public key: ")
        )


def encrypt(text: str, *, key: AgeKey, suffix: str = ".yaml", only: str | None = None) -> str:
    """``text`` encrypted with sops for ``key`` (``only``: sops's ``--encrypted-regex``)."""
    kind = {".json": "json", ".env": "dotenv"}.get(suffix, "yaml")
    argv = [str(find_tool("sops")), "--encrypt", "--age", key.recipient]
    if only:
        argv += ["--encrypted-regex", only]
    argv += ["--input-type", kind, "--output-type", kind, "/dev/stdin"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    done = subprocess.run(
        argv, input=text, capture_output=True, text=True, check=False, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
