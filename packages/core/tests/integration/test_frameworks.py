"""A real Flask application behind corral, as a new user would run it."""

from __future__ import annotations

import json

from corral_testing import Client


def test_flask_app_with_keep_alive(corral):
    server = corral("-w", "2", "flaskapp:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.status == 200 and resp.body == b"hello from flask"
        payload = json.dumps({"a": [1, 2]}).encode()
        client.send(
            b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%b" % (len(payload), payload)
        )
        doc = client.response().json()
        assert doc == {"received": {"a": [1, 2]}, "remote": "127.0.0.1", "scheme": "http"}
        client.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.chunked and resp.body == b"part 0\npart 1\npart 2\n"
        client.send(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().status == 404
