"""A Docker engine for the suite: the one already running, or one started here.

Where no engine answers, ``ensure_engine`` installs Debian's ``docker.io`` if ``dockerd`` is
missing (as root), starts ``dockerd`` in the background and waits for it to answer. The
engine started here is stopped by ``Engine.close`` at the end of the run; an engine that was
already running is left alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import DockerException

# testcontainers: the Ryuk reaper image cannot be pulled where no registry is reachable
# (the suite removes its containers itself, by label), and machines that carry Docker's
# container marker file would make testcontainers look for the engine at the wrong address.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

START_TIMEOUT = 60.0


@dataclass
class Engine:
    client: docker.DockerClient
    started_here: bool
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    startup_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the client; stop ``dockerd`` if this run started it."""
        self.client.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _answering(timeout: float = 5.0) -> docker.DockerClient | None:
    try:
        client = docker.from_env(timeout=int(max(timeout, 1)))
        client.ping()
        return client
    except DockerException:
        return None


def _install_docker_io() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "no Docker engine answers and dockerd is not installed: install Docker "
            "(Debian: apt-get install docker.io) or start your engine"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "docker.io"],
        check=True,
        env=env,
    )


def ensure_engine(log_dir: Path) -> Engine:
    """The engine to use; started here (and installed first if need be) when none answers."""
    client = _answering()
    if client is not None:
        return Engine(client=client, started_here=False)
    if shutil.which("dockerd") is None:
        _install_docker_io()
    if os.geteuid() != 0:
        raise RuntimeError("no Docker engine answers, and only root can start dockerd here")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "dockerd.log"
    began = time.monotonic()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            ["dockerd"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = began + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"dockerd exited with {process.returncode}; its log:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        client = _answering(timeout=2.0)
        if client is not None:
            return Engine(
                client=client,
                started_here=True,
                process=process,
                log_path=log_path,
                startup_seconds=time.monotonic() - began,
            )
        time.sleep(0.2)
    process.terminate()
    process.wait(30)
    raise RuntimeError(f"dockerd did not answer within {START_TIMEOUT:.0f} s; see {log_path}")
