"""Loading configuration from the config file, the environment and the command line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from corral.config import load_config
from corral.errors import ConfigError, UsageError


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Precedence


def test_precedence_across_all_five_layers(tmp_path: Path) -> None:
    write(
        tmp_path,
        "gunicorn.conf.py",
        """
        workers = 2
        timeout = 40
        keepalive = 7
        backlog = 100
        """,
    )
    environ = {
        "GUNICORN_CMD_ARGS": "--workers 3 --timeout 50 --keep-alive 8",
        "CORRAL_CMD_ARGS": "--workers 4 --timeout 60",
    }
    cfg = load_config(["--workers", "5"], environ, cwd=str(tmp_path))

    assert cfg.workers == 5
    assert cfg.source("workers") == "command line"
    assert cfg.timeout == 60
    assert cfg.source("timeout") == "CORRAL_CMD_ARGS"
    assert cfg.keepalive == 8
    assert cfg.source("keepalive") == "GUNICORN_CMD_ARGS"
    assert cfg.backlog == 100
    assert cfg.source("backlog") == "config file"
    assert cfg.graceful_timeout == 30
    assert cfg.source("graceful_timeout") == "default"


def test_later_layer_replaces_a_list_rather_than_extending_it(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "bind = ['0.0.0.0:1', '0.0.0.0:2']\n")
    cfg = load_config(["-b", "127.0.0.1:3"], {}, cwd=str(tmp_path))
    assert cfg.bind == ["127.0.0.1:3"]
    file_only = load_config([], {}, cwd=str(tmp_path))
    assert file_only.bind == ["0.0.0.0:1", "0.0.0.0:2"]


def test_config_file_beats_environment_defaults(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "workers = 2\nbind = 'unix:/tmp/a.sock'\n")
    cfg = load_config([], {"WEB_CONCURRENCY": "9", "PORT": "5000"}, cwd=str(tmp_path))
    assert cfg.workers == 2
    assert cfg.bind == ["unix:/tmp/a.sock"]


def test_env_args_are_shell_split(tmp_path: Path) -> None:
    environ = {"CORRAL_CMD_ARGS": "--access-logformat '%(h)s \"%(r)s\"' -n 'my app'"}
    cfg = load_config([], environ, cwd=str(tmp_path))
    assert cfg.access_log_format == '%(h)s "%(r)s"'
    assert cfg.proc_name == "my app"


def test_positional_app_beats_wsgi_app(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "wsgi_app = 'from_file:app'\n")
    assert load_config([], {}, cwd=str(tmp_path)).app_uri == "from_file:app"
    assert load_config(["cli:app"], {}, cwd=str(tmp_path)).app_uri == "cli:app"


# ---------------------------------------------------------------------------------------------
# Environment-variable arguments


def test_invalid_value_in_env_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_config([], {"GUNICORN_CMD_ARGS": "--workers abc"}, cwd=str(tmp_path))
    assert info.value.message == "GUNICORN_CMD_ARGS: --workers: expected an integer >= 1, got 'abc'"
    with pytest.raises(UsageError) as info:
        load_config([], {"CORRAL_CMD_ARGS": "--bogus"}, cwd=str(tmp_path))
    assert info.value.message == "CORRAL_CMD_ARGS: unrecognized option '--bogus'"


def test_unbalanced_quotes_in_env(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^CORRAL_CMD_ARGS: cannot split .*quotation"):
        load_config([], {"CORRAL_CMD_ARGS": "--name 'oops"}, cwd=str(tmp_path))


def test_app_in_env_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^GUNICORN_CMD_ARGS: the application cannot be given"):
        load_config([], {"GUNICORN_CMD_ARGS": "-w 2 app:app"}, cwd=str(tmp_path))


def test_unsupported_flag_in_env_warns_with_the_variable(tmp_path: Path) -> None:
    cfg = load_config([], {"GUNICORN_CMD_ARGS": "--worker-tmp-dir /dev/shm"}, cwd=str(tmp_path))
    assert cfg.warnings == [
        "GUNICORN_CMD_ARGS: option '--worker-tmp-dir' (Gunicorn setting 'worker_tmp_dir') "
        "is not supported by corral and is ignored: the heartbeat is in shared memory and "
        "needs no file"
    ]


def test_blank_env_vars_are_ignored(tmp_path: Path) -> None:
    cfg = load_config([], {"GUNICORN_CMD_ARGS": "", "CORRAL_CMD_ARGS": "   "}, cwd=str(tmp_path))
    assert cfg.source("workers") == "default"


# ---------------------------------------------------------------------------------------------
# Finding the config file


def test_no_config_file(tmp_path: Path) -> None:
    cfg = load_config([], {}, cwd=str(tmp_path))
    assert cfg.config_file is None


def test_corral_conf_is_preferred_to_gunicorn_conf(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "workers = 2\n")
    assert load_config([], {}, cwd=str(tmp_path)).config_file == str(tmp_path / "gunicorn.conf.py")
    write(tmp_path, "corral.conf.py", "workers = 3\n")
    cfg = load_config([], {}, cwd=str(tmp_path))
    assert cfg.config_file == str(tmp_path / "corral.conf.py")
    assert cfg.workers == 3


def test_explicit_config_path_relative_to_cwd(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "workers = 2\n")
    write(tmp_path, "conf/prod.py", "workers = 6\n")
    cfg = load_config(["-c", "conf/prod.py"], {}, cwd=str(tmp_path))
    assert cfg.workers == 6
    assert cfg.config_file == str(tmp_path / "conf" / "prod.py")
    assert load_config(["--config", "file:conf/prod.py"], {}, cwd=str(tmp_path)).workers == 6


def test_config_named_in_env_args(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "workers = 7\n")
    write(tmp_path, "b.py", "workers = 8\n")
    environ = {"GUNICORN_CMD_ARGS": "-c a.py", "CORRAL_CMD_ARGS": "-c b.py"}
    assert load_config([], environ, cwd=str(tmp_path)).workers == 8
    assert load_config([], {"GUNICORN_CMD_ARGS": "-c a.py"}, cwd=str(tmp_path)).workers == 7


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(["-c", "missing.conf.py"], {}, cwd=str(tmp_path))
    assert info.value.message == "config file not found: 'missing.conf.py'"


def test_config_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "confdir").mkdir()
    with pytest.raises(ConfigError, match="not a regular file: 'confdir'"):
        load_config(["-c", "confdir"], {}, cwd=str(tmp_path))


def test_python_module_config(tmp_path: Path) -> None:
    write(tmp_path, "mysite/__init__.py", "")
    write(tmp_path, "mysite/corral_settings.py", "workers = 11\nbind = ['unix:/tmp/s']\n")
    path_before = list(sys.path)
    cfg = load_config(["-c", "python:mysite.corral_settings"], {}, cwd=str(tmp_path))
    assert cfg.workers == 11
    assert cfg.config_file == str(tmp_path / "mysite" / "corral_settings.py")
    assert sys.path == path_before
    sys.modules.pop("mysite", None)


def test_python_module_config_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"python:no_such_module_xyz' cannot be found"):
        load_config(["-c", "python:no_such_module_xyz"], {}, cwd=str(tmp_path))


# ---------------------------------------------------------------------------------------------
# A realistic gunicorn.conf.py


REALISTIC = """\
import multiprocessing
import os

