"""A directory of plain YAML/JSON manifests -> objects.

Files are found recursively and read in path order, so the same tree always
renders to the same list. Dot-files and dot-directories (``.git``,
``.github``, editor backups) are skipped: they are never manifests. Symlinks
are followed only while they stay inside the checkout
(:mod:`gitward.repofiles`); one that leads out is an error, not a skip, so
nobody is surprised by what was left out.
"""

from __future__ import annotations

import json
from pathlib import Path

from gitward import repofiles
from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.render.decrypting import Decryptor
from gitward.render.documents import iter_documents, manifests_from

SUFFIXES = (".yaml", ".yml", ".json")


def manifest_files(app_dir: Path, *, root: Path, label: str) -> list[Path]:
    """Manifest files under ``app_dir``, relative to it, sorted by POSIX path.

    ``root`` is the resolved checkout; a symlink leading out of it raises
    :class:`RenderError` naming it (``label`` spells ``app_dir`` in messages).
    """
    found = [
        rel
        for rel in repofiles.walk(app_dir, root=root, label=label, error=RenderError)
        if not any(part.startswith(".") for part in rel.parts) and rel.name.endswith(SUFFIXES)
    ]
    return sorted(found, key=lambda p: p.as_posix())


def render_directory(
    *, app_dir: Path, label: str, root: Path | None = None, decryptor: Decryptor | None = None
) -> list[Manifest]:
    """Every object in the files under ``app_dir``.

    ``label`` is how errors name ``app_dir`` (its path in the repository);
    every file must resolve inside ``root`` (default: ``app_dir`` itself).
    A SOPS-encrypted file is decrypted with ``decryptor`` (none: it fails).
    """
    decryptor = decryptor or Decryptor(None)
    root = repofiles.real(root if root is not None else app_dir)
    out: list[Manifest] = []
    for rel in manifest_files(app_dir, root=root, label=label):
        source = rel.as_posix()
        subject = f"{label}/{source}" if label not in ("", ".") else source
        text = read_text(app_dir / rel, root=root, subject=subject)
        text = decryptor.text_of(app_dir / rel, text, subject=subject)
        if rel.suffix == ".json":
            out.extend(
                manifests_from([(1, _load_json(text, subject))], subject=subject, source=source)
            )
        else:
            out.extend(
                manifests_from(
                    iter_documents(text, subject=subject), subject=subject, source=source
                )
            )
    return out


def read_text(path: Path, *, root: Path, subject: str) -> str:
    """A file of the checkout ``root`` (resolved): inside it, at most 10 MiB, UTF-8."""
    return repofiles.read_text(path, root=root, subject=subject, error=RenderError)


def _load_json(text: str, subject: str) -> object:
    """A JSON manifest, decoded as strictly as the API server does: no duplicate keys."""
    if not text.strip():
        return None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise RenderError(f"{subject}:{exc.lineno}: {exc.msg}") from exc
    except _DuplicateKey as exc:
        raise RenderError(f"{subject}: duplicate key {exc.args[0]!r}") from exc
    except RecursionError as exc:
        raise RenderError(f"{subject}: nested too deep to decode") from exc


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out
