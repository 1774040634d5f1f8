"""The image's HEALTHCHECK: exit 0 when corral's workers answer an HTTP request.

Sends ``GET $CORRAL_HEALTHCHECK_PATH`` (default ``/``) to ``127.0.0.1:$PORT`` and exits 0
for any status below 500: the application answered, even if that path is not one of its
pages. A 5xx, a refused or timed-out connection exits 1. Standard library only.
"""

from __future__ import annotations

import http.client
import os
import sys


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    path = os.environ.get("CORRAL_HEALTHCHECK_PATH", "/")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
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
