"""Where the key that decrypts SOPS-encrypted files comes from: an operator setting.

Never from the config repository: whoever can push to it must not be able to
choose the key that opens its secrets, or learn it. The key is an age
identity file (``age-keygen`` output, ``AGE-SECRET-KEY-1…`` lines), named by
``--sops-age-key-file`` / ``$GITWARD_SOPS_AGE_KEY_FILE``, and/or a Secret in
gitward's namespace named by ``--sops-secret`` / ``$GITWARD_SOPS_SECRET``
whose ``*.agekey`` entries hold identities (Flux's convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitward.config.verify import SECRET_NAME
from gitward.errors import ConfigError

AGE_KEY_SUFFIX = ".agekey"


@dataclass(frozen=True)
class DecryptionSettings:
    """The operator's decryption key sources; neither set means no key."""

    key_file: Path | None = None
    secret: str = ""

    @property
    def any(self) -> bool:
        return self.key_file is not None or bool(self.secret)


def load_decryption(*, key_file: str | None, secret: str | None) -> DecryptionSettings:
    """The settings from ``--sops-age-key-file`` and ``--sops-secret`` (or their env vars)."""
    path: Path | None = None
    if key_file:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise ConfigError(f"--sops-age-key-file {key_file}: no such file")
    name = (secret or "").strip()
    if name and not SECRET_NAME.fullmatch(name):
        raise ConfigError(f"--sops-secret {name!r}: not a Secret name")
    return DecryptionSettings(key_file=path, secret=name)


def read_key_file(path: Path) -> str:
    """The identities in ``path``; a file that holds none is bad input."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--sops-age-key-file {path}: cannot read it: {e}") from e
    if "AGE-SECRET-KEY-" not in text:
        raise ConfigError(f"--sops-age-key-file {path}: holds no age identity (AGE-SECRET-KEY-1…)")
    return text
