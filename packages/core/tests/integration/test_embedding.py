"""corral.app: programs that embed the server, run as real processes (the venv's python
running a script the test writes), serving real requests and stopped with TERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from corral_testing import get_body, until
from corral_testing.process import FIXTURE_APPS, CorralProcess, alive, assert_clean_error

DOC = Path(__file__).resolve().parents[4] / "docs" / "embedding.md"

# The shape of Gunicorn's documented embedding (its docs/custom.rst): options filtered by
# cfg.settings, load() returning the application; this one answers with the pid serving it.
GUNICORN_RECIPE = """
import os
from corral.app import BaseApplication


def pid_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid %d" % os.getpid()]


class StandaloneApplication(BaseApplication):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

    def load_config(self):
        wanted = {k: v for k, v in self.options.items() if k in self.cfg.settings and v is not None}
        for key, value in wanted.items():
            self.cfg.set(key.lower(), value)

    def load(self):
        return self.application


if __name__ == "__main__":
    StandaloneApplication(pid_app, {"bind": "127.0.0.1:0", "workers": 2, OPTIONS}).run()
"""


def _doc_program(heading: str) -> str:
    text = DOC.read_text()
    start = text.index(f"```python\n{heading}\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_docs_programs_differ_only_in_the_import():
    gunicorn = _doc_program("# serve.py, for Gunicorn").splitlines()
    corral = _doc_program("# serve.py, for corral").splitlines()
    assert len(gunicorn) == len(corral)
    differ = [(g, c) for g, c in zip(gunicorn, corral, strict=True) if g != c]
    assert [c.split("#")[0].strip() for _, c in differ[1:]] == [
        "from corral.app import Application as BaseApplication"
    ]
    assert differ[1][0] == "from gunicorn.app.base import BaseApplication"


def test_the_docs_corral_program_serves_and_stops_on_term(tmp_path):
    program = _doc_program("# serve.py, for corral")
    program = program.replace('{"bind": "0.0.0.0:8000", "workers": 4}', '{"bind": "127.0.0.1:0"}')
    assert '"127.0.0.1:0"' in program
    server = _program(_script(tmp_path, program)).start(timeout=60)
    try:
        assert get_body(server.host, server.port, "/") == b"hello\n"
    finally:
        _stopped_cleanly(server)


def _script(tmp_path: Path, text: str, **replace: str) -> Path:
    for key, value in replace.items():
        text = text.replace(key, value)
    path = tmp_path / "serve.py"
    path.write_text(textwrap.dedent(text))
    return path


def _program(path: Path, cwd: Path | None = None) -> CorralProcess:
    return CorralProcess(cwd=cwd or path.parent, bind=None, command=(sys.executable, str(path)))


def _run(path: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=str(cwd or path.parent),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _stopped_cleanly(server: CorralProcess) -> None:
    code = server.stop(signal.SIGTERM, timeout=60)
    assert code == 0, server.log
    assert "Traceback" not in server.log, server.log


def test_gunicorn_standalone_recipe_serves_from_its_workers_and_stops_on_term(tmp_path):
    server = _program(_script(tmp_path, GUNICORN_RECIPE, OPTIONS="")).start(
        timeout=60, wait_workers=2
    )
    try:
        workers = server.wait_workers(2, timeout=60)
        assert len(workers) == 2, server.log
        served = set()
        for _ in range(20):
            body = get_body(server.host, server.port, "/")
            assert body.startswith(b"pid "), body
            served.add(int(body.split()[1]))
        # load() ran in the workers, after the fork: never the master answers.
        assert served <= set(workers), (served, workers)
        assert server.pid not in served
    finally:
        _stopped_cleanly(server)


def test_recipe_filter_passes_gunicorn_settings_corral_lacks_and_they_are_warned_about(tmp_path):
    path = _script(tmp_path, GUNICORN_RECIPE, OPTIONS='"spew": True, "not_a_setting": 1,')
    server = _program(path).start(timeout=60)
    try:
        assert get_body(server.host, server.port, "/").startswith(b"pid ")
        # "not_a_setting" is dropped by the recipe's own filter, as with Gunicorn; "spew"
        # is one of Gunicorn's settings, so it passes the filter and corral says it ignores it.
        assert "setting 'spew'" in server.log and "ignored" in server.log, server.log
    finally:
        _stopped_cleanly(server)


@pytest.mark.parametrize(
    ("options", "code", "frag"),
    [
        ('"wrokers": 2', 2, "setting 'wrokers': there is no such setting (did you mean 'workers'"),
        ('"workers": "many"', 2, "setting 'workers': expected an integer >= 1, got 'many'"),
        ('"bind": "127.0.0.1:99999"', 2, "setting 'bind'"),
        ('"config": "corral.conf.py"', 2, "self.load_config_from_file(path)"),
    ],
)
def test_an_unknown_setting_or_a_bad_value_is_one_line_and_an_exit(tmp_path, options, code, frag):
    program = """
        from corral.app import Application

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"never"]

        Application(app=app, options={"bind": "127.0.0.1:0", OPTIONS}).run()
    """
    result = _run(_script(tmp_path, program, OPTIONS=options))
    assert_clean_error(result, code, frag)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("corral: error: "), result.stderr


def test_load_that_raises_stops_the_server_with_the_app_load_exit_code(tmp_path):
    program = """
        from corral.app import Application

        class Broken(Application):
            def load(self):
                raise RuntimeError("no database")

        Broken(options={"bind": "127.0.0.1:0"}).run()
    """
    result = _run(_script(tmp_path, program))
    assert_clean_error(result, 4, "Broken.load() failed: RuntimeError: no database", "serve.py")


def test_wsgi_application_serves_module_callable_with_preload(tmp_path):
    program = f"""
        from corral.app import WSGIApplication

        WSGIApplication(
            app_uri="echo:app",
            options={{"bind": "127.0.0.1:0", "preload_app": True, "chdir": {str(FIXTURE_APPS)!r}}},
        ).run()
    """
    server = _program(_script(tmp_path, program)).start(timeout=60)
    try:
        body = get_body(server.host, server.port, "/hello?x=1")
        assert b"/hello" in body, body
    finally:
        _stopped_cleanly(server)


def test_wsgi_application_with_an_app_that_does_not_import_is_the_commands_error(tmp_path):
    program = """
        from corral.app import WSGIApplication

        WSGIApplication(app_uri="nosuchmodule:app", options={"check_config": True}).run()
    """
    result = _run(_script(tmp_path, program))
    assert_clean_error(result, 4, "cannot import 'nosuchmodule'")


CONFIG_FILE = """
workers = 3
loglevel = "debug"
"""


def test_no_config_file_is_read_unless_the_program_asks_as_with_gunicorn(tmp_path):
    (tmp_path / "gunicorn.conf.py").write_text("workers = 3\n")
    program = """
        from corral.app import Application

        app = Application(app=lambda e, s: [], options={"bind": "127.0.0.1:0"})
        print("workers", app.cfg.workers, "file", app.cfg.build().config_file)
    """
    result = _run(_script(tmp_path, program))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["workers", "1", "file", "None"]


def test_a_config_file_the_program_loads_is_replaced_by_what_it_sets_afterwards(tmp_path):
    (tmp_path / "site.conf.py").write_text(CONFIG_FILE)
    program = """
        import os
        from corral.app import Application

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"ok"]

        class FromFile(Application):
            def load_config(self):
                self.cfg.set("workers", 1)  # the file, loaded after, wins
                self.load_config_from_file("site.conf.py")
                self.cfg.set("bind", "127.0.0.1:0")
                self.cfg.set("workers", 2)  # set after the file: wins over it

        FromFile(app=app).run()
    """
    server = _program(_script(tmp_path, program)).start(timeout=60, wait_workers=2)
    try:
        assert get_body(server.host, server.port, "/") == b"ok"
        until(lambda: len(server.worker_pids()) == 2, 60, "two workers")
        assert "[DEBUG]" in server.log, server.log  # the file's loglevel
        assert server.log.count("Booting worker with pid") == 2, server.log
    finally:
        _stopped_cleanly(server)


def test_a_bad_value_in_the_config_file_names_the_file(tmp_path):
    (tmp_path / "site.conf.py").write_text("workers = 'lots'\n")
    program = """
        from corral.app import Application

        class FromFile(Application):
            def load_config(self):
                self.load_config_from_file("site.conf.py")

        FromFile(app=lambda e, s: []).run()
    """
    result = _run(_script(tmp_path, program))
    # As `corral -c site.conf.py`: a config-file error exits 1.
    assert_clean_error(result, 1, "site.conf.py: setting 'workers': expected an integer")


def test_hup_runs_load_config_again_and_a_failing_one_leaves_the_workers_serving(tmp_path):
    (tmp_path / "workers.txt").write_text("1")
    (tmp_path / "sub").mkdir()  # chdir moves the master there; HUP reads from the start folder
    program = """
        from pathlib import Path
        from corral.app import Application

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"ok"]

        class FromDisk(Application):
            def load_config(self):
                self.cfg.set("bind", "127.0.0.1:0")
                self.cfg.set("chdir", "sub")
                self.cfg.set("workers", int(Path("workers.txt").read_text()))

        FromDisk(app=app).run()
    """
    server = _program(_script(tmp_path, program)).start(timeout=60)
    try:
        (tmp_path / "workers.txt").write_text("3")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_log("Reload complete: 3 new worker", timeout=60)
        until(lambda: len(server.worker_pids()) == 3, 60, "three workers")
        (tmp_path / "workers.txt").write_text("zero")
        server.proc.send_signal(signal.SIGHUP)
        log = server.wait_log("Reload failed, the running workers go on serving", timeout=60)
        assert "FromDisk.load_config() failed: ValueError" in log, log
        assert get_body(server.host, server.port, "/") == b"ok"
        assert len(server.worker_pids()) == 3
    finally:
        _stopped_cleanly(server)


def test_usr2_re_executes_the_program_itself_and_the_new_code_serves(tmp_path):
    program = """
        from corral.app import Application

        VERSION = b"VERSION_TEXT"

        def app(environ, start_response):
            start_response("200 OK", [])
            return [VERSION]

        Application(app=app, options={"bind": "127.0.0.1:0", "pidfile": "corral.pid"}).run()
    """
    path = _script(tmp_path, program, VERSION_TEXT="old")
    server = _program(path).start(timeout=60)
    new_master = 0
    try:
        assert get_body(server.host, server.port, "/") == b"old"
        _script(tmp_path, program, VERSION_TEXT="new")
        server.proc.send_signal(signal.SIGUSR2)
        pidfile = tmp_path / "corral.pid"
        until(lambda: (tmp_path / "corral.pid.oldbin").exists(), 60, "the .oldbin pid file")
        until(lambda: pidfile.exists() and pidfile.read_text().strip(), 60, "the new pid file")
        new_master = int(pidfile.read_text())
        assert new_master != server.pid
        assert alive(new_master)
        code = server.stop(signal.SIGTERM, timeout=60)
        assert code == 0, server.log
        assert "Traceback" not in server.log, server.log
        until(lambda: get_body(server.host, server.port, "/") == b"new", 60, "the new code")
    finally:
        if server.proc.poll() is None:
            server.stop(signal.SIGTERM, timeout=60)
        if new_master and alive(new_master):
            os.kill(new_master, signal.SIGTERM)
            until(lambda: not alive(new_master), 60, "the new master to stop")
