"""How a request is judged: the raw head against RFC 9112, framing, keep-alive.

llhttp (through httptools) tokenises and decodes, but it accepts things RFC 9112 does not
(``ICE/1.0``, ``RTSP/1.0``, methods of its own table only) and has no notion of a
deployment's policy. Every request head, chunk-size line and trailer section therefore
passes through this module first, as raw bytes, and is checked against the grammar in
:mod:`.abnf`. Only what passes is fed to llhttp. Every worker goes through it, so every
worker reaches the same verdict, and the application never sees an ambiguous request.

Each check cites the RFC section it implements; ``docs/HTTP.md`` lists them all with the
setting (if any) that relaxes it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import httptools

from . import abnf
from .events import Headers, ProtocolError, Request
from .limits import Limits

MAX_BODY_LENGTH = 2**63 - 1  # Content-Length and chunk sizes must fit in 63 bits

# Gunicorn's conventional-method rule: no lower case letters and no '#', 3 to 20 bytes.
_UNCONVENTIONAL_METHOD = re.compile(rb"[a-z#]")

# Names that identify forwarded environ values; never taken from a field name with "_"
# unless the peer is trusted (corral.trust), whatever --header-map says.
FORWARDER_FIELDS = frozenset({b"script_name"})

# Trailer fields are never merged into the request's header fields (RFC 9110 §6.5.1: a
# recipient MUST NOT, unless the field's definition allows it); the application sees none
# of them. Those that would change how the message is framed, routed or authenticated,
# were anything downstream to merge them, are refused all the same: a risk, not an oddity.
FRAMING_TRAILERS = frozenset(
    {
        b"authorization",  # (authentication: Gunicorn refuses it there too)
        b"connection",
        b"content-length",
        b"host",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Methods llhttp's table knows, found by asking it (a method it does not know is still
# served: llhttp is then given a stand-in, see _request_line). Bounded like _valid_hosts.
_llhttp_methods: dict[bytes, bool] = {}
_LLHTTP_METHODS_SIZE = 256


def _llhttp_knows(method: bytes) -> bool:
    known = _llhttp_methods.get(method)
    if known is None:
        parser = httptools.HttpRequestParser(object())  # (no callbacks needed)
        try:
            parser.feed_data(method + b" / HTTP/1.1\r\n")
            known = True
        except httptools.HttpParserInvalidMethodError:
            known = False
        except httptools.HttpParserError:
            known = True  # (not about the method)
        if len(_llhttp_methods) >= _LLHTTP_METHODS_SIZE:
            _llhttp_methods.clear()
        _llhttp_methods[method] = known
    return known


_SIMPLE_HEAD = abnf.simple_head.fullmatch
_SIMPLE_FIELDS = abnf.simple_field.findall
_SIMPLE_FIELDS_NO_OWS = abnf.simple_field_no_trailing_ows.findall


def _bad(detail: str) -> ProtocolError:
    return ProtocolError(400, "Bad Request", detail)


@dataclass(slots=True)
class Head:
    """A request head that passed the grammar: what the request is, and what llhttp gets."""

    method: bytes
    target: bytes
    http_version: str  # "1.0" or "1.1"
    fields: Headers  # every field line, obs-folds replaced by SP, OWS removed
    feed: bytes  # the bytes to give llhttp: the raw head, or its canonical form
    dropped: Headers = field(default_factory=list)  # names with "_" set aside (header_map)


# ------------------------------------------------------------------------------ the head


def parse_head(raw: bytes, limits: Limits) -> Head:
    """Check a complete head (request line to the empty line, CRLFs included).

    Raises :class:`ProtocolError` for anything RFC 9112 does not allow (or ``limits`` does
    not permit). Line endings were already checked by the connection (bare LF refused).
    """
    simple = _SIMPLE_HEAD(raw)
    if simple is not None and simple[1] != b"CONNECT" and _llhttp_knows(simple[1]):
        # The common case, judged in one pass (abnf.simple_head): the same verdict and
        # the same fields as the line-by-line rules below.
        start = simple.end(3) + 2  # the first field line
        if b" \r\n" in raw or b"\t\r\n" in raw:
            fields: Headers = _SIMPLE_FIELDS(raw, start)
        else:
            fields = _SIMPLE_FIELDS_NO_OWS(raw, start)
        if raw.find(b"_", start) == -1 or not any(b"_" in name for name, _ in fields):
            return Head(
                simple[1],
                simple[2],
                "1.1" if simple[3] == b"1" else "1.0",
                fields,
                raw,
                [],
            )
    return _parse_head(raw, limits)


def _parse_head(raw: bytes, limits: Limits) -> Head:
    """:func:`parse_head`, one rule at a time."""
    if not raw.endswith(b"\r\n\r\n"):
        raise _bad("head does not end with an empty line")
    lines = raw[:-4].split(b"\r\n")
    method, target, version, canonical_line = _request_line(lines[0], limits)
    fields: Headers = []
    folded = False  # (or a field name's trailing whitespace stripped: rewrite for llhttp)
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            # RFC 9112 §5.2: obs-fold = OWS CRLF RWS. Refused unless permitted; then each
            # fold is replaced by SP. Whitespace before the first field line is never a
            # fold (RFC 9112 §2.2): refused.
            if not fields:
                raise _bad("whitespace before the first field line")
            if not limits.permit_obsolete_folding:
                raise _bad("obsolete line folding")
            more = line.strip(b" \t")
            if not abnf.field_value.fullmatch(more):
                raise _bad("invalid byte in a folded field value")
            name, value = fields[-1]
            fields[-1] = (name, (value + b" " + more) if value and more else value + more)
            folded = True
            continue
        name, value, rewritten = _field_line(line, limits.strip_header_spaces)
        folded = folded or rewritten
        fields.append((name, value))
    dropped: Headers = []
    if any(b"_" in name for name, _ in fields):
        fields, dropped = _map_underscores(fields, limits)
    if folded or canonical_line is not None or dropped:
        head_line = canonical_line or lines[0]
        feed = b"".join(
            [head_line, b"\r\n", *(n + b": " + v + b"\r\n" for n, v in fields), b"\r\n"]
        )
    else:
        feed = raw
    return Head(method, target, version, fields, feed, dropped)


def _request_line(line: bytes, limits: Limits) -> tuple[bytes, bytes, str, bytes | None]:
    """RFC 9112 §3: request-line = method SP request-target SP HTTP-version."""
    parts = line.split(b" ")
    if len(parts) != 3 or not all(parts):
        # RFC 9112 §3: exactly one SP between the parts (no other whitespace).
        raise _bad("malformed request line")
    method, target, version_text = parts
    canonical = False

    # RFC 9110 §9.1: method = token (case-sensitive).
    if not abnf.token.fullmatch(method):
        raise _bad("method is not a token")
    if not limits.permit_unconventional_http_method and (
        _UNCONVENTIONAL_METHOD.search(method) or not 3 <= len(method) <= 20
    ):
        # Gunicorn's default (--permit-unconventional-http-method relaxes it).
        raise _bad("unconventional method")
    if limits.casefold_http_method and method != method.upper():
        method = method.upper()  # Gunicorn's --casefold-http-method
        canonical = True

    # RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
    match = abnf.http_version.fullmatch(version_text)
    if match is None:
        raise _bad("invalid HTTP version")
    major, minor = match["major"], match["minor"]
    if major != b"1":
        # RFC 9110 §15.6.6: 505 for a major version the server does not support.
        raise ProtocolError(505, "HTTP Version Not Supported", version_text.decode())
    if minor in (b"0", b"1"):
        version = "1.0" if minor == b"0" else "1.1"
    elif limits.permit_unconventional_http_version:
        # RFC 9110 §2.5: a higher minor version is served as the highest one supported.
        version = "1.1"
        canonical = True
    else:
        raise ProtocolError(505, "HTTP Version Not Supported", version_text.decode())

    _check_target(method, target)
    # What llhttp is given must be what it can parse; it judges the framing, and the
    # grammar above has already judged the method and the target. A token method its
    # table lacks (Gunicorn serves "-BLARGH"), obs-text in the target (a raw UTF-8 path,
    # as nginx passes it) or a fragment right after an absolute-form authority: llhttp
    # gets a stand-in for that part, the application gets the request as sent.
    feed_method = method if _llhttp_knows(method) else b"GET"
    feed_target = target
    if not target.isascii() or (target[:1] != b"/" and b"#" in target):
        feed_target = b"*" if method == b"OPTIONS" and target == b"*" else b"/"
    if not canonical and feed_method is method and feed_target is target:
        return method, target, version, None
    line = b"%b %b HTTP/%b" % (feed_method, feed_target, version.encode())
    return method, target, version, line


def _check_target(method: bytes, target: bytes) -> None:
    """RFC 9112 §3.2: the four forms of request-target, each only where it belongs."""
    if method == b"CONNECT":
        # RFC 9112 §3.2.3: authority-form, and only for CONNECT.
        if not abnf.authority_form.fullmatch(target):
            raise _bad("CONNECT needs an authority-form target")
        return
    if target == b"*":
        # RFC 9112 §3.2.4: asterisk-form only for a server-wide OPTIONS.
        if method != b"OPTIONS":
            raise _bad("asterisk-form target outside OPTIONS")
        return
    if target[:1] == b"/":
        # RFC 9112 §3.2.1 origin-form.
        if not abnf.origin_form.fullmatch(target):
            raise _bad("invalid byte in the request target")
        return
    # RFC 9112 §3.2.2 absolute-form.
    match = abnf.absolute_form.fullmatch(target)
    if match is None or not _valid_ip_literal(match["authority"]):
        raise _bad("invalid request target")


def _valid_ip_literal(authority: bytes) -> bool:
    if authority[:1] != b"[":
        return True
    literal = authority[1 : authority.index(b"]")]
    try:
        ipaddress.IPv6Address(literal.decode("ascii"))
    except ValueError:
        return False
    return True


def _field_line(line: bytes, strip_spaces: bool = False) -> tuple[bytes, bytes, bool]:
    """RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. Returns the name, the
    value, and whether the line is not as sent (``strip_spaces`` changed it)."""
    match = abnf.field_line.fullmatch(line)
    if match is not None:
        return match["name"], match["value"].rstrip(b" \t"), False
    name, colon, _value = line.partition(b":")
    if not colon:
        raise _bad("field line without a colon")
    if not name:
        raise _bad("empty field name")  # RFC 9110 §5.1: field-name = token (1*tchar)
    if name[-1:] in (b" ", b"\t"):
        if strip_spaces and name.rstrip(b" \t"):
            # Gunicorn's --strip-header-spaces: "Name : value" is taken as "Name: value".
            name, value, _ = _field_line(name.rstrip(b" \t") + b":" + _value)
            return name, value, True
        # RFC 9112 §5.1: no whitespace between field name and colon; MUST be a 400.
        raise _bad("whitespace between field name and colon")
    if not abnf.token.fullmatch(name):
        raise _bad("invalid byte in a field name")  # RFC 9110 §5.1
    # RFC 9110 §5.5: CR, LF and NUL MUST be rejected (or replaced); corral rejects every
    # control byte except HTAB, and DEL.
    raise _bad("invalid byte in a field value")


def _map_underscores(fields: Headers, limits: Limits) -> tuple[Headers, Headers]:
    """Gunicorn's --header-map for field names containing "_".

    A name such as ``X_Forwarded_For`` becomes the same WSGI environ key as
    ``X-Forwarded-For`` (PEP 3333 maps "-" to "_"), so the application could not tell a
    client's field from a proxy's. ``drop`` (the default) sets them aside; ``refuse``
    answers 400; ``dangerous`` keeps them. Forwarder fields (``SCRIPT_NAME``) are always
    set aside, for :mod:`corral.trust` to honour from trusted peers only.
    """
    kept: Headers = []
    dropped: Headers = []
    for name, value in fields:
        if b"_" not in name or (
            limits.header_map == "dangerous" and name.lower() not in FORWARDER_FIELDS
        ):
            kept.append((name, value))
        elif limits.header_map == "refuse" and name.lower() not in FORWARDER_FIELDS:
            raise _bad("field name with an underscore")
        else:
            dropped.append((name, value))
    return kept, dropped


# -------------------------------------------------------------------------- the request


def _list_members(values: list[bytes]) -> list[bytes]:
    """RFC 9110 §5.6.1: #element lists; empty members are ignored."""
    return [m.strip(b" \t") for v in values for m in v.split(b",") if m.strip(b" \t")]


