"""gevent's own: corral patches everything unless the application already chose."""

from __future__ import annotations

from pathlib import Path

from corral_testing import request
from corral_testing.green_suite import Serve

APP = """
from gevent import monkey

def app(environ, start_response):
    body = " ".join(
        f"{name}={monkey.is_module_patched(name)}" for name in ("socket", "threading")
    ).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""

# What a gunicorn.conf.py does to keep real threads (say, for a thread pool of its own).
OWN_CHOICE = """
from gevent import monkey
monkey.patch_all(thread=False)
"""


def _patched(serve: Serve, folder: Path, *args: str) -> bytes:
    server = serve(*args, "patch_report:app", cwd=folder)
    return request(server.host, server.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").body


def test_everything_is_patched_by_default(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "patch_report.py").write_text(APP)
    assert _patched(serve, tmp_path) == b"socket=True threading=True"


def test_an_application_that_patched_itself_keeps_its_choice(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "patch_report.py").write_text(APP)
    (tmp_path / "gunicorn.conf.py").write_text(OWN_CHOICE)
    for args in ((), ("--preload",)):
        assert _patched(serve, tmp_path, "-c", "gunicorn.conf.py", *args) == (
            b"socket=True threading=False"
        )
