"""pre_request and post_request from a Gunicorn-style config file, in every worker class:
called once per request with the objects Gunicorn passes (method, path, query, headers,
status...), from the one request path the worker classes share."""

from __future__ import annotations

import json
import socket
import time

import pytest
from corral_testing import read_response, worker_classes

WORKERS = worker_classes()

CONFIG = """
import json

RECORD = {record!r}

def _write(doc):
    with open(RECORD, "a") as f:
        f.write(json.dumps(doc) + "\\n")

def pre_request(worker, req):
    _write({{"hook": "pre_request", "pid": worker.pid, "method": req.method, "path": req.path,
            "query": req.query, "uri": req.uri, "version": list(req.version),
            "headers": req.headers, "scheme": req.scheme}})
    if req.path == "/pre-fails":
        raise RuntimeError("pre_request failed on purpose")

def post_request(worker, req, environ, resp):
    _write({{"hook": "post_request", "pid": worker.pid, "method": req.method,
            "path": req.path, "environ_path": environ["PATH_INFO"], "status": resp.status,
            "status_code": resp.status_code, "headers": resp.headers, "sent": resp.sent}})
    if req.path == "/post-fails":
        raise RuntimeError("post_request failed on purpose")
"""


def _get(server, target: str) -> object:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: hooks.test\r\nX-Probe: 1\r\n\r\n".encode())
        return read_response(sock)


def _records(path, hook: str, count: int = 0, timeout: float = 10.0) -> list[dict]:
    """The records ``hook`` wrote; waits until there are ``count`` (post_request runs once
    the response is out, so a client can read the response before the hook has run)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        found = [doc for doc in map(json.loads, lines) if doc["hook"] == hook]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


@pytest.fixture
def hooked(corral, tmp_path):
    def start(wclass: str):
        record = tmp_path / "hooks.jsonl"
        conf = tmp_path / "gunicorn.conf.py"
        conf.write_text(CONFIG.format(record=str(record)))
        server = corral("behaviours:app", "-k", wclass, "-w", "1", "-c", str(conf))
        return server, record

    return start


@pytest.mark.parametrize("wclass", WORKERS)
def test_pre_request_sees_the_request_before_the_application(hooked, wclass):
    server, record = hooked(wclass)
    resp = _get(server, "/hello?a=1&b=2")
    assert resp.status == 200 and resp.body == b"hello"
    pre = _records(record, "pre_request")
    assert len(pre) == 1, pre
    doc = pre[0]
    assert doc["method"] == "GET" and doc["path"] == "/hello" and doc["query"] == "a=1&b=2"
    assert doc["uri"] == "/hello?a=1&b=2" and doc["version"] == [1, 1]
    assert ["HOST", "hooks.test"] in doc["headers"] and ["X-PROBE", "1"] in doc["headers"]
    assert doc["scheme"] == "http" and doc["pid"] == int(_get(server, "/pid").body)


@pytest.mark.parametrize("wclass", WORKERS)
def test_post_request_sees_the_finished_response(hooked, wclass):
    server, record = hooked(wclass)
    _get(server, "/hello")
    _get(server, "/missing-path")
    post = _records(record, "post_request", count=2)
    assert [p["path"] for p in post] == ["/hello", "/missing-path"], post
    hello, missing = post
    assert hello["status"] == "200 OK" and hello["status_code"] == 200 and hello["sent"] == 5
    assert ["Content-Length", "5"] in hello["headers"]
    assert hello["environ_path"] == "/hello"
    assert missing["status_code"] == 404


@pytest.mark.parametrize("wclass", WORKERS)
def test_a_failing_hook_is_logged_by_name_and_the_worker_goes_on(hooked, wclass):
    server, _record = hooked(wclass)
    # pre_request raising is the request's failure (a 500), as in Gunicorn.
    assert _get(server, "/pre-fails").status == 500
    # post_request raising only goes to the log: the response was already sent.
    assert _get(server, "/post-fails").status == 404
    server.wait_log("Exception in post_request hook")
    server.wait_log("pre_request failed on purpose")
    assert _get(server, "/hello").body == b"hello"