# The fields build_request() looks at, by lower-case name.
_HOST, _LENGTH, _CODING, _CONNECTION, _EXPECT, _UPGRADE, _TYPE = range(7)
_FRAMING_FIELDS = {
    b"content-type": _TYPE,
    b"host": _HOST,
    b"content-length": _LENGTH,
    b"transfer-encoding": _CODING,
    b"connection": _CONNECTION,
    b"expect": _EXPECT,
    b"upgrade": _UPGRADE,
}
_framing_field = _FRAMING_FIELDS.get

# Host values that passed _check_host's grammar (the same few values arrive on every
# request of a deployment). Bounded: a flood of distinct values costs a re-check, no memory.
_valid_hosts: set[bytes] = set()
_VALID_HOSTS_SIZE = 256


def build_request(head: Head) -> Request:
    """Decide framing, Host and keep-alive for a head that passed :func:`parse_head`."""
    hosts: list[bytes] = []
    lengths: list[bytes] = []
    codings: list[bytes] = []
    connection: list[bytes] = []
    expect: list[bytes] = []
    upgrade = False
    types = 0
    for name, value in head.fields:
        kind = _framing_field(name.lower())
        if kind is None:
            continue
        if kind == _HOST:
            hosts.append(value)
        elif kind == _LENGTH:
            lengths.append(value)
        elif kind == _CODING:
            codings.append(value)
        elif kind == _CONNECTION:
            connection.append(value)
        elif kind == _EXPECT:
            expect.append(value)
        elif kind == _TYPE:
            types += 1
        else:
            upgrade = True
    if types > 1:
        # RFC 9110 §5.3 / §8.3: Content-Type has one value; two leave the content's
        # format ambiguous (Gunicorn refuses it too).
        raise _bad("more than one Content-Type")
    version = head.http_version
    target = head.target
    if len(hosts) == 1 and hosts[0] in _valid_hosts and target[:1] == b"/":
        pass  # a Host already proven valid, and no absolute-form target to agree with
    else:
        _check_host(target, hosts, version)

    content_length: int | None = None
    if lengths:
        if len(lengths) > 1:
            # RFC 9110 §8.6 lets a recipient accept repeated identical values; corral
            # refuses any repetition, equal or not (RFC 9112 §6.3 rule 5).
            raise _bad("more than one Content-Length")
        text = lengths[0]
        # RFC 9110 §8.6: Content-Length = 1*DIGIT; must fit in 63 bits.
        if not text.isdigit() or not text.isascii() or int(text) > MAX_BODY_LENGTH:
            raise _bad("invalid Content-Length")
        content_length = int(text)

    chunked = False
    if codings:
        if version == "1.0":
            # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
            raise _bad("Transfer-Encoding in an HTTP/1.0 request")
        if content_length is not None:
            # RFC 9112 §6.1 / §6.3 rule 3: both present may be smuggling; corral refuses
            # (instead of processing as chunked and closing).
            raise _bad("both Content-Length and Transfer-Encoding")
        members = _list_members(codings)
        if not members or not all(abnf.token.fullmatch(m) for m in members):
            raise _bad("invalid Transfer-Encoding")  # RFC 9112 §6.1 / RFC 9110 §10.1.4
        lowered = [m.lower() for m in members]
        if lowered.count(b"chunked") > 1:
            raise _bad("chunked applied more than once")  # RFC 9112 §7
        if lowered[-1] != b"chunked":
            raise _bad("final transfer coding is not chunked")  # RFC 9112 §6.3 rule 4
        if len(lowered) > 1:
            # RFC 9112 §6.1: a coding the server does not understand -> 501.
            raise ProtocolError(501, "Not Implemented", "unsupported transfer coding")
        chunked = True

    tokens = {t.lower() for t in _list_members(connection)} if connection else _NO_TOKENS
    upgrade = head.method == b"CONNECT" or (upgrade and b"upgrade" in tokens)
    if upgrade and (chunked or content_length):
        # RFC 9110 §9.3.6 (CONNECT has no content) and §7.8: corral cannot switch
        # protocols; llhttp would hand the content to the new protocol, an intermediary
        # that ignores Upgrade would not: the framing would be ambiguous.
        raise _bad("content in an Upgrade or CONNECT request")

    if version == "1.1":
        keep_alive = b"close" not in tokens  # RFC 9112 §9.3
    else:
        keep_alive = b"keep-alive" in tokens and b"close" not in tokens  # RFC 9112 §C.2.2
    if upgrade:
        keep_alive = False  # WSGI cannot switch protocols: answer, then close

    return Request(
        head.method,
        target,
        version,
        head.fields,
        keep_alive,
        # RFC 9110 §10.1.1: 100-continue is for HTTP/1.1 clients only.
        bool(expect) and version == "1.1" and [e.lower() for e in expect] == [b"100-continue"],
        None if chunked else content_length,
        chunked,
        head.dropped,
        upgrade,
    )


