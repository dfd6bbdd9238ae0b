"""A kustomization directory -> objects, through ``kubectl kustomize``.

kustomize owns overlays, patches and generators; we only run it and parse
what it prints. It reads the checkout in place (it never writes), and a
kustomization may reach outside its own directory (``../base``), which is
why kustomize renders are not cached: the app directory alone does not
determine the result.

Every object's ``source`` is the app's kustomization file (``kustomization.yaml``):
kustomize does not say which file an object came from unless the user asks
for origin annotations.

kustomize is given only the checkout to read. It runs with
``--load-restrictor LoadRestrictionsRootOnly`` (a file must be inside its
kustomization's directory) and with an allow-listed environment
(:data:`gitward.programs.KUBECTL`: no kubeconfig, no gitward secret). Before
it runs, every kustomization it will read is followed from the app's
(``resources``, ``bases``, ``components``, patches, generators...): each
local path must resolve inside the checkout, and no symlink in a directory
it reaches may lead out. Remote bases (URLs) are left to kustomize.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitward import repofiles, yamlload
from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.programs import KUBECTL, first_error_line, run_program
from gitward.render.decrypting import (
    Decryptor,
    any_encrypted,
    file_is_encrypted,
    plaintext_scratch,
)
from gitward.render.documents import iter_documents, manifests_from
from gitward.tools import cache_root, find_tool

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DEFAULT_TIMEOUT = 120.0

# kubectl >= 1.31 logs failures through klog: E1123 ... run.go:72] "command failed" err="..."
_KLOG_ERR = re.compile(r'"command failed" err="(?P<msg>(?:[^"\\]|\\.)*)"')


def render_kustomize(
    *,
    app_dir: Path,
    label: str,
    root: Path,
    timeout: float = DEFAULT_TIMEOUT,
    decryptor: Decryptor | None = None,
) -> tuple[list[Manifest], tuple[str, ...]]:
    """Objects ``kubectl kustomize app_dir`` prints, and the repo-relative inputs it
    may read; ``label`` names the app dir in errors.

    When an input is SOPS-encrypted, kustomize reads a copy of its inputs in a
    :func:`plaintext_scratch` directory with those files decrypted (it must
    see plaintext before it transforms them: a changed document no longer
    matches its MAC); the copy is gone when the render ends.
    """
    inputs = check_inputs(app_dir=app_dir, label=label, root=root)
    root = repofiles.real(root)
    if any_encrypted([root / p for p in inputs]):
        with plaintext_scratch() as scratch:
            _decrypted_copy(inputs, root=root, into=scratch, decryptor=decryptor or Decryptor(None))
            target = scratch / repofiles.real(app_dir).relative_to(root)
            out = _kustomize(target, label=label, root=scratch, timeout=timeout)
    else:
        out = _kustomize(app_dir, label=label, root=root, timeout=timeout)
    kfile = next((n for n in KUSTOMIZATION_FILES if (app_dir / n).is_file()), "kustomization")
    manifests = manifests_from(
        iter_documents(out, subject=f"{label} (kustomize output)"),
        subject=f"{label} (kustomize output)",
        source=kfile,
    )
    return manifests, inputs


def _kustomize(app_dir: Path, *, label: str, root: Path, timeout: float) -> str:
    kubectl = find_tool("kubectl")
    home = cache_root() / "kubectl"
    home.mkdir(parents=True, exist_ok=True)
    run = run_program(
        KUBECTL,
        [str(kubectl), "kustomize", "--load-restrictor", "LoadRestrictionsRootOnly", str(app_dir)],
        what=f"{label}: kubectl kustomize",
        timeout=timeout,
        env={"HOME": str(home)},
        cwd=root,
        failure=RenderError,
    )
    if not run.ok:
        message = _kubectl_message(run.err or run.out)
        message = message.replace(f"{root.resolve()}/", "").replace(f"{root}/", "")
        raise RenderError(f"{label}: kustomize failed: {message}")
    return run.out


def _decrypted_copy(
    inputs: tuple[str, ...], *, root: Path, into: Path, decryptor: Decryptor
) -> None:
    """Copy every input to the same relative place under ``into``, encrypted files
    as their plaintext. Links were checked to stay inside ``root``; they are
    copied as the files they point to."""
    for rel in inputs:
        source = root / rel
        if source.is_file():
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, into / rel)
            continue
        # Not copytree: the checkout is read-only, and its modes would make the copy so too.
        for dirpath, dirnames, filenames in os.walk(source, followlinks=True):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            place = into / rel / Path(dirpath).relative_to(source)
            place.mkdir(parents=True, exist_ok=True)
            for name in filenames:
                shutil.copyfile(Path(dirpath, name), place / name)
    for dirpath, _dirs, files in os.walk(into):
        for name in files:
            copy = Path(dirpath, name)
            original = root / copy.relative_to(into)
            if file_is_encrypted(copy):
                plain = decryptor.decrypt(original, subject=copy.relative_to(into).as_posix())
                copy.chmod(0o600)
                copy.write_text(plain)


def _kubectl_message(output: str) -> str:
    match = _KLOG_ERR.search(output)
    if match:
        return re.sub(r"\\(.)", r"\1", match.group("msg"))
    return first_error_line(output)


# Fields of a kustomization that name files or directories, as plain strings...
_PATH_LISTS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
)
# ... as ``path:`` of each entry ...
_PATH_ENTRIES = ("patches", "patchesJson6902", "replacements")
# ... and in generators (``files`` entries may be ``key=path``).
_GENERATORS = ("configMapGenerator", "secretGenerator")
_REMOTE = ("github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::")


def check_inputs(*, app_dir: Path, label: str, root: Path) -> tuple[str, ...]:
    """Refuse, naming the file, any local kustomize input that leads out of ``root``.

    ``root`` must be resolved. Follows every kustomization reachable from
    ``app_dir`` and checks the links in each of their directories. Returns the
    repo-relative directories and files that kustomize may read.
    """
    root = repofiles.real(root)
    todo = [repofiles.real(app_dir)]
    done: set[Path] = set()
    read: set[str] = set()
    while todo:
        kdir = todo.pop()
        if kdir in done:
            continue
        done.add(kdir)
        kdir_label = _label(kdir, root, fallback=label)
        repofiles.check_tree(kdir, root=root, label=kdir_label, error=RenderError)
        kfile = next((kdir / n for n in KUSTOMIZATION_FILES if (kdir / n).is_file()), None)
        if kfile is None:
            continue
        subject = f"{kdir_label}/{kfile.name}"
        text = repofiles.read_text(kfile, root=root, subject=subject, error=RenderError)
        doc = yamlload.load_single(text, subject=subject, error=RenderError)
        if doc is None or not isinstance(doc.data, dict):
            continue
        for entry in _local_paths(doc.data):
            target = repofiles.resolve_inside(
                kdir / entry, root=root, subject=f"{subject}: {entry}", error=RenderError
            )
            # The path as written too: a deleted or renamed base is a change to it.
            read.add(_label(Path(os.path.normpath(kdir / entry)), root, fallback=label))
            read.add(_label(target, root, fallback=label))
            if target.is_dir():
                todo.append(target)
    read.update(_label(d, root, fallback=label) for d in done)
    return tuple(sorted(read))


def _local_paths(kustomization: dict[str, Any]) -> Iterator[str]:
    for field in _PATH_LISTS:
        yield from _strings(kustomization.get(field))
    for field in _PATH_ENTRIES:
        for item in _list(kustomization.get(field)):
            if isinstance(item, dict):
                yield from _strings([item.get("path")])
    for field in _GENERATORS:
        for item in _list(kustomization.get(field)):
            if isinstance(item, dict):
                files = [f.partition("=")[2] or f for f in _strings(item.get("files"))]
                yield from files
                yield from _strings(item.get("envs"))
                yield from _strings([item.get("env")])
    openapi = kustomization.get("openapi")
    if isinstance(openapi, dict):
        yield from _strings([openapi.get("path")])


def _strings(value: Any) -> Iterator[str]:
    for item in _list(value):
        if not isinstance(item, str) or not item.strip() or "\n" in item:
            continue  # inline patches and objects are not paths
        if "://" in item or item.startswith(_REMOTE) or "?ref=" in item:
            continue  # remote: kustomize fetches it, nothing on this disk
        yield item


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _label(path: Path, root: Path, *, fallback: str) -> str:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return fallback
    return rel or "."
