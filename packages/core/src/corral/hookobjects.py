"""What the ``pre_request`` and ``post_request`` hooks receive: Gunicorn's shapes.

A Gunicorn config file's hooks read ``req.method``, ``req.path``, ``req.query``,
``req.headers`` (a list of ``(NAME, value)`` with the name upper-cased), ``req.uri``,
``req.version``, and after the response ``resp.status`` (``"200 OK"``),
``resp.status_code``, ``resp.headers`` and ``resp.sent``. These classes carry the same
attributes. They are built only when a hook is configured (the default hooks do nothing,
and the request path skips them), from :meth:`corral.wsgi.WSGIRunner.run`: the one request
path of every worker class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .http import Request


class HookRequest:
    """The request, as Gunicorn's ``gunicorn.http.message.Request`` shows it to hooks."""

    __slots__ = (
        "body",
        "fragment",
        "headers",
        "method",
        "path",
        "peer_addr",
        "query",
        "remote_addr",
        "req_number",
        "scheme",
        "uri",
        "version",
    )

    def __init__(self, request: Request, environ: dict[str, Any], number: int) -> None:
        target = request.target.decode("latin-1")
        if target.startswith("/"):  # origin-form: split by hand ("//x" is a path, not a host)
            rest, _, fragment = target.partition("#")
            path, _, query = rest.partition("?")
        else:  # absolute-form or "*"
            parts = urlsplit(target)
            path, query, fragment = parts.path or target, parts.query, parts.fragment
        self.method = environ["REQUEST_METHOD"]
        self.uri = target
        self.path = path  # as sent (not percent-decoded), like Gunicorn's
        self.query = query
        self.fragment = fragment
        major, _, minor = request.http_version.partition(".")
        self.version = (int(major or 1), int(minor or 0))
        self.headers = [
            (name.decode("latin-1").upper(), value.decode("latin-1"))
            for name, value in request.headers
        ]
        self.scheme = environ["wsgi.url_scheme"]
        port = environ.get("REMOTE_PORT")
        self.remote_addr = self.peer_addr = (
            (environ["REMOTE_ADDR"], int(port)) if port else environ["REMOTE_ADDR"]
        )
        self.body = environ["wsgi.input"]
        self.req_number = number


class HookResponse:
    """The response, as Gunicorn's ``gunicorn.http.wsgi.Response`` shows it to hooks."""

    __slots__ = ("headers", "response_length", "sent", "status", "status_code")

    def __init__(self, status: str, headers: list[tuple[str, str]], sent: int) -> None:
        self.status = status
        self.status_code = int(status[:3])
        self.headers = headers
        self.sent = self.response_length = sent


class RequestHooks:
    """The configured ``pre_request`` / ``post_request`` hooks bound to their worker."""

    __slots__ = ("log", "post", "pre", "requests", "worker")

    def __init__(
        self,
        worker: Any,
        pre: Callable[[Any, HookRequest], None] | None,
        post: Callable[[Any, HookRequest, dict[str, Any], HookResponse], None] | None,
        log: Any,
    ) -> None:
        self.worker = worker
        self.pre = pre
        self.post = post
        self.log = log
        self.requests = 0

    def before(self, request: Request, environ: dict[str, Any]) -> HookRequest:
        """Runs ``pre_request``; an exception in it is the request's (a 500), as in
        Gunicorn."""
        self.requests += 1
        req = HookRequest(request, environ, self.requests)
        if self.pre is not None:
            self.pre(self.worker, req)
        return req

    def after(
        self,
        req: HookRequest,
        environ: dict[str, Any],
        status: str,
        headers: list[tuple[str, str]],
        sent: int,
    ) -> None:
        """Runs ``post_request`` once the response is done; an exception is logged."""
        if self.post is None:
            return
        try:
            self.post(self.worker, req, environ, HookResponse(status, headers, sent))
        except Exception:
            self.log.exception("Exception in post_request hook")
