"""The RFC 9110 / RFC 9112 grammar the policy layer checks raw request bytes against.

Each rule is transcribed from its RFC with the section beside it. Everything here is a
``bytes`` regex meant for ``fullmatch`` on one line (CRLF already removed), so no pattern
can run past a line end. Names follow the ABNF.
"""

from __future__ import annotations

import re

# RFC 9110 §5.6.1 -- OWS = *( SP / HTAB )
OWS = rb"[ \t]*"

# RFC 9110 §5.6.2 -- tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#                            "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA ;  token = 1*tchar
TCHAR = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]"
TOKEN = TCHAR + rb"+"
token = re.compile(TOKEN)

# RFC 9110 §5.5 -- field-vchar = VCHAR / obs-text ; obs-text = %x80-FF (§5.6.4)
# field-value = *field-content ; field-content = field-vchar
#                                 [ 1*( SP / HTAB / field-vchar ) field-vchar ]
# Matched here as any run of SP / HTAB / field-vchar; the caller strips the OWS at its end,
# which is exactly what the field-line rule below leaves over.
FIELD_VALUE_CHARS = rb"[\t \x21-\x7e\x80-\xff]*"
field_value = re.compile(FIELD_VALUE_CHARS)

# RFC 9112 §5 -- field-line = field-name ":" OWS field-value OWS ; field-name = token
field_line = re.compile(
    rb"(?P<name>" + TOKEN + rb"):" + OWS + rb"(?P<value>" + FIELD_VALUE_CHARS + rb")"
)

# RFC 9112 §2.3 -- HTTP-version = HTTP-name "/" DIGIT "." DIGIT ; HTTP-name = %s"HTTP"
http_version = re.compile(rb"HTTP/(?P<major>[0-9])\.(?P<minor>[0-9])")

# RFC 3986 §2.3 unreserved, §2.2 sub-delims, §2.1 pct-encoded.
_UNRESERVED = rb"A-Za-z0-9\-._~"
_SUB_DELIMS = rb"!$&'()*+,;="
PCT_ENCODED = rb"%[0-9A-Fa-f]{2}"
# RFC 9112 §3.2.1 -- origin-form = absolute-path [ "?" query ], built from RFC 3986 pchar.
# What real clients send is wider (unencoded JSON in a query, `"`, `<`, `\`, a raw UTF-8
# path, `%zz`, a fragment), and Gunicorn and nginx serve it. None of it is a framing risk:
# the request line is split at its two SPs before the target is looked at, and no byte of
# the target can end the line. So corral takes any visible byte (VCHAR, %x21-7E) and
# obs-text (%x80-FF) after the leading "/"; never SP, a control byte or DEL. "?" starts the
# query and "#" a fragment, which is dropped (docs/HTTP.md).
TARGET_CHARS = rb"[\x21-\x7e\x80-\xff]"
origin_form = re.compile(rb"/" + TARGET_CHARS + rb"*")

# RFC 3986 §3.2.2 -- host = IP-literal / IPv4address / reg-name ; §3.2.3 port = *DIGIT.
# IP-literal is checked loosely (hex digits, ':' and '.' in brackets) then by ipaddress.
IP_LITERAL = rb"\[[0-9A-Fa-f:.]+\]"
REG_NAME = rb"(?:[" + _UNRESERVED + _SUB_DELIMS + rb"]|" + PCT_ENCODED + rb")*"
URI_HOST = rb"(?:" + IP_LITERAL + rb"|" + REG_NAME + rb")"
PORT = rb"[0-9]*"
# RFC 9110 §7.2 -- Host = uri-host [ ":" port ]
host = re.compile(rb"(?P<host>" + URI_HOST + rb")(?::(?P<port>" + PORT + rb"))?")
# RFC 9112 §3.2.3 -- authority-form = uri-host ":" port (CONNECT only)
authority_form = re.compile(rb"(?P<host>" + URI_HOST + rb"):(?P<port>[0-9]+)")
# RFC 9112 §3.2.2 -- absolute-form = absolute-URI (RFC 3986 §4.3); corral serves the http
# and https schemes (RFC 9110 §4.2). The authority is checked strictly (it must agree with
# Host; userinfo is refused, RFC 9110 §4.2.4); what follows it, as in origin-form.
absolute_form = re.compile(
    rb"(?i:https?)://(?P<authority>"
    + URI_HOST
    + rb"(?::"
    + PORT
    + rb")?)(?P<rest>[/?#]"
    + TARGET_CHARS
    + rb"*)?"
)

# RFC 9110 §5.6.4 -- quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
#   qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
#   quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
QUOTED_STRING = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'

# RFC 9112 §7.1 -- chunk-size = 1*HEXDIG ; §7.1.1 chunk-ext = *( BWS ";" BWS chunk-ext-name
#   [ BWS "=" BWS chunk-ext-val ] ) ; chunk-ext-name = token ;
#   chunk-ext-val = token / quoted-string ; BWS = OWS (RFC 9110 §5.6.3)
# The BWS is accepted as the RFC writes it, and only there: never inside the size, and
# never without the ";" that starts an extension (so "5 x" and "5\t" stay refused).
CHUNK_EXT = (
    rb"(?:"
    + OWS
    + rb";"
    + OWS
    + TOKEN
    + rb"(?:"
    + OWS
    + rb"="
    + OWS
    + rb"(?:"
    + TOKEN
    + rb"|"
    + QUOTED_STRING
    + rb"))?)*"
)
chunk_line = re.compile(rb"(?P<size>[0-9A-Fa-f]+)(?P<ext>" + CHUNK_EXT + rb")")

# ---------------------------------------------------------------------------------------
# The common case in one pass. A head whose request line is a conventional method, an
# origin-form target and HTTP/1.0 or HTTP/1.1, and whose field lines are all plain
# ``field-name ":" OWS field-value OWS`` (no obs-fold), is recognised by one ``fullmatch``
# of the whole head; its fields are then taken out by one ``findall``. Everything these two
# patterns accept, the line-by-line rules above accept too, with the same result; whatever
# they do not accept goes through those rules (policy.parse_head falls back).

# Gunicorn's conventional method (no lower case, no "#", 3 to 20 bytes) that is a token.
_CONVENTIONAL_METHOD = rb"[-!$%&'*+.^_`|~0-9A-Z]{3,20}"
# RFC 9112 §3.2.1 origin-form, as ``origin_form`` above; only bytes llhttp takes in a URL
# (no obs-text: a target with it is judged line by line and fed to llhttp canonically).
_ORIGIN_FORM = rb"/[\x21-\x7e]*"
simple_head = re.compile(
    rb"(?P<method>"
    + _CONVENTIONAL_METHOD
    + rb") (?P<target>"
    + _ORIGIN_FORM
    + rb") HTTP/1\.(?P<minor>[01])\r\n(?:"
    + TOKEN
    + rb":"
    + FIELD_VALUE_CHARS
    + rb"\r\n)*\r\n"
)
# One field line of a head that ``simple_head`` matched: the name, and the value without
# the OWS around it (RFC 9112 §5).
simple_field = re.compile(rb"(" + TOKEN + rb"):[ \t]*((?:[^\r\n]*[^\r\n \t])?)[ \t]*\r\n")
# The same, quicker, for a head where no field line ends with OWS (the usual case).
simple_field_no_trailing_ows = re.compile(rb"([^:]+):[ \t]*([^\r]*)\r\n")
