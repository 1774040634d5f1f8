"""A bundled demo application: ``corral corral.demo:app``.

``/`` greets and shows what the server saw, ``/echo`` returns the request body,
``/stream`` streams ten lines with no Content-Length (chunked).
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import SERVER_SOFTWARE

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>corral demo</title></head>
<body>
<h1>corral is serving</h1>
<p>{server}, worker pid {pid}.</p>
<table>{rows}</table>
<p>Try <a href="/stream">/stream</a> or <code>curl -d hello http://HOST/echo</code>.</p>
</body></html>
"""

_SHOWN = (
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "wsgi.url_scheme",
)


def _stream() -> Iterator[bytes]:
    for i in range(10):
        yield f"line {i} at {time.strftime('%H:%M:%S')}\n".encode()
        time.sleep(0.1)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))],
        )
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return _stream()
    if path != "/":
        body = b"not found\n"
        start_response(
            "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(environ.get(k, '')))}</td></tr>"
        for k in _SHOWN
    )
    page = _PAGE.format(server=SERVER_SOFTWARE, pid=os.getpid(), rows=rows).encode()
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))]
    )
    return [page]


application = app
