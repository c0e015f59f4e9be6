"""The one framing of messages between the grader and its worker: a header (payload length, request id),
then the payload (bytes of :mod:`autograder.toolkit.codec`). Both sides import it; it imports nothing of ours."""

from __future__ import annotations

import os
import struct

HEADER = struct.Struct("!QQ")  # payload length, request id


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (a pipe may take it in pieces)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def send(fd: int, request_id: int, payload: bytes) -> None:
    """One framed message."""
    write_all(fd, HEADER.pack(len(payload), request_id) + payload)


def read_exact(fd: int, n: int) -> bytes:
    """Exactly ``n`` bytes from ``fd`` (blocking); EOFError when the other side has gone."""
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
