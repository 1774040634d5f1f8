"""deploy/docker/: the image built from this repository, run and stopped; compose.yaml.

The image is built once per run (fixture ``corral_image``: FROM python:3.11-slim, or where
no registry is reachable FROM Debian's Python on the suite's bootstrapped base). Each cell
runs it with one worker class, its root file system read-only (as the Kubernetes recipe
runs it), and talks to it through the port Docker publishes on loopback.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import docker
import pytest
from harness.compose import ComposeProject
from harness.images import CorralImage
from harness.matrix import Figure
from harness.proxies import RUN_LABELS, Stack, get
from testcontainers.core.container import DockerContainer

PORT = 8000
IMAGE_USER = 10001  # the Dockerfile's USER
HEALTHY_WITHIN = 60.0  # the HEALTHCHECK runs every 10 s: a bound, not a claim
STOP_WITHIN = 20.0  # well under --graceful-timeout (30 s): nothing held the stop up
DOCKER_STOP_TIMEOUT = 40  # above --graceful-timeout: docker must not need its KILL


RunImage = Callable[[str], DockerContainer]


@pytest.fixture
def run_image(corral_image: CorralImage) -> Iterator[RunImage]:
    """Run the image with one worker class; the containers are stopped after the test."""
    started: list[DockerContainer] = []

    def run(worker: str) -> DockerContainer:
        container = DockerContainer(corral_image.tag, labels=dict(RUN_LABELS))
        container.with_command(["-k", worker, "-w", "2", "corral.demo:app"])
        container.with_exposed_ports(PORT)
        container.with_kwargs(read_only=True)
        container.start()
        started.append(container)
        wait_serving(container)
        return container

    yield run
    for container in started:
        try:
            container.stop()
        except Exception:
            pass


def wrapped(container: DockerContainer) -> docker.models.containers.Container:
    inner = container.get_wrapped_container()
    inner.reload()
    return inner


def logs(container: DockerContainer) -> str:
    return wrapped(container).logs().decode("utf-8", "replace")


def address(container: DockerContainer) -> tuple[str, int]:
    return container.get_container_host_ip(), int(container.get_exposed_port(PORT))


def wait_serving(container: DockerContainer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if wrapped(container).status == "exited":
            raise AssertionError(f"the container exited:\n{logs(container)[-3000:]}")
        try:
            resp = get(*address(container), "/", timeout=3)
            if resp.status == 200:
                return
            last = resp.status
        except (OSError, ConnectionError, ValueError) as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"not serving after {timeout} s ({last}):\n{logs(container)[-3000:]}")


def exec_in(container: DockerContainer, *argv: str, env: dict[str, str] | None = None) -> str:
    code, out = wrapped(container).exec_run(list(argv), environment=env)
    text = out.decode("utf-8", "replace")
    assert code == 0, f"{argv}: exit {code}: {text}"
    return text


@pytest.mark.cell("11 docker image: serves, non-root, healthy", proxy="none")
def test_image_serves_the_demo_as_a_non_root_user_and_becomes_healthy(
    worker: str, run_image: RunImage, figure: Figure
) -> None:
    container = run_image(worker)
    resp = get(*address(container), "/", timeout=10)
    assert resp.status == 200 and b"corral is serving" in resp.body, resp

    # Every process of the container (master and workers) runs as the image's user.
    uids = exec_in(
        container, "sh", "-c", "for s in /proc/[0-9]*/status; do grep -m1 '^Uid:' $s; done"
    ).split()
    real_uids = {int(uids[i + 1]) for i, word in enumerate(uids) if word == "Uid:"}
    master_uid = exec_in(container, "sh", "-c", "grep -m1 '^Uid:' /proc/1/status").split()[1]
    assert int(master_uid) == IMAGE_USER
    assert real_uids == {IMAGE_USER}, uids

    began = time.monotonic()
    status = ""
    while time.monotonic() - began < HEALTHY_WITHIN:
        health = wrapped(container).attrs["State"].get("Health") or {}
        status = health.get("Status", "")
        if status == "healthy":
            break
        assert status in ("starting", ""), health
        time.sleep(0.5)
    figure.set(f"uid {IMAGE_USER}; {status} after {time.monotonic() - began:.1f} s", health=status)
    assert status == "healthy", wrapped(container).attrs["State"]
    log = health["Log"][-1]
    assert log["ExitCode"] == 0 and "GET /: 200" in log["Output"], log


@pytest.mark.cell("11 docker image: health check fails without an answer", proxy="none")
@pytest.mark.workers("sync")
def test_health_check_reports_a_port_nobody_answers_on(
    worker: str, run_image: RunImage, figure: Figure
) -> None:
    """The HEALTHCHECK command itself: healthy for any answer below 500 (a 404 counts:
    the application answered), unhealthy when corral does not answer."""
    container = run_image(worker)
    check = ["python3", "/opt/corral/healthcheck.py"]
    answered = exec_in(container, *check, env={"CORRAL_HEALTHCHECK_PATH": "/missing"})
    assert "GET /missing: 404" in answered
    code, out = wrapped(container).exec_run(check, environment={"PORT": "1"})
    figure.set(f"404 path: exit 0; closed port: exit {code}")
    assert code == 1, out
    assert b"unhealthy: ConnectionRefusedError" in out, out


def _stream_lines(host: str, port: int, out: list[bytes], first: threading.Event) -> None:
    raw = b"GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with socket.create_connection((host, port), timeout=20) as sock:
        sock.sendall(raw)
        data = b""
        while b"line 0 " not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        first.set()
        rest = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
    out.append(data + rest)


@pytest.mark.cell("11 docker image: docker stop is graceful", proxy="none")
def test_docker_stop_lets_a_request_in_flight_finish_and_exits_zero(
    worker: str, run_image: RunImage, figure: Figure
) -> None:
    """STOPSIGNAL is TERM, corral's graceful stop: a streamed response that started before
    `docker stop` is delivered whole, corral logs its graceful stop and exits 0 long
    before docker's own timeout would KILL it."""
    container = run_image(worker)
    inner = wrapped(container)
    assert inner.attrs["Config"]["StopSignal"] == "SIGTERM"
    received: list[bytes] = []
    first = threading.Event()
    reader = threading.Thread(target=_stream_lines, args=(*address(container), received, first))
    reader.start()
    assert first.wait(20), logs(container)[-2000:]
    began = time.monotonic()
    inner.stop(timeout=DOCKER_STOP_TIMEOUT)
    took = time.monotonic() - began
    reader.join(30)
    inner.reload()
    state = inner.attrs["State"]
    log = logs(container)
    figure.set(f"exit {state['ExitCode']} after {took:.1f} s", seconds=round(took, 1))
    assert received, "the streamed response never completed"
    body = received[0].split(b"\r\n\r\n", 1)[1]
    assert all(f"line {i} ".encode() in body for i in range(10)), body
    assert "Handling signal: term (graceful stop)" in log, log[-3000:]
    assert "Shutting down: Master" in log, log[-3000:]
    assert state["ExitCode"] == 0 and not state["OOMKilled"], state
    assert took < STOP_WITHIN, f"stop took {took:.1f} s"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _page_value(page: bytes, key: str) -> str:
    match = re.search(rf"<th>{re.escape(key)}</th><td>([^<]*)</td>".encode(), page)
    assert match, page[:2000]
    return match.group(1).decode()


