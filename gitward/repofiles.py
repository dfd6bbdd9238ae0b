"""Files of a checked-out config repository, read only from inside it.

A config repository is untrusted input, and git stores symlinks. A link
``apps/web/x.yaml -> /etc/hostname`` (or ``-> /proc/self/environ``, or a
link to a directory outside) would make gitward read, render and apply a
host file. Comparing paths as text does not see that, so every path here is
resolved the way the kernel will open it (:func:`os.path.realpath`, which
follows links within links) and refused when it lands outside the
checkout. A link that stays inside the checkout keeps working.

Each function takes the ``error`` type to raise, so the same check is a
``ConfigError`` for ``gitward.yaml`` and a ``RenderError`` for an app's
files. Messages are one line naming the file as the repository spells it
and where it leads.

Files over :data:`MAX_FILE_BYTES` are refused before they are read: a
manifest, values file or ``gitward.yaml`` that large is a mistake or an
attack, and parsing one would take minutes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from gitward.errors import GitwardError

MAX_FILE_BYTES = 10 * 1024 * 1024
"""The largest file gitward reads from a config repository (10 MiB)."""


# Linux opens a path without reading it (O_PATH) and names what it opened in
# /proc: the kernel's own resolution, in three system calls. realpath walks
# the path in Python, one lstat per component, three times slower; it stays
# for what cannot be opened (a missing file, a dangling link, a loop), where
# it says how far the path resolves.
_O_PATH = getattr(os, "O_PATH", 0)


def real(path: Path) -> Path:
    """``path`` with every symlink followed and ``..`` removed."""
    if _O_PATH:
        try:
            fd = os.open(path, _O_PATH | os.O_CLOEXEC)
        except OSError:
            pass
        else:
            try:
                return Path(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
            finally:
                os.close(fd)
    return Path(os.path.realpath(path))


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents


def resolve_inside(path: Path, *, root: Path, subject: str, error: type[GitwardError]) -> Path:
    """The real path of ``path``; ``error`` when it leads out of ``root``.

    ``root`` must be resolved already (see :func:`real`). ``subject`` names
    ``path`` in the message.
    """
    target = real(path)
    if not is_inside(target, root):
        raise error(f"{subject}: leads outside the repository, to {target}; refused")
    return target


def read_text(
    path: Path,
    *,
    root: Path,
    subject: str,
    error: type[GitwardError],
    limit: int = MAX_FILE_BYTES,
) -> str:
    """The UTF-8 text of ``path``, which must resolve inside ``root`` and be at most ``limit``."""
    target = resolve_inside(path, root=root, subject=subject, error=error)
    try:
        info = target.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{subject}: not a regular file")
        if info.st_size > limit:
            raise error(
                f"{subject}: {info.st_size} bytes is over the {_size(limit)} limit "
                "for a file in the config repository"
            )
        with target.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{subject}: cannot be read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise error(f"{subject}: over the {_size(limit)} limit for a file in the config repository")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{subject}: not UTF-8 text") from exc


def walk(top: Path, *, root: Path, label: str, error: type[GitwardError]) -> Iterator[Path]:
    """Every file below ``top`` (relative to it), after checking every link on the way.

    Links to files or directories inside ``root`` are followed; a link that
    leads out of ``root`` raises ``error``, and so does a directory link that
    leads back to one of its own parents (it would never end). ``.git``
    directories are skipped. ``label`` is how messages spell ``top``.
    """
    resolve_inside(top, root=root, subject=label, error=error)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        here = Path(dirpath)
        rel_dir = here.relative_to(top)
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in [*dirnames, *filenames]:
            path = here / name
            if not path.is_symlink():
                continue
            subject = _join(label, (rel_dir / name).as_posix())
            target = resolve_inside(path, root=root, subject=subject, error=error)
            if name in dirnames and _loops(target, top=top, rel_dir=rel_dir):
                raise error(f"{subject}: symlink loops back to {target}; refused")
        for name in sorted(filenames):
            yield rel_dir / name


def _loops(target: Path, *, top: Path, rel_dir: Path) -> bool:
    """Whether descending into ``target`` from ``top/rel_dir`` would come back forever.

    It would when ``target`` is (or contains) a directory already on the way down.
    """
    parts = rel_dir.parts
    on_the_way = [real(top.joinpath(*parts[:i])) for i in range(len(parts) + 1)]
    return any(target == seen or target in seen.parents for seen in on_the_way)


def check_tree(top: Path, *, root: Path, label: str, error: type[GitwardError]) -> None:
    """Raise ``error`` if any link below ``top`` (or ``top`` itself) leads out of ``root``."""
    for _ in walk(top, root=root, label=label, error=error):
        pass


def _join(label: str, rel: str) -> str:
    if rel in ("", "."):
        return label
    return rel if label in ("", ".") else f"{label}/{rel}"


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{limit} bytes"
