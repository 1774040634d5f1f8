"""corral[django]: django-prodserver's ``server`` command with corral's backend, on a real
Django project made by ``django-admin startproject``, served and stopped with TERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from corral_testing import get_body
from corral_testing.process import CorralProcess, assert_clean_error

SETTINGS = """
INSTALLED_APPS += ["django_prodserver"]
ALLOWED_HOSTS = ["t", "127.0.0.1"]
PRODUCTION_PROCESSES = {{
    "web": {{
        "BACKEND": "corral.contrib.prodserver.CorralServer",
        "ARGS": {args!r},
    }},
}}
"""

# The view answers with the pid serving it and the pid that imported site1.wsgi.
URLS = """
import os
from django.http import HttpResponse
from site1.wsgi import IMPORTED_IN

urlpatterns += [path("hello/", lambda r: HttpResponse(f"hello from {os.getpid()} {IMPORTED_IN}"))]
"""
WSGI = """
IMPORTED_IN = os.getpid()
"""


def _project(tmp_path: Path, args: dict[str, str | None], extra: str = "") -> Path:
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run(
        [str(django_admin), "startproject", "site1", str(tmp_path)], check=True, timeout=60
    )
    with open(tmp_path / "site1" / "settings.py", "a") as settings:
        settings.write(SETTINGS.format(args=args) + extra)
    with open(tmp_path / "site1" / "urls.py", "a") as urls:
        urls.write(URLS)
    with open(tmp_path / "site1" / "wsgi.py", "a") as wsgi:
        wsgi.write(WSGI)
    return tmp_path


def _manage(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py ARGS`` to its end (a start-up error)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=str(project),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["server", "prodserver"])  # prodserver: the old name
def test_manage_py_server_serves_the_project_from_corral_workers_and_stops_on_term(
    tmp_path, command
):
    args = {"bind": "127.0.0.1:0", "workers": "2", "preload": None}
    project = _project(tmp_path, args)
    server = CorralProcess(
        cwd=project, bind=None, command=(sys.executable, "manage.py", command, "web")
    ).start(timeout=60, wait_workers=2)
    try:
        workers = server.wait_workers(2, timeout=60)
        body = get_body(server.host, server.port, "/hello/")
        assert body.startswith(b"hello from "), body
        served_by, imported_in = (int(word) for word in body.split()[-2:])
        assert served_by in workers, (body, workers)
        # "preload": None became --preload: the project was imported in the master.
        assert imported_in == server.pid, (body, server.pid)
    finally:
        code = server.stop(signal.SIGTERM, timeout=60)
    assert code == 0, server.log
    assert "Traceback" not in server.log, server.log
    assert "Shutting down: Master" in server.log, server.log


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"bind": "127.0.0.1:0", "no-such-flag": "1"}, "unrecognized option '--no-such-flag'"),
        ({"bind": "127.0.0.1:0", "workers": "none"}, "--workers: expected an integer"),
    ],
)
def test_an_args_key_corral_does_not_know_is_one_line_and_exit_2(tmp_path, args, fragment):
    project = _project(tmp_path, args)
    result = _manage(project, "server", "web")
    assert_clean_error(result, 2, fragment)
    assert result.stderr.count("corral: error:") == 1, result.stderr


def test_a_project_without_wsgi_application_is_one_line_and_exit_2(tmp_path):
    project = _project(tmp_path, {"bind": "127.0.0.1:0"}, extra="WSGI_APPLICATION = None\n")
    result = _manage(project, "server", "web")
    assert_clean_error(result, 2, "the Django setting WSGI_APPLICATION names no application")
