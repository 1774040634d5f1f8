"""Raw requests and the verdict corral must reach, as data.

A :class:`Case` is either refused (``status`` set: that status, ``Connection: close``, the
application is not called, nothing after it on the connection is processed) or accepted
(``status`` None: the application sees exactly ``method``, ``target``, ``version``,
``headers`` in order, ``body``; ``trailers`` are the trailer fields the core delivers).
``rule`` cites what decides the case. ``options`` are command-line flags that relax the
defaults; ``LIMITS_FOR_OPTION`` says what each means to :class:`corral.http.Limits`.
"""

from __future__ import annotations

from dataclasses import dataclass

H = b"Host: example.com\r\n"


@dataclass(frozen=True)
class Case:
    id: str
    raw: bytes
    rule: str
    status: int | None = None
    method: bytes = b"GET"
    target: bytes = b"/"
    version: str = "1.1"
    headers: tuple[tuple[bytes, bytes], ...] = ((b"Host", b"example.com"),)
    body: bytes = b""
    trailers: tuple[tuple[bytes, bytes], ...] = ()
    options: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status is None


LIMITS_FOR_OPTION: dict[str, dict[str, object]] = {
    "--permit-obsolete-folding": {"permit_obsolete_folding": True},
    "--casefold-http-method": {"casefold_http_method": True},
    "--permit-unconventional-http-method": {"permit_unconventional_http_method": True},
    "--permit-unconventional-http-version": {"permit_unconventional_http_version": True},
    "--header-map=refuse": {"header_map": "refuse"},
    "--header-map=dangerous": {"header_map": "dangerous"},
    "--limit-request-line=64": {"max_request_line": 64},
    "--limit-request-fields=3": {"max_fields": 3},
    "--limit-request-field_size=64": {"max_field_size": 62},  # (the CRLF counts)
    "--strip-header-spaces": {"strip_header_spaces": True},
    "--limit-request-header-bytes=256": {"max_head_bytes": 256},
    "--limit-request-chunk-extension=16": {"max_chunk_ext": 16},
}


def bad(id: str, raw: bytes, rule: str, status: int = 400, options: tuple[str, ...] = ()) -> Case:
    return Case(id, raw, rule, status=status, options=options)


def get_with(fields: bytes) -> bytes:
    """A GET with the standard Host line and ``fields`` (CRLF-terminated lines)."""
    return b"GET / HTTP/1.1\r\n" + H + fields + b"\r\n"


def post_chunked(body: bytes, extra: bytes = b"") -> bytes:
    return b"POST /up HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n" + extra + b"\r\n" + body


def post_length(fields: bytes, body: bytes = b"") -> bytes:
    return b"POST /up HTTP/1.1\r\n" + H + fields + b"\r\n" + body


HOST = ((b"Host", b"example.com"),)
TE = ((b"Host", b"example.com"), (b"Transfer-Encoding", b"chunked"))


def cl(n: bytes) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"Host", b"example.com"), (b"Content-Length", n))