_NO_TOKENS: frozenset[bytes] = frozenset()


def _check_host(target: bytes, hosts: list[bytes], version: str) -> None:
    """RFC 9112 §3.2: Host is required in HTTP/1.1, never repeated, and valid."""
    if len(hosts) > 1:
        raise _bad("more than one Host")
    if not hosts:
        if version == "1.1":
            raise _bad("missing Host")
        return
    value = hosts[0]
    if not abnf.host.fullmatch(value) or (value[:1] == b"[" and not _valid_ip_literal(value)):
        raise _bad("invalid Host")  # RFC 9110 §7.2
    if len(value) <= 255:  # RFC 1035 §2.3.4: no longer name; longer values are re-checked
        if len(_valid_hosts) >= _VALID_HOSTS_SIZE:
            _valid_hosts.clear()
        _valid_hosts.add(value)
    absolute = abnf.absolute_form.fullmatch(target) if target[:1] != b"/" else None
    if absolute is not None and absolute["authority"].lower() != value.lower():
        # RFC 9112 §3.2.2: the client MUST send a Host identical to the target's
        # authority; corral refuses a disagreement rather than pick one.
        raise _bad("Host disagrees with the request target")


# ------------------------------------------------------------------------------ chunks


def chunk_size(line: bytes, limits: Limits) -> tuple[int, bytes]:
    """Check one chunk-size line (CRLF included): the chunk size, and the line to feed
    llhttp (the same line, or its size alone when the extensions have BWS, which llhttp
    refuses; extensions carry nothing the application sees)."""
    if not line.endswith(b"\r\n"):
        raise _bad("chunk-size line without CRLF")  # RFC 9112 §7.1
    match = abnf.chunk_line.fullmatch(line, 0, len(line) - 2)
    if match is None:
        # Covers 0x prefixes, signs, spaces, bare CR/LF and control bytes (RFC 9112 §7.1,
        # §7.1.1).
        raise _bad("invalid chunk-size line")
    if limits.max_chunk_ext and len(match["ext"]) > limits.max_chunk_ext:
        raise _bad("chunk extension too long")
    size = int(match["size"], 16)
    if size > MAX_BODY_LENGTH:
        raise _bad("chunk size too large")
    ext = match["ext"]
    if ext and (b" " in ext or b"\t" in ext):
        return size, match["size"] + b"\r\n"
    return size, line


def parse_trailers(raw: bytes, limits: Limits) -> tuple[Headers, bytes]:
    """Check a trailer section (RFC 9112 §7.1.2), the final CRLF included.

    Returns the trailer fields and the bytes to feed llhttp.
    """
    if raw == b"\r\n":
        return [], raw
    head = parse_head(b"GET / HTTP/1.1\r\n" + raw, limits)
    for name, _ in head.fields:
        if name.lower() in FRAMING_TRAILERS:
            raise _bad(f"framing field {name.decode()} in the trailers")
    feed = head.feed[head.feed.index(b"\r\n") + 2 :]
    return head.fields, feed


def parser_error(exc: httptools.HttpParserError) -> ProtocolError:
    """Map an llhttp error (a head or chunk llhttp refused after the policy passed it)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httptools.HttpParserInvalidMethodError):
        # RFC 9110 §9.1: a method the server does not recognise -> 501. The policy already
        # proved it a token; llhttp only knows the methods of its own table.
        return ProtocolError(501, "Not Implemented", f"unknown method: {detail}")
    return ProtocolError(400, "Bad Request", detail)