# Helper variables, as real config files have.
cores = multiprocessing.cpu_count()
log_dir = os.path.join(os.path.dirname(__file__), "logs")

bind = "0.0.0.0:8080"
workers = 4
worker_class = "sync"
accesslog = os.path.join(log_dir, "access.log")
worker_tmp_dir = "/dev/shm"
daemon = False  # settings that ask for nothing are accepted silently
user = None
certfile = None
loglevel = "WARNING"
raw_env = ["DJANGO_SETTINGS_MODULE=site.settings"]
worker = 2


def post_fork(server, worker):
    server.log.info("worker spawned (pid: %s)", worker.pid)


def _private_helper(x):
    return x
"""


def test_realistic_gunicorn_conf(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", REALISTIC)
    cfg = load_config(["app:application"], {}, cwd=str(tmp_path))

    assert cfg.config_file == str(tmp_path / "gunicorn.conf.py")
    assert cfg.bind == ["0.0.0.0:8080"]
    assert cfg.workers == 4
    assert cfg.worker_class == "sync"
    assert cfg.accesslog == str(tmp_path / "logs" / "access.log")
    assert cfg.loglevel == "warning"
    assert cfg.raw_env == ["DJANGO_SETTINGS_MODULE=site.settings"]
    assert cfg.app_uri == "app:application"
    assert cfg.post_fork.__name__ == "post_fork"
    assert cfg.to_dict()["post_fork"] == "__config__.post_fork"
    assert cfg.source("post_fork") == "config file"
    assert cfg.source("timeout") == "default"
    assert cfg.warnings == [
        "gunicorn.conf.py: setting 'worker_tmp_dir' is not supported by corral and is ignored: "
        "the heartbeat is in shared memory and needs no file",
        "gunicorn.conf.py: 'worker' is not a setting (did you mean 'workers'?) and is ignored",
    ]

    # The hook is the function from the file and is called with (server, worker).
    logged: list[tuple[object, ...]] = []

    class Log:
        def info(self, *args: object) -> None:
            logged.append(args)

    class Server:
        log = Log()

    class Worker:
        pid = 1234

    cfg.post_fork(Server(), Worker())
    assert logged == [("worker spawned (pid: %s)", 1234)]


def test_config_file_sees_its_own_file_and_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "gunicorn.conf.py",
        """
        import os
        proc_name = os.path.basename(__file__) + ":" + __name__
        """,
    )
    assert load_config([], {}, cwd=str(tmp_path)).proc_name == "gunicorn.conf.py:__config__"


def test_config_file_can_import_from_cwd(tmp_path: Path) -> None:
    write(tmp_path, "shared_settings_for_test.py", "WORKERS = 5\n")
    write(tmp_path, "gunicorn.conf.py", "from shared_settings_for_test import WORKERS as workers\n")
    path_before = list(sys.path)
    assert load_config([], {}, cwd=str(tmp_path)).workers == 5
    assert sys.path == path_before
    sys.modules.pop("shared_settings_for_test", None)


def test_config_setting_inside_config_file_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "config = 'other.py'\nworkers = 2\n")
    cfg = load_config([], {}, cwd=str(tmp_path))
    assert cfg.workers == 2
    assert cfg.config is None
    assert cfg.warnings == []


def test_chdir_in_config_file(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    write(tmp_path, "gunicorn.conf.py", "chdir = 'srv'\n")
    assert load_config([], {}, cwd=str(tmp_path)).chdir == str(tmp_path / "srv")
    write(tmp_path, "gunicorn.conf.py", "chdir = 'nowhere'\n")
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    assert info.value.message == (
        "gunicorn.conf.py: setting 'chdir': expected an existing directory, got 'nowhere'"
    )


def test_pythonpath_string_in_config_file(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "pythonpath = '/srv/a,/srv/b'\n")
    assert load_config([], {}, cwd=str(tmp_path)).pythonpath == ["/srv/a", "/srv/b"]


def test_worker_class_given_as_a_class(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "class MyWorker:\n    pass\n\nworker_class = MyWorker\n")
    cfg = load_config([], {}, cwd=str(tmp_path))
    assert isinstance(cfg.worker_class, type)
    assert cfg.to_dict()["worker_class"] == "__config__.MyWorker"


# ---------------------------------------------------------------------------------------------
# Config-file errors


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "workers = 2\nbind = '0.0.0.0:80'\nif workers\n")
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    assert info.value.message.startswith("gunicorn.conf.py, line 3: ")
    assert "expected ':'" in info.value.message or "invalid syntax" in info.value.message
    assert "\n" not in info.value.message


def test_syntax_error_in_explicit_file_uses_the_given_path(tmp_path: Path) -> None:
    write(tmp_path, "conf/app.py", "workers = = 2\n")
    with pytest.raises(ConfigError, match=r"^conf/app\.py, line 1: invalid syntax"):
        load_config(["-c", "conf/app.py"], {}, cwd=str(tmp_path))


def test_runtime_error_names_file_line_and_exception(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "workers = 2\n\nbind = undefined_name\n")
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    assert info.value.message == (
        "gunicorn.conf.py, line 3: NameError: name 'undefined_name' is not defined"
    )


def test_runtime_error_inside_a_function_called_by_the_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "gunicorn.conf.py",
        """\
        def compute():
            return 1 / 0

        workers = compute()
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    assert info.value.message == "gunicorn.conf.py, line 2: ZeroDivisionError: division by zero"


