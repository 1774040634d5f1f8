"""What real clients send and Gunicorn serves is served, in every worker class, with the
environ the application expects (docs/HTTP.md, "Tolerated"); the framing risks next to
each tolerated shape stay refused."""

from __future__ import annotations

import pytest
from corral_testing import Client, worker_classes

HOST = b"Host: a\r\n"


@pytest.fixture(scope="module", params=worker_classes())
def server(request: pytest.FixtureRequest):
    from corral_testing import CorralProcess

    proc = CorralProcess("-k", str(request.param), "-w", "1", "echo:app").start()
    yield proc
    proc.stop(timeout=10)


def ask(server, raw: bytes):
    with server.connect(timeout=30) as sock:
        client = Client(sock)
        client.send(raw)
        return client.response()


# (request line target, PATH_INFO, QUERY_STRING)
TARGETS = [
    (b'/a?q={"x":1}', "/a", 'q={"x":1}'),
    (b'/a"b', '/a"b', ""),
    (b"/a^b", "/a^b", ""),
    (b"/a<b>", "/a<b>", ""),
    (b"/a\\b", "/a\\b", ""),
    (b"/a%zz", "/a%zz", ""),
    (b"/a%41%", "/aA%", ""),
    (b"/a`b|c{d}[e]", "/a`b|c{d}[e]", ""),
    (b"/forums/1?page=1#posts-17408", "/forums/1", "page=1"),
    (b"/p#frag?notquery", "/p", ""),
    (b"/caf\xc3\xa9?q=\xe2\x82\xac", "/caf\xc3\xa9", "q=\xe2\x82\xac"),
    (b"/caf%C3%A9", "/caf\xc3\xa9", ""),
    (b"http://a/abs?x=1#f", "/abs", "x=1"),
    (b"http://a#top", "/", ""),
    (b"http://a?only=q", "/", "only=q"),
    (b"http://a/caf\xc3\xa9", "/caf\xc3\xa9", ""),
]


@pytest.mark.parametrize(("target", "path", "query"), TARGETS, ids=lambda t: repr(t)[:40])
def test_unusual_targets_are_served(server, target, path, query):
    resp = ask(server, b"GET " + target + b" HTTP/1.1\r\n" + HOST + b"\r\n")
    assert resp.status == 200, resp
    doc = resp.json()
    assert (doc["PATH_INFO"], doc["QUERY_STRING"]) == (path, query)
    assert doc["RAW_URI"] == target.decode("latin-1")  # as sent, fragment included


def test_a_token_method_llhttp_does_not_know_is_served(server):
    resp = ask(server, b"-BLARGH /m HTTP/1.1\r\n" + HOST + b"Content-Length: 2\r\n\r\nhi")
    assert resp.status == 200, resp
    doc = resp.json()
    assert (doc["REQUEST_METHOD"], doc["body"]) == ("-BLARGH", "hi")


def test_chunk_extensions_with_whitespace_are_served(server):
    body = b'5; some; parameters=stuff\r\nhello\r\n6 ; x = "y z"\r\n world\r\n0\r\n\r\n'
    raw = b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n" + body
    resp = ask(server, raw)
    assert resp.status == 200, resp
    assert resp.json()["body"] == "hello world"


def test_trailers_are_served_and_never_merged(server):
    raw = (
        b"POST /t HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\nX-Sum: 9\r\n\r\n"
    )
    resp = ask(server, raw)
    assert resp.status == 200, resp
    doc = resp.json()
    assert doc["body"] == "abc"
    assert "CONTENT_TYPE" not in doc or doc["CONTENT_TYPE"] == ""
    assert "HTTP_VARY" not in doc["headers"] and "HTTP_X_SUM" not in doc["headers"]


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /a\x7fb HTTP/1.1\r\n" + HOST + b"\r\n",  # DEL in the target
        b"GET /a\x01b HTTP/1.1\r\n" + HOST + b"\r\n",  # a control byte
        b"GET /a\tb HTTP/1.1\r\n" + HOST + b"\r\n",  # HTAB is not a separator here
        b"GET http://u@a/ HTTP/1.1\r\n" + HOST + b"\r\n",  # userinfo
        b"POST /c HTTP/1.1\r\n"
        + HOST
        + b"Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
        b"POST /c HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
        b"0\r\nContent-Length: 5\r\n\r\n",  # a framing field in the trailers
    ],
    ids=["del", "ctl", "tab", "userinfo", "chunk-space-no-ext", "trailer-content-length"],
)
def test_the_framing_risks_beside_them_stay_refused(server, raw):
    resp = ask(server, raw)
    assert resp.status == 400, resp
    assert resp.closes


def test_every_visible_byte_and_obs_text_in_a_target_is_served(server):
    """The rest of the range: each byte of %x21-7E and %x80-FF in a path, one keep-alive
    connection, one request per byte; each reaches the application as sent."""
    sent = [bytes([b]) for b in [*range(0x21, 0x7F), *range(0x80, 0x100)]]
    with server.connect(timeout=60) as sock:
        client = Client(sock)
        for byte in sent:
            client.send(b"GET /x" + byte + b"y HTTP/1.1\r\n" + HOST + b"\r\n")
            resp = client.response()
            assert resp.status == 200, (byte, resp)
            assert resp.json()["RAW_URI"] == ("/x" + byte.decode("latin-1") + "y"), byte
    assert len(sent) == 94 + 128
