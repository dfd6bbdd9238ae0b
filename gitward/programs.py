"""The one place gitward starts external programs (git, helm, kubectl, gpg, sops, kwokctl).

A config repository is untrusted input, and the programs gitward runs on it
(helm templates, kustomize generators, git transports) can read their own
environment and sometimes print it. So every run here gets the same
guarantees:

* **A clean environment, per program, built from an allow-list.** A
  :class:`Program` names the few variables it may inherit (``PATH``, proxy
  and CA settings, and for git its own config and ssh agent); everything else
  the caller passes explicitly. gitward's own secrets (``GITWARD_GIT_TOKEN``,
  ``GITWARD_GIT_SSH_KEY``, ``GITWARD_WEBHOOK_SECRET``) and ``KUBECONFIG`` are
  therefore never seen by helm or kustomize, whatever the caller's
  environment holds; git gets credentials only through what
  :mod:`gitward.source.credentials` passes it.
* **A deadline.** Each program runs in its own session; on timeout the whole
  process group (git's transport helpers, ssh, helm plugins) is killed.
* **No prompts.** stdin is ``/dev/null``.
* **Scrubbed diagnostics.** Secrets the caller names, and the values of
  gitward's own secret variables, are replaced by ``***`` in stderr, which is
  what messages quote. stdout is data (rendered manifests, object ids) and is
  returned as the program wrote it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitward.errors import GitwardError, ToolError

# What any program may inherit: where binaries are, locale, temp space, and how
# to reach the network (proxies, trusted CAs). Nothing here is a credential
# gitward owns.
_COMMON = frozenset(
    {
        "PATH",
        "LANG",
        "TZ",
        "TMPDIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
    }
)

# Variables whose values gitward treats as secret wherever they appear.
SECRET_VARIABLES = (
    "GITWARD_GIT_TOKEN",
    "GITWARD_WEBHOOK_SECRET",
    "GITWARD_FORGE_TOKEN",
    "GITWARD_FORGE_TOKEN_PROMOTER",
)


@dataclass(frozen=True)
class Program:
    """An external program and the variables it may inherit from gitward's environment."""

    name: str
    inherit: frozenset[str] = _COMMON

    def environment(self, extra: Mapping[str, str] = {}) -> dict[str, str]:
        """The allowed part of ``os.environ``, then ``extra`` on top."""
        env = {k: v for k, v in os.environ.items() if k in self.inherit}
        env.update(extra)
        return env


HELM = Program("helm")
KUBECTL = Program("kubectl")
GIT = Program(
    "git",
    inherit=_COMMON
    | {
        # git reads the user's config and ssh's known_hosts under HOME.
        "HOME",
        "XDG_CONFIG_HOME",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_SSL_CAINFO",
        "GIT_SSL_CAPATH",
        # The user's own ssh setup, for ssh:// URLs without GITWARD_GIT_SSH_KEY.
        "SSH_AUTH_SOCK",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
    },
)

# OpenPGP keys for commit verification are imported into a throw-away
# GNUPGHOME, which the caller passes; nothing of the user's own keyring.
GPG = Program("gpg")
# sops decrypts secrets in the config repository. It gets the decryption key
# only as the caller passes it (SOPS_AGE_KEY...), never the user's own key
# files under HOME; GNUPGHOME is the operator's choice for PGP recipients.
SOPS = Program("sops", inherit=_COMMON | {"GNUPGHOME"})

# `gitward dev`'s local control plane, on the developer's own machine: kwokctl
# (and the components it starts; kubectl keeps its cache under HOME), the
# registry (started through sh) and ss, which names who holds a port.
KWOKCTL = Program("kwokctl", inherit=_COMMON | {"HOME", "USER"})
REGISTRY = Program("docker-registry")
# The dev forge (Gitea) and its CLI; Gitea looks up the user it runs as.
GITEA = Program("gitea", inherit=_COMMON | {"HOME", "USER"})
SS = Program("ss")

# The build side's image builder. buildah reads its storage and registry
# settings from files (containers-storage.conf, registries.conf) that the
# caller may point it at; credentials only ever come as an --authfile gitward
# writes, never from gitward's environment. HOME is where rootless buildah
# keeps its storage on a user's machine.
BUILDAH = Program(
    "buildah",
    inherit=_COMMON
    | {
        "HOME",
        "USER",
        "XDG_RUNTIME_DIR",
        "CONTAINERS_STORAGE_CONF",
        "CONTAINERS_REGISTRIES_CONF",
        "BUILDAH_ISOLATION",
    },
)
# mmdebstrap builds the dev base image from the apt mirror the machine uses.
MMDEBSTRAP = Program("mmdebstrap", inherit=_COMMON | {"HOME"})


