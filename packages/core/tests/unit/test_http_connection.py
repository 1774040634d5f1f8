"""The sans-IO connection: event sequences at every split, pipelining, bodies, limits,
100-continue, and response framing. RFC 9112 / RFC 9110 sections beside each rule."""

from __future__ import annotations

import pytest
from corral.http import (
    NEED_DATA,
    PAUSED,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Limits,
    LocalProtocolError,
    ProtocolError,
    Request,
)

GET = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"


def events(conn: Connection, respond: bool = True) -> list[object]:
    """Pull every event; answer each request with an empty 200 so pipelining proceeds."""
    out: list[object] = []
    while True:
        try:
            event = conn.next_event()
        except ProtocolError as exc:
            out.append(exc.status)
            return out
        if event is NEED_DATA or isinstance(event, ConnectionClosed):
            out.append(event)
            return out
        if event is PAUSED:
            if not respond or not conn.keep_alive:
                out.append(PAUSED)
                return out
            conn.send_response(200, "OK", [("Content-Length", "0")])
            conn.send_eom()
            conn.start_next_cycle()
            continue
        if isinstance(event, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + event.data)
        else:
            out.append(event)


def feed(pieces: list[bytes], limits: Limits | None = None) -> list[object]:
    conn = Connection(limits)
    for piece in pieces:
        if piece:  # b"" would mean EOF
            conn.receive_data(piece)
    return events(conn)


def every_split(raw: bytes, limits: Limits | None = None) -> list[object]:
    """The events, checked to be the same at every split point and byte by byte."""
    whole = feed([raw], limits)
    for i in range(len(raw) + 1):
        assert feed([raw[:i], raw[i:]], limits) == whole, i
    assert feed([raw[i : i + 1] for i in range(len(raw))], limits) == whole
    return whole


def kinds(evs: list[object]) -> list[str]:
    return [type(e).__name__ if not isinstance(e, int) else str(e) for e in evs]


def test_simple_get_exact_event_sequence_at_every_split() -> None:
    evs = every_split(GET)
    assert kinds(evs) == ["Request", "EndOfMessage", "_Sentinel"]
    req = evs[0]
    assert isinstance(req, Request)
    assert (req.method, req.target, req.http_version) == (b"GET", b"/a", "1.1")
    assert req.headers == [(b"Host", b"h")] and req.keep_alive


def test_pipelined_requests_come_out_in_order() -> None:
    # RFC 9112 §9.3.2: responses in the order the requests were received.
    raw = b"".join(GET.replace(b"/a", b"/%d" % i) for i in range(3))
    evs = every_split(raw)
    targets = [e.target for e in evs if isinstance(e, Request)]
    assert targets == [b"/0", b"/1", b"/2"]


def test_nothing_after_a_connection_close_request() -> None:
    # RFC 9112 §9.6: after a request with Connection: close, nothing more is read.
    raw = GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + GET + b"garbage\r\n\r\n"
    evs = every_split(raw)
    assert kinds(evs) == ["Request", "EndOfMessage", "_Sentinel"]
    assert evs[-1] is PAUSED


def test_nothing_after_an_error() -> None:
    # RFC 9112 §9.3.2: the requests before a bad one are served; nothing after it is.
    raw = GET + b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n" + GET
    evs = every_split(raw)
    assert kinds(evs) == ["Request", "EndOfMessage", "400"]


def test_content_length_body_then_next_request() -> None:
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + GET
    evs = every_split(raw)
    assert kinds(evs) == ["Request", "Data", "EndOfMessage", "Request", "EndOfMessage", "_Sentinel"]
    assert evs[1] == Data(b"hello")


def test_chunked_body_with_trailers() -> None:
    # RFC 9112 §7.1, §7.1.2.
    raw = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-Check: 1\r\n\r\n" + GET
    )
    evs = every_split(raw)
    assert evs[1] == Data(b"hello!")
    assert evs[2] == EndOfMessage([(b"X-Check", b"1")])
    assert isinstance(evs[3], Request)


def test_incomplete_body_at_eof_is_400() -> None:
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhel")
    conn.receive_data(b"")
    assert kinds(events(conn)) == ["Request", "Data", "400"]


def test_eof_between_requests_is_connection_closed() -> None:
    conn = Connection()
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), ConnectionClosed)


def test_100_continue_is_sent_once_and_only_when_asked() -> None:
    # RFC 9110 §10.1.1.
    conn = Connection()
    conn.receive_data(
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"
    )
    assert isinstance(conn.next_event(), Request)
    assert conn.send_continue() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert conn.send_continue() == b""
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
    conn.next_event()
    assert conn.send_continue() == b""  # HTTP/1.0 clients do not get 100
    conn = Connection()
    conn.receive_data(
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"
    )
    conn.next_event()
    conn.send_response(413, "Too Large", [])
    assert conn.send_continue() == b""  # a final response was already started


@pytest.mark.parametrize(
    ("raw", "limits", "status"),
    [
        # RFC 9112 §3 / RFC 9110 §15.5.15: request line over --limit-request-line -> 414.
        (b"GET /" + b"a" * 20 + b" HTTP/1.1\r\nHost: h\r\n\r\n", Limits(max_request_line=20), 414),
        # RFC 6585 §5: 431 for a field line, the field count, or the whole head.
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 30 + b"\r\n\r\n",
            Limits(max_field_size=20),
            431,
        ),
        (b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", Limits(max_fields=2), 431),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\n" + b"A: 1\r\n" * 20 + b"\r\n",
            Limits(max_head_bytes=64),
            431,
        ),
    ],
)
def test_limits(raw: bytes, limits: Limits, status: int) -> None:
    assert every_split(raw, limits)[-1] == status


