"""corral's sans-IO HTTP/1.1 core: no sockets, bytes in and bytes out.

Every worker drives the same :class:`Connection`; see ``connection.py`` for the theory of
operation.
"""

from .connection import Connection
from .events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    LocalProtocolError,
    ProtocolError,
    Request,
)
from .limits import Limits
from .response import error_response, http_date

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "Connection",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Limits",
    "LocalProtocolError",
    "ProtocolError",
    "Request",
    "error_response",
    "http_date",
]
