"""The result matrix: proxy x worker class x scenario -> outcome and its key figure.

Outcomes: ``pass`` and ``fail`` (the test ran), ``not installed`` (the worker class is
expected by the suite but no package provides it yet: nothing ran), ``pending`` (the test
needs a corral feature that has not landed and is deselected today: nothing ran) and
``not run`` (deselected by the command line). Only ``pass`` is a pass.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

PASS = "pass"
FAIL = "fail"
NOT_INSTALLED = "not installed"
PENDING = "pending"
NOT_RUN = "not run"

_BADGE = {
    PASS: "PASS",
    FAIL: "FAIL",
    NOT_INSTALLED: "not installed",
    PENDING: "pending",
    NOT_RUN: "not run",
}


@dataclass
class Figure:
    """The key figure of a cell, set by the test as soon as it is known."""

    text: str = ""
    data: dict[str, object] = field(default_factory=dict)

    def set(self, text: str, **data: object) -> None:
        self.text = text
        self.data.update(data)


@dataclass
class Cell:
    scenario: str
    proxy: str
    worker: str
    outcome: str
    figure: str = ""
    detail: str = ""
    nodeid: str = ""
    seconds: float = 0.0


@dataclass
class Matrix:
    workers: list[str]
    cells: list[Cell] = field(default_factory=list)
    meta: dict[str, object] = field(default_factory=dict)

    def add(self, cell: Cell) -> None:
        self.cells.append(cell)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for cell in self.cells:
            out[cell.outcome] = out.get(cell.outcome, 0) + 1
        return out

    # ------------------------------------------------------------------ rendering

    def _rows(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for cell in sorted(self.cells, key=lambda c: (c.scenario, c.proxy)):
            seen[(cell.scenario, cell.proxy)] = None
        return list(seen)

    def _text(self, scenario: str, proxy: str, worker: str) -> str:
        found = [
            c for c in self.cells if (c.scenario, c.proxy, c.worker) == (scenario, proxy, worker)
        ]
        if not found:
            return "-"
        parts = []
        for cell in found:
            text = _BADGE.get(cell.outcome, cell.outcome)
            if cell.figure:
                text += f": {cell.figure}"
            parts.append(text)
        return "; ".join(parts)

    def markdown(self) -> str:
        head = ["scenario", "proxy", *self.workers]
        lines = [
            "# corral conformance matrix",
            "",
            "Each cell: outcome, then the key figure of that run. Only PASS is a pass.",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
        ]
        for scenario, proxy in self._rows():
            row = [scenario, proxy, *(self._text(scenario, proxy, w) for w in self.workers)]
            lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        lines.append("")
        counts = self.counts()
        lines.append("Totals: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        failures = [c for c in self.cells if c.outcome == FAIL]
        if failures:
            lines += ["", "## Failures", ""]
            for cell in failures:
                lines.append(f"- `{cell.nodeid}`: {cell.detail or cell.figure}")
        pending = [c for c in self.cells if c.outcome in (PENDING, NOT_INSTALLED)]
        if pending:
            lines += ["", "## Not run yet", ""]
            for cell in pending:
                lines.append(f"- `{cell.nodeid}`: {cell.outcome} ({cell.detail})")
        if self.meta:
            lines += ["", "## Run", ""]
            for key, value in self.meta.items():
                lines.append(f"- {key}: {value}")
        return "\n".join(lines) + "\n"

    def terminal(self) -> str:
        """A compact fixed-width table for the end of the pytest run."""
        rows = [["scenario", "proxy", *self.workers]]
        for scenario, proxy in self._rows():
            cells = []
            for worker in self.workers:
                text = self._text(scenario, proxy, worker)
                cells.append(text if len(text) <= 36 else text[:33] + "...")
            rows.append([scenario, proxy, *cells])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        out = []
        for n, row in enumerate(rows):
            out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        counts = self.counts()
        out.append("totals: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        return "\n".join(out)

    def to_json(self) -> str:
        return json.dumps(
            {"workers": self.workers, "meta": self.meta, "cells": [asdict(c) for c in self.cells]},
            indent=2,
            default=str,
        )

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md = folder / "matrix.md"
        js = folder / "matrix.json"
        md.write_text(self.markdown())
        js.write_text(self.to_json() + "\n")
        return md, js
