"""Process titles with setproctitle: what ``ps`` shows and /proc/PID/cmdline reads.

Gunicorn titles its processes ``gunicorn: master [NAME]`` and ``gunicorn: worker [NAME]``,
NAME being ``--name``, else ``default_proc_name`` (the APP argument unless the config file
sets it); corral does the same with ``corral:`` in front (docs/settings.md, proc_name).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from corral_testing import FIXTURE_APPS, until, worker_classes


def _title(pid: int) -> str:
    """The process's command line as one string (setproctitle pads its title with NULs)."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0")
    return raw.decode().replace("\0", " ")


def _titles(server, workers: int) -> tuple[str, list[str]]:
    pids = server.wait_workers(workers)
    master = _title(server.pid)
    # A worker just forked still has the master's title until it sets its own.
    until(lambda: master not in {_title(pid) for pid in pids}, 30, "workers titled")
    return master, sorted(_title(pid) for pid in pids)


@pytest.mark.parametrize("wclass", worker_classes())
def test_name_given_titles_the_master_and_every_worker(corral, wclass):
    server = corral("-k", wclass, "-w", "2", "--name", "shop", "echo:app", wait_workers=2)
    master, workers = _titles(server, 2)
    assert master == "corral: master [shop]"
    assert workers == ["corral: worker [shop]"] * 2


def test_without_a_name_the_app_argument_names_them(corral):
    server = corral("-w", "2", "echo:app", wait_workers=2)
    assert _titles(server, 2) == ("corral: master [echo:app]", ["corral: worker [echo:app]"] * 2)


def _site(tmp_path: Path, conf: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "echo.py").write_text((FIXTURE_APPS / "echo.py").read_text())
    (site / "corral.conf.py").write_text(conf)
    return site


def test_a_config_files_default_proc_name_wins_over_the_app_argument(corral, tmp_path):
    site = _site(tmp_path, 'default_proc_name = "from-conf"\n')
    server = corral("echo:app", cwd=site, wait_workers=1)
    assert _titles(server, 1) == ("corral: master [from-conf]", ["corral: worker [from-conf]"])


def test_name_wins_over_default_proc_name(corral, tmp_path):
    site = _site(tmp_path, 'default_proc_name = "from-conf"\n')
    server = corral("-n", "shop", "echo:app", cwd=site, wait_workers=1)
    assert _titles(server, 1) == ("corral: master [shop]", ["corral: worker [shop]"])


def test_an_app_from_the_config_file_leaves_the_name_corral(corral, tmp_path):
    site = _site(tmp_path, 'wsgi_app = "echo:app"\n')
    server = corral(cwd=site, wait_workers=1)
    assert _titles(server, 1) == ("corral: master [corral]", ["corral: worker [corral]"])


def test_hup_with_a_new_name_renames_the_master_and_the_new_workers(corral, tmp_path):
    site = _site(tmp_path, 'proc_name = "one"\n')
    server = corral("echo:app", cwd=site, wait_workers=1)
    old = server.wait_workers(1)
    assert _titles(server, 1) == ("corral: master [one]", ["corral: worker [one]"])
    (site / "corral.conf.py").write_text('proc_name = "two"\n')
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete", timeout=60)
    until(lambda: not set(server.worker_pids()) & set(old), 60, "the old worker to go")
    assert _titles(server, 1) == ("corral: master [two]", ["corral: worker [two]"])


def test_without_setproctitle_name_warns_once_and_titles_stay_the_command_line(corral, tmp_path):
    blocker = tmp_path / "no-setproctitle"
    blocker.mkdir()
    (blocker / "setproctitle.py").write_text("raise ImportError('not installed here')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    server = corral("-n", "shop", "-w", "1", "echo:app", env=env, wait_workers=1)
    master = _title(server.pid)
    workers = [_title(pid) for pid in server.wait_workers(1)]
    assert master.endswith("-m corral -b 127.0.0.1:0 -n shop -w 1 echo:app"), master
    assert workers == [master]  # a forked worker keeps the master's command line
    warning = "--name shop: the processes keep their command line as title: setproctitle"
    assert server.log.count(warning) == 1, server.log