ACCEPTED: list[Case] = [
    # -- request line (RFC 9112 §3) ------------------------------------------------------
    Case("simple-get", get_with(b""), "RFC 9112 §3"),
    Case("http10-no-host", b"GET / HTTP/1.0\r\n\r\n", "RFC 9112 §3.2", version="1.0", headers=()),
    Case("leading-crlf-ignored", b"\r\n\r\n" + get_with(b""), "RFC 9112 §2.2"),
    Case(
        "origin-form-query",
        b"GET /a/b?c=d&e=%20f HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.1",
        target=b"/a/b?c=d&e=%20f",
    ),
    Case(
        "origin-form-sub-delims",
        b"GET /a;b=c,d!$'()*+@: HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 3986 §3.3",
        target=b"/a;b=c,d!$'()*+@:",
    ),
    Case(
        "origin-form-query-slash-question",
        b"GET /?a=/b?c HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 3986 §3.4",
        target=b"/?a=/b?c",
    ),
    Case(
        "query-brackets-tolerated",
        b"GET /?a[0]=1&b={x}|^` HTTP/1.1\r\n" + H + b"\r\n",
        "docs/HTTP.md query tolerance",
        target=b"/?a[0]=1&b={x}|^`",
    ),
    Case(
        "double-slash-path",
        b"GET //a//b HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 3986 §3.3",
        target=b"//a//b",
    ),
    Case(
        "absolute-form",
        b"GET http://example.com/x?y HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.2",
        target=b"http://example.com/x?y",
    ),
    Case(
        "absolute-form-https-port",
        b"GET https://example.com:8443/ HTTP/1.1\r\nHost: example.com:8443\r\n\r\n",
        "RFC 9112 §3.2.2",
        target=b"https://example.com:8443/",
        headers=((b"Host", b"example.com:8443"),),
    ),
    Case(
        "absolute-form-host-case",
        b"GET http://EXAMPLE.com/ HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.2 (host is case-insensitive)",
        target=b"http://EXAMPLE.com/",
    ),
    Case(
        "asterisk-options",
        b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.4",
        method=b"OPTIONS",
        target=b"*",
    ),
    Case(
        "method-delete",
        b"DELETE /x HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §9.3.5",
        method=b"DELETE",
        target=b"/x",
    ),
    Case(
        "method-patch",
        b"PATCH /x HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 5789",
        method=b"PATCH",
        target=b"/x",
    ),
    Case(
        "method-m-search",
        b"M-SEARCH /x HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §9.1",
        method=b"M-SEARCH",
        target=b"/x",
    ),
    Case(
        "method-propfind",
        b"PROPFIND /d HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 4918",
        method=b"PROPFIND",
        target=b"/d",
    ),
    Case(
        "casefold-method",
        b"get / HTTP/1.1\r\n" + H + b"\r\n",
        "Gunicorn --casefold-http-method",
        options=("--casefold-http-method", "--permit-unconventional-http-method"),
    ),
    Case(
        "unconventional-version-1.2",
        b"GET / HTTP/1.2\r\n" + H + b"\r\n",
        "RFC 9110 §2.5",
        options=("--permit-unconventional-http-version",),
    ),
    Case(
        "host-ipv4-port",
        b"GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n",
        "RFC 9110 §7.2",
        headers=((b"Host", b"10.0.0.1:8080"),),
    ),
    Case(
        "host-ipv6",
        b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
        "RFC 9110 §7.2",
        headers=((b"Host", b"[::1]:80"),),
    ),
    Case(
        "host-empty-origin-form",
        b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
        "RFC 9110 §7.2",
        headers=((b"Host", b""),),
    ),
    # -- fields (RFC 9112 §5, RFC 9110 §5) -------------------------------------------------
    Case(
        "field-ows-stripped",
        get_with(b"X-A:  \t v \t \r\n"),
        "RFC 9112 §5",
        headers=(*HOST, (b"X-A", b"v")),
    ),
    Case("field-no-ows", get_with(b"X-A:v\r\n"), "RFC 9112 §5", headers=(*HOST, (b"X-A", b"v"))),
    Case(
        "field-inner-space-htab",
        get_with(b"X-A: a b\tc\r\n"),
        "RFC 9110 §5.5",
        headers=(*HOST, (b"X-A", b"a b\tc")),
    ),
    Case(
        "field-empty-value", get_with(b"X-A:\r\n"), "RFC 9110 §5.5", headers=(*HOST, (b"X-A", b""))
    ),
    Case(
        "field-obs-text",
        get_with(b"X-A: caf\xe9\x80\xff\r\n"),
        "RFC 9110 §5.5 obs-text",
        headers=(*HOST, (b"X-A", b"caf\xe9\x80\xff")),
    ),
    Case(
        "field-name-tchars",
        get_with(b"X!#$%&'*+.^`|~9: 1\r\n"),
        "RFC 9110 §5.6.2",
        headers=(*HOST, (b"X!#$%&'*+.^`|~9", b"1")),
    ),
    Case(
        "field-repeated",
        get_with(b"X-A: 1\r\nX-A: 2\r\n"),
        "RFC 9110 §5.3",
        headers=(*HOST, (b"X-A", b"1"), (b"X-A", b"2")),
    ),
    Case(
        "field-colon-in-value",
        get_with(b"X-A: a:b: c\r\n"),
        "RFC 9112 §5",
        headers=(*HOST, (b"X-A", b"a:b: c")),
    ),
    Case(
        "field-quotes-backslash",
        get_with(b'X-A: "a\\"b"\r\n'),
        "RFC 9110 §5.6.4",
        headers=(*HOST, (b"X-A", b'"a\\"b"')),
    ),
    Case(
        "obs-fold-permitted",
        get_with(b"X-A: a\r\n  b\r\n\tc\r\n"),
        "RFC 9112 §5.2",
        headers=(*HOST, (b"X-A", b"a b c")),
        options=("--permit-obsolete-folding",),
    ),
    Case(
        "underscore-dropped",
        get_with(b"X_A: 1\r\nX-B: 2\r\n"),
        "Gunicorn --header-map drop",
        headers=(*HOST, (b"X-B", b"2")),
    ),
    Case(
        "underscore-script-name-dropped",
        get_with(b"SCRIPT_NAME: /x\r\n"),
        "Gunicorn --header-map drop; corral.trust",
    ),
    Case(
        "underscore-dangerous",
        get_with(b"X_A: 1\r\n"),
        "Gunicorn --header-map dangerous",
        headers=(*HOST, (b"X_A", b"1")),
        options=("--header-map=dangerous",),
    ),
    Case(
        "connection-close-11",
        get_with(b"Connection: close\r\n"),
        "RFC 9112 §9.6",
        headers=(*HOST, (b"Connection", b"close")),
    ),
    Case(
        "keep-alive-10",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "RFC 9112 §C.2.2",
        version="1.0",
        headers=((b"Connection", b"keep-alive"),),
    ),
    Case(
        "expect-continue",
        post_length(b"Expect: 100-continue\r\nContent-Length: 2\r\n", b"hi"),
        "RFC 9110 §10.1.1",
        method=b"POST",
        target=b"/up",
        headers=(*HOST, (b"Expect", b"100-continue"), (b"Content-Length", b"2")),
        body=b"hi",
    ),
    Case(
        "upgrade-without-body",
        get_with(b"Connection: upgrade\r\nUpgrade: websocket\r\n"),
        "RFC 9110 §7.8 (ignored; answered, then closed)",
        headers=(*HOST, (b"Connection", b"upgrade"), (b"Upgrade", b"websocket")),
    ),
    # -- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3) -------------------------------------
    Case(
        "cl-body",
        post_length(b"Content-Length: 5\r\n", b"hello"),
        "RFC 9112 §6.3 rule 6",
        method=b"POST",
        target=b"/up",
        headers=cl(b"5"),
        body=b"hello",
    ),
    Case(
        "cl-zero",
        post_length(b"Content-Length: 0\r\n"),
        "RFC 9112 §6.3",
        method=b"POST",
        target=b"/up",
        headers=cl(b"0"),
    ),
    Case(
        "cl-leading-zeros",
        post_length(b"Content-Length: 003\r\n", b"abc"),
        "RFC 9110 §8.6",
        method=b"POST",
        target=b"/up",
        headers=cl(b"003"),
        body=b"abc",
    ),
    Case(
        "cl-ows",
        post_length(b"Content-Length:  3 \r\n", b"abc"),
        "RFC 9112 §5",
        method=b"POST",
        target=b"/up",
        headers=cl(b"3"),
        body=b"abc",
    ),
    Case(
        "cl-binary-body",
        post_length(b"Content-Length: 4\r\n", b"\r\n\x00\xff"),
        "RFC 9112 §6",
        method=b"POST",
        target=b"/up",
        headers=cl(b"4"),
        body=b"\r\n\x00\xff",
    ),
    Case(
        "cl-body-looks-like-request",
        post_length(b"Content-Length: 18\r\n", b"GET / HTTP/1.1\r\n\r\n"),
        "RFC 9112 §6.3",
        method=b"POST",
        target=b"/up",
        headers=cl(b"18"),
        body=b"GET / HTTP/1.1\r\n\r\n",
    ),
    Case(
        "get-with-body",
        get_with(b"Content-Length: 2\r\n") + b"hi",
        "RFC 9110 §9.3.1",
        headers=cl(b"2"),
        body=b"hi",
    ),
    Case(
        "http10-cl-body",
        b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
        "RFC 9112 §6.3",
        method=b"POST",
        version="1.0",
        headers=((b"Content-Length", b"2"),),
        body=b"hi",
    ),
    # -- chunked (RFC 9112 §7.1) -----------------------------------------------------------
    Case(
        "chunked",
        post_chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        "RFC 9112 §7.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"hello world",
    ),
    Case(
        "chunked-empty",
        post_chunked(b"0\r\n\r\n"),
        "RFC 9112 §7.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
    ),
    Case(
        "chunked-hex-upper-lower",
        post_chunked(b"A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n"),
        "RFC 9112 §7.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"0123456789abcdefghijk",
    ),
    Case(
        "chunked-leading-zeros",
        post_chunked(b"0003\r\nabc\r\n000\r\n\r\n"),
        "RFC 9112 §7.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
    ),
    Case(
        "chunked-ext",
        post_chunked(b"3;name=value\r\nabc\r\n0;last\r\n\r\n"),
        "RFC 9112 §7.1.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
    ),
    Case(
        "chunked-ext-quoted",
        post_chunked(b'3;a="b c\\"d"\r\nabc\r\n0\r\n\r\n'),
        "RFC 9112 §7.1.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
    ),
    Case(
        "chunked-ext-several",
        post_chunked(b'3;a;b=1;c=""\r\nabc\r\n0\r\n\r\n'),
        "RFC 9112 §7.1.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
    ),
    Case(
        "chunked-trailers",
        post_chunked(b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n"),
        "RFC 9112 §7.1.2",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
        trailers=((b"X-Sum", b"1"), (b"X-B", b"2")),
    ),
    Case(
        "chunked-case-insensitive",
        post_length(b"Transfer-Encoding: Chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §7",
        method=b"POST",
        target=b"/up",
        headers=(*HOST, (b"Transfer-Encoding", b"Chunked")),
    ),
    Case(
        "chunked-body-crlf-data",
        post_chunked(b"4\r\n\r\n\r\n\r\n0\r\n\r\n"),
        "RFC 9112 §7.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"\r\n\r\n",
    ),
    Case(
        "chunked-te-list-empty-members",
        post_length(b"Transfer-Encoding: , chunked\r\n", b"0\r\n\r\n"),
        "RFC 9110 §5.6.1",
        method=b"POST",
        target=b"/up",
        headers=(*HOST, (b"Transfer-Encoding", b", chunked")),
    ),
    Case(
        "field-size-at-the-limit",
        get_with(b"X-A: " + b"v" * 57 + b"\r\n"),
        "--limit-request-field_size",
        headers=(*HOST, (b"X-A", b"v" * 57)),
        options=("--limit-request-field_size=64",),
    ),
    Case(
        "strip-header-spaces",
        post_length(b"Content-Length : 3\r\n", b"xyz"),
        "Gunicorn --strip-header-spaces",
        method=b"POST",
        target=b"/up",
        headers=cl(b"3"),
        body=b"xyz",
        options=("--strip-header-spaces",),
    ),
    # -- tolerated: unusual, not ambiguous (docs/HTTP.md, "Tolerated") -------------------
    Case(
        "method-unknown-to-llhttp",
        b"FROB / HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §9.1",
        method=b"FROB",
    ),
    Case(
        "method-dash-token",
        b"-BLARGH / HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §9.1",
        method=b"-BLARGH",
    ),
    Case(
        "method-lowercase-token-permitted",
        b"frob / HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §9.1",
        method=b"frob",
        options=("--permit-unconventional-http-method",),
    ),
    Case(
        "target-fragment", b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2", target=b"/a#b"
    ),
    Case(
        "target-query-fragment",
        b"GET /f?page=1#p-17 HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/f?page=1#p-17",
    ),
    Case(
        "target-non-ascii",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/caf\xc3\xa9",
    ),
    Case(
        "target-non-ascii-query",
        b"GET /s?q=\xe2\x82\xac HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/s?q=\xe2\x82\xac",
    ),
    Case(
        "target-json-query",
        b'GET /a?q={"x":1} HTTP/1.1\r\n' + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b'/a?q={"x":1}',
    ),
    Case(
        "target-quote-in-path",
        b'GET /a"b HTTP/1.1\r\n' + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b'/a"b',
    ),
    Case("target-caret", b"GET /a^b HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2", target=b"/a^b"),
    Case(
        "target-lt-gt",
        b"GET /<script> HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/<script>",
    ),
    Case(
        "target-backslash-path",
        b"GET /a\\b HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/a\\b",
    ),
    Case(
        "target-bad-percent",
        b"GET /a%zz HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/a%zz",
    ),
    Case(
        "target-truncated-percent",
        b"GET /a% HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2",
        target=b"/a%",
    ),
    Case(
        "target-absolute-fragment",
        b"GET http://example.com#top HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.2",
        target=b"http://example.com#top",
    ),
    Case(
        "target-absolute-non-ascii",
        b"GET http://example.com/caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.2",
        target=b"http://example.com/caf\xc3\xa9",
    ),
    Case(
        "chunk-ext-bws",
        post_chunked(b"3 ; some; parameters = stuff\r\nabc\r\n0\r\n\r\n"),
        "RFC 9112 §7.1.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
    ),
    Case(
        "chunk-ext-bws-tab",
        post_chunked(b"3\t;\ta\r\nabc\r\n0\r\n\r\n"),
        "RFC 9112 §7.1.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
    ),
    Case(
        "trailer-content-format",
        post_chunked(b"3\r\nabc\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n"),
        "RFC 9110 §6.5.1",
        method=b"POST",
        target=b"/up",
        headers=TE,
        body=b"abc",
        trailers=((b"Vary", b"*"), (b"Content-Type", b"text/plain")),
    ),
]

REFUSED: list[Case] = [
    # -- request line ------------------------------------------------------------------------
    bad("version-ice", b"GET / ICE/1.0\r\n" + H + b"\r\n", "RFC 9112 §2.3"),
    bad("version-rtsp", b"GET / RTSP/1.0\r\n" + H + b"\r\n", "RFC 9112 §2.3"),
    bad(
        "version-lower-http", b"GET / http/1.1\r\n" + H + b"\r\n", "RFC 9112 §2.3 (case-sensitive)"
    ),
    bad("version-two-digits", b"GET / HTTP/1.10\r\n" + H + b"\r\n", "RFC 9112 §2.3"),
    bad("version-no-minor", b"GET / HTTP/1\r\n" + H + b"\r\n", "RFC 9112 §2.3"),
    bad("version-missing", b"GET /\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("version-2.0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", "RFC 9110 §15.6.6", 505),
    bad("version-0.9", b"GET / HTTP/0.9\r\n" + H + b"\r\n", "RFC 9110 §15.6.6", 505),
    bad("version-1.2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", "RFC 9110 §15.6.6", 505),
    bad(
        "version-3.0-permitted-still-505",
        b"GET / HTTP/3.0\r\n" + H + b"\r\n",
        "RFC 9110 §15.6.6",
        505,
        ("--permit-unconventional-http-version",),
    ),
    bad("double-space-after-method", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("double-space-before-version", b"GET /  HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("tab-separator", b"GET\t/ HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("leading-space", b" GET / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("trailing-space", b"GET / HTTP/1.1 \r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("method-lowercase", b"get / HTTP/1.1\r\n" + H + b"\r\n", "Gunicorn conventional method"),
    bad("method-mixed-case", b"Get / HTTP/1.1\r\n" + H + b"\r\n", "Gunicorn conventional method"),
    bad("method-not-token-slash", b"GE/T / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9110 §9.1"),
    bad("method-not-token-paren", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9110 §9.1"),
    bad("method-not-token-at", b"G@T / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9110 §9.1"),
    bad("method-non-ascii", b"G\xc3\x89T / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9110 §9.1"),
    bad("method-nul", b"G\x00T / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9110 §9.1"),
    bad("method-too-short", b"GT / HTTP/1.1\r\n" + H + b"\r\n", "Gunicorn conventional method"),
    bad("method-hash", b"GE#T / HTTP/1.1\r\n" + H + b"\r\n", "Gunicorn conventional method"),
    bad("target-space", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad("target-nul", b"GET /a\x00 HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2"),
    bad("target-del", b"GET /a\x7f HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2"),
    bad("target-relative", b"GET a/b HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2"),
    bad("asterisk-not-options", b"GET * HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2.4"),
    bad("asterisk-m-search", b"M-SEARCH * HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2.4"),
    bad(
        "authority-form-not-connect",
        b"GET example.com:80 HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.3",
    ),
    bad("connect-origin-form", b"CONNECT / HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2.3"),
    bad("connect-no-port", b"CONNECT example.com HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2.3"),
    bad(
        "connect-with-body",
        b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc",
        "RFC 9110 §9.3.6",
    ),
    bad(
        "upgrade-with-body",
        post_length(b"Connection: upgrade\r\nUpgrade: x\r\nContent-Length: 3\r\n", b"abc"),
        "RFC 9110 §7.8",
    ),
    bad("absolute-form-ftp", b"GET ftp://example.com/ HTTP/1.1\r\n" + H + b"\r\n", "RFC 9110 §4.2"),
    bad(
        "absolute-form-userinfo",
        b"GET http://u@example.com/ HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §4.2.4",
    ),
    bad(
        "absolute-form-host-mismatch",
        b"GET http://other.com/ HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3.2.2",
    ),
    bad("absolute-form-no-host", b"GET http://example.com/ HTTP/1.1\r\n\r\n", "RFC 9112 §3.2"),
    bad(
        "request-line-too-long",
        b"GET /" + b"a" * 80 + b" HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9112 §3 / --limit-request-line",
        414,
        ("--limit-request-line=64",),
    ),
    bad(
        "request-line-too-long-incomplete",
        b"GET /" + b"a" * 200,
        "RFC 9112 §3 / --limit-request-line",
        414,
        ("--limit-request-line=64",),
    ),
    bad("bare-lf-request-line", b"GET / HTTP/1.1\n" + H + b"\r\n", "RFC 9112 §2.2"),
    bad("bare-cr-request-line", b"GET / HTTP/1.1\r" + H + b"\r\n", "RFC 9112 §2.2"),
    bad("bare-cr-in-target", b"GET /a\rb HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §2.2"),
    bad("bare-lf-in-target", b"GET /a\nb HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §2.2"),
    bad("bare-lf-end-of-head", b"GET / HTTP/1.1\r\n" + H + b"\n", "RFC 9112 §2.2"),
    bad("bare-lf-field", get_with(b"X-A: 1\nX-B: 2\r\n"), "RFC 9112 §2.2"),
    bad("bare-cr-field-value", get_with(b"X-A: 1\rX-B: 2\r\n"), "RFC 9110 §5.5"),
    bad("lf-lf-end", b"GET / HTTP/1.1\r\n" + H.replace(b"\r\n", b"\n") + b"\n", "RFC 9112 §2.2"),
    # -- Host (RFC 9112 §3.2, RFC 9110 §7.2) ---------------------------------------------
    bad("host-missing-11", b"GET / HTTP/1.1\r\n\r\n", "RFC 9112 §3.2"),
    bad("host-twice", get_with(b"Host: example.com\r\n"), "RFC 9112 §3.2"),
    bad("host-twice-differing", get_with(b"Host: evil.com\r\n"), "RFC 9112 §3.2"),
    bad("host-twice-10", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "RFC 9112 §3.2"),
    bad("host-space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "RFC 9110 §7.2"),
    bad("host-slash", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "RFC 9110 §7.2"),
    bad("host-userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "RFC 9110 §7.2"),
    bad("host-bad-port", b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", "RFC 9110 §7.2"),
    bad("host-bad-ipv6", b"GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", "RFC 9110 §7.2"),
    bad("host-comma-list", b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", "RFC 9110 §7.2"),
    # -- field lines (RFC 9112 §5, RFC 9110 §5) ----------------------------------------------
    bad("space-before-colon", get_with(b"X-A : 1\r\n"), "RFC 9112 §5.1"),
    bad("tab-before-colon", get_with(b"X-A\t: 1\r\n"), "RFC 9112 §5.1"),
    bad("cl-space-before-colon", post_length(b"Content-Length : 3\r\n", b"abc"), "RFC 9112 §5.1"),
    bad(
        "te-space-before-colon",
        post_chunked(b"0\r\n\r\n").replace(b"Transfer-Encoding:", b"Transfer-Encoding :"),
        "RFC 9112 §5.1",
    ),
    bad("empty-field-name", get_with(b": 1\r\n"), "RFC 9110 §5.1"),
    bad("no-colon", get_with(b"X-A 1\r\n"), "RFC 9112 §5"),
    bad("name-space-inside", get_with(b"X A: 1\r\n"), "RFC 9110 §5.1"),
    bad("name-0x85", get_with(b"X-\x85A: 1\r\n"), "RFC 9110 §5.1"),
    bad("name-0xa0", get_with(b"X-A\xa0: 1\r\n"), "RFC 9110 §5.1"),
    bad(
        "name-0xa0-before-te",
        post_chunked(b"0\r\n\r\n").replace(b"Transfer-Encoding", b"\xa0Transfer-Encoding"),
        "RFC 9110 §5.1",
    ),
    bad("name-slash", get_with(b"X/A: 1\r\n"), "RFC 9110 §5.1"),
    bad("name-brackets", get_with(b"X[A]: 1\r\n"), "RFC 9110 §5.1"),
    bad("name-nul", get_with(b"X\x00A: 1\r\n"), "RFC 9110 §5.1"),
    bad("name-at", get_with(b"X@A: 1\r\n"), "RFC 9110 §5.1"),
    bad("value-nul", get_with(b"X-A: a\x00b\r\n"), "RFC 9110 §5.5"),
    bad("value-ctl-01", get_with(b"X-A: a\x01b\r\n"), "RFC 9110 §5.5"),
    bad("value-ctl-1f", get_with(b"X-A: a\x1fb\r\n"), "RFC 9110 §5.5"),
    bad("value-del", get_with(b"X-A: a\x7fb\r\n"), "RFC 9110 §5.5"),
    bad("value-vt", get_with(b"X-A: a\x0bb\r\n"), "RFC 9110 §5.5"),
    bad("value-ff", get_with(b"X-A: a\x0cb\r\n"), "RFC 9110 §5.5"),
    bad("value-esc", get_with(b"X-A: \x1b[31m\r\n"), "RFC 9110 §5.5"),
    bad("obs-fold", get_with(b"X-A: a\r\n b\r\n"), "RFC 9112 §5.2"),
    bad("obs-fold-tab", get_with(b"X-A: a\r\n\tb\r\n"), "RFC 9112 §5.2"),
    bad(
        "obs-fold-te",
        post_length(b"Transfer-Encoding: gzip,\r\n chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §5.2",
    ),
    bad("ws-before-first-field", b"GET / HTTP/1.1\r\n " + H + b"\r\n", "RFC 9112 §2.2"),
    bad(
        "ws-before-first-field-permitted",
        b"GET / HTTP/1.1\r\n X: 1\r\n" + H + b"\r\n",
        "RFC 9112 §2.2",
        400,
        ("--permit-obsolete-folding",),
    ),
    bad(
        "obs-fold-ctl-permitted",
        get_with(b"X-A: a\r\n b\x01\r\n"),
        "RFC 9110 §5.5",
        400,
        ("--permit-obsolete-folding",),
    ),
    bad(
        "underscore-refused",
        get_with(b"X_A: 1\r\n"),
        "Gunicorn --header-map refuse",
        400,
        ("--header-map=refuse",),
    ),
    bad(
        "too-many-fields",
        get_with(b"A: 1\r\nB: 2\r\nC: 3\r\n"),
        "--limit-request-fields",
        431,
        ("--limit-request-fields=3",),
    ),
    bad(
        "field-too-large",
        get_with(b"X-A: " + b"v" * 80 + b"\r\n"),
        "--limit-request-field_size",
        431,
        ("--limit-request-field_size=64",),
    ),
    bad(
        "field-too-large-incomplete",
        b"GET / HTTP/1.1\r\n" + H + b"X-A: " + b"v" * 80,
        "--limit-request-field_size",
        431,
        ("--limit-request-field_size=64",),
    ),
    bad(
        "head-too-large",
        get_with(b"".join(b"X-%d: %s\r\n" % (i, b"v" * 40) for i in range(6))),
        "--limit-request-header-bytes",
        431,
        ("--limit-request-header-bytes=256",),
    ),
    bad(
        "head-too-large-incomplete",
        b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n" * 40,
        "--limit-request-header-bytes",
        431,
        ("--limit-request-header-bytes=256",),
    ),
    # -- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3) ---------------------------------------
    bad("cl-plus", post_length(b"Content-Length: +3\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-minus", post_length(b"Content-Length: -3\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-inner-space", post_length(b"Content-Length: 1 2\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-hex", post_length(b"Content-Length: 0x3\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-hex-digit", post_length(b"Content-Length: 3a\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-empty", post_length(b"Content-Length:\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-decimal-point", post_length(b"Content-Length: 3.0\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-unicode-digit", post_length(b"Content-Length: \xd9\xa3\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-overflow-63", post_length(b"Content-Length: 9223372036854775808\r\n"), "RFC 9110 §8.6"),
    bad(
        "cl-overflow-64", post_length(b"Content-Length: 18446744073709551617\r\n"), "RFC 9110 §8.6"
    ),
    bad(
        "cl-differing",
        post_length(b"Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"),
        "RFC 9112 §6.3 rule 5",
    ),
    bad(
        "cl-equal-repeated",
        post_length(b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"),
        "RFC 9110 §8.6 (corral refuses repetition)",
    ),
    bad("cl-list", post_length(b"Content-Length: 3, 3\r\n", b"abc"), "RFC 9110 §8.6"),
    bad("cl-list-differing", post_length(b"Content-Length: 3, 4\r\n", b"abcd"), "RFC 9110 §8.6"),
    bad(
        "cl-and-te",
        post_length(b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.1",
    ),
    bad(
        "te-and-cl",
        post_length(b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.1",
    ),
    bad(
        "cl-and-te-identity",
        post_length(b"Content-Length: 3\r\nTransfer-Encoding: identity\r\n", b"abc"),
        "RFC 9112 §6.1",
    ),
    # -- Transfer-Encoding (RFC 9112 §6.1, §6.3, §7) -------------------------------------------
    bad("te-gzip-final", post_length(b"Transfer-Encoding: gzip\r\n", b"abc"), "RFC 9112 §6.3"),
    bad(
        "te-chunked-then-gzip",
        post_length(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.3",
    ),
    bad(
        "te-chunked-twice",
        post_length(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §7",
    ),
    bad(
        "te-chunked-twice-fields",
        post_length(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §7",
    ),
    bad(
        "te-gzip-chunked-501",
        post_length(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.1",
        501,
    ),
    bad(
        "te-unknown-chunked-501",
        post_length(b"Transfer-Encoding: foo, chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.1",
        501,
    ),
    bad(
        "te-split-fields-501",
        post_length(b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.1",
        501,
    ),
    bad("te-identity", post_length(b"Transfer-Encoding: identity\r\n", b"abc"), "RFC 9112 §6.3"),
    bad(
        "te-chunked-param",
        post_length(b"Transfer-Encoding: chunked;q=1\r\n", b"0\r\n\r\n"),
        "RFC 9112 §7",
    ),
    bad("te-empty", post_length(b"Transfer-Encoding:\r\n", b"0\r\n\r\n"), "RFC 9112 §6.1"),
    bad(
        "te-chunked-typo",
        post_length(b"Transfer-Encoding: chunkedx\r\n", b"0\r\n\r\n"),
        "RFC 9112 §6.3",
    ),
    bad(
        "te-quoted-chunked",
        post_length(b'Transfer-Encoding: "chunked"\r\n', b"0\r\n\r\n"),
        "RFC 9112 §6.1",
    ),
    bad(
        "te-http10",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "RFC 9112 §6.1",
    ),
    bad(
        "te-vertical-tab",
        post_length(b"Transfer-Encoding: \x0bchunked\r\n", b"0\r\n\r\n"),
        "RFC 9110 §5.5",
    ),
    # -- chunked body (RFC 9112 §7.1) -------------------------------------------------------
    bad("chunk-0x-prefix", post_chunked(b"0x3\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-plus", post_chunked(b"+3\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-minus", post_chunked(b"-3\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-leading-space", post_chunked(b" 3\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-trailing-space", post_chunked(b"3 \r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-space-no-ext", post_chunked(b"3 a\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1.1"),
    bad("chunk-ext-space-in-name", post_chunked(b"3;a b\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1.1"),
    bad("target-ctl", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3.2"),
    bad("target-tab", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n", "RFC 9112 §3"),
    bad(
        "target-absolute-userinfo",
        b"GET http://u@example.com/ HTTP/1.1\r\n" + H + b"\r\n",
        "RFC 9110 §4.2.4",
    ),
    bad(
        "chunk-inner-space",
        post_chunked(b"1 0\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n"),
        "RFC 9112 §7.1",
    ),
    bad("chunk-empty-size", post_chunked(b"\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-not-hex", post_chunked(b"g\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-overflow", post_chunked(b"10000000000000000\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad(
        "chunk-overflow-63", post_chunked(b"8000000000000000\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"
    ),
    bad("chunk-bare-lf-size", post_chunked(b"3\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-bare-cr-size", post_chunked(b"3\rabc\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-ext-bare-cr", post_chunked(b"3;a\rb\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1.1"),
    bad("chunk-ext-bare-lf", post_chunked(b"3;a\nb\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1.1"),
    bad("chunk-ext-ctl", post_chunked(b"3;a=\x01\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1.1"),
    bad("chunk-ext-nul-quoted", post_chunked(b'3;a="\x00"\r\nabc\r\n0\r\n\r\n'), "RFC 9112 §7.1.1"),
    bad(
        "chunk-ext-unterminated-quote",
        post_chunked(b'3;a="b\r\nabc\r\n0\r\n\r\n'),
        "RFC 9112 §7.1.1",
    ),
    bad("chunk-ext-empty-name", post_chunked(b"3;=b\r\nabc\r\n0\r\n\r\n"), "RFC 9112 §7.1.1"),
    bad(
        "chunk-ext-too-long",
        post_chunked(b"3;" + b"a" * 40 + b"\r\nabc\r\n0\r\n\r\n"),
        "--limit-request-chunk-extension",
        400,
        ("--limit-request-chunk-extension=16",),
    ),
    bad(
        "chunk-ext-too-long-incomplete",
        post_chunked(b"3;" + b"a" * 200),
        "--limit-request-chunk-extension",
        400,
        ("--limit-request-chunk-extension=16",),
    ),
    bad("chunk-data-no-crlf", post_chunked(b"3\r\nabcX\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-data-lf-only", post_chunked(b"3\r\nabc\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-data-cr-only", post_chunked(b"3\r\nabc\r0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-data-too-long", post_chunked(b"3\r\nabcd\r\n0\r\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-last-bare-lf", post_chunked(b"3\r\nabc\r\n0\n\r\n"), "RFC 9112 §7.1"),
    bad("chunk-end-bare-lf", post_chunked(b"3\r\nabc\r\n0\r\n\n"), "RFC 9112 §7.1.2"),
    bad("trailer-bare-lf", post_chunked(b"0\r\nX-A: 1\n\r\n"), "RFC 9112 §2.2"),
    bad(
        "trailer-content-length", post_chunked(b"0\r\nContent-Length: 5\r\n\r\n"), "RFC 9110 §6.5.1"
    ),
    bad(
        "trailer-transfer-encoding",
        post_chunked(b"0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        "RFC 9110 §6.5.1",
    ),
    bad("trailer-host", post_chunked(b"0\r\nHost: evil.com\r\n\r\n"), "RFC 9110 §6.5.1"),
    bad("trailer-authorization", post_chunked(b"0\r\nAuthorization: x\r\n\r\n"), "RFC 9110 §6.5.1"),
    bad(
        "content-type-twice",
        get_with(b"Content-Type: application/json\r\nContent-Type: text/html\r\n"),
        "RFC 9110 §5.3",
    ),
    bad(
        "field-size-counts-crlf",
        get_with(b"X-A: " + b"v" * 58 + b"\r\n"),
        "--limit-request-field_size",
        431,
        ("--limit-request-field_size=64",),
    ),
    bad("trailer-connection", post_chunked(b"0\r\nConnection: close\r\n\r\n"), "RFC 9110 §6.5.1"),
    bad("trailer-trailer", post_chunked(b"0\r\nTrailer: x\r\n\r\n"), "RFC 9110 §6.5.1"),
    bad("trailer-space-before-colon", post_chunked(b"0\r\nX-A : 1\r\n\r\n"), "RFC 9112 §5.1"),
    bad("trailer-ctl", post_chunked(b"0\r\nX-A: \x01\r\n\r\n"), "RFC 9110 §5.5"),
    bad("trailer-obs-fold", post_chunked(b"0\r\nX-A: 1\r\n 2\r\n\r\n"), "RFC 9112 §5.2"),
    bad("trailer-no-colon", post_chunked(b"0\r\nX-A\r\n\r\n"), "RFC 9112 §5"),
]

CASES: list[Case] = ACCEPTED + REFUSED
