"""The WSGI applications the benchmark serves (the same module for corral and Gunicorn)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

_HELLO = b"Hello, World!"
_TEN_KB = b"x" * 10_240
_BLOCK = b"y" * 65_536
_STREAM_BLOCKS = 16  # 16 x 64 KiB = 1 MiB, produced as it is sent


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/10k":
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(_TEN_KB)))]
        )
        return [_TEN_KB]
    if path == "/stream":
        # No Content-Length: chunked, one 64 KiB chunk at a time.
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _stream(_STREAM_BLOCKS)
    if path == "/download":
        # ?mib=N: N MiB with a length, produced 64 KiB at a time (the memory-flat check).
        mib = int(environ.get("QUERY_STRING", "mib=1").partition("=")[2] or 1)
        start_response("200 OK", [("Content-Length", str(mib * 1024 * 1024))])
        return _stream(mib * 16)
    if path == "/upload":
        inp = environ["wsgi.input"]
        total = 0
        while True:
            piece = inp.read(65_536)
            if not piece:
                break
            total += len(piece)
        body = str(total).encode()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(_HELLO)))])
    return [_HELLO]


def _stream(blocks: int) -> Iterator[bytes]:
    for _ in range(blocks):
        yield _BLOCK
