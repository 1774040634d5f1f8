"""The gevent worker's tests run the shared green suite (``corral_testing.green_suite``,
the real corral with ``-k gevent``); this names the worker and its library for it."""

from __future__ import annotations

import pytest
from corral_testing.green_suite import GreenLibrary, serve

__all__ = ["green", "serve"]


@pytest.fixture(scope="session")
def green() -> GreenLibrary:
    return GreenLibrary(
        worker="gevent",
        worker_class="corral_gevent.worker:GeventWorker",
        gunicorn_alias="gunicorn.workers.ggevent.GeventWorker",
        green_socket="gevent.socket:socket",
        sleep="gevent:sleep",
    )
