"""The trusted keys, laid out the way ``git verify-commit`` reads them.

git verifies OpenPGP signatures with ``gpg`` and SSH signatures with
``ssh-keygen -Y``; gitward only points it at the right keys:

* a throw-away ``GNUPGHOME`` per key set, holding exactly the trusted
  ``*.asc`` keys with ultimate owner trust, so the user's own keyring (and
  whatever trust it holds) never counts;
* ``gpg.ssh.allowedSignersFile`` set to the trusted ``allowed_signers``
  (an empty file when there is none);
* ``gpg.minTrustLevel=fully``. Without it git accepts a good SSH signature
  of a key that is in no allowed-signers file ("undefined" trust), and a
  good OpenPGP signature of any key gpg happens to know.

The directory goes away when the :class:`Keyring` is closed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from gitward.config.verify import TrustedKeys
from gitward.errors import ConfigError, ToolError
from gitward.programs import GPG, first_error_line, run_program
from gitward.tools import find_tool

_TIMEOUT = 60.0


class Keyring:
    """A temporary home for the trusted keys; use it as a context manager."""

    def __init__(self, keys: TrustedKeys) -> None:
        self._keys = keys
        self._home: Path | None = None

    def __enter__(self) -> Keyring:
        self._home = Path(tempfile.mkdtemp(prefix="gitward-keys-"))
        try:
            os.chmod(self._home, 0o700)
            (self._home / "gnupg").mkdir(mode=0o700)
            (self._home / "allowed_signers").write_text(self._keys.allowed_signers)
            if self._keys.pgp_keys:
                self._import_pgp()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    @property
    def home(self) -> Path:
        if self._home is None:
            raise RuntimeError("Keyring used outside its with block")
        return self._home

    @property
    def env(self) -> dict[str, str]:
        """What git (and the gpg it starts) needs in its environment."""
        return {"GNUPGHOME": str(self.home / "gnupg")}

    @property
    def settings(self) -> dict[str, str]:
        """git ``-c`` settings for verification: none of them secret."""
        out = {
            "gpg.ssh.allowedSignersFile": str(self.home / "allowed_signers"),
            "gpg.minTrustLevel": "fully",
        }
        # Named explicitly so that a gpg.program in the user's git config is not used.
        for setting, tool in (("gpg.program", "gpg"), ("gpg.ssh.program", "ssh-keygen")):
            with contextlib.suppress(ToolError):
                out[setting] = str(find_tool(tool))
        return out

    def _gpg(self, *args: str, what: str) -> str:
        gpg = find_tool("gpg")
        run = run_program(
            GPG,
            [str(gpg), "--batch", "--no-tty", "--quiet", *args],
            what=what,
            timeout=_TIMEOUT,
            env={"GNUPGHOME": str(self.home / "gnupg"), "LC_ALL": "C"},
            failure=ConfigError,
        )
        if not run.ok:
            raise ConfigError(f"{what}: {first_error_line(run.err)}")
        return run.out

    def _import_pgp(self) -> None:
        for name, armored in self._keys.pgp_keys:
            path = self.home / "import.asc"
            path.write_text(armored)
            self._gpg("--import", str(path), what=f"trusted key {name} ({self._keys.origin})")
        listing = self._gpg(
            "--with-colons", "--fingerprint", "--list-keys", what="trusted OpenPGP keys"
        )
        primaries: list[str] = []
        expect_primary = False
        for line in listing.splitlines():
            fields = line.split(":")
            if fields[0] == "pub":
                expect_primary = True
            elif fields[0] == "fpr" and expect_primary and len(fields) > 9:
                primaries.append(fields[9])
                expect_primary = False
        trust = self.home / "ownertrust.txt"
        # 6 is "ultimate": these keys are the operator's own statement of trust.
        trust.write_text("".join(f"{fpr}:6:\n" for fpr in primaries))
        self._gpg("--import-ownertrust", str(trust), what="trusted OpenPGP keys")
