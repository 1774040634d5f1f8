"""What the gevent worker's tests share (a module name of its own: several packages' tests
may run in one pytest session, so nothing is imported from ``conftest``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from corral_testing import CorralProcess

WORKER = "gevent"
APPS = Path(__file__).resolve().parent / "apps"

Serve = Callable[..., CorralProcess]
