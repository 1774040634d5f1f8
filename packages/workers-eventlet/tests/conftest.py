"""The eventlet worker's tests run the shared green suite (``corral_testing.green_suite``,
the real corral with ``-k eventlet``); this names the worker and its library for it."""

from __future__ import annotations

import pytest
from corral_testing.green_suite import GreenLibrary, serve

__all__ = ["green", "serve"]


@pytest.fixture(scope="session")
def green() -> GreenLibrary:
    return GreenLibrary(
        worker="eventlet",
        worker_class="corral_eventlet.worker:EventletWorker",
        gunicorn_alias="gunicorn.workers.geventlet.EventletWorker",
        green_socket="eventlet.green.socket:socket",
        sleep="eventlet:sleep",
    )
