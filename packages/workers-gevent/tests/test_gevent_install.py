"""Installed the way users install it: ``pip install 'corral[gevent]'`` from wheels only."""

from __future__ import annotations

from pathlib import Path

from corral_testing.install import build_wheelhouse, install, serves_demo
from gevent_testing import WORKER


def test_corral_extra_installs_the_worker_from_wheels_and_serves_the_demo(tmp_path: Path):
    wheels = build_wheelhouse(tmp_path / "wheels")
    names = {p.name.split("-")[0] for p in wheels.glob("corral*.whl")}
    assert {"corral", "corral_gevent", "corral_eventlet", "corral_proxyproto"} <= names, names
    corral = install(tmp_path / "venv", wheels, f"corral[{WORKER}]")
    body = serves_demo(corral, WORKER, cwd=tmp_path)
    assert body.startswith(b"HTTP/1.1 200 "), body[:200]
    # Installed, not the workspace's sources: the venv's own site-packages.
    site = list((tmp_path / "venv" / "lib").glob("python3*/site-packages/corral_gevent"))
    assert site, "corral_gevent is not installed in the fresh environment"
