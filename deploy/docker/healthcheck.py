"""The image's HEALTHCHECK: exit 0 when corral's workers answer an HTTP request.

Sends ``GET $CORRAL_HEALTHCHECK_PATH`` (default ``/``) to ``127.0.0.1:$PORT``, or to the
unix socket ``$CORRAL_HEALTHCHECK_SOCKET`` when it is set, and exits 0 for any status
below 500: the application answered, even if that path is not one of its pages. A 5xx, a
refused or timed-out connection exits 1. Standard library only.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys

TIMEOUT = 4.0


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (corral bound with -b unix:PATH)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def connection() -> http.client.HTTPConnection:
    path = os.environ.get("CORRAL_HEALTHCHECK_SOCKET")
    if path:
        return UnixHTTPConnection(path)
    return http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), TIMEOUT)


def main() -> int:
    path = os.environ.get("CORRAL_HEALTHCHECK_PATH", "/")
    conn = connection()
    try:
        conn.request("GET", path, headers={"User-Agent": "docker-healthcheck"})
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        print(f"unhealthy: {type(exc).__name__}: {exc}")
        return 1
    finally:
        conn.close()
    print(f"GET {path}: {status}")
    return 0 if status < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