@dataclass(frozen=True)
class ProgramRun:
    """A finished program: its exit status and what it wrote (stderr scrubbed)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = field(repr=False)
    stderr: bytes = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def out(self) -> str:
        """stdout as text (undecodable bytes replaced)."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        """stderr as text (undecodable bytes replaced)."""
        return self.stderr.decode("utf-8", errors="replace")


def secrets_in_environment() -> tuple[str, ...]:
    """The values of gitward's secret variables in this process (empty ones left out)."""
    return tuple(v for k in SECRET_VARIABLES if (v := os.environ.get(k, "")))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret in ``secrets`` (and gitward's own) replaced by ``***``."""
    for secret in (*secrets, *secrets_in_environment()):
        if secret:
            text = text.replace(secret, "***")
    return text


def first_error_line(output: str) -> str:
    """The line a human needs from a failed program's output.

    The first line starting with ``Error:``/``error:`` (without that prefix),
    else the last non-empty line, else ``"no output"``.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("Error: ", "error: ", "ERROR: "):
            if line.startswith(prefix):
                return line[len(prefix) :]
    return lines[-1] if lines else "no output"


def _start(
    program: Program, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None, stderr: int
) -> subprocess.Popen[bytes]:
    """``argv`` started in its own process group, stdout piped, with ``program``'s environment."""
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=program.environment(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolError(f"{argv[0]}: cannot run: {exc.strerror or exc}") from exc


def run_program(
    program: Program,
    argv: Sequence[str],
    *,
    what: str,
    timeout: float,
    env: Mapping[str, str] = {},
    cwd: Path | None = None,
    secrets: Sequence[str] = (),
    failure: type[GitwardError] = ToolError,
) -> ProgramRun:
    """Run ``argv`` (``argv[0]`` is ``program``'s binary) to completion.

    ``env`` is added to ``program``'s allowed environment. ``what`` names the
    step in messages: a program still running after ``timeout`` seconds is
    killed with its process group and raises ``failure("<what> timed out
    after <timeout>s")``; one that cannot start raises :class:`ToolError`.
    A non-zero exit is a result, not an error: callers know what it means.
    """
    proc = _start(program, argv, env=env, cwd=cwd, stderr=subprocess.PIPE)
    with proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise failure(f"{what} timed out after {timeout:g}s") from exc
        except BaseException:
            _kill_group(proc)
            raise
    hidden = [s.encode() for s in (*secrets, *secrets_in_environment()) if s]
    for secret in hidden:
        stderr = stderr.replace(secret, b"***")
    return ProgramRun(argv=tuple(argv), returncode=proc.returncode, stdout=stdout, stderr=stderr)


def run_logged(
    program: Program,
    argv: Sequence[str],
    *,
    what: str,
    timeout: float,
    log: Path,
    env: Mapping[str, str] = {},
    cwd: Path | None = None,
    secrets: Sequence[str] = (),
    echo: Callable[[str], None] | None = None,
    failure: type[GitwardError] = ToolError,
) -> ProgramRun:
    """Run ``argv`` with stdout and stderr merged into ``log`` (scrubbed), line by line.

    For long builds: each line also goes to ``echo`` as it comes (``-v``), and
    the log stays for the user to read. The returned run's ``stdout`` is the
    whole scrubbed log; ``stderr`` is empty. Deadline and kill as in
    :func:`run_program`.
    """
    hidden = [s for s in (*secrets, *secrets_in_environment()) if s]
    proc = _start(program, argv, env=env, cwd=cwd, stderr=subprocess.STDOUT)
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        _kill_quietly(proc)

    timer = threading.Timer(timeout, expire)
    timer.start()
    lines: list[str] = []
    try:
        with proc, log.open("w") as sink:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = scrub(raw.decode("utf-8", errors="replace"), hidden)
                sink.write(line)
                lines.append(line)
                if echo is not None:
                    echo(line.rstrip("\n"))
            proc.wait()
    except BaseException:
        _kill_quietly(proc)
        raise
    finally:
        timer.cancel()
    if fired.is_set():
        raise failure(f"{what} timed out after {timeout:g}s; log: {log}")
    text = "".join(lines).encode()
    return ProgramRun(argv=tuple(argv), returncode=proc.returncode, stdout=text, stderr=b"")


def _kill_quietly(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
