"""--reload: a changed module is served within a few seconds, by a new worker, in every
worker class and with each engine; a worker that reloads cuts no request."""

from __future__ import annotations

import os

import pytest
from corral_testing import get_body, until, worker_classes

APP = """
import os

VERSION = {version!r}

def app(environ, start_response):
    body = f"{{VERSION}} {{os.getpid()}}".encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


@pytest.mark.parametrize("engine", ["inotify", "poll"])
@pytest.mark.parametrize("wclass", worker_classes())
def test_a_changed_module_is_served_by_a_new_worker(corral, tmp_path, wclass, engine):
    module = tmp_path / "devapp.py"
    module.write_text(APP.format(version="first"))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    server = corral(
        "devapp:app",
        *("-k", wclass, "-w", "1", "--reload", "--reload-engine", engine),
        cwd=tmp_path,
        env=env,
        wait_workers=1,
    )
    version, pid = get_body(server.host, server.port, "/").decode().split()
    assert version == "first"
    module.write_text(APP.format(version="second version"))
    until(
        lambda: get_body(server.host, server.port, "/").startswith(b"second version"),
        30,
        "the changed module to be served",
    )
    server.wait_log(rf"Worker reloading: {module} modified")
    assert get_body(server.host, server.port, "/").split()[-1] != pid.encode()


def test_an_extra_file_triggers_a_reload_too(corral, tmp_path):
    (tmp_path / "devapp.py").write_text(APP.format(version="first"))
    template = tmp_path / "page.html"
    template.write_text("<p>one</p>")
    server = corral(
        "devapp:app", "-w", "1", "--reload", "--reload-extra-file", str(template), cwd=tmp_path
    )
    assert get_body(server.host, server.port, "/").startswith(b"first")  # it watches now
    template.write_text("<p>two, longer</p>")
    server.wait_log(rf"Worker reloading: {template} modified", timeout=30)
