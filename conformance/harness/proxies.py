"""nginx, HAProxy and stunnel in containers, configured with the files published in deploy/.

A deploy file is used as users copy it; ``render`` only replaces the addresses and ports it
is told to, and fails if one of them is no longer in the file (so the recipes and the suite
cannot drift apart silently).
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import trustme
from corral_testing import Response, read_response
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from .images import LABEL

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "corral.conf"
NGINX_ASYNC_CONF = DEPLOY / "nginx" / "corral-async.conf"
HAPROXY_CFG = DEPLOY / "haproxy" / "haproxy.cfg"
STUNNEL_CONF = DEPLOY / "stunnel" / "corral.conf"

# The addresses the recipes are written with, which the suite replaces.
NGINX_UPSTREAM = "127.0.0.1:8000"
# corral-async.conf's socket is not replaced: the suite mounts corral's socket folder at
# this path, and checks that the file still names it.
NGINX_ASYNC_SOCKET_DIR = "/run/corral"
NGINX_ASYNC_UPSTREAM = f"unix:{NGINX_ASYNC_SOCKET_DIR}/corral.sock"
HAPROXY_SERVER_1 = "127.0.0.1:8000"
HAPROXY_SERVER_2 = "127.0.0.1:8001"
HAPROXY_PROXY_SERVER = "127.0.0.1:8100"
HAPROXY_LOG_TARGET = "log /dev/log local0"
STUNNEL_CONNECT = "connect = 127.0.0.1:8000"
# Debian's www-data group (a fixed id in base-passwd): nginx's workers run as www-data.
WWW_DATA_GID = 33
# How many containers to try when Docker loses the race for a published host port.
PORT_RACE_ATTEMPTS = 5

# Ports the recipes listen on inside the container.
HAPROXY_PP_PORTS = {"v1": 8101, "v2": 8102, "v2-unique-id": 8103, "v2-crc32c": 8104}
HAPROXY_PP_SSL_PORT = 8443

RUN_ID = uuid.uuid4().hex[:12]
RUN_LABELS = {LABEL: "1", f"{LABEL}.run": RUN_ID}


def render(path: Path, replacements: dict[str, str]) -> str:
    text = path.read_text()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{path.relative_to(ROOT)} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


@dataclass
class Tls:
    """A throw-away CA and a certificate for ``localhost`` (what clients connect to)."""

    folder: Path
    ca: trustme.CA = field(default_factory=trustme.CA)

    def __post_init__(self) -> None:
        cert = self.ca.issue_cert("localhost", "127.0.0.1")
        self.crt = self.folder / "corral.crt"
        self.key = self.folder / "corral.key"
        self.pem = self.folder / "corral.pem"  # chain then key, for HAProxy and stunnel
        cert.cert_chain_pems[0].write_to_path(str(self.crt))
        cert.private_key_pem.write_to_path(str(self.key))
        self.pem.write_bytes(cert.cert_chain_pems[0].bytes() + cert.private_key_pem.bytes())
        for path in (self.crt, self.key, self.pem):
            path.chmod(0o600)

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


@dataclass
class Proxy:
    kind: str
    container: DockerContainer
    network: str

    @property
    def host(self) -> str:
        return self.container.get_container_host_ip()

    def port(self, inside: int) -> int:
        return int(self.container.get_exposed_port(inside))

    @property
    def ip(self) -> str:
        """The container's address on the suite's network (what corral sees it as)."""
        attrs = self.container.get_wrapped_container().attrs
        return str(attrs["NetworkSettings"]["Networks"][self.network]["IPAddress"])

    def logs(self, limit: int = 6000) -> str:
        out, err = self.container.get_logs()
        text = (out + err).decode("utf-8", "replace")
        return text[-limit:]

    def exec(self, *argv: str) -> tuple[int, str]:
        result = self.container.exec(list(argv))
        code = -1 if result.exit_code is None else result.exit_code
        return code, result.output.decode("utf-8", "replace")

    def stop(self) -> None:
        self.container.stop()


class Stack:
    """The image, network and TLS material shared by a run; starts proxy containers."""

    def __init__(self, client: docker.DockerClient, image: str, folder: Path) -> None:
        self.client = client
        self.image = image
        self.folder = folder
        self.tls = Tls(folder)
        self.network = Network(docker_network_kw={"labels": dict(RUN_LABELS)})
        self.network.create()
        net = client.networks.get(self.network.name)
        config = net.attrs["IPAM"]["Config"][0]
        # Where containers reach the host: corral binds this address.
        self.gateway: str = config["Gateway"]
        self.subnet: str = config["Subnet"]

    def close(self) -> None:
        self.network.remove()

    def _files(self, files: dict[str, str | Path]) -> list[tuple[str, str]]:
        folder = Path(tempfile.mkdtemp(prefix="proxy-", dir=self.folder))
        mounts = []
        for inside, content in files.items():
            if isinstance(content, Path):
                mounts.append((str(content), inside))
                continue
            host = folder / inside.strip("/").replace("/", "_")
            host.write_text(content)
            mounts.append((str(host), inside))
        return mounts

    def start(
        self,
        kind: str,
        command: list[str],
        files: dict[str, str | Path],
        ports: list[int],
        folders: dict[str, Path] | None = None,
    ) -> Proxy:
        """Start a proxies-image container: ``files`` mounted read-only (text or a host
        file), ``folders`` (inside -> host folder) read-only, ``ports`` published."""
        mounts = self._files(files)
        mounts += [(str(host), inside) for inside, host in (folders or {}).items()]
        for attempt in range(PORT_RACE_ATTEMPTS):
            container = DockerContainer(self.image, labels=dict(RUN_LABELS))
            container.with_command(command)
            container.with_network(self.network)
            for host, inside in mounts:
                container.with_volume_mapping(host, inside, "ro")
            if ports:
                container.with_exposed_ports(*ports)
            try:
                container.start()
                break
            except docker.errors.APIError as error:
                # Docker picks a free host port for each published one, then binds it; a
                # client of this same run (the load loops open thousands of connections)
                # can take that port in between. A fresh container gets a fresh port.
                container.stop()
                if "address already in use" not in str(error):
                    raise
                if attempt == PORT_RACE_ATTEMPTS - 1:
                    raise
        proxy = Proxy(kind, container, self.network.name)
        proxy.container.get_wrapped_container().reload()
        return proxy

    # ------------------------------------------------------------------ recipes

    def _nginx_files(self, conf: str, name: str) -> dict[str, str | Path]:
        return {
            f"/etc/nginx/conf.d/{name}": conf,
            "/etc/nginx/tls/corral.crt": self.tls.crt,
            "/etc/nginx/tls/corral.key": self.tls.key,
        }

    def nginx(self, upstream: str) -> Proxy:
        """deploy/nginx/corral.conf (buffered) in front of corral at ``upstream``."""
        conf = render(NGINX_CONF, {NGINX_UPSTREAM: upstream})
        files = self._nginx_files(conf, "corral.conf")
        proxy = self.start("nginx", ["nginx", "-g", "daemon off;"], files, [80, 443])
        wait_ready(proxy, 80)
        return proxy

    def nginx_async(self, socket_dir: Path) -> Proxy:
        """deploy/nginx/corral-async.conf (unbuffered) in front of corral listening on
        ``socket_dir``/corral.sock, a folder mounted where the recipe expects it."""
        conf = render(NGINX_ASYNC_CONF, {NGINX_ASYNC_UPSTREAM: NGINX_ASYNC_UPSTREAM})
        files = self._nginx_files(conf, "corral-async.conf")
        proxy = self.start(
            "nginx-async",
            ["nginx", "-g", "daemon off;"],
            files,
            [80, 443],
            folders={NGINX_ASYNC_SOCKET_DIR: socket_dir},
        )
        wait_ready(proxy, 80)
        return proxy

    def haproxy(
        self,
        server1: str,
        server2: str | None = None,
        proxy_server: str | None = None,
        wait: bool = True,
    ) -> Proxy:
        # An address where nothing listens stands in for a server a scenario does not use:
        # HAProxy marks it down and never sends it traffic.
        unused = f"{self.gateway}:1"
        cfg = render(
            HAPROXY_CFG,
            {
                HAPROXY_LOG_TARGET: "log stdout format raw local0",
                HAPROXY_SERVER_1: server1,
                HAPROXY_SERVER_2: server2 or unused,
                HAPROXY_PROXY_SERVER: proxy_server or unused,
            },
        )
        proxy = self.start(
            "haproxy",
            ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"],
            {"/etc/haproxy/haproxy.cfg": cfg, "/etc/haproxy/certs/corral.pem": self.tls.pem},
            [80, *HAPROXY_PP_PORTS.values(), HAPROXY_PP_SSL_PORT],
        )
        if wait:
            wait_ready(proxy, 80)
        return proxy

    def stunnel(self, upstream: str) -> Proxy:
        conf = render(STUNNEL_CONF, {STUNNEL_CONNECT: f"connect = {upstream}"})
        return self.start(
            "stunnel",
            ["stunnel4", "/etc/stunnel/corral.conf"],
            {"/etc/stunnel/corral.conf": conf, "/etc/stunnel/corral.pem": self.tls.pem},
            [443],
        )

    def client_container(self) -> Proxy:
        """A container to send requests from (curl), so corral sees another address."""
        return self.start("client", ["sleep", "infinity"], {}, [])

    def idle(self, files: dict[str, str | Path]) -> Proxy:
        """A container that only holds ``files``, to run a program's check in (exec)."""
        return self.start("check", ["sleep", "infinity"], files, [])


