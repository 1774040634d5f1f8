"""Gunicorn's own request corpus, run black-box through a running corral.

Gunicorn ships its parser corpus in its sdist (``tests/requests/valid`` and ``invalid``: a
``.http`` file of raw bytes, written with ``\\r\\n``-style escapes, and a ``.py`` file that
sets its settings and says what the parser must produce, or which error it must raise).
This module downloads the sdist of the pinned Gunicorn from PyPI (nothing of it is kept in
this repository), reads every case, starts corral with the case's settings, sends the
bytes on one connection to the echo application, and compares what the application saw
with Gunicorn's expectation. A difference that an RFC sanctions is listed in
:data:`DIFFERENCES` with its reason; every other difference is a disagreement.

The ``.py`` files are run with stand-ins for the two Gunicorn modules they import
(``gunicorn.config.Config``, whose ``set`` calls are recorded, and ``gunicorn.http.errors``,
whose error classes are only names): Gunicorn itself is never imported.

Regenerate the table in docs/HTTP.md (between its ``gunicorn-corpus`` markers) with::

    PYTHONPATH=packages/core/tests .venv/bin/python -m corral_testing.gunicorn_corpus --write
"""

from __future__ import annotations

import argparse
import fcntl
import json
import re
import socket
import subprocess
import sys
import tarfile
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .http import _Reader, read_response
from .process import CorralProcess, stop_all

PIN = "27.0.1"
DOC = Path(__file__).resolve().parents[4] / "docs" / "HTTP.md"
BEGIN, END = "<!-- gunicorn-corpus:begin -->", "<!-- gunicorn-corpus:end -->"
ADDED_HOST = b"Host: corpus.test\r\n"

# Cases where corral's verdict differs from Gunicorn's for a reason an RFC gives (or a
# documented choice of corral's), by file name. Each is still run: the test checks that
# the difference is the one named here.
_CODINGS = (
    "corral decodes no transfer coding but chunked and answers 501 (RFC 9112 §6.1: a "
    "coding the server does not understand SHOULD get 501); Gunicorn hands the application "
    "the de-chunked body still in the coding"
)
DIFFERENCES: dict[str, str] = {
    "valid/025": _CODINGS,
    "valid/025_line": _CODINGS,
    "valid/029": _CODINGS + " (`identity` is no longer a registered coding, RFC 9112 §7)",
    "valid/030": _CODINGS + " (`identity` is no longer a registered coding, RFC 9112 §7)",
    "valid/rfc9112_smuggle_gzip_chunked_01": _CODINGS,
    "valid/rfc9112_smuggle_te_identity_chunked_01": _CODINGS,
    "valid/rfc9112_target_absolute_userinfo_01": (
        "userinfo in an absolute-form target is refused (RFC 9110 §4.2.4: a recipient "
        "SHOULD treat it as an error)"
    ),
    "valid/rfc9112_target_authority_connect_01": (
        "CONNECT's authority-form target (RFC 9112 §3.2.3) is PATH_INFO whole; Gunicorn's "
        "URL split takes the port for the path. corral answers CONNECT and closes"
    ),
    "valid/pp_03": (
        "with --proxy-protocol on, a connection without a PROXY header is refused (the PROXY "
        "protocol spec, section 2: a receiver MUST NOT guess whether a header is there; "
        "else any client reaching the port could skip it)"
    ),
    "valid/099": (
        "the case's file holds fewer body bytes than its Content-Length announces: over a "
        "socket the request never completes (Gunicorn's harness reads only the expected "
        "prefix); corral gets the end of the stream and refuses the incomplete body"
    ),
    "invalid/rfc9112_leading_crlf_02": (
        "empty lines before the request line are ignored however many (RFC 9112 §2.2: a "
        "server SHOULD ignore at least one); Gunicorn ignores only one"
    ),
    "invalid/rfc9112_target_non_ascii_01": (
        "obs-text in a target is served, its bytes in PATH_INFO as latin-1 (PEP 3333): a "
        "deliberate choice (issue #12) so a raw UTF-8 path reaches the application; RFC "
        "9112 §3 says SHOULD, not MUST, refuse an invalid request-line"
    ),
    "invalid/rfc9112_target_non_ascii_02": (
        "as rfc9112_target_non_ascii_01 (here with `%20` after the raw byte)"
    ),
}


# ----------------------------------------------------------------------- the corpus


