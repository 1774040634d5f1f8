"""Responses flushed chunk by chunk; request bodies streamed to the app with flat memory."""

from __future__ import annotations

import hashlib
import itertools
import os
import time

from corral_testing import Client
from eventlet_testing import Serve


def test_streamed_response_arrives_chunk_by_chunk(serve: Serve) -> None:
    server = serve("green_app:app")
    with server.connect() as sock:
        sock.sendall(b"GET /stream?n=5&delay=0.4 HTTP/1.1\r\nHost: t\r\n\r\n")
        started = time.monotonic()
        arrivals: list[float] = []
        data = b""
        while len(arrivals) < 5:
            piece = sock.recv(65536)
            assert piece, data
            data += piece
            while data.count(b"data: ") > len(arrivals):
                arrivals.append(time.monotonic() - started)
    # Each event arrives on its own, about `delay` after the previous one: had the
    # response been buffered, they would all arrive together at the end. (Bounds are
    # loose: the machine may be busy; the exact timing is not what is tested.)
    assert arrivals[-1] - arrivals[0] > 1.0, arrivals
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(gap > 0.2 for gap in gaps), arrivals


def test_hundred_megabyte_upload_is_streamed_with_flat_memory(serve: Serve) -> None:
    server = serve("green_app:app")
    size = 100 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    with server.connect(timeout=60) as sock:
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n".encode())
        for _ in range(size // len(block)):
            sock.sendall(block)
            digest.update(block)
        resp = Client(sock).response()
    total, hexdigest, before, after = resp.body.decode().split()
    assert int(total) == size and hexdigest == digest.hexdigest()
    # Peak RSS of the worker (KiB) grew by far less than the body.
    assert int(after) - int(before) < 16 * 1024, (before, after)
