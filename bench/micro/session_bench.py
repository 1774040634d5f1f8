"""Per-request cost of corral's hot path, without sockets: Session + HTTP core + WSGI adapter.

    python bench/micro/session_bench.py                 # every scenario, ns/request
    python bench/micro/session_bench.py -s keepalive -n 20000 -r 7
    valgrind --tool=callgrind python bench/micro/session_bench.py -s keepalive -n 2000 -r 1

Canned request bytes are fed to one :class:`corral.session.Session` the way the sync
worker feeds it (``receive``, then each response job iterated and ``finish``), with the
hello-world application of ``bench/apps.py``. Each run serves ``-n`` requests; the figure
reported is the minimum over ``-r`` runs (the least disturbed by other work on a shared
machine). Under callgrind, use ``--instructions`` figures of the whole process divided by
requests, or compare two commits with the same arguments: instruction counts do not depend
on the machine's load.

Scenarios:

* ``keepalive``: one wrk-like request per ``receive`` (``GET / HTTP/1.1`` + Host), as a
  keep-alive client that waits for each response;
* ``pipelined``: 16 such requests per ``receive``;
* ``browser``: one request per ``receive`` with nine typical browser fields;
* ``split``: the keepalive request delivered in two pieces (the head's slow path).
* ``unique``: like ``keepalive`` but every request has a target never seen before, so no
  memoised verdict or response head applies (real traffic; wrk repeats one request).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps import app
from corral.http import Limits
from corral.session import Session
from corral.wsgi import ConnInfo, WSGIRunner

WRK = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
BROWSER = (
    b"GET /index.html?q=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"Priority: u=0, i\r\n"
    b"\r\n"
)
PIPELINE = 16


class _Log:
    def debug(self, msg: str, *args: Any) -> None: ...
    def info(self, msg: str, *args: Any) -> None: ...
    def warning(self, msg: str, *args: Any) -> None: ...

    def error(self, msg: str, *args: Any) -> None:
        raise AssertionError(msg % args)

    def exception(self, msg: str, *args: Any) -> None:
        raise AssertionError(msg % args)


def _chunks(scenario: str) -> tuple[list[bytes], int]:
    """What one receive() cycle feeds, and how many requests it holds."""
    if scenario == "keepalive":
        return [WRK], 1
    if scenario == "pipelined":
        return [WRK * PIPELINE], PIPELINE
    if scenario == "browser":
        return [BROWSER], 1
    if scenario == "split":
        return [WRK[:20], WRK[20:]], 1
    raise SystemExit(f"unknown scenario {scenario!r}")


def serve(session: Session, chunks: list[bytes]) -> int:
    """Feed one cycle's bytes as the sync worker does; return the response bytes."""
    total = 0
    for data in chunks:
        step = session.receive(data)
        while True:
            total += len(step.send)
            job = step.job
            if job is None:
                break
            for item in job:
                total += len(item)  # type: ignore[arg-type]
            step = session.finish()
        assert not step.close
    return total


def run(scenario: str, requests: int) -> float:
    """Seconds per request for one run of ``requests`` requests."""
    log = _Log()
    runner = WSGIRunner(app, log)
    session = Session(runner, ConnInfo("127.0.0.1", 40000, "127.0.0.1", "8000"), Limits(), log)
    if scenario == "unique":
        fresh = [[WRK.replace(b"GET / ", b"GET /u%08d " % i, 1)] for i in range(requests + 1)]
        expect = serve(session, fresh[0])
        clock = time.perf_counter
        start = clock()
        for chunks in fresh[1:]:
            assert serve(session, chunks) == expect
        return (clock() - start) / requests
    chunks, per = _chunks(scenario)
    cycles = max(1, requests // per)
    expect = serve(session, chunks)  # warm up, and the response size to check against
    clock = time.perf_counter
    start = clock()
    for _ in range(cycles):
        serve(session, chunks)
    elapsed = clock() - start
    assert serve(session, chunks) == expect
    return elapsed / (cycles * per)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--scenario", action="append", help="repeatable; default all")
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("-r", "--runs", type=int, default=7)
    args = parser.parse_args()
    for scenario in args.scenario or ["keepalive", "pipelined", "browser", "split", "unique"]:
        best = min(run(scenario, args.requests) for _ in range(args.runs))
        print(f"{scenario:10s} {best * 1e9:8.0f} ns/request")


if __name__ == "__main__":
    main()
