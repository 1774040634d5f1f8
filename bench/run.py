"""corral against Gunicorn on loopback: throughput, latency, memory, slow clients.

    nox -s bench                                   # the whole run (installs what it needs)
    python bench/run.py --classes sync,gthread --duration 5 --repeats 3

Each measurement starts a fresh server with one worker pinned to CPU 0 (``taskset``) and
runs ``wrk`` pinned to CPU 1, so the server's loop has one core to itself. Servers are
interleaved (corral, Gunicorn, corral, ... for each repeat) so drift on a shared machine hits
both alike; the table shows medians. Worker classes are any that both servers have installed
(corral's ``corral.workers`` entry points; Gunicorn's built-ins and gevent/eventlet when
importable). Nothing here is a pass/fail test. Every load loop is bounded by ``wrk -d``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib.metadata import entry_points, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOGDIR = HERE / "results"
SERVER_CPU = "0"
CLIENT_CPU = "1"

# name -> (path, wrk lua script or None)
SCENARIOS = {
    "hello": ("/", None),
    "10 KB": ("/10k", None),
    "1 MB stream": ("/stream", None),
    "1 MB upload": ("/upload", "upload.lua"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def nfds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    """One server process: corral, gunicorn, or a bare loop."""

    def __init__(
        self,
        kind: str,
        wclass: str,
        threads: int,
        workers: int = 1,
        extra: tuple[str, ...] = (),
        pin: bool = True,
    ) -> None:
        self.kind = kind
        self.port = free_port()
        bind = f"127.0.0.1:{self.port}"
        py = sys.executable
        if kind == "corral":
            cmd = [py, "-m", "corral", "-b", bind, "-w", str(workers), "-k", wclass]
            cmd += ["--threads", str(threads), "--log-level", "warning", "--backlog", "4096"]
        elif kind == "gunicorn":
            cmd = [py, "-m", "gunicorn", "-b", bind, "-w", str(workers), "-k", wclass]
            cmd += ["--threads", str(threads), "--log-level", "warning", "--backlog", "4096"]
        else:  # bare-canned / bare-wsgi
            cmd = [py, str(HERE / "bareloop.py"), str(self.port), kind.split("-", 1)[1]]
        cmd += list(extra)
        if kind in ("corral", "gunicorn"):
            cmd.append("apps:app")
        if pin:
            cmd = ["taskset", "-c", SERVER_CPU, *cmd]
        LOGDIR.mkdir(parents=True, exist_ok=True)
        self.log = open(LOGDIR / "servers.log", "ab")  # noqa: SIM115 - closed in stop()
        self.log.write(f"--- {' '.join(cmd)}\n".encode())
        self.log.flush()
        self.proc = subprocess.Popen(cmd, cwd=HERE, stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)
        self.workers = workers

    def worker_pids(self) -> list[int]:
        if self.kind.startswith("bare"):
            return [self.proc.pid]
        end = time.monotonic() + 10
        while time.monotonic() < end:
            pids = children(self.proc.pid)
            if len(pids) >= self.workers:
                return pids
            time.sleep(0.05)
        return children(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(port: int, path: str, conns: int, seconds: float, script: str | None) -> dict[str, float]:
    cmd = [
        "taskset",
        "-c",
        CLIENT_CPU,
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    if script:
        cmd += ["-s", str(HERE / script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"),
        "errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def gunicorn_classes() -> set[str]:
    names = {"sync", "gthread"}
    for mod in ("gevent", "eventlet", "tornado"):
        if importlib.util.find_spec(mod) is not None:
            names.add(mod)
    return names


def corral_classes() -> set[str]:
    return {ep.name for ep in entry_points(group="corral.workers")}


class Sampler:
    """Peak RSS of some processes, sampled every 20 ms in a thread (bounded by stop())."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, max(rss_kib(p) for p in self.pids))
            except (FileNotFoundError, ValueError):
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(2)
        return self.peak


def measure_load(
    kind: str, wclass: str, threads: int, scenario: str, conns: int, seconds: float
) -> dict[str, float]:
    path, script = SCENARIOS[scenario]
    server = Server(kind, wclass, threads)
    try:
        pids = server.worker_pids()
        wrk(server.port, path, conns, 1.0, script)  # warm-up
        result = wrk(server.port, path, conns, seconds, script)
        alive = [p for p in pids if Path(f"/proc/{p}").exists()]
        result["rss_kib"] = max((rss_kib(p) for p in alive), default=float("nan"))
        result["workers_lost"] = len(pids) - len(alive)
        return result
    finally:
        server.stop()


def idle_rss(kind: str, wclass: str, threads: int) -> dict[str, float]:
    server = Server(kind, wclass, threads)
    try:
        pids = server.worker_pids()
        # One request so the application and the request path are loaded.
        wrk(server.port, "/", 1, 1.0, None)
        return {"rss_kib": max(rss_kib(p) for p in pids)}
    finally:
        server.stop()