def test_request_line_limit_counts_the_whole_line() -> None:
    # The setting documents "method, target and version"; exactly at the limit passes.
    line = b"GET /" + b"a" * 10 + b" HTTP/1.1"
    raw = line + b"\r\nHost: h\r\n\r\n"
    assert kinds(feed([raw], Limits(max_request_line=len(line))))[0] == "Request"
    assert feed([raw], Limits(max_request_line=len(line) - 1))[-1] == 414


def test_head_limit_bounds_an_incomplete_head() -> None:
    conn = Connection(Limits(max_head_bytes=100, max_fields=0))
    for _ in range(30):
        conn.receive_data(b"A: 1\r\n" if conn.in_head else b"GET / HTTP/1.1\r\n")
    with pytest.raises(ProtocolError) as err:
        conn.next_event()
    assert err.value.status == 431


# ----------------------------------------------------------------------- responses


def answer(
    raw: bytes, status: int, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[bytes, Connection]:
    conn = Connection()
    conn.receive_data(raw)
    while not isinstance(conn.next_event(), EndOfMessage):
        pass
    out = conn.send_response(status, "X", headers) + conn.send_data(body) + conn.send_eom()
    return out, conn


def test_content_length_response() -> None:
    out, conn = answer(GET, 200, [("Content-Length", "3")], b"abc")
    assert b"\r\nContent-Length: 3\r\n" in out and out.endswith(b"\r\n\r\nabc")
    assert conn.keep_alive


def test_chunked_when_no_length_on_11() -> None:
    # RFC 9112 §6.1 / §7.1.
    out, conn = answer(GET, 200, [], b"abc")
    assert b"Transfer-Encoding: chunked\r\n" in out and out.endswith(b"\r\n3\r\nabc\r\n0\r\n\r\n")
    assert conn.keep_alive


def test_close_delimited_on_10() -> None:
    # RFC 9112 §6.3 rule 8: without a length the close ends the body.
    out, conn = answer(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, [], b"abc")
    assert b"Transfer-Encoding" not in out and b"Connection: close\r\n" in out
    assert out.endswith(b"\r\n\r\nabc") and not conn.keep_alive


def test_keep_alive_on_10_says_so() -> None:
    out, conn = answer(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, [("Content-Length", "0")]
    )
    assert b"Connection: keep-alive\r\n" in out and conn.keep_alive
    out, conn = answer(b"GET / HTTP/1.0\r\n\r\n", 200, [("Content-Length", "0")])
    assert b"Connection: close\r\n" in out and not conn.keep_alive


def test_app_connection_close_closes() -> None:
    out, conn = answer(GET, 200, [("Content-Length", "0"), ("Connection", "close")])
    assert out.count(b"Connection: close") == 1 and not conn.keep_alive


@pytest.mark.parametrize(
    ("raw", "status"),
    [(GET.replace(b"GET", b"HEAD"), 200), (GET, 204), (GET, 304), (GET, 101)],
)
def test_no_body_for_head_1xx_204_304(raw: bytes, status: int) -> None:
    # RFC 9110 §6.4.1: HEAD, 1xx, 204 and 304 responses have no content.
    out, _ = answer(raw, status, [], b"body")
    assert out.endswith(b"\r\n\r\n") and b"body" not in out
    assert b"Transfer-Encoding" not in out


def test_date_and_server_added_once() -> None:
    # RFC 9110 §6.6.1 (Date), §10.2.4 (Server).
    out, _ = answer(GET, 200, [("Content-Length", "0")])
    assert out.count(b"\r\nDate: ") == 1 and out.count(b"\r\nServer: ") == 1
    out, _ = answer(GET, 200, [("Content-Length", "0"), ("Server", "app"), ("Date", "x")])
    assert out.count(b"\r\nServer: ") == 1 and b"Server: app" in out and b"Date: x" in out


def test_overrun_is_truncated_and_closes() -> None:
    out, conn = answer(GET, 200, [("Content-Length", "2")], b"abcdef")
    assert out.endswith(b"\r\n\r\nab") and not conn.keep_alive
    assert conn.response is not None and conn.response.overrun


def test_underrun_must_close() -> None:
    # RFC 9112 §6.3: the client can only detect a short body by the close.
    out, conn = answer(GET, 200, [("Content-Length", "5")], b"ab")
    assert out.endswith(b"\r\n\r\nab") and not conn.keep_alive


@pytest.mark.parametrize(
    "header",
    [
        ("X-A", "a\r\nSet-Cookie: x"),
        ("X-A", "a\nb"),
        ("X-A", "a\rb"),
        ("X\r\nB", "1"),
        ("X:Y", "1"),
        ("", "1"),
        ("X-A", "a\0b"),
    ],
)
def test_response_header_injection_refused(header: tuple[str, str]) -> None:
    # RFC 9110 §5.5 / RFC 9112 §5: CR, LF and NUL never go into a field.
    conn = Connection()
    conn.receive_data(GET)
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, "OK", [header])


def test_start_next_cycle_guards() -> None:
    conn = Connection()
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()
    conn.receive_data(GET)
    conn.next_event()
    conn.next_event()
    assert conn.next_event() is PAUSED
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()  # response not sent
