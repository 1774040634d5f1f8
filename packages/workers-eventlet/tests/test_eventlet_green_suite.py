"""Every test of the shared green suite (``corral_testing.green_suite``), with ``-k eventlet``."""

from corral_testing.green_suite import *  # noqa: F403
