"""A real worker class built for a worker API this corral does not speak."""

from corral.workers.base import WORKER_API_VERSION
from corral_eventlet.worker import EventletWorker


class FutureEventletWorker(EventletWorker):
    CORRAL_WORKER_API = WORKER_API_VERSION + 1
