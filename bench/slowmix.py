"""The slow-client mix: slowloris, slow-body and slow-read connections, plus probe GETs.

    python bench/slowmix.py HOST PORT [--loris 1000 --bodies 100 --readers 100 --seconds 8]

Prints one JSON object: probe latencies (a probe that is not answered within 5 s counts as
failed), and how many slow connections the server had closed by the end. Every loop here is
bounded in count and in time; it only ever connects to the address it is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import select
import socket
import time


def _open(host: str, port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=5)
        sock.setblocking(False)
        socks.append(sock)
    return socks


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def probe(host: str, port: int, path: str = "/", timeout: float = 5.0) -> float | None:
    """Seconds for one GET on a new connection, or None if it failed or timed out."""
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            got = b""
            while b"\r\n\r\n" not in got:
                piece = sock.recv(65536)
                if not piece:
                    break
                got += piece
            if not got.startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - start


def run(
    host: str, port: int, loris: int, bodies: int, readers: int, seconds: float, big_path: str
) -> dict[str, object]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lor = _open(host, port, loris)
    bod = _open(host, port, bodies)
    rdr = _open(host, port, readers)
    for sock in lor:
        sock.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for sock in bod:
        sock.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
    for sock in rdr:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.send(f"GET {big_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    latencies: list[float] = []
    failed = 0
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end and tick < 10_000:
        tick += 1
        # The slowloris clients trickle one header byte each per second.
        if tick % 10 == 0:
            for sock in lor:
                try:
                    sock.send(b"X")
                except OSError:
                    pass
        got = probe(host, port)
        if got is None:
            failed += 1
        else:
            latencies.append(got)
        time.sleep(0.1)
    # Readers read nothing; collect which connections the server closed.
    closed = {
        name: sum(_closed_by_peer(s) for s in group)
        for name, group in (("loris", lor), ("bodies", bod), ("readers", rdr))
    }
    for sock in lor + bod + rdr:
        sock.close()
    select.select([], [], [], 0)
    latencies.sort()
    return {
        "probes": len(latencies) + failed,
        "failed": failed,
        "max_s": latencies[-1] if latencies else None,
        "p99_s": latencies[int(len(latencies) * 0.99) - 1] if latencies else None,
        "closed": closed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--loris", type=int, default=1000)
    parser.add_argument("--bodies", type=int, default=100)
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--big-path", default="/download?mib=4")
    args = parser.parse_args()
    result = run(
        args.host, args.port, args.loris, args.bodies, args.readers, args.seconds, args.big_path
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
