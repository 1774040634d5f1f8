"""Fixtures and the result matrix of the conformance suite.

Every test carries ``@pytest.mark.cell(scenario, proxy=...)`` and takes a ``worker``
argument, parametrized over the expected worker classes plus any other installed one
(``@pytest.mark.workers(...)`` narrows it). Items for a class that is not installed are
deselected at collection and shown as "not installed"; items marked
``pending_proxy_protocol`` are deselected by ``nox -s conformance`` and shown as "pending".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from corral_testing import CorralProcess
from harness import matrix as mx
from harness.corral import (
    StartCorral,
    all_workers,
    corral_help,
    installed_workers,
    log_tail,
    start_corral,
)
from harness.engine import Engine, ensure_engine
from harness.images import (
    CorralImage,
    build_corral_image,
    choose_base,
    choose_python_base,
    ensure_proxies_image,
)
from harness.matrix import Figure
from harness.proxies import Proxies, Stack, remove_run_containers

RESULTS = Path(__file__).resolve().parent / "results"

MATRIX = pytest.StashKey[mx.Matrix]()
FIGURE = pytest.StashKey["Figure"]()
DIAG = pytest.StashKey[list[tuple[str, Callable[[], str]]]]()
CELL = pytest.StashKey[mx.Cell]()
STARTED = pytest.StashKey[float]()
LANDED = pytest.StashKey[bool]()

PENDING_MARK = "pending_proxy_protocol"
PENDING_WHY = "needs corral --proxy-protocol / --proxy-allow-from"


# ---------------------------------------------------------------------- configuration


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cell(scenario, proxy): the matrix row this test fills (str.format'ed "
        "with the test's parameters)",
    )
    config.addinivalue_line("markers", "workers(*names): run for these worker classes only")
    config.addinivalue_line(
        "markers", f"{PENDING_MARK}: {PENDING_WHY}; deselected while corral lacks the flag"
    )
    config.stash[MATRIX] = mx.Matrix(workers=all_workers())
    config.stash[STARTED] = time.monotonic()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "worker" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("workers")
        names = list(marker.args) if marker else all_workers()
        metafunc.parametrize("worker", names)


def _params(item: pytest.Item) -> dict[str, Any]:
    callspec = getattr(item, "callspec", None)
    return dict(callspec.params) if callspec is not None else {}


def _cell(item: pytest.Item, outcome: str, detail: str = "") -> mx.Cell | None:
    marker = item.get_closest_marker("cell")
    if marker is None:
        return None
    params = {k: str(v) for k, v in _params(item).items()}
    scenario = str(marker.args[0]).format(**params)
    proxy = str(marker.kwargs.get("proxy", "none")).format(**params)
    return mx.Cell(
        scenario=scenario,
        proxy=proxy,
        worker=params.get("worker", "-"),
        outcome=outcome,
        detail=detail,
        nodeid=item.nodeid,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    installed = set(installed_workers())
    # PROXY protocol scenarios wait for the feature: deselected while `corral --help` does
    # not offer --proxy-protocol, run (and able to fail) as soon as it does.
    feature_landed = "--proxy-protocol" in corral_help()
    config.stash[LANDED] = feature_landed
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        worker = _params(item).get("worker")
        missing = worker is not None and worker not in installed
        pending = item.get_closest_marker(PENDING_MARK) is not None and not feature_landed
        (dropped if missing or pending else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_deselected(items: list[pytest.Item]) -> None:
    installed = set(installed_workers())
    for item in items:
        worker = _params(item).get("worker")
        if worker is not None and worker not in installed:
            cell = _cell(item, mx.NOT_INSTALLED, f"no package provides worker class {worker!r}")
        elif item.get_closest_marker(PENDING_MARK) and not item.config.stash.get(LANDED, False):
            cell = _cell(item, mx.PENDING, PENDING_WHY)
        else:
            cell = _cell(item, mx.NOT_RUN, "deselected on the command line")
        if cell is not None:
            item.config.stash[MATRIX].add(cell)


# ------------------------------------------------------------------------ reporting


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for title, source in item.stash.get(DIAG, []):
            try:
                report.sections.append((title, source()))
            except Exception as exc:  # diagnostics must never hide the failure itself
                report.sections.append((title, f"(could not read: {exc})"))
    record = report.when == "call" or (report.when == "setup" and not report.passed)
    if record and CELL not in item.stash:
        outcome = mx.PASS if report.passed else mx.FAIL
        if report.skipped:
            outcome = "skipped"
        cell = _cell(item, outcome)
        if cell is not None:
            figure = item.stash.get(FIGURE, Figure())
            cell.figure = figure.text
            cell.seconds = round(report.duration, 2)
            if report.failed:
                cell.detail = _short(report)
                if item.get_closest_marker(PENDING_MARK):
                    cell.detail = f"{PENDING_WHY}: {cell.detail}"
            item.stash[CELL] = cell
            item.config.stash[MATRIX].add(cell)
    elif report.when == "teardown" and report.failed and CELL in item.stash:
        cell = item.stash[CELL]
        cell.outcome = mx.FAIL
        cell.detail = "teardown: " + _short(report)
    return report


def _short(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:300]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    matrix = config.stash[MATRIX]
    if not matrix.cells:
        return
    matrix.meta["duration"] = f"{time.monotonic() - config.stash[STARTED]:.1f} s"
    md, js = matrix.write(RESULTS)
    terminalreporter.section("corral conformance matrix")
    terminalreporter.write_line(matrix.terminal())
    terminalreporter.write_line(f"written: {md} and {js}")


# ------------------------------------------------------------------------- fixtures


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Figure:
    fig = Figure()
    request.node.stash[FIGURE] = fig
    return fig


def _diag(request: pytest.FixtureRequest) -> list[tuple[str, Callable[[], str]]]:
    stash = request.node.stash
    found: list[tuple[str, Callable[[], str]]] = stash.setdefault(DIAG, [])
    return found


@pytest.fixture(scope="session")
def engine(pytestconfig: pytest.Config) -> Iterator[Engine]:
    eng = ensure_engine(RESULTS)
    meta = pytestconfig.stash[MATRIX].meta
    if eng.started_here:
        meta["docker engine"] = f"started by the suite (answered in {eng.startup_seconds:.1f} s)"
        # Nothing else can be using an engine this run started: clear old runs' leftovers.
        remove_run_containers(eng.client, every_run=True)
    else:
        meta["docker engine"] = "already running (left running)"
    try:
        yield eng
    finally:
        remove_run_containers(eng.client)
        eng.close()


@pytest.fixture(scope="session")
def stack(
    engine: Engine, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    meta = pytestconfig.stash[MATRIX].meta
    base = choose_base(engine.client, engine.started_here)
    meta["base image"] = f"{base.name} ({base.how}, {base.seconds:.1f} s)"
    image = ensure_proxies_image(engine.client, base)
    meta["proxies image"] = (
        f"{image.tag} ({'built' if image.built else 'cached'}, {image.seconds:.1f} s)"
    )
    built = Stack(engine.client, image.tag, tmp_path_factory.mktemp("stack"))
    meta["network"] = f"{built.network.name} {built.subnet}, corral bound to {built.gateway}"
    try:
        yield built
    finally:
        remove_run_containers(engine.client)
        built.close()


@pytest.fixture(scope="session")
def corral_image(engine: Engine, pytestconfig: pytest.Config) -> CorralImage:
    """deploy/docker/Dockerfile built once per run (only when a test asks for it)."""
    base = choose_base(engine.client, engine.started_here)
    python_base, how = choose_python_base(engine.client, base, engine.started_here)
    image = build_corral_image(engine.client, python_base, how)
    pytestconfig.stash[MATRIX].meta["corral image"] = (
        f"{image.tag} FROM {image.base} ({how}; build {image.seconds:.1f} s)"
    )
    return image


@pytest.fixture
def corrals(request: pytest.FixtureRequest) -> Iterator[StartCorral]:
    """Start corral (``worker``, ``host``, extra args...); stopped after the test."""
    started: list[CorralProcess] = []

    def start(worker: str, host: str, *extra: str, **kw: Any) -> CorralProcess:
        proc = start_corral(worker, host, *extra, **kw)
        started.append(proc)
        _diag(request).append(
            (f"corral {kw.get('name', '')} {proc.urls[0]} log", lambda: log_tail(proc, 80))
        )
        return proc

    yield start
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            try:
                proc.stop(timeout=15)
            except Exception:
                proc.kill()


@pytest.fixture
def proxies(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Proxies]:
    made = Proxies(stack, lambda p: _diag(request).append((f"{p.kind} container log", p.logs)))
    try:
        yield made
    finally:
        made.close()
