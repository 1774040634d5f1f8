"""Every mistake a user can make reads as one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from corral_testing.process import assert_clean_error, run_corral


def test_port_already_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_corral("-b", f"127.0.0.1:{port}", "behaviours:app")
    assert_clean_error(result, 1, f"cannot bind to '127.0.0.1:{port}'", "address already in use")


def test_permission_denied_on_a_privileged_port():
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        # As root, run without the capability to bind ports below 1024 (util-linux setpriv).
        drop = "-net_bind_service"
        prefix = ("setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}")
    result = run_corral("-b", "127.0.0.1:81", "behaviours:app", prefix=prefix)
    assert_clean_error(result, 1, "cannot bind to '127.0.0.1:81'", "permission denied")


@pytest.mark.parametrize(
    ("app", "fragments"),
    [
        ("nosuchmodule:app", ["cannot import 'nosuchmodule'", "no module named 'nosuchmodule'"]),
        ("behaviours:nope", ["module 'behaviours' has no attribute 'nope'"]),
        ("factory:not_callable", ["'factory:not_callable' is a dict, not a callable"]),
        (
            "broken_import:app",
            ["ValueError: database URL is not configured", "broken_import.py, line 4"],
        ),
        ("broken_syntax:app", ["SyntaxError", "broken_syntax.py, line 1"]),
    ],
)
def test_application_errors(app, fragments):
    result = run_corral("-b", "127.0.0.1:0", app)
    assert_clean_error(result, 4, *fragments)
    # And the same message with --check-config or --preload, before any worker exists.
    for flag in ("--check-config", "--preload"):
        result = run_corral("-b", "127.0.0.1:0", flag, app)
        assert_clean_error(result, 4, *fragments)


@pytest.fixture(scope="module")
def core_only_venv(tmp_path_factory):
    """A real virtual environment with corral alone: no plug-ins, no PROXY codec."""
    core = Path(__file__).resolve().parents[2]
    venv = tmp_path_factory.mktemp("core-only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(core)],
        check=True,
        timeout=300,
    )
    return venv


def test_worker_class_not_installed_names_the_pip_command(core_only_venv):
    for name in ("gevent", "eventlet"):
        result = subprocess.run(
            [str(core_only_venv / "bin" / "corral"), "-k", name, "corral.demo:app"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert_clean_error(
            result,
            1,
            f"unknown worker class '{name}' (installed: ",
            "sync",
            f"pip install 'corral[{name}]'",
        )
    result = run_corral("-k", "nosuch", "behaviours:app")
    assert_clean_error(result, 1, "unknown worker class 'nosuch' (installed: ")


def test_missing_proxy_codec_is_a_clear_start_up_error(core_only_venv):
    result = subprocess.run(
        [str(core_only_venv / "bin" / "corral"), "--proxy-protocol", "corral.demo:app"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_clean_error(result, 1, "pip install 'corral[proxy]'")


def test_metrics_bind_without_prometheus_client_names_the_extra(core_only_venv):
    corral = str(core_only_venv / "bin" / "corral")
    for extra in ((), ("--check-config",)):
        result = subprocess.run(
            [corral, "--metrics-bind", "127.0.0.1:0", *extra, "corral.demo:app"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert_clean_error(
            result,
            2,
            "--metrics-bind needs the prometheus-client package: pip install 'corral[metrics]'",
        )
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_config_file_missing():
    result = run_corral("-c", "/nonexistent/corral.conf.py", "behaviours:app")
    assert_clean_error(result, 1, "/nonexistent/corral.conf.py")


def test_config_file_syntax_error_names_file_and_line(tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 2\nbind = [\n")
    result = run_corral("-c", str(conf), "behaviours:app")
    assert_clean_error(result, 1, "gunicorn.conf.py", "line 2")


def test_unknown_flag_and_bad_value_exit_2():
    assert_clean_error(run_corral("--wrokers", "2", "behaviours:app"), 2, "--wrokers", "--workers")
    assert_clean_error(run_corral("-w", "many", "behaviours:app"), 2, "--workers", "'many'")


def test_no_application_given():
    assert_clean_error(run_corral(), 2, "no application given")


def test_help_and_version():
    result = run_corral("--help")
    assert result.returncode == 0 and "--worker-class" in result.stdout
    result = run_corral("--version")
    assert result.returncode == 0 and result.stdout.startswith("corral ")


@pytest.mark.parametrize(
    ("flags", "setting"),
    [
        (("--paste", "development.ini"), "paste"),
        (("--paster", "development.ini"), "paste"),
    ],
)
def test_a_setting_whose_absence_is_a_hazard_refuses_to_start(flags, setting):
    # Until corral implements it, serving without it would look right and be wrong
    # (another application than the one the PasteDeploy file names).
    result = run_corral(*flags, "-b", "127.0.0.1:0", "behaviours:app")
    assert_clean_error(
        result, 2, f"(Gunicorn setting '{setting}') is not supported yet, and corral refuses"
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("corral: error: option '"), lines
    assert "Listening at" not in result.stdout + result.stderr


def test_a_config_file_asking_for_tls_without_the_files_refuses_to_start(tmp_path):
    (tmp_path / "gunicorn.conf.py").write_text("certfile = 'site.pem'\nkeyfile = 'site.key'\n")
    result = run_corral("-b", "127.0.0.1:0", "behaviours:app", cwd=tmp_path)
    assert_clean_error(result, 2, "--certfile site.pem: no such file")
    assert len((result.stdout + result.stderr).strip().splitlines()) == 1