def big_transfer(kind: str, wclass: str, threads: int, mib: int) -> dict[str, int]:
    """Worker RSS before and at its peak during a ``mib`` MiB upload, then download."""
    server = Server(kind, wclass, threads, extra=("--timeout", "120"))
    try:
        pids = server.worker_pids()
        base = max(rss_kib(p) for p in pids)
        out = {"base_kib": base}
        sampler = Sampler(pids)
        block = b"u" * (1 << 20)
        with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
            sock.sendall(
                b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (mib << 20)
            )
            for _ in range(mib):
                sock.sendall(block)
            reply = sock.recv(65536)
        out["upload_peak_kib"] = sampler.stop()
        out["upload_ok"] = int(str(mib << 20).encode() in reply)
        sampler = Sampler(pids)
        got = 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
            sock.sendall(b"GET /download?mib=%d HTTP/1.1\r\nHost: x\r\n\r\n" % mib)
            want = (mib << 20) + 1  # and the head: stop once the body is in
            while got < want:
                piece = sock.recv(1 << 20)
                if not piece:
                    break
                got += len(piece)
        out["download_peak_kib"] = sampler.stop()
        out["download_ok"] = int(got > (mib << 20))
        return out
    finally:
        server.stop()


def slow_mix(kind: str, wclass: str, threads: int, seconds: float) -> dict[str, object]:
    extra: tuple[str, ...] = ()
    if kind == "corral":
        extra = ("--header-timeout", "3", "--body-timeout", "3", "--send-timeout", "3",
                 "--keep-alive", "3", "--worker-connections", "2000")  # fmt: skip
    else:
        extra = ("--keep-alive", "3", "--worker-connections", "2000")
    server = Server(kind, wclass, threads, workers=2, extra=extra)
    try:
        pids = server.worker_pids()
        wrk(server.port, "/", 2, 1, None)
        before = {p: (rss_kib(p), nfds(p)) for p in pids}
        cmd = ["taskset", "-c", CLIENT_CPU, sys.executable, str(HERE / "slowmix.py"),
               "127.0.0.1", str(server.port), "--seconds", str(seconds)]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        result: dict[str, object] = json.loads(res.stdout)
        time.sleep(4.0)  # past every deadline: what the slow clients held must be back
        live = [p for p in pids if Path(f"/proc/{p}").exists()]
        result["workers_replaced"] = len(pids) - len(live)
        result["rss_before_kib"] = sum(before[p][0] for p in live)
        result["rss_after_kib"] = sum(rss_kib(p) for p in live)
        result["fds_before"] = sum(before[p][1] for p in live)
        result["fds_after"] = sum(nfds(p) for p in live)
        return result
    finally:
        server.stop()


def fmt_k(x: float) -> str:
    return f"{x / 1000:.1f}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="", help="comma list (default: all on both)")
    parser.add_argument("--threads", type=int, default=4, help="for gthread (both servers)")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--skip", default="", help="comma list of: ceiling,p99,memory,big,slow")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    common = corral_classes() & gunicorn_classes()
    classes = [c for c in args.classes.split(",") if c] or sorted(common)
    scenarios = [s for s in args.scenarios.split(",") if s]
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    print(f"corral {version('corral')} vs gunicorn {version('gunicorn')}; classes {classes}; "
          f"{args.repeats} x {args.duration}s, {args.conns} connections", flush=True)  # fmt: skip

    runs: dict[str, list[dict[str, float]]] = {}

    def record(key: str, measure: Callable[..., dict[str, float]], *margs: object) -> None:
        try:
            value = measure(*margs)
        except Exception as exc:  # one failed measurement must not lose the others
            print(f"  {key}: FAILED {exc!r}", flush=True)
            return
        runs.setdefault(key, []).append(value)
        print(f"  {key}: {value}", flush=True)
        (outdir / "partial.json").write_text(json.dumps(runs))

    for rep in range(args.repeats):
        print(f"repeat {rep + 1}/{args.repeats}", flush=True)
        if "ceiling" not in skip:
            for bare in ("bare-canned", "bare-wsgi"):
                record(
                    f"{bare}|hello",
                    measure_load,
                    bare,
                    "",
                    1,
                    "hello",
                    args.conns,
                    args.duration,
                )
        for wclass in classes:
            threads = args.threads if wclass == "gthread" else 1
            order = ["corral", "gunicorn"] if rep % 2 == 0 else ["gunicorn", "corral"]
            for scenario in scenarios:
                for kind in order:
                    record(
                        f"{kind}|{wclass}|{scenario}",
                        measure_load,
                        kind,
                        wclass,
                        threads,
                        scenario,
                        args.conns,
                        args.duration,
                    )
            if "p99" not in skip:
                for kind in order:
                    record(
                        f"{kind}|{wclass}|hello@256",
                        measure_load,
                        kind,
                        wclass,
                        threads,
                        "hello",
                        256,
                        args.duration,
                    )
            if "memory" not in skip:
                for kind in order:
                    record(
                        f"{kind}|{wclass}|idle-rss",
                        idle_rss,
                        kind,
                        wclass,
                        threads,
                    )

    extras: dict[str, object] = {}
    for wclass in classes:
        threads = args.threads if wclass == "gthread" else 1
        if "big" not in skip:
            for kind in ("corral", "gunicorn"):
                extras[f"{kind}|{wclass}|big"] = got = big_transfer(
                    kind, wclass, threads, args.big_mib
                )
                print(f"  {kind}|{wclass}|big: {got}", flush=True)
        if "slow" not in skip:
            for kind in ("corral", "gunicorn"):
                extras[f"{kind}|{wclass}|slow"] = got = slow_mix(kind, wclass, threads, 8.0)
                print(f"  {kind}|{wclass}|slow: {got}", flush=True)

    (outdir / "results.json").write_text(json.dumps({"runs": runs, "extras": extras}, indent=1))
    table = report(runs, extras, classes, scenarios, args)
    (outdir / "results.md").write_text(table)
    print(table)
    chart(runs, classes, scenarios, outdir / "results.png")