def fetch(cache: Path) -> Path:
    """``tests/requests`` of the pinned Gunicorn's sdist, downloaded once into ``cache``
    (safe when several test processes ask at once)."""
    cache.mkdir(parents=True, exist_ok=True)
    root = cache / f"gunicorn-{PIN}" / "tests" / "requests"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "valid").is_dir():
            sdist = cache / f"gunicorn-{PIN}.tar.gz"
            if not sdist.exists():
                subprocess.run(
                    [sys.executable, "-m", "pip", "download", f"gunicorn=={PIN}",
                     "--no-binary", ":all:", "--no-deps", "--quiet", "-d", str(cache)],
                    check=True,
                )  # fmt: skip
            with tarfile.open(sdist) as tar:
                members = [m for m in tar.getmembers() if "/tests/requests/" in m.name]
                tar.extractall(cache, members=members, filter="data")
    return root


def decode_http(text: bytes) -> bytes:
    """A corpus ``.http`` file's bytes: its line breaks are layout; ``\\r\\n``, ``\\n``,
    ``\\t``, ``\\0`` and ``\\xHH`` are escapes."""
    out = bytearray()
    data = text.replace(b"\n", b"")
    i = 0
    while i < len(data):
        if data[i : i + 1] == b"\\" and i + 1 < len(data):
            nxt = data[i + 1 : i + 2]
            simple = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\x00"}
            if nxt in simple:
                out += simple[nxt]
                i += 2
                continue
            if nxt == b"x" and re.fullmatch(rb"[0-9A-Fa-f]{2}", data[i + 2 : i + 4]):
                out.append(int(data[i + 2 : i + 4], 16))
                i += 4
                continue
        out.append(data[i])
        i += 1
    return bytes(out)


@dataclass
class Expected:
    """One request as Gunicorn's parser must produce it."""

    method: str
    path: str
    query: str
    version: tuple[int, int]
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Case:
    name: str  # e.g. "valid/012"
    data: bytes
    settings: dict[str, Any]
    requests: list[Expected] = field(default_factory=list)  # valid cases
    error: str = ""  # invalid cases: the name of the error Gunicorn raises

    @property
    def valid(self) -> bool:
        return not self.error


class _Config:
    """Stands in for ``gunicorn.config.Config``: remembers what a case sets."""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {}

    def set(self, name: str, value: Any) -> None:
        self.settings[name] = value


def _uri(raw: str) -> dict[str, str]:
    if raw.startswith("/") or raw == "*":
        before, _, fragment = raw.partition("#")
        path, _, query = before.partition("?")
        return {"raw": raw, "path": path, "query": query, "fragment": fragment}
    parts = urlsplit(raw)
    return {"raw": raw, "path": parts.path, "query": parts.query, "fragment": parts.fragment}


def _stand_ins() -> dict[str, types.ModuleType]:
    errors = types.ModuleType("gunicorn.http.errors")
    errors.__getattr__ = lambda name: type(name, (Exception,), {})  # type: ignore[attr-defined]
    config = types.ModuleType("gunicorn.config")
    config.Config = _Config  # type: ignore[attr-defined]
    package = types.ModuleType("gunicorn")
    http = types.ModuleType("gunicorn.http")
    return {
        "gunicorn": package,
        "gunicorn.http": http,
        "gunicorn.http.errors": errors,
        "gunicorn.config": config,
    }


def load(root: Path) -> list[Case]:
    cases = []
    saved = {name: sys.modules.get(name) for name in _stand_ins()}
    sys.modules.update(_stand_ins())
    try:
        for kind in ("valid", "invalid"):
            for http_file in sorted((root / kind).glob("*.http")):
                cases.append(_load_case(kind, http_file))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return cases


def _load_case(kind: str, http_file: Path) -> Case:
    spec = http_file.with_suffix(".py")
    namespace: dict[str, Any] = {"uri": _uri, "cfg": _Config()}
    exec(compile(spec.read_text(), str(spec), "exec"), namespace)
    case = Case(
        f"{kind}/{http_file.stem}",
        decode_http(http_file.read_bytes()),
        dict(namespace["cfg"].settings),
    )
    expected = namespace["request"]
    if kind == "invalid":
        case.error = getattr(expected, "__name__", str(expected))
        return case
    for item in expected if isinstance(expected, list) else [expected]:
        uri = item["uri"]
        case.requests.append(
            Expected(
                item["method"],
                uri["path"],
                uri["query"],
                tuple(item["version"]),
                [(str(n), str(v)) for n, v in item["headers"]],
                item["body"] if isinstance(item["body"], bytes) else item["body"].encode(),
            )
        )
    return case


