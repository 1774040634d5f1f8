"""Run the corpus two ways: through the sans-IO core, and against a running corral.

:func:`run_core` splits a case's bytes at a given point and returns the verdict the core
reaches. :func:`run_corpus` sends every case on its own connection to a running corral
(started with the echo app) and returns what went wrong; other packages' tests (gevent,
eventlet workers) import it to hold their worker class to the same verdicts.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from corral.http import (
    NEED_DATA,
    PAUSED,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Limits,
    ProtocolError,
    Request,
)

from .requests import CASES, LIMITS_FOR_OPTION, Case

# A well-formed request sent after every refused case: it must never be answered.
SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: example.com\r\n\r\n"


@dataclass
class Verdict:
    """What the core made of a case: a status, or the request the application would get."""

    status: int | None = None
    method: bytes = b""
    target: bytes = b""
    version: str = ""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    trailers: tuple[tuple[bytes, bytes], ...] = ()
    after_error: list[object] = field(default_factory=list)  # anything seen past an error


def expected(case: Case) -> Verdict:
    if case.status is not None:
        return Verdict(status=case.status)
    return Verdict(
        method=case.method,
        target=case.target,
        version=case.version,
        headers=case.headers,
        body=case.body,
        trailers=case.trailers,
    )


def limits_for(options: Iterable[str]) -> Limits:
    kwargs: dict[str, object] = {}
    for option in options:
        kwargs.update(LIMITS_FOR_OPTION[option])
    return Limits(**kwargs)  # type: ignore[arg-type]


def run_core(case: Case, pieces: Iterable[bytes]) -> Verdict:
    """Feed ``pieces`` (then the sentinel and EOF for a refused case) to a fresh core."""
    conn = Connection(limits_for(case.options))
    feed = [p for p in pieces if p]  # b"" would mean EOF
    if case.status is not None:
        feed += [SENTINEL, b""]
    verdict = Verdict()
    body = bytearray()
    for piece in feed:
        conn.receive_data(piece)
        while True:
            try:
                event = conn.next_event()
            except ProtocolError as exc:
                # Only the status counts (events before the error never reach the app,
                # which is called at EndOfMessage); nothing may follow the error.
                later = [conn.next_event() for _ in range(3)]
                return Verdict(
                    status=exc.status,
                    after_error=verdict.after_error
                    + [e for e in later if not isinstance(e, ConnectionClosed)],
                )
            if event is NEED_DATA:
                break
            if isinstance(event, Request):
                verdict.method, verdict.target = event.method, event.target
                verdict.version, verdict.headers = event.http_version, tuple(event.headers)
            elif isinstance(event, Data):
                body += event.data
            elif isinstance(event, EndOfMessage):
                verdict.body, verdict.trailers = bytes(body), tuple(event.trailers)
                if case.status is None:
                    return verdict
                verdict.after_error.append(event)  # a refused case reached the app
            elif event is PAUSED or isinstance(event, ConnectionClosed):
                return verdict
    return verdict


def splits(raw: bytes) -> Iterable[list[bytes]]:
    """Every way of cutting ``raw`` in two, then byte by byte."""
    for i in range(len(raw) + 1):
        yield [raw[:i], raw[i:]]
    yield [raw[i : i + 1] for i in range(len(raw))]


# ---------------------------------------------------------------------------- black box


def environ_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The ``HTTP_*`` environ keys a WSGI application gets for ``headers`` (PEP 3333)."""
    env: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            continue
        key = "HTTP_" + key
        text = value.decode("latin-1")
        if key in env:
            env[key] += ("; " if key == "HTTP_COOKIE" else ",") + text
        else:
            env[key] = text
    return env


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    out = bytearray()
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            out += b"<timeout>"
            break
        if not data:
            break
        out += data
    return bytes(out)


def check_black_box(host: str, port: int, case: Case, timeout: float = 5.0) -> str | None:
    """Send one case on a new connection; ``None`` if corral's answer is right, else why."""
    from corral_testing import Client

    with socket.create_connection((host, port), timeout=timeout) as sock:
        client = Client(sock)
        if case.status is not None:
            client.send(case.raw + SENTINEL)
            try:
                resp = client.response()
            except (ConnectionError, OSError) as exc:
                return f"no response: {exc}"
            if resp.status != case.status:
                return f"status {resp.status} {resp.reason}, expected {case.status}: {resp.body!r}"
            if not resp.closes:
                return "error response without Connection: close"
            rest = bytes(client.reader.buf) + _read_all(sock, timeout)
            if rest:
                return f"bytes after the error response: {rest[:200]!r}"
            return None
        client.send(case.raw)
        resp = client.response()
        if resp.status != 200:
            return f"status {resp.status}: {resp.body[:300]!r}"
        doc = json.loads(resp.body)
        got = {
            "method": doc["REQUEST_METHOD"],
            "target": doc["RAW_URI"],
            "version": doc["SERVER_PROTOCOL"],
            "headers": doc["headers"],
            "body": doc["body"],
        }
        want = {
            "method": case.method.decode("latin-1"),
            "target": case.target.decode("latin-1"),
            "version": "HTTP/" + case.version,
            "headers": environ_headers(case.headers),
            "body": case.body.decode("latin-1"),
        }
        if got != want:
            return f"app saw {got!r}, expected {want!r}"
        return None


def run_corpus(proc: object, cases: Iterable[Case] | None = None) -> dict[str, str]:
    """Run ``cases`` (default: all) against ``proc``, a started ``CorralProcess`` running
    ``echo:app`` with each case's options. Returns ``{case id: what went wrong}``."""
    host: str = proc.host  # type: ignore[attr-defined]
    port: int = proc.port  # type: ignore[attr-defined]
    failures: dict[str, str] = {}
    for case in CASES if cases is None else cases:
        try:
            problem = check_black_box(host, port, case)
        except Exception as exc:  # a crash is a failure of that case, not of the run
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            failures[case.id] = problem
    return failures


def option_groups(cases: Iterable[Case] = CASES) -> dict[tuple[str, ...], list[Case]]:
    """Cases grouped by the command-line options they need (one corral per group)."""
    groups: dict[tuple[str, ...], list[Case]] = {}
    for case in cases:
        groups.setdefault(tuple(sorted(case.options)), []).append(case)
    return groups