def med(runs: dict[str, list[dict[str, float]]], key: str, field: str) -> float:
    values = [r[field] for r in runs.get(key, [])]
    return statistics.median(values) if values else float("nan")


def report(
    runs: dict[str, list[dict[str, float]]],
    extras: dict[str, object],
    classes: list[str],
    scenarios: list[str],
    args: argparse.Namespace,
) -> str:
    lines = [
        f"Medians of {args.repeats} runs of {args.duration:g} s; {args.conns} keep-alive "
        f"connections (p99 row: 256); gthread with {args.threads} threads.",
        "",
        "| worker | scenario | corral req/s | Gunicorn req/s | ratio | corral p99 ms "
        "| Gunicorn p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for wclass in classes:
        for scenario in [*scenarios, "hello@256"]:
            c = med(runs, f"corral|{wclass}|{scenario}", "rps")
            g = med(runs, f"gunicorn|{wclass}|{scenario}", "rps")
            cp = med(runs, f"corral|{wclass}|{scenario}", "p99_ms")
            gp = med(runs, f"gunicorn|{wclass}|{scenario}", "p99_ms")
            lines.append(
                f"| {wclass} | {scenario} | {fmt_k(c)} | {fmt_k(g)} | {c / g:.1f}x "
                f"| {cp:.2f} | {gp:.2f} |"
            )
    canned = med(runs, "bare-canned|hello", "rps")
    bare_wsgi = med(runs, "bare-wsgi|hello", "rps")
    lines += [
        "",
        f"Ceilings (hello): bare epoll loop, canned reply {fmt_k(canned)} req/s; "
        f"bare loop + httptools + minimal WSGI call {fmt_k(bare_wsgi)} req/s.",
        "",
    ]
    if canned == canned:  # not NaN
        best_g = max(
            (med(runs, f"gunicorn|{w}|hello", "rps") for w in classes), default=float("nan")
        )
        for wclass in classes:
            c = med(runs, f"corral|{wclass}|hello", "rps")
            lines.append(
                f"- corral {wclass} hello: {c / canned:.2f}x the canned ceiling, "
                f"{c / bare_wsgi:.2f}x the bare WSGI loop, {c / best_g:.1f}x Gunicorn's best "
                f"worker ({fmt_k(best_g)})."
            )
    lines += [
        "",
        "| worker | corral idle RSS MiB | Gunicorn idle RSS MiB |",
        "| --- | ---: | ---: |",
    ]
    for wclass in classes:
        c = med(runs, f"corral|{wclass}|idle-rss", "rss_kib") / 1024
        g = med(runs, f"gunicorn|{wclass}|idle-rss", "rss_kib") / 1024
        lines.append(f"| {wclass} | {c:.1f} | {g:.1f} |")
    if extras:
        lines += ["", "```", *(f"{k}: {json.dumps(v)}" for k, v in extras.items()), "```"]
    return "\n".join(lines) + "\n"


def chart(
    runs: dict[str, list[dict[str, float]]], classes: list[str], scenarios: list[str], path: Path
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart")
        return
    labels = [f"{w}\n{s}" for w in classes for s in scenarios]
    corral = [med(runs, f"corral|{w}|{s}", "rps") for w in classes for s in scenarios]
    guni = [med(runs, f"gunicorn|{w}|{s}", "rps") for w in classes for s in scenarios]
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(labels)), 4.5))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], corral, 0.4, label="corral")
    ax.bar([x + 0.2 for x in xs], guni, 0.4, label="Gunicorn 27")
    for bare, style in (("bare-canned", "--"), ("bare-wsgi", ":")):
        value = med(runs, f"{bare}|hello", "rps")
        if value == value:
            ax.axhline(value, linestyle=style, color="grey", label=f"{bare} (hello)")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("requests/s (median)")
    ax.set_title("1 worker on 1 core, wrk on the other, loopback")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"chart: {path}")


if __name__ == "__main__":
    main()