# ------------------------------------------------------------------------ running


def add_host(data: bytes) -> tuple[bytes, list[bool]]:
    """RFC 9112 §3.2: an HTTP/1.1 request without Host is refused by corral. In a valid
    case, each HTTP/1.1 request that has none gets one after its request line (and no
    other change); returns the bytes and, per request, whether one was added."""
    out = bytearray()
    added: list[bool] = []
    pos = 0
    while pos < len(data):
        start = pos
        if pos == 0 and data.startswith(b"PROXY "):  # a PROXY v1 line comes first
            pos = data.find(b"\r\n") + 2
        while data[pos : pos + 2] == b"\r\n":  # empty lines before a request line
            pos += 2
        head_end = data.find(b"\r\n\r\n", pos)
        if head_end == -1:
            break
        line_end = data.find(b"\r\n", pos)
        head = data[line_end : head_end + 2]
        needs = data[pos:line_end].endswith(b"HTTP/1.1") and not re.search(
            rb"\r\nhost[ \t]*:", head, re.IGNORECASE
        )
        out += data[start : line_end + 2]
        if needs:
            out += ADDED_HOST
        added.append(needs)
        body_start = head_end + 4
        body_end = _message_end(data, head, body_start)
        out += data[line_end + 2 : body_end]
        pos = body_end
    out += data[pos:]
    return bytes(out), added


def _message_end(data: bytes, head: bytes, at: int) -> int:
    """Where the body that starts at ``at`` ends (Content-Length or chunked framing)."""
    length = re.search(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]+)", head, re.IGNORECASE)
    if re.search(rb"\r\ntransfer-encoding[ \t]*:[^\r]*chunked", head, re.IGNORECASE):
        pos = at
        while True:
            line_end = data.find(b"\r\n", pos)
            if line_end == -1:
                return len(data)
            size_text = data[pos:line_end].split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return len(data)
            pos = line_end + 2
            if size == 0:
                trailer_end = data.find(b"\r\n\r\n", pos - 2)
                return len(data) if trailer_end == -1 else trailer_end + 4
            pos += size + 2
    if length:
        return min(len(data), at + int(length.group(1)))
    return at


def option_sets(cases: list[Case]) -> dict[str, dict[str, Any]]:
    """One corral configuration per distinct set of case settings, by a stable key."""
    out = {}
    for case in cases:
        out[settings_key(case.settings)] = case.settings
    return out


