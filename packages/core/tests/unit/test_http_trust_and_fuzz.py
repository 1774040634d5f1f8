"""corral.trust (forwarded fields only from trusted peers) and hypothesis properties of the
core: random splits, valid header round trips, garbage never crashes nor leaks."""

from __future__ import annotations

from typing import Any

from corral.http import NEED_DATA, Connection, EndOfMessage, ProtocolError, Request
from corral.trust import TrustSettings, apply, client_from_xff, parse_forwarded
from hypothesis import given, settings
from hypothesis import strategies as st

FWD = [
    (b"X-Forwarded-For", b"203.0.113.7, 10.0.0.2"),
    (b"X-Forwarded-Proto", b"https"),
    (b"X-Forwarded-Host", b"shop.example:8443"),
]


def env() -> dict[str, Any]:
    return {
        "REMOTE_ADDR": "10.0.0.2",
        "REMOTE_PORT": "5000",
        "wsgi.url_scheme": "http",
        "PATH_INFO": "/app/x",
        "SCRIPT_NAME": "",
    }


def test_untrusted_peer_changes_nothing() -> None:
    e = env()
    apply(e, FWD, [(b"SCRIPT_NAME", b"/app")], "192.0.2.1", False, TrustSettings())
    assert e == env()


def test_trusted_peer_applies_everything() -> None:
    trust = TrustSettings.from_settings(["10.0.0.0/8"], {"X-FORWARDED-PROTO": "https"})
    e = env()
    apply(e, FWD, [(b"SCRIPT_NAME", b"/app")], "10.0.0.2", False, trust)
    assert e["REMOTE_ADDR"] == "203.0.113.7" and "REMOTE_PORT" not in e
    assert e["wsgi.url_scheme"] == "https"
    assert (e["SERVER_NAME"], e["SERVER_PORT"]) == ("shop.example", "8443")
    assert (e["SCRIPT_NAME"], e["PATH_INFO"]) == ("/app", "/x")


def test_unix_peer_is_trusted_and_star_trusts_all() -> None:
    assert TrustSettings().trusts("", is_unix=True)
    assert TrustSettings.from_settings(["*"], {}).trusts("198.51.100.1")
    assert not TrustSettings().trusts("198.51.100.1")
    assert TrustSettings().trusts("::1")


def test_xff_skips_trusted_hops_and_rejects_garbage() -> None:
    trust = TrustSettings.from_settings(["10.0.0.0/8"], {})
    assert client_from_xff("1.2.3.4, 10.1.1.1, 10.2.2.2", trust) == "1.2.3.4"
    assert client_from_xff("1.2.3.4, evil", trust) is None


def test_forwarded_rfc7239() -> None:
    # RFC 7239 §4: elements, pairs, quoted values.
    assert parse_forwarded('for=1.2.3.4;proto=https, for="[2001:db8::1]:80"') == [
        {"for": "1.2.3.4", "proto": "https"},
        {"for": "[2001:db8::1]:80"},
    ]
    assert parse_forwarded("for") == []
    e = env()
    apply(
        e,
        [(b"Forwarded", b'for="[2001:db8::1]:80";proto=https')],
        [],
        "127.0.0.1",
        False,
        TrustSettings(),
    )
    assert e["REMOTE_ADDR"] == "2001:db8::1"


def test_secure_scheme_headers_disagreeing_are_ignored() -> None:
    trust = TrustSettings()
    e = env()
    warnings = apply(
        e,
        [(b"X-Forwarded-Proto", b"https"), (b"X-Forwarded-Ssl", b"off")],
        [],
        "127.0.0.1",
        False,
        trust,
    )
    assert warnings and e["wsgi.url_scheme"] == "http"


# --------------------------------------------------------------------- properties

TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^`|~",
    min_size=1,
    max_size=12,
)
VALUE = st.binary(max_size=20).map(
    lambda b: bytes(c for c in b if c in (0x09, 0x20) or 0x21 <= c <= 0x7E or c >= 0x80).strip(
        b" \t"
    )
)
RESERVED = {"host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"}


def pull(conn: Connection) -> list[object]:
    out: list[object] = []
    while True:
        try:
            ev = conn.next_event()
        except ProtocolError as exc:
            out.append(exc)
            return out
        if ev is NEED_DATA or (
            not isinstance(ev, (Request, EndOfMessage)) and ev.__class__.__name__ != "Data"
        ):
            return out
        out.append(ev)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TOKEN, VALUE), max_size=8), st.data())
def test_valid_headers_survive_any_split(
    fields: list[tuple[str, bytes]], data: st.DataObject
) -> None:
    fields = [(n, v) for n, v in fields if n.lower() not in RESERVED and "_" not in n]
    raw = (
        b"GET / HTTP/1.1\r\nHost: h\r\n"
        + b"".join(n.encode() + b": " + v + b"\r\n" for n, v in fields)
        + b"\r\n"
    )
    cut = data.draw(st.integers(0, len(raw)))
    conn = Connection()
    for piece in (raw[:cut], raw[cut:]):
        if piece:
            conn.receive_data(piece)
    req = conn.next_event()
    assert isinstance(req, Request)
    assert req.headers == [(b"Host", b"h"), *((n.encode(), v) for n, v in fields)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=10))
def test_garbage_never_crashes_and_never_leaks(garbage: bytes, cuts: list[int]) -> None:
    good = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
    stream = garbage + b"\r\n\r\n" + good
    conn = Connection()
    pos = 0
    for size in [*cuts, len(stream)]:
        if stream[pos : pos + size]:
            conn.receive_data(stream[pos : pos + size])
        pos += size
    evs = pull(conn)
    # Whatever the garbage did, an error is last, and a request after an error never appears.
    errors = [i for i, e in enumerate(evs) if isinstance(e, ProtocolError)]
    if errors:
        assert errors == [len(evs) - 1]
    for ev in evs:
        if isinstance(ev, Request):
            assert b"\r" not in ev.target and b"\n" not in ev.target
            assert all(b"\r" not in v and b"\n" not in v and b"\0" not in v for _, v in ev.headers)


def test_ipv4_mapped_ipv6_peer_is_judged_as_its_ipv4_address() -> None:
    settings = TrustSettings.from_settings(["127.0.0.1"], {})
    assert settings.trusts("::ffff:127.0.0.1")
    assert not settings.trusts("::ffff:127.0.0.2")


def test_mentioned_in_sees_every_field_apply_reads() -> None:
    trust = TrustSettings.from_settings(["127.0.0.1"], {"X-Custom-Secure": "yes"})
    assert not trust.mentioned_in({"HTTP_HOST": "x", "HTTP_USER_AGENT": "y"})
    for key in (
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PORT",
        "HTTP_FORWARDED",
        "HTTP_X_CUSTOM_SECURE",
    ):
        assert trust.mentioned_in({key: "1"}), key
