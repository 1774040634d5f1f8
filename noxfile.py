"""corral's task runner.

    python3 -m pip install nox && python3 -m nox    # the whole suite, as CI runs it
    nox -s tests        # unit + integration tests of every package
    nox -s lint         # ruff and mypy
    nox -s conformance  # real nginx / HAProxy / stunnel in containers
    nox -s docs         # the documentation site (mkdocs build --strict) into site/
    nox -s stress       # the tests session 3 times beside stress-ng (a loaded machine)
    nox -s bench        # benchmarks against Gunicorn (not part of the pass/fail suite)
    nox -s bench-green  # the gevent and eventlet workers against Gunicorn's (idem)

Debian packages the suites need are listed in tools/system-packages.txt and installed
with apt-get when missing (as root; otherwise the session says what to install).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"
nox.options.sessions = ["tests", "lint", "docs", "conformance"]
GREEN = ("gevent", "eventlet")  # the green worker plug-ins bench-green measures
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"


def workspace_packages() -> list[Path]:
    """Every distribution under packages/, core first."""
    found = sorted(p.parent for p in PACKAGES.glob("*/pyproject.toml"))
    return sorted(found, key=lambda p: p.name != "core")


def install_workspace(session: nox.Session) -> None:
    """Editable installs of every workspace package plus the dev dependencies."""
    args = []
    for pkg in workspace_packages():
        args += ["-e", str(pkg)]
    session.install(*args, "-e", f"{ROOT}[dev]")


def system_packages() -> list[str]:
    lines = (ROOT / "tools" / "system-packages.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def _missing_debian_packages(names: list[str]) -> list[str]:
    missing = []
    for name in names:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
        )
        if "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


def ensure_system_packages(session: nox.Session) -> None:
    """apt-get install what tools/system-packages.txt lists and is not installed yet."""
    if shutil.which("dpkg-query") is None:
        session.warn(
            "not a Debian-based system: install the equivalents of "
            f"{', '.join(system_packages())} yourself"
        )
        return
    missing = _missing_debian_packages(system_packages())
    if not missing:
        return
    if os.geteuid() != 0:
        session.error(
            "missing Debian packages: "
            + " ".join(missing)
            + "\n  install them with: sudo apt-get update && sudo apt-get install -y "
            + " ".join(missing)
        )
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-q", external=True, env=env)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        *missing,
        external=True,
        env=env,
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and integration tests of every workspace package (pytest, in parallel)."""
    ensure_system_packages(session)
    install_workspace(session)
    run_tests(session, session.posargs)


@nox.session(python=PYTHON)
def stress(session: nox.Session) -> None:
    """The tests session N times (default 3: nox -s stress -- 3) while Debian's stress-ng
    keeps every core busy (--cpu 2 on this project's 2-core machines, --cpu N with
    CORRAL_STRESS_CPUS): timing-sensitive tests must pass on a loaded machine. Not part of
    the default sessions; each run's outcome is printed at the end."""
    ensure_system_packages(session)
    install_workspace(session)
    if shutil.which("stress-ng") is None:
        session.error("stress needs stress-ng: apt-get install stress-ng")
    runs = int(session.posargs[0]) if session.posargs else 3
    cpus = os.environ.get("CORRAL_STRESS_CPUS", "2")
    load = subprocess.Popen(["stress-ng", "--cpu", cpus, "--timeout", "0", "--quiet"])
    outcomes = []
    try:
        for run in range(1, runs + 1):
            session.log(f"stress run {run}/{runs} beside stress-ng --cpu {cpus}")
            try:
                run_tests(session, [])
                outcomes.append(f"run {run}: passed")
            except CommandFailed:
                outcomes.append(f"run {run}: FAILED")
    finally:
        load.terminate()
        load.wait(30)
    for line in outcomes:
        session.log(line)
    if any("FAILED" in line for line in outcomes):
        session.error("a run under load failed")


