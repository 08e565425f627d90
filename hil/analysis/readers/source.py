"""The bytes of a recording, from a file or standard input, gunzipped when compressed.

Inputs larger than ``MAX_BYTES`` are refused: a file from its size before it is read, standard
input in chunks as it arrives, and a gzip stream as it is decompressed, so a huge input never
exhausts memory.
"""
from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from typing import BinaryIO

from hil.analysis.signal import AnalysisInputError

MAX_BYTES = 256 * 2**20  # 256 MiB: ~2 h of two-plate data at 2 kHz; larger inputs are refused
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 2**20


def read_bytes(path: str) -> bytes:
    """The bytes at ``path`` (``-`` for standard input), decompressed if they are gzip."""
    name = "standard input" if path == "-" else path
    if path == "-":
        data = _read_limited(sys.stdin.buffer, name)
    else:
        try:
            size = os.stat(path).st_size
            if size > MAX_BYTES:
                raise AnalysisInputError(f"{path}: {size} bytes is over the {_limit()} input limit")
            with open(path, "rb") as stream:
                data = _read_limited(stream, path)
        except OSError as error:
            raise AnalysisInputError(f"cannot read {path}: {error.strerror or error}") from None
    return gunzip(data, name) if data.startswith(GZIP_MAGIC) else data


def gunzip(data: bytes, name: str) -> bytes:
    """Decompress in chunks, abandoning past the limit (a small bomb cannot fill memory)."""
    try:
        return _read_limited(gzip.GzipFile(fileobj=io.BytesIO(data)), name, "decompressed ")
    except (OSError, EOFError, zlib.error) as error:
        raise AnalysisInputError(f"{name}: broken gzip data ({error})") from None


def _limit() -> str:
    return f"{MAX_BYTES // 2**20} MiB"


def _read_limited(stream: BinaryIO, name: str, what: str = "") -> bytes:
    """Read at most MAX_BYTES, in chunks, so a pipe of unknown length cannot exhaust memory."""
    chunks, total = [], 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > MAX_BYTES:
            raise AnalysisInputError(f"{name}: {what}input is over the {_limit()} input limit")
        chunks.append(chunk)
    return b"".join(chunks)
