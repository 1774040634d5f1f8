"""Install tests: build the workspace's wheels, install them as a user would, serve.

:func:`build_wheelhouse` puts a wheel of every workspace distribution (``pip wheel
--no-deps``) and their third-party dependencies (``pip download``) into one folder;
:func:`install` makes a fresh virtual environment and installs a requirement from that
folder only (``--no-index``), so the packages must plug together through their metadata
alone; :func:`serves_demo` runs the installed ``corral`` with the demo application, and
:func:`get_root` asks a started server for ``/``. :func:`user_shell` lays out a folder like
a clone's root with a fresh virtual environment first on ``PATH``, where the README's
commands run as a user would run them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import tomllib

WORKSPACE = Path(__file__).resolve().parents[4]
PACKAGES = WORKSPACE / "packages"
_LISTENING = re.compile(r"Listening at: http://([\d.]+):(\d+)")


def user_shell(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """(root, venv, env): ``root`` laid out like a clone's (``packages/`` is the
    workspace's), ``venv`` a fresh virtual environment, ``env`` the environment with it first
    on ``PATH`` (so ``python3`` is its interpreter) and none of this process's venv."""
    root = tmp_path / "clone"
    root.mkdir()
    (root / "packages").symlink_to(PACKAGES)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    return root, venv, env


def _pip(*args: str, python: str = sys.executable, timeout: float = 300) -> None:
    subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        timeout=timeout,
        capture_output=True,
    )


def workspace_distributions() -> dict[str, Path]:
    """Distribution name -> folder, for every packages/*/pyproject.toml."""
    found = {}
    for pyproject in sorted(PACKAGES.glob("*/pyproject.toml")):
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        found[name] = pyproject.parent
    return found


def _third_party(dists: dict[str, Path], extras: dict[str, list[str]]) -> list[str]:
    """The requirements of the workspace distributions that are not themselves in it."""
    reqs: list[str] = []
    for folder in dists.values():
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        wanted = list(project.get("dependencies", []))
        for extra in extras.get(project["name"], []):
            wanted += project.get("optional-dependencies", {}).get(extra, [])
        for req in wanted:
            name = re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower()
            if name not in dists and req not in reqs:
                reqs.append(req)
    return reqs


def build_wheelhouse(dest: Path, extras: dict[str, list[str]] | None = None) -> Path:
    """Wheels of every workspace distribution plus the third-party requirements they need
    (with ``extras``, e.g. ``{"corral": ["setproctitle"]}``), all in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    dists = workspace_distributions()
    _pip("wheel", "--no-deps", "-w", str(dest), *map(str, dists.values()))
    _pip("download", "-d", str(dest), *_third_party(dists, extras or {}))
    return dest


def install(venv: Path, wheelhouse: Path, requirement: str) -> Path:
    """A fresh virtual environment with ``requirement`` installed from ``wheelhouse`` only;
    the path of its ``corral`` command."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    _pip("install", "--no-index", "--find-links", str(wheelhouse), requirement, python=python)
    return venv / "bin" / "corral"


def serves_demo(corral: Path, worker: str, cwd: Path, timeout: float = 30) -> bytes:
    """Run ``corral -k WORKER corral.demo:app`` on a free port; the body of ``GET /``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.Popen(
        [str(corral), "-k", worker, "-b", "127.0.0.1:0", "corral.demo:app"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        return get_root(proc, timeout)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get_root(proc: subprocess.Popen[str], timeout: float) -> bytes:
    """Wait (up to ``timeout`` seconds) for the "Listening at:" line in ``proc``'s output,
    then the whole raw response to ``GET /`` at that address."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    log = ""
    match = None
    while match is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"corral exited with {proc.wait()}:\n{log}")
        log += line
        match = _LISTENING.search(line)
    assert match is not None, log
    address = (match.group(1), int(match.group(2)))
    while True:
        try:
            with socket.create_connection(address, timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
                return data
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