def run_tests(session: nox.Session, extra: list[str]) -> None:
    """pytest on each workspace package's tests/ folder, in parallel."""
    for pkg in workspace_packages():
        tests_dir = pkg / "tests"
        if not tests_dir.is_dir():
            session.error(f"{pkg.name} has no tests/ folder")
        cov = []
        if (pkg / "tests" / ".coverage-required").exists():
            module = (pkg / "tests" / ".coverage-required").read_text().strip()
            cov = [
                f"--cov={module}",
                "--cov-branch",
                "--cov-report=term-missing:skip-covered",
                "--cov-fail-under=100",
                f"--cov-config={ROOT / 'pyproject.toml'}",
            ]
        session.run(
            "pytest",
            str(tests_dir),
            "-n",
            "auto",
            "-p",
            "no:cacheprovider",
            f"--rootdir={ROOT}",
            *cov,
            *extra,
        )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) on the whole tree; mypy --strict on every package."""
    install_workspace(session)
    session.run("ruff", "check", str(ROOT))
    session.run("ruff", "format", "--check", str(ROOT))
    session.run("mypy")
    session.run("python", "-m", "corral.config.docs", "--check")


@nox.session(python=False)
def dev(session: nox.Session) -> None:
    """Create .venv with every workspace package installed in editable mode."""
    venv = ROOT / ".venv"
    if not (venv / "bin" / "python").exists():
        session.run("python3", "-m", "venv", str(venv), external=True)
    args = []
    for pkg in workspace_packages():
        args += ["-e", str(pkg)]
    session.run(str(venv / "bin" / "pip"), "install", *args, "-e", f"{ROOT}[dev]", external=True)
    session.log(f"ready: source {venv}/bin/activate")


GUNICORN_PIN = "gunicorn==27.0.1"  # the Gunicorn the benchmark compares against


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """corral vs Gunicorn on loopback (bench/run.py; not part of the default sessions).

    Installs the workspace, a pinned Gunicorn and matplotlib into the bench venv only, and
    wrk from Debian. Extra arguments go to bench/run.py, e.g.
    ``nox -s bench -- --classes sync --repeats 5``.
    """
    ensure_system_packages(session)
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        session.error("bench needs wrk and taskset: apt-get install wrk util-linux")
    install_workspace(session)
    session.install(GUNICORN_PIN, "matplotlib>=3.7")
    session.run("python", str(ROOT / "bench" / "run.py"), *session.posargs)


@nox.session(python=PYTHON, name="bench-green")
def bench_green(session: nox.Session) -> None:
    """corral's gevent and eventlet workers vs Gunicorn's (bench/bench_green.py).

    Not part of the default sessions. Gunicorn and each library go into throwaway venvs of
    the bench's own. With no arguments both workers are measured; otherwise the arguments go
    to bench_green.py, e.g. ``nox -s bench-green -- --worker eventlet --repeats 5``.
    """
    ensure_system_packages(session)
    install_workspace(session)
    script = str(ROOT / "bench" / "bench_green.py")
    for args in [session.posargs] if session.posargs else [["--worker", w] for w in GREEN]:
        session.run("python", script, *args)


# The documentation site's tools, pinned: a new release of any of them can change what
# --strict calls a warning.
DOCS_PINS = (
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.2",
    "pymdown-extensions==13.1.2",
    "Markdown==3.11.3",
    "Pygments==2.21.0",
)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml, docs/) built with every warning an error.

    A broken link or anchor, a page missing from the navigation, or a deploy/ file that a
    page includes and that does not exist fails the session. The site goes to site/ (open
    site/index.html); ``nox -s docs -- serve`` runs ``mkdocs serve`` instead.
    """
    session.install(*DOCS_PINS)
    session.chdir(ROOT)  # snippets (--8<--) are included with paths from the root
    env = {"NO_MKDOCS_2_WARNING": "1"}  # the theme's banner about MkDocs 2.0, not ours
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
        return
    session.run("mkdocs", "build", "--strict", "--clean", *session.posargs, env=env)


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Real nginx, HAProxy and stunnel in containers in front of corral (conformance/).

    Needs a Docker engine: where none answers, the suite installs Debian's docker.io (as
    root), starts dockerd for the run and stops it at the end; without a registry it
    bootstraps its base image with debootstrap. The matrix is printed at the end and
    written to conformance/results/. One cell: nox -s conformance -- -k "smuggling and nginx"
    """
    install_workspace(session)
    session.install("testcontainers>=4.8", "docker>=7.1")
    target = str(ROOT / "conformance")
    session.run("pytest", target, "-p", "no:cacheprovider", f"--rootdir={ROOT}", *session.posargs)
