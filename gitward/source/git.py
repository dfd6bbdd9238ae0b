"""The one place in :mod:`gitward.source` that starts git, through :mod:`gitward.programs`.

Every call gets the same guarantees:

* git never waits for a person: terminal prompts and askpass helpers are off
  and it runs in its own session, so ssh has no terminal to prompt on;
* git never outlives its timeout: on expiry the whole process group (git,
  ``git-remote-https``, ssh) is killed and a :class:`SourceError` is raised;
* only the transports :mod:`gitward.source.urls` accepts are allowed, even
  through ``url.<base>.insteadOf`` rewrites or redirects (and no plain
  ``http`` at all while a token is sent over ``https``);
* git's environment is an allow-list (:data:`gitward.programs.GIT`), so
  variables that would point git at another repository (``GIT_DIR`` from a
  hook, say) and gitward's own secrets never reach it; credentials arrive
  only as :mod:`gitward.source.credentials` passes them;
* failures become one line naming the repository and git's own explanation,
  with every secret scrubbed out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gitward.errors import SourceError
from gitward.programs import GIT, ProgramRun, run_program, scrub
from gitward.tools import find_tool

_QUIET = {
    "GIT_TERMINAL_PROMPT": "0",
    # Empty (not unset) so git skips core.askPass and SSH_ASKPASS too.
    "GIT_ASKPASS": "",
    "SSH_ASKPASS_REQUIRE": "never",
    "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
    # Messages are quoted to users; keep them in one language.
    "LC_ALL": "C",
}

# Lines git adds after the real reason; they never say what went wrong.
_BOILERPLATE = (
    "could not read from remote repository.",
    "please make sure you have the correct access rights",
    "and the repository exists.",
)


class Git:
    """Runs git for one repository, as ``subject`` in messages."""

    def __init__(
        self,
        *,
        subject: str,
        timeout: float,
        config: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.subject = subject
        self.timeout = timeout
        self._config = dict(config or {})
        self._env = dict(env or {})
        self._secrets = tuple(s for s in secrets if s)

    def run(
        self,
        *args: str,
        directory: Path | None = None,
        git_dir: Path | None = None,
        work_tree: Path | None = None,
        env: Mapping[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> ProgramRun:
        """Run ``git args...``; a non-zero exit raises unless ``check`` is false.

        ``directory`` is where git starts (``-C``), to find a repository the
        way a user's ``git`` would. ``settings`` are passed as ``-c
        key=value``: only for values that are not secret, since argv is
        visible to every user.
        """
        argv = [str(find_tool("git"))]
        if directory is not None:
            argv += ["-C", str(directory)]
        for key, value in (settings or {}).items():
            argv += ["-c", f"{key}={value}"]
        if git_dir is not None:
            argv.append(f"--git-dir={git_dir}")
        if work_tree is not None:
            argv.append(f"--work-tree={work_tree}")
        argv += args
        verb = args[0]
        result = run_program(
            GIT,
            argv,
            what=f"{self.subject}: git {verb}",
            timeout=self.timeout,
            env=self._environment(env or {}),
            secrets=self._secrets,
            failure=SourceError,
        )
        if check and not result.ok:
            raise SourceError(f"{self.subject}: git {verb} failed: {self.reason(result)}")
        return result

    def reason(self, result: ProgramRun) -> str:
        """git's explanation of a failure, in one scrubbed line."""
        lines = [
            line.strip()
            for line in result.stderr.decode(errors="replace").replace("\r", "\n").splitlines()
        ]
        useful = [
            line
            for line in lines
            if line
            and not line.startswith("hint:")
            and line.lower().removeprefix("fatal: ") not in _BOILERPLATE
        ]
        last = useful[-1] if useful else f"exit status {result.returncode}"
        for prefix in ("fatal: ", "error: "):
            last = last.removeprefix(prefix)
        return self.scrub(last)

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = _QUIET | self._env | dict(extra)
        for index, (key, value) in enumerate(self._config.items()):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        if self._config:
            env["GIT_CONFIG_COUNT"] = str(len(self._config))
        return env
