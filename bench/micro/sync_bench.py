"""Per-request cost of the sync worker's loop around the Session, with a fake socket.

    python bench/micro/sync_bench.py -n 20000 -r 7
    python bench/micro/instructions.py --script sync_bench.py -s keepalive

One :class:`corral.workers.sync.SyncWorker` connection is driven the way ``_loop`` does
when epoll reports it readable: ``_on_readable`` receives a keep-alive request (or 16
pipelined ones) from a fake socket whose ``send`` takes everything. So this measures
``session_bench.py``'s work plus the worker's own bookkeeping (driving the response job,
output batching, deadlines), and no system call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from apps import app
from corral.heartbeat import Heartbeat, HeartbeatTable
from corral.http import Limits
from corral.session import Session
from corral.workers.sync import _IN, SyncWorker, _Client
from corral.wsgi import ConnInfo, WSGIRunner
from session_bench import PIPELINE, WRK, _Log


class _Sock:
    """A connected socket that always has ``data`` to read and takes whatever is sent."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent = 0

    def recv(self, size: int) -> bytes:
        return self.data

    def send(self, data: Any) -> int:
        self.sent += len(data)
        return len(data)

    def sendmsg(self, buffers: list[Any]) -> int:
        size = sum(len(b) for b in buffers)
        self.sent += size
        return size


def _worker() -> SyncWorker:
    worker = SyncWorker.__new__(SyncWorker)  # no arbiter context: only what the loop reads
    log = _Log()
    worker.log = log  # type: ignore[assignment]
    worker.alive = True
    worker.nr = 0
    worker.max_requests = sys.maxsize
    worker.keepalive = 2.0
    worker.header_timeout = 10.0
    worker.body_timeout = 30.0
    worker.send_timeout = 30.0
    worker.runner = WSGIRunner(app, log)
    worker.limits = Limits()
    table = HeartbeatTable(1)  # the real heartbeat: each request beats once
    heartbeat = Heartbeat(table, table.allocate())
    worker.ctx = SimpleNamespace(heartbeat=heartbeat)  # type: ignore[assignment]
    worker._beat = heartbeat.beat
    return worker


def run(scenario: str, requests: int) -> float:
    worker = _worker()
    per = PIPELINE if scenario == "pipelined" else 1
    sock = _Sock(WRK * per)
    assert worker.runner is not None
    info = ConnInfo("127.0.0.1", 40000, "127.0.0.1", "8000")
    session = Session(worker.runner, info, worker.limits, worker.log)
    client = _Client(sock, 99, session, 0.0, None)  # type: ignore[arg-type]
    client.mask = _IN
    on_readable = worker._on_readable
    on_readable(client, 0.0)
    expect = sock.sent
    cycles = max(1, requests // per)
    clock = time.perf_counter
    start = clock()
    for _ in range(cycles):
        on_readable(client, 0.0)
    elapsed = clock() - start
    assert sock.sent == expect * (cycles + 1) and not client.closing
    return elapsed / (cycles * per)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--scenario", action="append", help="keepalive, pipelined")
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("-r", "--runs", type=int, default=7)
    args = parser.parse_args()
    for scenario in args.scenario or ["keepalive", "pipelined"]:
        best = min(run(scenario, args.requests) for _ in range(args.runs))
        print(f"{scenario:10s} {best * 1e9:8.0f} ns/request")


if __name__ == "__main__":
    main()