@pytest.mark.cell("11 docker compose: nginx in front, unix socket", proxy="nginx")
@pytest.mark.workers("gevent")
def test_compose_file_serves_through_nginx_and_stops_gracefully(
    worker: str,
    corral_image: CorralImage,
    stack: Stack,
    figure: Figure,
) -> None:
    """compose.yaml as it is, with this run's images: nginx (corral-async.conf) starts
    once corral is healthy and serves the demo over the shared socket, over HTTP and
    HTTPS (the scheme reaches the application); `stop` is graceful."""
    http_port, https_port = _free_port(), _free_port()
    project = ComposeProject(
        {
            **os.environ,
            "CORRAL_BASE": corral_image.base,
            "CORRAL_IMAGE": corral_image.tag,
            "NGINX_IMAGE": stack.image,
            "CORRAL_TLS_DIR": str(stack.tls.folder),
            "CORRAL_HTTP_PORT": str(http_port),
            "CORRAL_HTTPS_PORT": str(https_port),
        }
    )
    client = docker.from_env(timeout=120)
    try:
        project.run("up", "-d", "--no-build")
        deadline = time.monotonic() + 60
        resp = None
        while time.monotonic() < deadline:
            try:
                resp = get("127.0.0.1", http_port, "/", timeout=3)
                if resp.status == 200:
                    break
            except (OSError, ConnectionError, ValueError):
                pass
            time.sleep(0.3)
        assert resp is not None and resp.status == 200, project.run("logs")
        secure = get("127.0.0.1", https_port, "/", tls=stack.tls.client_context())
        assert secure.status == 200
        corral = client.containers.get(project.container_id("corral"))
        assert corral.attrs["State"]["Health"]["Status"] == "healthy"
        assert _page_value(resp.body, "wsgi.url_scheme") == "http"
        assert _page_value(secure.body, "wsgi.url_scheme") == "https"
        began = time.monotonic()
        project.run("stop", "corral")
        took = time.monotonic() - began
        corral.reload()
        log = corral.logs().decode("utf-8", "replace")
        figure.set(
            f"http+https through nginx; corral healthy; stop: exit "
            f"{corral.attrs['State']['ExitCode']} in {took:.1f} s"
        )
        assert "Listening at: unix:/run/corral/corral.sock" in log, log[-2000:]
        assert "Using worker: gevent" in log, log[-2000:]
        assert "Handling signal: term (graceful stop)" in log, log[-2000:]
        assert corral.attrs["State"]["ExitCode"] == 0, corral.attrs["State"]
        assert took < STOP_WITHIN
    finally:
        project.down()
        client.close()
