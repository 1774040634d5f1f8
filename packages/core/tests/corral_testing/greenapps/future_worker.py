"""A real worker class built for a worker API this corral does not speak: the green worker
under test (``CORRAL_TESTING_GREEN_WORKER``, ``module:Class``), one API version ahead."""

import os
from importlib import import_module

from corral.workers.base import WORKER_API_VERSION

_module, _, _name = os.environ["CORRAL_TESTING_GREEN_WORKER"].partition(":")


class FutureWorker(getattr(import_module(_module), _name)):
    CORRAL_WORKER_API = WORKER_API_VERSION + 1
