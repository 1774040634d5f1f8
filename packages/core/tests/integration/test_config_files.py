"""Configuration as a Gunicorn user has it: gunicorn.conf.py, env vars, app forms, logs."""

from __future__ import annotations

import os
import re
import shutil

from corral_testing import FIXTURE_APPS, Client


def _get(server, path: str = "/hello"):
    with server.connect() as sock:
        client = Client(sock)
        client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\nUser-Agent: probe/1\r\n\r\n".encode())
        return client.response()


GUNICORN_CONF = """
import multiprocessing  # gunicorn.conf.py files import things

bind = "127.0.0.1:0"
workers = 2
worker_class = "sync"
worker_tmp_dir = "/dev/shm"   # a Gunicorn setting corral does not need
timeout = 20
keepalive = 3
accesslog = "-"
loglevel = "info"
_marker_dir = {marker_dir!r}


def post_fork(server, worker):
    with open(f"{{_marker_dir}}/post_fork.{{worker.pid}}", "w") as f:
        f.write(str(server.pid))


def when_ready(server):
    server.log.info("hook when_ready ran")
"""


def test_existing_gunicorn_conf_py_is_used_as_is(corral, tmp_path):
    app_dir = tmp_path / "site"
    shutil.copytree(FIXTURE_APPS, app_dir)
    (app_dir / "gunicorn.conf.py").write_text(GUNICORN_CONF.format(marker_dir=str(tmp_path)))
    server = corral("behaviours:app", cwd=app_dir, bind=None, wait_workers=2)
    workers = server.wait_workers(2)
    assert _get(server).body == b"hello"
    server.wait_log("hook when_ready ran")
    server.wait_log(r'"GET /hello HTTP/1.1" 200 5 "-" "probe/1"')
    for pid in workers:
        marker = tmp_path / f"post_fork.{pid}"
        assert marker.read_text() == str(server.pid)
    assert "worker_tmp_dir" in server.log  # warned about, not fatal


def test_env_var_args_and_precedence(corral):
    env = dict(
        os.environ, GUNICORN_CMD_ARGS="--workers 3 --keep-alive 9", CORRAL_CMD_ARGS="--workers 2"
    )
    server = corral("behaviours:app", env=env, wait_workers=2)
    server.wait_workers(2)
    assert len(server.worker_pids()) == 2  # CORRAL_CMD_ARGS beats GUNICORN_CMD_ARGS
    # ... and the command line beats both.
    server2 = corral("behaviours:app", "-w", "1", env=env, wait_workers=1)
    assert len(server2.wait_workers(1)) == 1


def test_factory_form_with_arguments(corral):
    server = corral("factory:create_app('from-a-factory')")
    assert _get(server, "/").body == b"from-a-factory"
    server = corral("factory:create_app()")
    assert _get(server, "/").body == b"factory"


def test_chdir_and_pythonpath(corral, tmp_path):
    app_dir = tmp_path / "elsewhere"
    shutil.copytree(FIXTURE_APPS, app_dir)
    server = corral("--chdir", str(app_dir), "echo:app", cwd=tmp_path)
    assert _get(server).json()["PATH_INFO"] == "/hello"
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "pathapp.py").write_text(
        "def app(e, sr):\n    sr('200 OK', [('Content-Length', '2')])\n    return [b'pp']\n"
    )
    server = corral("--pythonpath", str(lib), "pathapp:app", cwd=tmp_path)
    assert _get(server).body == b"pp"


def test_access_log_format_atoms(corral, tmp_path):
    log = tmp_path / "access.log"
    fmt = '%(h)s "%(r)s" %(s)s %(B)s %({user-agent}i)s %({content-type}o)s %(m)s %(U)s %(q)s %(H)s'
    server = corral("behaviours:app", "--access-logfile", str(log), "--access-logformat", fmt)
    _get(server, "/hello?x=1")
    server.stop()
    line = log.read_text().strip().splitlines()[-1]
    assert (
        line
        == '127.0.0.1 "GET /hello?x=1 HTTP/1.1" 200 5 probe/1 text/plain GET /hello x=1 HTTP/1.1'
    )


def test_print_config_and_check_config(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "corral", "--print-config", "-w", "3", "behaviours:app"],
        cwd=FIXTURE_APPS,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert re.search(r"^workers\s+= 3$", result.stdout, re.M), result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "corral", "--check-config", "behaviours:app"],
        cwd=FIXTURE_APPS,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and "OK" in result.stdout


def test_environ_as_pep_3333_says(corral):
    server = corral("echo:app", env=dict(os.environ, SCRIPT_NAME="/mount"))
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"POST /mount/caf%C3%A9/x%2Fy?q=%20a&b HTTP/1.1\r\nHost: example.org:8080\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 2\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\nhi"
        )
        doc = client.response().json()
    assert doc["SCRIPT_NAME"] == "/mount"
    assert doc["PATH_INFO"] == "/café/x/y".encode().decode("latin-1")
    assert doc["QUERY_STRING"] == "q=%20a&b"
    assert doc["RAW_URI"] == "/mount/caf%C3%A9/x%2Fy?q=%20a&b"
    assert doc["CONTENT_TYPE"] == "text/plain" and doc["CONTENT_LENGTH"] == "2"
    assert doc["SERVER_NAME"] == "example.org" and doc["SERVER_PORT"] == "8080"
    assert doc["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert doc["REMOTE_ADDR"] == "127.0.0.1" and doc["REMOTE_PORT"].isdigit()
    assert doc["headers"]["HTTP_X_MULTI"] == "1,2"
    assert "HTTP_CONTENT_TYPE" not in doc["headers"]
    assert doc["wsgi.url_scheme"] == "http" and doc["wsgi.version"] == [1, 0]
    assert doc["wsgi.input_terminated"] is True and doc["wsgi.run_once"] is False
    assert doc["has_file_wrapper"] and doc["errors_writable"]
    assert doc["body"] == "hi"


def test_print_config_checks_the_application_as_check_config_does():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "corral", "--print-config", "nosuchmodule:app"],
        cwd=FIXTURE_APPS,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert re.search(r"^worker_class\s+= ", result.stdout, re.M), result.stdout
    assert result.returncode != 0
    assert "nosuchmodule" in result.stderr and "Traceback" not in result.stderr


def test_print_config_into_a_closed_pipe_is_no_traceback():
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "--print-config", "behaviours:app"],
        cwd=FIXTURE_APPS,
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    os.close(read_end)  # the reader is gone before corral writes (`| head` that has quit)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert proc.wait(30) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err
