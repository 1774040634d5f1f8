"""The README's first command, run verbatim, serves the demo application.

The block named ``demo`` in README.md (docs/index.md shows the same, which must stay
identical) is run by ``bash`` from a folder laid out like a clone's root, in a fresh
virtual environment first on ``PATH`` (so ``python3`` is its interpreter and the
``pip install`` goes into it). The command gives no ``--bind``; ``CORRAL_CMD_ARGS`` adds a
free port, so the test does not depend on 8000 being free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import pytest
from corral_testing.docblocks import WORKSPACE, commands, named
from corral_testing.install import get_root, user_shell

README = WORKSPACE / "README.md"
QUICKSTART = WORKSPACE / "docs" / "index.md"


def test_the_quickstart_shows_the_readme_demo_command():
    assert named(QUICKSTART, "demo").text == named(README, "demo").text


@pytest.mark.slow
def test_the_readme_demo_command_serves_the_demo(tmp_path):
    (line,) = commands(named(README, "demo"))
    root, venv, env = user_shell(tmp_path)
    env["CORRAL_CMD_ARGS"] = "-b 127.0.0.1:0"
    proc = subprocess.Popen(
        ["bash", "-c", line],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # bash, pip and corral: stopped together below
    )
    try:
        response = get_root(proc, timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    assert b"<h1>corral is serving</h1>" in body
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import corral, sys; print(corral.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.stdout.startswith(str(venv)), installed.stdout
