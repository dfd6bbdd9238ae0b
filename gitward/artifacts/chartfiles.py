"""What a packaged chart holds, compared by content rather than by bytes.

``helm package`` writes file times and owner ids into the tarball, so the
same chart packaged twice differs byte for byte. Two packages are the same
chart when they hold the same files with the same contents.
"""

from __future__ import annotations

import gzip
import io
import tarfile

from gitward.artifacts.errors import StoreError

MAX_CHART_BYTES = 20 * 1024 * 1024


def files(tgz: bytes, *, subject: str) -> dict[str, bytes]:
    """Each regular file's path and contents; ``StoreError`` naming ``subject`` if unreadable."""
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
            total = 0
            for member in tar:
                if not member.isfile():
                    continue
                total += member.size
                if total > MAX_CHART_BYTES:
                    raise StoreError(f"{subject}: unpacks to more than 20 MiB; refused")
                extracted = tar.extractfile(member)
                out[member.name] = extracted.read() if extracted is not None else b""
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError) as e:
        raise StoreError(f"{subject}: not a chart archive: {e}") from e
    return out


def same_chart(a: bytes, b: bytes, *, subject: str) -> bool:
    return a == b or files(a, subject=subject) == files(b, subject=subject)
