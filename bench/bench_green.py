"""corral's gevent or eventlet worker against Gunicorn's, on loopback. Not a test.

    .venv/bin/python bench/bench_green.py --worker gevent|eventlet [--repeats 3] [--duration 10]

* hello: requests per second of a hello-world app, one worker, ``wrk -t1 -c50`` (keep-alive).
  The worker is pinned to CPU 0 and wrk to CPU 1 (``taskset``), so each has a core.
* idle: 10,000 idle keep-alive connections opened on one worker (each sends one request
  first), then the worker's RSS and the latency of one more request while they are held.

Runs are interleaved (corral, Gunicorn, corral, ...) and every round prints its ratio.
Gunicorn is installed, pinned (``GUNICORN``: one pin per worker), with the worker's library
in a throwaway virtual environment under the temporary folder; it is never a dependency of
this project. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# worker (its -k name and the library installed beside Gunicorn) -> the Gunicorn it meets.
GUNICORN = {
    "gevent": "gunicorn==27.0.1",
    "eventlet": "gunicorn==24.1.*",  # Gunicorn's last release with an eventlet worker
}

HELLO_APP = """
def app(environ, start_response):
    body = b"Hello, world!"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [body]
"""


def throwaway(worker: str) -> Path:
    return Path(tempfile.gettempdir()) / f"corral-bench-{worker}"


def gunicorn_python(worker: str) -> str:
    venv = throwaway(worker) / "gunicorn-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", GUNICORN[worker], worker, "packaging"],
            check=True,
        )
    return str(python)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(worker: str, server: str, port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    if server == "corral":
        cmd = [sys.executable, "-m", "corral", "-k", worker]
    else:
        cmd = [gunicorn_python(worker), "-m", "gunicorn", "-k", worker]
    cmd += ["-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning", *extra, "hello:app"]
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *cmd],
        cwd=throwaway(worker),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{server} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def worker_pid(master: int) -> int:
    text = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if not text:  # taskset exec'd the server, so the master is `master` itself
        raise RuntimeError("no worker")
    return int(text[0])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hello(worker: str, server: str, duration: int) -> float:
    port = free_port()
    proc = start(worker, server, port, ["--keep-alive", "30"])
    try:
        url = f"http://127.0.0.1:{port}/"
        subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", "-c50", "-d2s", url],
            capture_output=True,
            check=True,
        )  # warm-up
        out = subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", "-c50", f"-d{duration}s", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "Non-2xx" in out or "Socket errors" in out:
            print(out)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    finally:
        stop(proc)


def idle(worker: str, server: str, count: int) -> tuple[int, float, float]:
    """(connections held, worker RSS MiB, ms for one more request while they are held)."""
    port = free_port()
    proc = start(
        worker,
        server,
        port,
        ["--keep-alive", "120", "--worker-connections", str(count + 100), "--backlog", "4096"],
    )
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    try:
        request = b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"
        for _ in range(count):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        waiting = count
        answered = 0
        deadline = time.monotonic() + 120
        while waiting and time.monotonic() < deadline:
            for key, mask in sel.select(1.0):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                if mask & selectors.EVENT_WRITE:
                    try:
                        s.send(request)
                    except OSError:
                        sel.unregister(s)
                        waiting -= 1
                        continue
                    sel.modify(s, selectors.EVENT_READ)
                else:
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if data.startswith(b"HTTP/1.1 200"):
                        answered += 1
                    sel.unregister(s)
                    waiting -= 1
        time.sleep(1)
        rss = rss_mib(worker_pid(proc.pid))
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            s.recv(100)
        latency = (time.perf_counter() - started) * 1000
        # Still open? A closed one reads EOF at once.
        held = 0
        for s in socks:
            try:
                held += s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
            except BlockingIOError:
                held += 1
            except OSError:
                pass
        return min(held, answered), rss, latency
    finally:
        for s in socks:
            s.close()
        sel.close()
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(GUNICORN), required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--idle", type=int, default=10_000)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it
    worker = args.worker
    throwaway(worker).mkdir(exist_ok=True)
    (throwaway(worker) / "hello.py").write_text(HELLO_APP)
    gunicorn_python(worker)
    print(f"{worker}: corral vs {GUNICORN[worker]}, 1 worker, {os.cpu_count()} CPUs")
    ratios = []
    for n in range(args.repeats):
        ours = hello(worker, "corral", args.duration)
        theirs = hello(worker, "gunicorn", args.duration)
        ratios.append(ours / theirs)
        print(
            f"  hello round {n + 1}: corral {ours:8.0f} req/s   gunicorn {theirs:8.0f} req/s"
            f"   ratio {ours / theirs:.2f}x",
            flush=True,
        )
    print(f"  hello median ratio: {statistics.median(ratios):.2f}x")
    for n in range(max(1, args.repeats - 1)):
        for server in ("corral", "gunicorn"):
            held, rss, latency = idle(worker, server, args.idle)
            print(
                f"  idle round {n + 1}: {server:8s} held {held:6d}/{args.idle}"
                f"   worker RSS {rss:6.1f} MiB   one more request {latency:7.1f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
