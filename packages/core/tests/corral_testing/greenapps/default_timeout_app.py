"""``green_app`` under an application that sets a process-wide socket timeout at import
(``socket.setdefaulttimeout``, as some apps do for their outbound calls): the worker's own
connections must not inherit it."""

import socket

socket.setdefaulttimeout(1)

from green_app import app  # noqa: E402

__all__ = ["app"]
