"""Commit verification: the operator's mode and trusted keys, and how a repo may tighten them.

The policy lives outside the repository it protects. Were the mode read from
``gitward.yaml``, an unsigned commit could switch verification off. So the
mode and the keys come from whoever runs gitward (``--verify``,
``--trusted-keys`` and their environment variables, or the controller's
Secret); ``gitward.yaml``'s ``verify:`` can only make it stricter.

Modes, from loosest to strictest:

* ``none``: any commit deploys;
* ``head``: the commit to deploy must carry a good signature of a trusted key;
* ``strict``: so must every commit since the last deployed one.

The trusted keys are a directory holding an SSH ``allowed_signers`` file
(``ssh-keygen(1)``'s format, principals then key) and/or OpenPGP public keys
as ``*.asc`` files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gitward.errors import ConfigError

ALLOWED_SIGNERS = "allowed_signers"
PGP_SUFFIX = ".asc"


class VerifyMode(StrEnum):
    """How much of the history must be signed; ordered loosest first."""

    NONE = "none"
    HEAD = "head"
    STRICT = "strict"

    @property
    def rank(self) -> int:
        return list(VerifyMode).index(self)

    def at_least(self, other: VerifyMode) -> VerifyMode:
        """The stricter of ``self`` and ``other``."""
        return self if self.rank >= other.rank else other


@dataclass(frozen=True)
class TrustedKeys:
    """A directory of trusted public keys: SSH ``allowed_signers`` and/or OpenPGP ``*.asc``."""

    directory: Path

    @property
    def allowed_signers(self) -> Path | None:
        path = self.directory / ALLOWED_SIGNERS
        return path if path.is_file() else None

    @property
    def pgp_keys(self) -> tuple[Path, ...]:
        return tuple(
            sorted(p for p in self.directory.iterdir() if p.suffix == PGP_SUFFIX and p.is_file())
        )


@dataclass(frozen=True)
class Verification:
    """The operator's verification: a mode, and the keys a signature must come from."""

    mode: VerifyMode = VerifyMode.NONE
    keys: TrustedKeys | None = None

    @property
    def enabled(self) -> bool:
        return self.mode is not VerifyMode.NONE

    def tightened_by(self, repo_mode: VerifyMode | None, *, where: str) -> Verification:
        """This policy made stricter by the repository's ``verify:`` (``where`` names it)."""
        if repo_mode is None or repo_mode.rank <= self.mode.rank:
            return self
        if self.keys is None:
            raise ConfigError(
                f"{where}: verify: {repo_mode.value} needs trusted keys, and the operator "
                "gave none (--trusted-keys DIR or $GITWARD_TRUSTED_KEYS)"
            )
        return Verification(mode=repo_mode, keys=self.keys)


def parse_mode(value: str, *, subject: str) -> VerifyMode:
    try:
        return VerifyMode(value.strip().lower())
    except ValueError as e:
        choices = ", ".join(m.value for m in VerifyMode)
        raise ConfigError(f"{subject} {value!r}: not a verification mode ({choices})") from e


def load_trusted_keys(path: str, *, subject: str = "--trusted-keys") -> TrustedKeys:
    """The key directory at ``path``; it must hold at least one key file."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise ConfigError(f"{subject} {path}: not a directory")
    keys = TrustedKeys(directory=directory.resolve())
    try:
        found = keys.allowed_signers is not None or bool(keys.pgp_keys)
    except OSError as e:
        raise ConfigError(f"{subject} {path}: cannot read it: {e.strerror or e}") from e
    if not found:
        raise ConfigError(
            f"{subject} {path}: holds no trusted key (an {ALLOWED_SIGNERS} file or *{PGP_SUFFIX} "
            "OpenPGP public keys)"
        )
    if keys.allowed_signers is not None and not os.access(keys.allowed_signers, os.R_OK):
        raise ConfigError(f"{subject} {path}: {ALLOWED_SIGNERS} is not readable")
    return keys


def load_verification(*, mode: str | None, trusted_keys: str | None) -> Verification:
    """The settings from ``--verify`` and ``--trusted-keys`` (or their env vars).

    Verification on without keys is refused here, before anything runs: it
    could never pass, and silently deploying anyway would be worse.
    """
    chosen = parse_mode(mode, subject="--verify") if mode else VerifyMode.NONE
    keys = load_trusted_keys(trusted_keys) if trusted_keys else None
    if chosen is not VerifyMode.NONE and keys is None:
        raise ConfigError(
            f"--verify {chosen.value}: no trusted keys; "
            "set --trusted-keys DIR or $GITWARD_TRUSTED_KEYS"
        )
    return Verification(mode=chosen, keys=keys)
