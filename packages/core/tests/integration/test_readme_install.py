"""The README's install lines, run verbatim in a fresh virtual environment, do what they say.

The lines are read from the README's block named ``install-lines`` (docs/index.md shows
the same block, which must stay identical) and run in order by ``bash`` from a folder laid
out like a clone's root (``packages/`` is the workspace's), with the fresh environment first
on ``PATH``, so ``python3`` is its interpreter. Third-party dependencies (gevent, eventlet)
come from the package index, as they would for a user.
"""

from __future__ import annotations

import subprocess

from corral_testing.docblocks import WORKSPACE, commands, named
from corral_testing.install import serves_demo, user_shell

README = WORKSPACE / "README.md"
QUICKSTART = WORKSPACE / "docs" / "index.md"


def readme_install_lines() -> list[str]:
    return commands(named(README, "install-lines"))


def test_the_quickstart_shows_the_readme_install_lines():
    assert named(QUICKSTART, "install-lines").text == named(README, "install-lines").text


def test_the_readme_install_lines_install_every_extra(tmp_path):
    lines = readme_install_lines()
    assert [line.split("#")[0].split()[-1] for line in lines[1:]] == [
        "corral",
        "'corral[gevent]'",
        "'corral[eventlet]'",
        "'corral[proxy]'",
    ]
    root, venv, env = user_shell(tmp_path)
    for line in lines:
        result = subprocess.run(
            ["bash", "-c", line], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
    wheels = sorted(p.name.split("-")[0] for p in (root / "dist").glob("*.whl"))
    assert wheels == ["corral", "corral_eventlet", "corral_gevent", "corral_proxyproto"]
    corral = venv / "bin" / "corral"
    for worker in ("sync", "gthread", "gevent", "eventlet"):
        assert b"200 OK" in serves_demo(corral, worker, cwd=tmp_path).split(b"\r\n")[0]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import corral_proxyproto"], timeout=60
    )
    assert check.returncode == 0
