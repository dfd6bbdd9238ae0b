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

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from gitward.errors import ConfigError

ALLOWED_SIGNERS = "allowed_signers"
# A Secret name: a DNS subdomain.
SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_KEY_SETTINGS = "--trusted-keys DIR or $GITWARD_TRUSTED_KEYS"
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
    """The trusted public keys: an SSH ``allowed_signers`` text and OpenPGP armored keys.

    Read whole at start, from a directory or a Secret (``origin`` says which),
    so a verification never sees half of a key set being replaced.
    """

    origin: str
    allowed_signers: str = ""
    pgp_keys: tuple[tuple[str, str], ...] = ()  # (file name, armored key)

    @classmethod
    def of(cls, origin: str, entries: dict[str, str], *, subject: str) -> TrustedKeys:
        """From ``{name: content}`` (a directory's files, a Secret's entries)."""
        keys = cls(
            origin=origin,
            allowed_signers=entries.get(ALLOWED_SIGNERS, ""),
            pgp_keys=tuple(
                sorted((n, text) for n, text in entries.items() if n.endswith(PGP_SUFFIX))
            ),
        )
        if not keys.allowed_signers.strip() and not keys.pgp_keys:
            raise ConfigError(
                f"{subject}: holds no trusted key (an {ALLOWED_SIGNERS} file or "
                f"*{PGP_SUFFIX} OpenPGP public keys)"
            )
        return keys


@dataclass(frozen=True)
class Verification:
    """The operator's verification: a mode, and the keys a signature must come from."""

    mode: VerifyMode = VerifyMode.NONE
    keys: TrustedKeys | None = None
    # A Secret in gitward's namespace holding the keys, read when a sync starts.
    keys_secret: str = ""

    @property
    def enabled(self) -> bool:
        return self.mode is not VerifyMode.NONE

    def tightened_by(self, repo_mode: VerifyMode | None, *, where: str) -> Verification:
        """This policy made stricter by the repository's ``verify:`` (``where`` names it)."""
        if repo_mode is None or repo_mode.rank <= self.mode.rank:
            return self
        if self.keys is None and not self.keys_secret:
            raise ConfigError(
                f"{where}: verify: {repo_mode.value} needs trusted keys, and the operator "
                f"gave none ({_KEY_SETTINGS})"
            )
        return replace(self, mode=repo_mode)


def parse_mode(value: str, *, subject: str) -> VerifyMode:
    try:
        return VerifyMode(value.strip().lower())
    except ValueError as e:
        choices = ", ".join(m.value for m in VerifyMode)
        raise ConfigError(f"{subject} {value!r}: not a verification mode ({choices})") from e


def load_trusted_keys(path: str, *, subject: str = "--trusted-keys") -> TrustedKeys:
    """The keys in the directory at ``path``: ``allowed_signers`` and ``*.asc`` files."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise ConfigError(f"{subject} {path}: not a directory")
    entries: dict[str, str] = {}
    try:
        for file in sorted(directory.iterdir()):
            if (file.name == ALLOWED_SIGNERS or file.suffix == PGP_SUFFIX) and file.is_file():
                entries[file.name] = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{subject} {path}: cannot read it: {e}") from e
    return TrustedKeys.of(f"directory {directory}", entries, subject=f"{subject} {path}")


def load_verification(
    *, mode: str | None, trusted_keys: str | None, trusted_keys_secret: str | None = None
) -> Verification:
    """The settings from ``--verify``, ``--trusted-keys`` and ``--trusted-keys-secret``
    (or their env vars).

    Verification on without keys is refused here, before anything runs: it
    could never pass, and silently deploying anyway would be worse.
    """
    chosen = parse_mode(mode, subject="--verify") if mode else VerifyMode.NONE
    keys = load_trusted_keys(trusted_keys) if trusted_keys else None
    secret = (trusted_keys_secret or "").strip()
    if secret and not SECRET_NAME.fullmatch(secret):
        raise ConfigError(f"--trusted-keys-secret {secret!r}: not a Secret name")
    if chosen is not VerifyMode.NONE and keys is None and not secret:
        raise ConfigError(f"--verify {chosen.value}: no trusted keys; set {_KEY_SETTINGS}")
    return Verification(mode=chosen, keys=keys, keys_secret=secret)