class Proxies:
    """The proxy containers of one test; ``close`` stops them all."""

    def __init__(self, stack: Stack, on_start: Callable[[Proxy], None]) -> None:
        self.stack = stack
        self.on_start = on_start
        self.started: list[Proxy] = []

    def _keep(self, proxy: Proxy) -> Proxy:
        self.started.append(proxy)
        self.on_start(proxy)
        return proxy

    def nginx(self, upstream: str) -> Proxy:
        return self._keep(self.stack.nginx(upstream))

    def nginx_async(self, socket_dir: Path) -> Proxy:
        return self._keep(self.stack.nginx_async(socket_dir))

    def haproxy(
        self,
        server1: str,
        server2: str | None = None,
        proxy_server: str | None = None,
        wait: bool = True,
    ) -> Proxy:
        return self._keep(self.stack.haproxy(server1, server2, proxy_server, wait))

    def stunnel(self, upstream: str) -> Proxy:
        return self._keep(self.stack.stunnel(upstream))

    def client(self) -> Proxy:
        return self._keep(self.stack.client_container())

    def idle(self, files: dict[str, str | Path]) -> Proxy:
        return self._keep(self.stack.idle(files))

    def close(self) -> None:
        for proxy in self.started:
            try:
                proxy.stop()
            except Exception:
                pass


