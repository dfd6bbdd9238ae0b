"""Is a commit allowed to deploy? git's own signature verification, per the operator's mode.

``git verify-commit`` decides (with the keys :class:`~gitward.source.keyrings.Keyring`
lays out); git's signature placeholders (``%G?``, ``%GK``, ``%GF``, ``%GS``) then
say *why* a commit was refused and which key signed it, so the refusal names
the key whether it is unknown, untrusted or forged.

Which commits are checked:

* ``head``: the commit to deploy;
* ``strict``: every commit reachable from it that is not reachable from the
  last commit deployed (per app; ``bases``), oldest first, and the commit
  itself. With nothing deployed yet, the commit itself. A last deployed
  commit that is not in the repository any more (history rewritten) is a
  refusal: which commits are new cannot be told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitward.config.verify import Verification, VerifyMode
from gitward.errors import SourceError
from gitward.source.commits import Commits
from gitward.source.keyrings import Keyring

# git's %G? letters: what each means for a deployment.
_WHY = {
    "N": "not signed",
    "B": "bad signature: it does not match the commit's content (forged or altered)",
    "E": "the signature cannot be checked: its key is not among the trusted keys",
    "X": "the signature has expired",
    "Y": "signed by an expired key",
    "R": "signed by a revoked key",
    "U": "signed by a key that is not among the trusted keys",
}
# Not %GT: git 2.39 aborts on it for a signature it could not check.
_FORMAT = "%G?%x00%GK%x00%GF%x00%GS"


class CommitRefused(SourceError):
    """A commit is not allowed to deploy; exit 2, nothing applied."""


@dataclass(frozen=True)
class SignatureCheck:
    """What git says about one commit's signature."""

    sha: str
    passed: bool  # git verify-commit accepted it at the trust level required
    status: str = "N"  # git's %G?
    key: str = ""  # fingerprint, else key id
    signer: str = ""

    @property
    def why(self) -> str:
        if self.status == "G":
            # Good, but below the trust verify-commit was told to require.
            return "signed by a key that is not among the trusted keys"
        return _WHY.get(self.status, "git verify-commit refused its signature")

    @property
    def who(self) -> str:
        """The signer as a refusal names it: key (and who that is), or ``unknown key``."""
        if not self.key:
            return "unknown key"
        return f"key {self.key}" + (f" ({self.signer})" if self.signer else "")


@dataclass(frozen=True)
class Verified:
    """A commit cleared to deploy: under which mode, signed by whom, how many commits checked."""

    sha: str
    mode: VerifyMode
    key: str = ""
    signer: str = ""
    checked: int = 0


def check_commit(commits: Commits, sha: str, *, keyring: Keyring) -> SignatureCheck:
    """Run ``git verify-commit`` on ``sha`` with ``keyring``'s keys, and read why."""
    verdict = commits.run(
        "verify-commit", sha, env=keyring.env, settings=keyring.settings, check=False
    )
    shown = commits.run(
        "show", "-s", f"--format={_FORMAT}", sha, "--",
        env=keyring.env, settings=keyring.settings, check=False,
    )  # fmt: skip
    fields = shown.out.rstrip("\n").split("\0") if shown.ok else []
    status, key_id, fingerprint, signer = (fields + [""] * 4)[:4]
    return SignatureCheck(
        sha=sha, passed=verdict.ok, status=status or "N", key=fingerprint or key_id, signer=signer
    )


def commits_to_check(
    commits: Commits, *, target: str, mode: VerifyMode, bases: Iterable[str]
) -> tuple[str, ...]:
    """The commits ``mode`` requires to be signed before ``target`` deploys, oldest first."""
    if mode is VerifyMode.NONE:
        return ()
    if mode is VerifyMode.HEAD:
        return (target,)
    found: dict[str, None] = {}
    for base in sorted(set(bases)):
        if base == target:
            continue
        if not commits.has(base):
            raise CommitRefused(
                f"commit {target[:12]}: not deployed under --verify strict: the last deployed "
                f"commit {base[:12]} is not in {commits.subject} any more, so which commits are "
                "new cannot be told; nothing was applied"
            )
        found.update(dict.fromkeys(commits.between(base, target)))
    found.pop(target, None)
    return (*found, target)


def verify_revision(
    commits: Commits,
    *,
    target: str,
    verification: Verification,
    bases: Iterable[str] = (),
) -> Verified:
    """Check that ``target`` may deploy under ``verification``; raise :class:`CommitRefused`.

    ``bases`` are the commits deployed last (strict mode checks what is new
    since them). A working copy with uncommitted changes is never verified.
    """
    mode = verification.mode
    if mode is VerifyMode.NONE:
        return Verified(sha=target, mode=mode)
    if target.endswith("-dirty"):
        raise CommitRefused(
            f"commit {target[:12]}: not deployed under --verify {mode.value}: the working "
            "copy has uncommitted changes, which nobody signed; nothing was applied"
        )
    if not target:
        raise CommitRefused(
            f"{commits.subject}: not deployed under --verify {mode.value}: not a git "
            "commit, so there is no signature to check; nothing was applied"
        )
    if verification.keys is None:
        raise CommitRefused(f"--verify {mode.value}: no trusted keys; nothing was applied")
    todo = commits_to_check(commits, target=target, mode=mode, bases=bases)
    with Keyring(verification.keys) as keyring:
        last: SignatureCheck | None = None
        for sha in todo:
            last = check_commit(commits, sha, keyring=keyring)
            if not last.passed:
                raise CommitRefused(_refusal(last, target=target, mode=mode))
    assert last is not None
    return Verified(sha=target, mode=mode, key=last.key, signer=last.signer, checked=len(todo))


def _refusal(check: SignatureCheck, *, target: str, mode: VerifyMode) -> str:
    which = f"commit {check.sha[:12]}"
    if check.sha != target:
        which += f" (on the way to {target[:12]})"
    signer = "" if check.status == "N" else f" (signer: {check.who})"
    return (
        f"{which}: not deployed under --verify {mode.value}: {check.why}{signer}; "
        "nothing was applied"
    )
