"""SHA-256 of files and streams, read in chunks so a large dump never sits in memory."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1024 * 1024


def chunks_sha256(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as stream:
        return chunks_sha256(iter(lambda: stream.read(CHUNK), b""))