def socket_folder(parent: Path, group: int = WWW_DATA_GID) -> Path:
    """A folder for corral's unix socket as docs/deploy/nginx.md sets it up: owned by
    nginx's group, setgid (so the socket corral creates there belongs to that group too),
    closed to others. corral then binds with --umask 007."""
    folder = Path(tempfile.mkdtemp(prefix="corral-sock-", dir=parent))
    os.chown(folder, -1, group)
    folder.chmod(0o2750)
    return folder


def raw_request(
    host: str,
    port: int,
    raw: bytes,
    timeout: float = 10.0,
    tls: ssl.SSLContext | None = None,
) -> Response:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        if tls is not None:
            with tls.wrap_socket(sock, server_hostname="localhost") as wrapped:
                wrapped.sendall(raw)
                return read_response(wrapped)
        sock.sendall(raw)
        return read_response(sock)


def get(host: str, port: int, path: str, timeout: float = 10.0, **kw: object) -> Response:
    raw = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    return raw_request(host, port, raw, timeout, **kw)  # type: ignore[arg-type]


def wait_ready(proxy: Proxy, inside_port: int, path: str = "/healthz", timeout: float = 30) -> None:
    """Wait until a request through the proxy is answered 200 (the whole chain is up)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            resp = get(proxy.host, proxy.port(inside_port), path, timeout=3)
            if resp.status == 200:
                return
            last = f"{resp.status} {resp.body[:200]!r}"
        except (OSError, ConnectionError, ValueError) as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(
        f"{proxy.kind} not answering 200 on {path} after {timeout}s (last: {last})\n" + proxy.logs()
    )


def remove_run_containers(client: docker.DockerClient, every_run: bool = False) -> int:
    """Remove the suite's containers: this run's, or (``every_run``) any left by old runs."""
    label = f"{LABEL}=1" if every_run else f"{LABEL}.run={RUN_ID}"
    removed = 0
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)
        removed += 1
    if every_run:
        for network in client.networks.list(filters={"label": f"{LABEL}=1"}):
            try:
                network.remove()
            except docker.errors.APIError:
                pass
    return removed
