"""One app, many behaviours chosen by path: errors, streaming, sleeping, large bodies."""

import hashlib
import os
import resource
import tempfile
import threading
import time

# Requests sleeping in /sleep now, and the most at once, in this worker process.
_sleeping = {"now": 0, "most": 0}
_sleeping_lock = threading.Lock()


def _text(start_response, status, text, headers=()):
    body = text.encode()
    start_response(
        status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *headers]
    )
    return [body]


def _stream(count, delay, size):
    for i in range(count):
        yield (f"{i:06d}".encode() * (size // 6 + 1))[:size]
        if delay:
            time.sleep(delay)


class _Closing:
    closed_marker = None

    def __init__(self, items, marker):
        self.items = items
        self.marker = marker

    def __iter__(self):
        return iter(self.items)

    def close(self):
        with open(self.marker, "w") as f:
            f.write("closed")


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = dict(p.split("=", 1) for p in environ["QUERY_STRING"].split("&") if "=" in p)
    if path == "/hello":
        return _text(start_response, "200 OK", "hello")
    if path == "/pid":
        return _text(start_response, "200 OK", str(os.getpid()))
    if path == "/environ":  # one WSGI environ value, by key
        return _text(start_response, "200 OK", str(environ.get(query.get("key", ""))))
    if path == "/osenv":  # the worker process's environment variable names
        return _text(start_response, "200 OK", "\n".join(sorted(os.environ)))
    if path == "/raise":
        raise RuntimeError("boom from the fixture app")
    if path == "/raise-after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"partial"
            raise RuntimeError("boom mid-stream")

        return gen()
    if path == "/sleep":
        with _sleeping_lock:
            _sleeping["now"] += 1
            _sleeping["most"] = max(_sleeping["most"], _sleeping["now"])
        if "mark" in query:  # tell the test the request is in the app: create that file
            open(query["mark"], "w").close()
        try:
            time.sleep(float(query.get("s", "1")))
        finally:
            with _sleeping_lock:
                _sleeping["now"] -= 1
        return _text(start_response, "200 OK", "slept")
    if path == "/sleeping":  # "NOW MOST": requests in /sleep now, and the most at once
        return _text(start_response, "200 OK", f"{_sleeping['now']} {_sleeping['most']}")
    if path == "/spin":  # busy for s seconds without yielding: blocks a green worker's hub
        end = time.monotonic() + float(query.get("s", "1"))
        while time.monotonic() < end:
            pass
        return _text(start_response, "200 OK", "spun")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _stream(
            int(query.get("n", "10")), float(query.get("delay", "0")), int(query.get("size", "100"))
        )
    if path == "/big":
        size = int(query.get("size", "1048576"))
        block = b"x" * 65536
        start_response("200 OK", [("Content-Length", str(size))])

        def gen():
            left = size
            while left > 0:
                piece = block[: min(left, len(block))]
                left -= len(piece)
                yield piece

        return gen()
    if path == "/upload":
        # Reads the body in pieces; reports its size, digest and this process's peak RSS.
        inp = environ["wsgi.input"]
        digest = hashlib.sha256()
        total = 0
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        while True:
            piece = inp.read(65536)
            if not piece:
                break
            total += len(piece)
            digest.update(piece)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return _text(start_response, "200 OK", f"{total} {digest.hexdigest()} {before} {after}")
    if path == "/readline":
        inp = environ["wsgi.input"]
        lines = [inp.readline().decode("latin-1") for _ in range(int(query.get("n", "2")))]
        rest = inp.read().decode("latin-1")
        return _text(start_response, "200 OK", repr((lines, rest)))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-")
        write(b"twice-")
        return [b"then-returned"]
    if path == "/file":
        size = int(query.get("size", "100000"))
        fd, name = tempfile.mkstemp()
        os.write(fd, bytes(range(256)) * (size // 256) + b"z" * (size % 256))
        os.close(fd)
        f = open(name, "rb")  # noqa: SIM115 - closed by the server through the wrapper
        os.unlink(name)
        headers = [("Content-Type", "application/octet-stream")]
        if query.get("length") == "1":
            headers.append(("Content-Length", str(size)))
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](f, 8192)
    if path == "/close-marker":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _Closing([b"a", b"b"], query["marker"])
    if path == "/status":
        code = query.get("code", "204")
        reasons = {"204": "No Content", "304": "Not Modified", "200": "OK"}
        start_response(
            f"{code} {reasons[code]}", [("Content-Length", "0")] if code == "200" else []
        )
        return [b""]
    if path == "/exc-info":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("replaced")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("Content-Length", "9")], sys.exc_info())
        return [b"recovered"]
    if path == "/bad-header":
        start_response("200 OK", [("X-Bad", "a\r\nInjected: yes")])
        return [b"never"]
    if path == "/too-long":
        start_response("200 OK", [("Content-Length", "3")])
        return [b"abcdef"]
    return _text(start_response, "404 Not Found", "not found")
