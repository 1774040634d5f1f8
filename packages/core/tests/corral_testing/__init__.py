"""Test support shared by every package's tests: run the real ``corral``, talk raw HTTP.

``CorralProcess`` starts the real command on a random port (``-b 127.0.0.1:0``) and learns
the address from its "Listening at:" log line. ``http`` has a minimal raw-socket client
that parses responses byte-exactly, so tests see what a client would see.
"""

from .http import Client, Response, read_response, request, upload
from .process import FIXTURE_APPS, CorralProcess, rss_kib

__all__ = [
    "FIXTURE_APPS",
    "Client",
    "CorralProcess",
    "Response",
    "read_response",
    "request",
    "rss_kib",
    "upload",
    "worker_classes",
]


def worker_classes() -> list[str]:
    """Every worker class installed in the ``corral.workers`` group (all of them in CI,
    where every workspace package is installed): black-box suites run once per class."""
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group="corral.workers"))