def test_import_error_in_config_file(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "import no_such_module_for_corral_tests\n")
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    assert info.value.message == (
        "gunicorn.conf.py, line 1: ModuleNotFoundError: "
        "No module named 'no_such_module_for_corral_tests'"
    )


def test_sys_exit_in_config_file(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(ConfigError, match=r"^gunicorn\.conf\.py, line 2: SystemExit: 3$"):
        load_config([], {}, cwd=str(tmp_path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers = 'many'\n", "setting 'workers': expected an integer >= 1, got 'many'"),
        ("workers = 0\n", "setting 'workers': expected an integer >= 1, got 0"),
        ("preload_app = 'sometimes'\n", "setting 'preload_app': expected true or false"),
        ("bind = ['127.0.0.1:80', 'x:y']\n", "setting 'bind': expected a port number"),
        ("raw_env = ['FOO']\n", "setting 'raw_env': expected KEY=VALUE, got 'FOO'"),
        ("loglevel = 'verbose'\n", "setting 'loglevel': expected one of debug, info"),
        ("accesslog = 3\n", "setting 'accesslog': expected a non-empty string, got 3"),
        (
            "def post_fork(server):\n    pass\n",
            "setting 'post_fork': expected a callable taking 2 positional arguments "
            "(server, worker), got post_fork(server)",
        ),
        (
            "def when_ready():\n    pass\n",
            "setting 'when_ready': expected a callable taking 1 positional argument (server), "
            "got when_ready()",
        ),
        ("on_starting = 42\n", "setting 'on_starting': expected a callable taking 1"),
    ],
)
def test_wrong_type_in_config_file(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "gunicorn.conf.py", text)
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    assert info.value.message.startswith("gunicorn.conf.py: " + message)


def test_command_line_error_is_reported_before_config_file_errors(tmp_path: Path) -> None:
    write(tmp_path, "gunicorn.conf.py", "workers = (\n")
    with pytest.raises(UsageError):
        load_config(["--workers", "x"], {}, cwd=str(tmp_path))


def test_did_you_mean_only_for_close_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        "gunicorn.conf.py",
        """
        timout = 10
        keep_alive = 5
        max_request = 100
        workers_per_core = 2
        bind_host = "x"
        _workers = 3
        """,
    )
    cfg = load_config([], {}, cwd=str(tmp_path))
    assert cfg.warnings == [
        "gunicorn.conf.py: 'timout' is not a setting (did you mean 'timeout'?) and is ignored",
        "gunicorn.conf.py: 'keep_alive' is not a setting (did you mean 'keepalive'?) "
        "and is ignored",
        "gunicorn.conf.py: 'max_request' is not a setting (did you mean 'max_requests'?) "
        "and is ignored",
    ]
    assert cfg.timeout == 30


# ---------------------------------------------------------------------------------------------
# Unsupported settings whose absence is a hazard: refused, not ignored


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("paste", "'development.ini'"),
        ("paste", "'config:production.ini'"),
    ],
)
def test_a_config_file_asking_for_a_refused_setting_stops_the_start(
    tmp_path: Path, name: str, value: str
) -> None:
    write(tmp_path, "gunicorn.conf.py", f"{name} = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config([], {}, cwd=str(tmp_path))
    message = info.value.message
    assert message.startswith(f"gunicorn.conf.py: setting '{name}' is not supported yet, ")
    assert "corral refuses to start rather than ignore it: " in message
    assert "\n" not in message


def test_a_refused_flag_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_config([], {"GUNICORN_CMD_ARGS": "--paste d.ini"}, cwd=str(tmp_path))
    assert info.value.message.startswith(
        "GUNICORN_CMD_ARGS: option '--paste' (Gunicorn setting 'paste') is not supported"
    )
