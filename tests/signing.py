"""Signing keys made in the test, and commits signed (or forged) with them.

OpenPGP keys live in a GNUPGHOME of their own under a short /tmp path (gpg's
agent socket must fit a Unix socket path); its agent is stopped on close.
SSH keys need no agent: git signs with ``ssh-keygen -Y sign -f KEY``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        list(argv),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, f"{argv}: {proc.stderr}"
    return proc.stdout


class GpgKey:
    """An ed25519 OpenPGP signing key, no passphrase."""

    def __init__(self, name: str, email: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="gw-gpg-"))
        self.home.chmod(0o700)
        self.env = {"GNUPGHOME": str(self.home)}
        _run(
            "gpg", "--batch", "--passphrase", "", "--quick-gen-key",
            f"{name} <{email}>", "ed25519", "sign", "never",
            env=self.env,
        )  # fmt: skip
        listing = _run("gpg", "--batch", "--with-colons", "--fingerprint", "-K", env=self.env)
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )

    def export(self, path: Path) -> Path:
        armored = _run("gpg", "--batch", "--armor", "--export", self.fingerprint, env=self.env)
        path.write_text(armored)
        return path

    def git_settings(self) -> list[str]:
        return ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={self.fingerprint}"]

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--kill", "all"], env={**os.environ, **self.env}, check=False, timeout=30
        )
        shutil.rmtree(self.home, ignore_errors=True)


class SshKey:
    """An ed25519 SSH signing key, no passphrase."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / name
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(self.path))
        self.public = self.path.with_suffix(".pub").read_text().strip()
        self.fingerprint = _run("ssh-keygen", "-l", "-f", str(self.path)).split()[1]

    def allowed_signer(self, principal: str) -> str:
        kind, key = self.public.split()[:2]
        return f'{principal} namespaces="git" {kind} {key}\n'

    def git_settings(self) -> list[str]:
        return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.path}"]


Signer = GpgKey | SshKey


def commit(repo: Path, message: str, *, signer: Signer | None = None) -> str:
    """Commit everything in ``repo`` (signed by ``signer`` if given); return the SHA."""
    env = signer.env if isinstance(signer, GpgKey) else {}
    settings = signer.git_settings() if signer is not None else []
    _run("git", "-C", str(repo), "add", "-A")
    _run(
        "git", "-C", str(repo), *settings, "commit", "-q", "--allow-empty", "-m", message,
        *(["-S"] if signer is not None else []),
        env=env,
    )  # fmt: skip
    return _run("git", "-C", str(repo), "rev-parse", "HEAD").strip()


def forge(repo: Path, message: str, *, signature_of: str) -> str:
    """Commit everything in ``repo`` carrying the signature of commit ``signature_of``
    (which signed other content); move the branch to it and return its SHA."""
    signed = _run("git", "-C", str(repo), "cat-file", "commit", signature_of)
    header = signed.split("\n\n", 1)[0].splitlines()
    start = next(i for i, line in enumerate(header) if line.startswith("gpgsig "))
    end = start + 1
    while end < len(header) and header[end].startswith(" "):
        end += 1
    signature = "\n".join(header[start:end])
    plain = commit(repo, message)
    head, _, body = _run("git", "-C", str(repo), "cat-file", "commit", plain).partition("\n\n")
    forged = f"{head}\n{signature}\n\n{body}"
    proc = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-t", "commit", "-w", "--stdin"],
        input=forged,
        capture_output=True,
        text=True,
        check=True,
    )
    sha = proc.stdout.strip()
    _run("git", "-C", str(repo), "update-ref", "HEAD", sha)
    return sha
