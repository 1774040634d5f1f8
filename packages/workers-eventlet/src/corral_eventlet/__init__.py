"""corral-eventlet: the eventlet worker for corral (``corral -k eventlet``)."""

from __future__ import annotations

from .patch import import_eventlet

__version__ = "0.1.0"

__all__ = ["__version__"]

import_eventlet()  # once, quietly, before any module of this package imports eventlet
