"""SOPS-encrypted files of a config repository, decrypted for one render and no longer.

A file encrypted with SOPS keeps its structure and carries a ``sops``
section (its recipients and a MAC); ``sops --decrypt`` turns it back into
plaintext. The real ``sops`` binary does it (built and pinned like helm);
gitward only decides which files to hand it and where the plaintext may go:

* sops reads the encrypted file from the checkout and writes the plaintext
  to a pipe; it is parsed in memory.
* Where a tool must read plaintext from a file (helm's ``--values``,
  kustomize's tree), the file lives in a :func:`plaintext_scratch` directory:
  in memory (``/dev/shm``) where there is one, readable by this user only,
  and removed when the render ends, failed or not.
* A render that decrypted anything is never stored in the render cache
  (:func:`gitward.render.rendering.render_app` checks first).
* The key reaches sops only through its environment (``SOPS_AGE_KEY``), never
  a file or argv, and is scrubbed from anything sops prints.

A file that does not decrypt (no key, a wrong key, a MAC that does not match
because the file was changed after encryption) fails the render with one
line naming the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitward import repofiles
from gitward.errors import RenderError
from gitward.programs import SOPS, run_program
from gitward.tools import find_tool

DEFAULT_TIMEOUT = 60.0

# The ``sops`` metadata sops adds to every file it encrypts, as YAML, JSON or dotenv.
_YAML_MARKER = re.compile(r"^sops:[ \t]*(#.*)?$", re.MULTILINE)
_JSON_MARKER = re.compile(r'"sops"\s*:\s*\{')
_MAC = re.compile(r"""^[ \t]*"?mac"?[ \t]*:""", re.MULTILINE)
_DOTENV_MARKER = re.compile(r"^sops_mac=", re.MULTILINE)

_SUFFIXES = (".yaml", ".yml", ".json", ".env")

# Where plaintext files may live for the length of a render: memory first.
_MEMORY = Path("/dev/shm")


def is_encrypted(text: str) -> bool:
    """Whether ``text`` is a SOPS-encrypted YAML, JSON or dotenv file."""
    if _DOTENV_MARKER.search(text):
        return True
    return bool((_YAML_MARKER.search(text) or _JSON_MARKER.search(text)) and _MAC.search(text))


def file_is_encrypted(path: Path) -> bool:
    """Whether the file at ``path`` is SOPS-encrypted (unreadable or huge files are not)."""
    try:
        if path.stat().st_size > repofiles.MAX_FILE_BYTES:
            return False
        return is_encrypted(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False


def any_encrypted(paths: Iterable[Path]) -> bool:
    """Whether any YAML, JSON or dotenv file at or below ``paths`` is SOPS-encrypted.

    Callers have checked that no link below them leads out of the checkout.
    """
    for top in paths:
        if top.is_file():
            if file_is_encrypted(top):
                return True
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                if name.endswith(_SUFFIXES) and file_is_encrypted(Path(dirpath, name)):
                    return True
    return False


@dataclass(frozen=True)
class DecryptionKeys:
    """age identities (``AGE-SECRET-KEY-1…`` lines) and where they came from, for messages."""

    age: str = field(repr=False)
    origin: str


class Decryptor:
    """Decrypts files with ``sops`` and the operator's keys (``None``: no key given)."""

    def __init__(self, keys: DecryptionKeys | None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._keys = keys
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"Decryptor(keys from {self._keys.origin if self._keys else 'nowhere'})"

    def decrypt(self, path: Path, *, subject: str) -> str:
        """The plaintext of the encrypted file ``path``; ``subject`` names it in errors."""
        if self._keys is None:
            raise RenderError(
                f"{subject}: encrypted with SOPS, and no decryption key was given "
                "(--sops-age-key-file / $GITWARD_SOPS_AGE_KEY_FILE, or --sops-secret / "
                "$GITWARD_SOPS_SECRET); nothing was applied"
            )
        sops = find_tool("sops")
        run = run_program(
            SOPS,
            [str(sops), "--decrypt", "--input-type", _format(path), "--output-type",
             _format(path), str(path)],
            what=f"{subject}: sops --decrypt",
            timeout=self._timeout,
            env={"SOPS_AGE_KEY": self._keys.age, "LC_ALL": "C"},
            secrets=[line for line in self._keys.age.splitlines() if line.strip()],
            failure=RenderError,
        )  # fmt: skip
        if not run.ok:
            raise RenderError(
                f"{subject}: cannot decrypt with SOPS: {_reason(run.err)} "
                f"(keys from {self._keys.origin}); nothing was applied"
            )
        try:
            return run.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RenderError(f"{subject}: decrypted content is not UTF-8") from e

    def text_of(self, path: Path, text: str, *, subject: str) -> str:
        """``text`` (the content of ``path``) decrypted if it is encrypted, else as it is."""
        return self.decrypt(path, subject=subject) if is_encrypted(text) else text


def _format(path: Path) -> str:
    if path.suffix == ".json":
        return "json"
    if path.suffix == ".env":
        return "dotenv"
    return "yaml"


def _reason(stderr: str) -> str:
    """sops's complaint, in words a person acts on; never the data."""
    if "MAC mismatch" in stderr:
        return "MAC mismatch: the file was changed after it was encrypted"
    if any(
        hint in stderr
        for hint in (
            "Failed to get the data key",
            "Error getting data key",
            "successful groups required",
        )
    ):
        return "none of the given keys is among its recipients (wrong key?)"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[0] if lines else "sops failed with no message"


@contextlib.contextmanager
def plaintext_scratch() -> Iterator[Path]:
    """A directory for plaintext a tool must read from a file: in memory where there is
    ``/dev/shm``, mode 0700, and gone when the ``with`` block ends, whatever happens."""
    base = _MEMORY if _MEMORY.is_dir() and os.access(_MEMORY, os.W_OK | os.X_OK) else None
    path = Path(tempfile.mkdtemp(prefix="gitward-plain-", dir=base))
    try:
        path.chmod(0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
