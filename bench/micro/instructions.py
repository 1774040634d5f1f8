"""Instructions per request under callgrind: stable on a shared, noisy machine.

    python bench/micro/instructions.py                  # every scenario
    python bench/micro/instructions.py -s keepalive
    python bench/micro/instructions.py --script sync_bench.py   # the sync worker's loop too

Runs ``session_bench.py`` (or ``--script``) under ``valgrind --tool=callgrind`` twice per
scenario, with ``LOW`` and ``HIGH`` requests (one run each, no repeats), and reports
``(Ir(HIGH) - Ir(LOW)) / (HIGH - LOW)``: the interpreter's start-up and imports cancel
out, what is left is the cost of one request. Needs valgrind (Debian: ``valgrind``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOW, HIGH = 500, 2500


def instructions(script: str, scenario: str, requests: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(HERE / script),
                "-s",
                scenario,
                "-n",
                str(requests),
                "-r",
                "1",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"Collected : (\d+)", proc.stderr)
        if match is None:
            raise SystemExit(proc.stderr)
        return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--scenario", action="append", help="repeatable; default all")
    parser.add_argument("--script", default="session_bench.py", help="or sync_bench.py")
    args = parser.parse_args()
    default = ["keepalive", "pipelined"]
    if args.script == "session_bench.py":
        default += ["browser", "split"]
    for scenario in args.scenario or default:
        low = instructions(args.script, scenario, LOW)
        high = instructions(args.script, scenario, HIGH)
        print(f"{scenario:10s} {(high - low) / (HIGH - LOW):10.0f} instructions/request")


if __name__ == "__main__":
    main()
