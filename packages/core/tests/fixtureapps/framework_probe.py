"""What the framework fixture apps share: a file whose ``fileno()`` calls are counted, and
a WSGI wrapper that tells how many of them the server made.

The server asks a ``wsgi.file_wrapper`` file for its descriptor only to send it with
``sendfile(2)``; with ``--no-sendfile`` it must not ask at all. The framework may ask
too, while it builds the response: :func:`count_server_calls` notes the count when the
application hands its result to the server, and ``/fileno-calls`` tells how many calls
came after that (from the server) for the last counted file served.

The static file served is the one the ``CORRAL_TESTING_STATIC`` environment variable names.
"""

from __future__ import annotations

import io
import os

STATIC_ENV = "CORRAL_TESTING_STATIC"
_calls = {"total": 0, "at_handoff": 0}


def static_path() -> str:
    return os.environ[STATIC_ENV]


class CountedFile(io.FileIO):
    """A regular file, opened for reading, that counts calls of ``fileno()``."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "rb")
        _calls["total"] = _calls["at_handoff"] = 0

    def fileno(self) -> int:
        _calls["total"] += 1
        return super().fileno()


def server_fileno_calls() -> int:
    """How many times the server called ``fileno()`` on the last counted file."""
    return _calls["total"] - _calls["at_handoff"]


def count_server_calls(app):
    """Wrap a WSGI app: ``fileno()`` calls after it returns are the server's."""

    def wrapped(environ, start_response):
        result = app(environ, start_response)
        _calls["at_handoff"] = _calls["total"]
        return result

    return wrapped
