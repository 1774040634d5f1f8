"""The fixture app of the green workers' shared suite (``corral_testing.green_suite``).

Imports ``sleep`` and ``socket`` by name at import time, so they are cooperative only if
the process was patched before this module was imported (the rule the worker keeps).
``/patched`` compares that ``socket`` with the library's own, and ``/stream`` waits with the
library's sleep: both named by the suite's ``green`` fixture, through the environment
(``CORRAL_TESTING_GREEN_SOCKET``, ``CORRAL_TESTING_GREEN_SLEEP``, as ``module:name``).
"""

import hashlib
import os
import resource
import time
from importlib import import_module
from socket import socket
from time import sleep


def _named(variable):
    module, _, name = os.environ[variable].partition(":")
    return getattr(import_module(module), name)


GREEN_SOCKET = _named("CORRAL_TESTING_GREEN_SOCKET")
green_sleep = _named("CORRAL_TESTING_GREEN_SLEEP")

_in_flight = 0
_most_in_flight = 0


def _text(start_response, text, status="200 OK"):
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    global _in_flight, _most_in_flight
    path = environ["PATH_INFO"]
    query = dict(p.split("=", 1) for p in environ["QUERY_STRING"].split("&") if "=" in p)
    if path == "/hello":
        return _text(start_response, "hello")
    if path == "/patched":
        return _text(start_response, str(socket is GREEN_SOCKET))
    if path == "/sleep":  # the name imported at import time: cooperative only if patched
        _in_flight += 1
        _most_in_flight = max(_most_in_flight, _in_flight)
        try:
            sleep(float(query.get("s", "1")))
        finally:
            _in_flight -= 1
        return _text(start_response, "slept")
    if path == "/remote":
        return _text(start_response, f"{environ['REMOTE_ADDR']}:{environ['REMOTE_PORT']}")
    if path == "/cpu":  # this worker's CPU seconds so far
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return _text(start_response, f"{usage.ru_utime + usage.ru_stime:.3f}")
    if path == "/big":  # `mb` MiB of response body
        size = int(query.get("mb", "1")) << 20
        start_response("200 OK", [("Content-Length", str(size))])
        return (b"x" * 65536 for _ in range(size // 65536))
    if path == "/most-in-flight":
        return _text(start_response, str(_most_in_flight))
    if path == "/in-flight":
        return _text(start_response, str(_in_flight))
    if path == "/spin":  # CPU work: the hub gets no turn
        end = time.monotonic() + float(query.get("s", "30"))
        while time.monotonic() < end:
            pass
        return _text(start_response, "spun")
    if path == "/stream":  # one chunk every `delay` seconds (server-sent events style)
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def events():
            for i in range(int(query.get("n", "5"))):
                if i:
                    green_sleep(float(query.get("delay", "0.3")))
                yield f"data: {i}\n\n".encode()

        return events()
    if path == "/upload":
        inp = environ["wsgi.input"]
        digest = hashlib.sha256()
        total = 0
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        while piece := inp.read(65536):
            total += len(piece)
            digest.update(piece)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return _text(start_response, f"{total} {digest.hexdigest()} {before} {after}")
    return _text(start_response, "not found", "404 Not Found")
