"""The recipes in deploy/ as their tests read them: used as users copy them, with only the
paths, addresses and names a test must replace (each must still be in the file, so a recipe
and its test cannot drift apart silently), and the values the test checks read from them.
"""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path

from . import get_body, until
from .http import Client
from .process import FIXTURE_APPS, children_of

ROOT = Path(__file__).resolve().parents[4]
DEPLOY = ROOT / "deploy"

# What every recipe is written with, and what a test runs instead.
APP_FOLDER = "/srv/myapp"
CORRAL_SCRIPT = "/srv/myapp/venv/bin/corral"
APPLICATION = "myapp.wsgi:application"
ADDRESS = "127.0.0.1:8000"


def render(path: Path, replacements: dict[str, str]) -> str:
    """The text of ``path`` with each key replaced by its value; fails naming a key that
    is no longer in the file."""
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, f"{path.relative_to(ROOT)} no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def app_replacements() -> dict[str, str]:
    """The corral in this test's environment serving the fixture apps' ``behaviours:app``
    (the script path first: it contains the folder)."""
    return {
        CORRAL_SCRIPT: str(Path(sys.executable).parent / "corral"),
        APP_FOLDER: str(FIXTURE_APPS),
        APPLICATION: "behaviours:app",
    }


def corral_arguments(command: str) -> list[str]:
    """The arguments of a ``corral ...`` command line (the program must be corral)."""
    argv = shlex.split(command)
    assert argv and Path(argv[0]).name == "corral", f"not a corral command: {command!r}"
    return argv[1:]


def option(args: list[str], *names: str) -> str:
    """The value of the first of ``names`` given in ``args`` (``--name V`` or ``--name=V``)."""
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    raise AssertionError(f"none of {names} in {args}")


def unit_file(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as ``{section: {key: [values...]}}``, read with systemd's syntax
    (comments start with # or ;, a trailing backslash continues the line, a key may be
    repeated). ``systemd-analyze verify`` judges the file; this only reads values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path}: not a unit file line: {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def start_request(host: str, port: int, path: str = "/sleep?s=1") -> Client:
    """Send ``GET path`` (by default one that takes a second) on a new connection and return
    without reading the answer: a request the server holds while it is told to reload or
    stop. :func:`assert_answered` reads it."""
    client = Client(socket.create_connection((host, port), timeout=60))
    client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return client


def assert_answered(client: Client) -> None:
    """The request :func:`start_request` sent got its whole answer."""
    response = client.response()
    assert (response.status, response.body) == (200, b"slept")


def wait_new_workers(master: int, old: set[int], count: int, host: str, port: int) -> set[int]:
    """After a reload: wait (bounded) until no worker of ``old`` is left, then check that
    ``count`` new ones serve under the same ``master``; their pids."""
    until(lambda: not set(children_of(master)) & old, 60, "the old workers to retire")
    new = set(children_of(master))
    assert len(new) == count, (new, old)
    assert int(get_body(host, port, "/pid")) in new
    return new
