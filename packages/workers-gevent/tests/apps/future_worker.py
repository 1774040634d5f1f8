"""A real worker class built for a worker API this corral does not speak."""

from corral.workers.base import WORKER_API_VERSION
from corral_gevent.worker import GeventWorker


class FutureGeventWorker(GeventWorker):
    CORRAL_WORKER_API = WORKER_API_VERSION + 1
