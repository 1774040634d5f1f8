"""Docker Compose for deploy/docker/compose.yaml: the command, and one project's life.

``docker compose`` (the plug-in) when the Docker CLI has it, else ``docker-compose``;
where neither is installed, Debian's ``docker-compose`` is installed (as root), as the
engine module does for ``docker.io``.
"""

from __future__ import annotations

import shutil
import subprocess

from .images import apt_install
from .proxies import DEPLOY, RUN_ID

COMPOSE_FILE = DEPLOY / "docker" / "compose.yaml"


def compose_command() -> list[str]:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose") is None:
        apt_install("docker-compose")
    return ["docker-compose"]


class ComposeProject:
    """compose.yaml as one project of this run, with variables from ``env``."""

    def __init__(self, env: dict[str, str], name: str = f"corral-conformance-{RUN_ID}") -> None:
        self.command = [*compose_command(), "-f", str(COMPOSE_FILE), "-p", name]
        self.env = env
        self.name = name

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [*self.command, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def container_id(self, service: str) -> str:
        return self.run("ps", "-q", service).strip()

    def down(self) -> None:
        self.run("down", "--volumes", "--timeout", "40")
