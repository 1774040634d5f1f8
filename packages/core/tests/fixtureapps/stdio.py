"""An app that writes to its standard streams (for --capture-output and -R), or logs."""

import logging
import os
import sys


def app(environ, start_response):
    text = environ["QUERY_STRING"] or "hello"
    if environ["PATH_INFO"] == "/log":  # through the application's own logger instead
        logging.getLogger("fixture.stdio").debug("app says %s", text)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    print(f"stdout:{text}", flush=True)
    sys.stderr.write(f"stderr:{text}\n")
    sys.stderr.flush()
    os.write(1, f"fd1:{text}\n".encode())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
