"""The WSGI app every conformance scenario serves, behaviour chosen by path.

When ``CONFORMANCE_RECORD`` names a file, every request the application sees is appended
to it as one JSON line (written with one ``write`` on an ``O_APPEND`` file, so lines from
several workers do not interleave). ``CONFORMANCE_NAME`` names this corral master in
responses, for the balancing scenario.

    /healthz              200 "ok" (health checks; not recorded)
    /echo                 the request as the application saw it, as JSON
    /big?size=N           N bytes, produced 64 kB at a time
    /stream/?n=N&delay=S  N chunks of 100 bytes, S seconds apart, no Content-Length
    /upload               reads the whole body, answers its length
    /slow?wait=S          waits S seconds, then answers "slow"
    anything else         "<name> <method> <path>"
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

StartResponse = Callable[..., Any]

NAME = os.environ.get("CONFORMANCE_NAME", "corral")
_RECORD = os.environ.get("CONFORMANCE_RECORD")
_BLOCK = b"x" * 65536


def _record(environ: dict[str, Any], body_length: int) -> None:
    if not _RECORD:
        return
    doc = {
        "server": NAME,
        "pid": os.getpid(),
        "method": environ["REQUEST_METHOD"],
        "path": environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "raw_uri": environ.get("RAW_URI", ""),
        "remote_addr": environ.get("REMOTE_ADDR", ""),
        "scheme": environ.get("wsgi.url_scheme", ""),
        "content_length": environ.get("CONTENT_LENGTH", ""),
        "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING", ""),
        "body_length": body_length,
        "time": time.time(),
    }
    line = (json.dumps(doc) + "\n").encode()
    fd = os.open(_RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _query(environ: dict[str, Any]) -> dict[str, str]:
    pairs = (p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    return dict(pairs)


def _text(start_response: StartResponse, body: bytes, status: str = "200 OK") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _big(size: int) -> Iterator[bytes]:
    left = size
    while left > 0:
        piece = _BLOCK[: min(left, len(_BLOCK))]
        left -= len(piece)
        yield piece


def _stream(count: int, delay: float) -> Iterator[bytes]:
    for i in range(count):
        yield f"chunk {i:06d} at {time.time():.3f}\n".ljust(100, ".").encode()
        if delay and i < count - 1:
            time.sleep(delay)


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    body = environ["wsgi.input"].read()
    if path == "/healthz":
        return _text(start_response, b"ok")
    _record(environ, len(body))
    query = _query(environ)
    if path == "/echo":
        doc = {
            "server": NAME,
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "remote_addr": environ.get("REMOTE_ADDR", ""),
            "remote_port": environ.get("REMOTE_PORT", ""),
            "scheme": environ.get("wsgi.url_scheme", ""),
            "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
            "extra": {
                k: str(v)
                for k, v in environ.items()
                if k.lower().startswith(("proxy", "corral")) and not k.startswith("HTTP_")
            },
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(doc).encode()]
    if path == "/big":
        size = int(query.get("size", "1048576"))
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))],
        )
        return _big(size)
    if path.startswith("/stream/"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream(int(query.get("n", "10")), float(query.get("delay", "0.1")))
    if path == "/slow":
        time.sleep(float(query.get("wait", "1")))
        return _text(start_response, b"slow")
    if path == "/upload":
        return _text(start_response, str(len(body)).encode())
    if path == "/pid":  # which worker answered (the recycling scenario counts them)
        return _text(start_response, str(os.getpid()).encode())
    method = environ["REQUEST_METHOD"]
    return _text(start_response, f"{NAME} {method} {path}".encode())
