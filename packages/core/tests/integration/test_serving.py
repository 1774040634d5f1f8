"""The real corral serving real connections: keep-alive, pipelining, bodies, errors."""

from __future__ import annotations

import socket
import time

from corral_testing import Client, upload


def test_keep_alive_serves_many_requests_on_one_connection(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        pids = set()
        for _ in range(5):
            client.send(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = client.response()
            assert resp.status == 200
            assert not resp.closes
            pids.add(resp.body)
        assert len(pids) == 1  # the same worker, the same connection


def test_http10_without_keep_alive_is_closed_after_the_response(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.0\r\n\r\n")
        resp = client.response()
        assert resp.status == 200 and resp.body == b"hello"
        assert resp.closes
        assert client.at_eof()


def test_http10_keep_alive_is_honoured(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        for _ in range(2):
            client.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            resp = client.response()
            assert resp.header("connection") == "keep-alive"
            assert resp.body == b"hello"


def test_connection_close_request_gets_close_and_nothing_after_it_runs(corral):
    server = corral("echo:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"GET /first HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            b"GET /second HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        resp = client.response()
        assert resp.json()["PATH_INFO"] == "/first"
        assert resp.closes
        assert client.at_eof()


def test_pipelined_requests_are_answered_in_order(corral):
    server = corral("echo:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
            b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n"
            b"GET /d?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        seen = [client.response().json() for _ in range(4)]
        assert [d["PATH_INFO"] for d in seen] == ["/a", "/b", "/c", "/d"]
        assert [d["body"] for d in seen] == ["", "hello", "abc", ""]
        assert seen[3]["QUERY_STRING"] == "x=1"


def test_chunked_request_body_with_trailers_reaches_the_app(corral):
    server = corral("echo:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"PUT /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n"
        )
        doc = client.response().json()
        assert doc["body"] == "hello world"
        assert "CONTENT_LENGTH" not in doc


def test_response_without_length_is_chunked_on_http11_and_close_delimited_on_http10(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /stream?n=3&size=10 HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.chunked and resp.body == b"0000000000" + b"0000010000" + b"0000020000"
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /stream?n=3&size=10 HTTP/1.0\r\n\r\n")
        resp = client.response()
        assert not resp.chunked and resp.header("content-length") is None
        assert len(resp.body) == 30 and resp.closes


def test_expect_100_continue_gets_100_before_the_body_is_sent(corral):
    server = corral("echo:app")
    with server.connect() as sock:
        sock.sendall(
            b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        sock.settimeout(5)
        interim = sock.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"data")
        resp = Client(sock).response()
        assert resp.status == 200 and resp.json()["body"] == "data"


def test_head_has_headers_but_no_body(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response(head_only=True)
        assert resp.status == 200 and resp.header("content-length") == "5"
        # The next response on the connection starts right away: no body bytes leaked.
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"


def test_204_and_304_carry_no_body(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        for code in (204, 304):
            client.send(f"GET /status?code={code} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            resp = client.response()
            assert resp.status == code and resp.body == b""
            assert resp.header("transfer-encoding") is None
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"


def test_date_and_server_headers(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.header("server") == "corral"
        assert resp.header(
            "date",
        ).endswith(" GMT")


def test_large_upload_is_read_with_flat_memory(corral):
    server = corral("behaviours:app")
    size = 200 * 1024 * 1024
    with server.connect(timeout=60) as sock:
        resp, sent = upload(sock, size)
    total, hexdigest, before, after = resp.body.decode().split()
    assert int(total) == size and hexdigest == sent
    # Peak RSS of the worker grew by far less than the body (it spilled to a file).
    assert int(after) - int(before) < 32 * 1024, (before, after)


def test_large_download_is_streamed(corral):
    server = corral("behaviours:app")
    size = 100 * 1024 * 1024
    with server.connect(timeout=60) as sock:
        sock.sendall(f"GET /big?size={size} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        resp = Client(sock).response()
    assert len(resp.body) == size and resp.header("content-length") == str(size)


def test_app_exception_gives_500_and_the_worker_lives_on(corral):
    server = corral("behaviours:app", "-w", "1")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
        pid = client.response().body
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /raise HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.status == 500 and resp.closes
    server.wait_log("boom from the fixture app")
    assert "Traceback" in server.log
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == pid


def test_app_exception_after_the_head_was_sent_cuts_the_connection(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /raise-after-start HTTP/1.1\r\nHost: t\r\n\r\n")
        try:
            resp = client.response()
        except ConnectionError:
            pass  # the chunked body never terminates: the client can tell
        else:
            raise AssertionError(f"a complete response was sent: {resp}")
    server.wait_log("boom mid-stream")


def test_iterable_close_is_always_called(corral, tmp_path):
    server = corral("behaviours:app")
    marker = tmp_path / "closed"
    with server.connect() as sock:
        client = Client(sock)
        client.send(f"GET /close-marker?marker={marker} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert client.response().body == b"ab"
        # close() runs once the response is written, so give it a moment.
        deadline = time.monotonic() + 5
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline, "close() was not called"
            time.sleep(0.01)
    assert marker.read_text() == "closed"


def test_write_callable_and_exc_info(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /write HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"written-twice-then-returned"
        client.send(b"GET /exc-info HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.status == 503 and resp.body == b"recovered"


def test_file_wrapper_sends_the_file(corral):
    server = corral("behaviours:app")
    expected = bytes(range(256)) * (100000 // 256) + b"z" * (100000 % 256)
    with server.connect() as sock:
        client = Client(sock)
        for length in ("1", "0"):
            client.send(
                f"GET /file?size=100000&length={length} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
            )
            resp = client.response()
            assert resp.body == expected
            assert resp.chunked == (length == "0")


def test_bad_response_header_from_the_app_is_a_500_not_an_injection(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /bad-header HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.status == 500
        assert resp.header("injected") is None


def test_body_longer_than_content_length_is_truncated_and_closed(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /too-long HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = client.response()
        assert resp.body == b"abc"
        assert client.at_eof()


def test_wsgi_input_stops_at_the_end_of_the_body(corral):
    server = corral("behaviours:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"POST /readline?n=3 HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\none\ntwo\n"
            b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert client.response().body == repr((["one\n", "two\n", ""], "")).encode()
        assert client.response().body == b"hello"


def test_limits_give_414_431_and_400_without_calling_the_app(corral):
    server = corral("echo:app", "--limit-request-line", "100", "--limit-request-fields", "5")
    cases = [
        (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(6)) + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),  # TLS to a plain port
    ]
    for raw, status in cases:
        with server.connect() as sock:
            client = Client(sock)
            client.send(raw + b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = client.response()
            assert resp.status == status, raw[:40]
            assert resp.closes
            assert b"application/json" not in resp.raw_head  # not the echo app
            assert client.at_eof()


def test_unix_socket_and_several_binds(corral, tmp_path):
    path = tmp_path / "corral.sock"
    server = corral("behaviours:app", "-b", f"unix:{path}", "-b", "[::1]:0", bind="127.0.0.1:0")
    assert len(server.urls) == 3
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
    v6_port = int(server.urls[2].rsplit(":", 1)[1])
    with socket.create_connection(("::1", v6_port)) as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
    server.stop()
    assert not path.exists()  # the socket file is removed at exit


def test_keep_alive_idle_connection_is_closed_after_the_keep_alive_timeout(corral):
    server = corral("behaviours:app", "--keep-alive", "1")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        client.response()
        started = time.monotonic()
        assert client.at_eof(timeout=30)  # closed by the server, not kept forever
        assert time.monotonic() - started > 0.9  # and not before the keep-alive ran out