def settings_key(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


def start_server(worker: str, settings: dict[str, Any], folder: Path) -> CorralProcess:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "corral.conf.py"
    conf.write_text("".join(f"{name} = {value!r}\n" for name, value in settings.items()))
    return CorralProcess("-c", str(conf), "-k", worker, "-w", "1", "echo:app").start()


@dataclass
class Outcome:
    statuses: list[int]  # of the responses, in order (an error response ends the list)
    seen: list[dict[str, Any]]  # what the application saw, per 2xx response
    closed: bool  # the server closed the connection after them


def send(server: CorralProcess, data: bytes, expect: int) -> Outcome:
    """Send ``data`` on one connection; read up to ``expect`` responses (fewer if the
    connection closes or a refusal comes)."""
    statuses: list[int] = []
    seen: list[dict[str, Any]] = []
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # nothing more comes: a short body ends here
        except OSError:
            pass
        reader = _Reader(sock)
        while len(statuses) < max(expect, 1):
            try:
                resp = read_response(sock, _reader=reader)
            except (ConnectionError, OSError, ValueError):
                return Outcome(statuses, seen, True)
            statuses.append(resp.status)
            if resp.status >= 300:
                break
            seen.append(json.loads(resp.body))
    return Outcome(statuses, seen, False)


def environ_headers(expected: list[tuple[str, str]]) -> dict[str, str]:
    """Gunicorn's expected header list as the WSGI environ shows it (PEP 3333: repeated
    fields joined with ',')."""
    env: dict[str, str] = {}
    for name, value in expected:
        key = name.upper().replace("-", "_")
        if name.upper() not in ("CONTENT-TYPE", "CONTENT-LENGTH"):
            key = "HTTP_" + key
        env[key] = f"{env[key]},{value}" if key in env else value
    return env


def compare(case: Case, outcome: Outcome, host_added: list[bool]) -> str:
    """``""`` when corral agrees with Gunicorn on the case, else what differs."""
    if not case.valid:
        if outcome.statuses and all(200 <= s < 300 for s in outcome.statuses):
            return f"served ({outcome.statuses}); Gunicorn refuses ({case.error})"
        return ""
    if len(outcome.seen) != len(case.requests):
        return f"statuses {outcome.statuses}; Gunicorn serves {len(case.requests)} request(s)"
    for number, (want, got) in enumerate(zip(case.requests, outcome.seen, strict=True), 1):
        where = f"request {number}: " if len(case.requests) > 1 else ""
        headers = {k: v for k, v in got["headers"].items()}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if key in got:
                headers[key] = got[key]
        if number <= len(host_added) and host_added[number - 1]:
            headers.pop("HTTP_HOST", None)
        version = "HTTP/{}.{}".format(*want.version)
        checks = [
            ("method", got["REQUEST_METHOD"], want.method),
            ("path", got["PATH_INFO"], _latin1_path(want.path)),
            ("query", got["QUERY_STRING"], want.query),
            ("version", got["SERVER_PROTOCOL"], version),
            ("headers", headers, environ_headers(want.headers)),
            ("body", got["body"].encode("latin-1"), want.body),
        ]
        for what, have, should in checks:
            if have != should:
                return f"{where}{what}: {have!r}, Gunicorn {should!r}"
    return ""


def _latin1_path(path: str) -> str:
    """PATH_INFO as PEP 3333 gives it: %-decoded bytes, as latin-1."""
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(path).decode("latin-1")


@dataclass
class Result:
    case: Case
    disagreement: str  # "" when corral agrees

    @property
    def verdict(self) -> str:
        if not self.disagreement:
            return "agrees"
        if self.case.name in DIFFERENCES:
            return "differs (documented)"
        return "DISAGREES"


def run(worker: str, cases: list[Case], folder: Path) -> Iterator[Result]:
    servers: dict[str, CorralProcess] = {}
    try:
        for key, settings in option_sets(cases).items():
            servers[key] = start_server(worker, settings, folder / f"s{len(servers)}")
        for case in cases:
            data, added = add_host(case.data) if case.valid else (case.data, [])
            server = servers[settings_key(case.settings)]
            outcome = send(server, data, len(case.requests) or 1)
            yield Result(case, compare(case, outcome, added))
    finally:
        stop_all(servers.values())


# ------------------------------------------------------------------------- the table


def table(results: list[Result]) -> str:
    valid = [r for r in results if r.case.valid]
    invalid = [r for r in results if not r.case.valid]
    lines = [
        BEGIN,
        "",
        f"Gunicorn {PIN}'s corpus ({len(results)} cases), run through corral: of "
        f"{len(valid)} valid cases {sum(not r.disagreement for r in valid)} agree and "
        f"{sum(bool(r.disagreement) for r in valid)} differ; of {len(invalid)} invalid cases "
        f"{sum(not r.disagreement for r in invalid)} are refused and "
        f"{sum(bool(r.disagreement) for r in invalid)} served. Each difference, with its "
        "reason:",
        "",
        "| Case | corral | Why |",
        "|---|---|---|",
    ]
    for r in results:
        if r.disagreement:
            why = DIFFERENCES.get(r.case.name, "not explained")
            said = r.disagreement.replace("|", "\\|")
            lines.append(f"| `{r.case.name}` | {said} | {why} |")
    lines += ["", END]
    return "\n".join(lines)


def write_doc(text: str, doc: Path = DOC) -> None:
    content = doc.read_text()
    before, _, rest = content.partition(BEGIN)
    _, _, after = rest.partition(END)
    doc.write_text(before + text + after)


def doc_table(doc: Path = DOC) -> str:
    content = doc.read_text()
    start, end = content.find(BEGIN), content.find(END)
    return content[start : end + len(END)] if start != -1 and end != -1 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", default="sync")
    parser.add_argument("--write", action="store_true", help="update docs/HTTP.md")
    parser.add_argument("--cache", default="/tmp/corral-gunicorn-corpus")
    args = parser.parse_args(argv)
    cases = load(fetch(Path(args.cache)))
    results = list(run(args.worker, cases, Path(args.cache) / "servers"))
    text = table(results)
    if args.write:
        write_doc(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
