"""Which peers may tell the application where a request really came from.

A front-end proxy reports the client with ``X-Forwarded-For``, ``-Proto``, ``-Port``,
``-Host``, ``Forwarded`` (RFC 7239), Gunicorn's ``--secure-scheme-headers`` and a
``SCRIPT_NAME`` header. Any client can send the same fields, so they are applied only when
the peer is in ``--forwarded-allow-ips`` (unix-socket peers count as trusted); from any
other peer they are ignored, all of them. Pure functions: :meth:`WSGIRunner.environ` calls
:func:`apply`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .memo import remember

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Fields = Iterable[tuple[bytes, bytes]]

_FORWARDING_FIELDS = (
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "Forwarded",
)
_VERDICT_CACHE_SIZE = 4096

DEFAULT_SECURE_SCHEME_HEADERS = {
    "X-FORWARDED-PROTOCOL": "ssl",
    "X-FORWARDED-PROTO": "https",
    "X-FORWARDED-SSL": "on",
}


def scheme_headers(value: object) -> dict[str, str]:
    """Validator of ``secure_scheme_headers``: a dict of header name -> value (strings)."""
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"expected a dict of header name to value, got {value!r}")
    return {k.upper(): v for k, v in value.items()}


@dataclass(frozen=True)
class TrustSettings:
    """The trust configuration of a worker, built once from the settings."""

    networks: tuple[Network, ...] = (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    allow_all: bool = False
    secure_scheme_headers: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_SECURE_SCHEME_HEADERS)
    )
    # Per-worker memo of address verdicts (peers repeat: keep-alive, proxies).
    _verdicts: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    _environ_keys: list[str] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_settings(
        cls, forwarded_allow_ips: Iterable[str], secure_scheme_headers: Mapping[str, str]
    ) -> TrustSettings:
        items = list(forwarded_allow_ips)
        return cls(
            networks=tuple(ipaddress.ip_network(i, strict=False) for i in items if i != "*"),
            allow_all="*" in items,
            secure_scheme_headers={k.upper(): v for k, v in secure_scheme_headers.items()},
        )

    def environ_keys(self) -> list[str]:
        """The environ keys of every field :func:`apply` reads."""
        keys = self._environ_keys
        if not keys:
            names = [*_FORWARDING_FIELDS, *self.secure_scheme_headers]
            keys.extend("HTTP_" + name.upper().replace("-", "_") for name in names)
        return keys

    def mentioned_in(self, env: Mapping[str, Any]) -> bool:
        """Whether an environ holds any field :func:`apply` reads: a few dict lookups, so
        a request without forwarding fields (the common case) skips :func:`apply`."""
        return any(key in env for key in self.environ_keys())

    def trusts(self, addr: str, is_unix: bool = False) -> bool:
        """Whether ``addr`` (a peer address) may set forwarding fields."""
        if is_unix or self.allow_all:
            return True
        cache = self._verdicts
        verdict = cache.get(addr)
        if verdict is None:
            ip = _ip(addr)
            if ip is not None and ip.version == 6 and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
            verdict = ip is not None and any(ip in net for net in self.networks)
            remember(cache, addr, verdict, _VERDICT_CACHE_SIZE)
        return verdict


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_from_xff(value: str, settings: TrustSettings) -> str | None:
    """The client in an ``X-Forwarded-For`` list: the rightmost entry that is not itself a
    trusted proxy (entries to its left were written by the client and prove nothing)."""
    entries = [e.strip() for e in value.split(",")]
    if not entries or any(_ip(e) is None for e in entries):
        return None  # malformed: ignored as a whole
    for entry in reversed(entries):
        if not settings.trusts(entry) or settings.allow_all:
            return str(_ip(entry))
    return str(_ip(entries[0]))


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """RFC 7239 §4: ``Forwarded = 1#forwarded-element``; each element is pairs joined by
    ";", values tokens or quoted strings. Returns [] if any part is malformed."""
    elements: list[dict[str, str]] = []
    for element in _split_quoted(value, ","):
        pairs: dict[str, str] = {}
        for pair in _split_quoted(element, ";"):
            name, eq, val = pair.partition("=")
            name = name.strip().lower()
            val = val.strip()
            if not eq or not name or not val:
                return []
            if val.startswith('"'):
                if len(val) < 2 or not val.endswith('"'):
                    return []
                val = val[1:-1].replace('\\"', '"')
            pairs[name] = val
        if pairs:
            elements.append(pairs)
    return elements


def _split_quoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _forwarded_node(node: str) -> str | None:
    """RFC 7239 §6: node = nodename [ ":" node-port ]; IPv6 in brackets."""
    if node.startswith("["):
        ip = _ip(node[: node.find("]") + 1]) if "]" in node else None
    else:
        ip = _ip(node.rsplit(":", 1)[0] if node.count(":") == 1 else node)
    return None if ip is None else str(ip)


def apply(
    env: dict[str, Any],
    headers: Fields,
    dropped: Fields,
    peer: str,
    is_unix: bool,
    settings: TrustSettings,
) -> list[str]:
    """Apply the forwarding fields to ``env`` if ``peer`` is trusted; returns warnings.

    ``headers`` are the request's fields; ``dropped`` the ones with "_" set aside by the
    core (where a ``SCRIPT_NAME`` field is found).
    """
    if not settings.trusts(peer, is_unix):
        return []  # ignored, all of them: never half-applied
    warnings: list[str] = []
    fields: dict[str, list[str]] = {}
    for raw_name, raw_value in headers:
        fields.setdefault(raw_name.decode("latin-1").upper(), []).append(
            raw_value.decode("latin-1")
        )

    # Gunicorn's secure_scheme_headers decide wsgi.url_scheme.
    schemes = set()
    for scheme_name, secure_value in settings.secure_scheme_headers.items():
        for value in fields.get(scheme_name, []):
            schemes.add("https" if value.strip() == secure_value else "http")
    if len(schemes) > 1:
        warnings.append("secure scheme headers disagree; ignored")
    elif schemes:
        env["wsgi.url_scheme"] = schemes.pop()

    forwarded = parse_forwarded(",".join(fields.get("FORWARDED", [])))
    last = forwarded[-1] if forwarded else {}
    client = _forwarded_node(last["for"]) if "for" in last else None
    if client is None and "X-FORWARDED-FOR" in fields:
        client = client_from_xff(",".join(fields["X-FORWARDED-FOR"]), settings)
    if client is not None:
        env["REMOTE_ADDR"] = client
        env.pop("REMOTE_PORT", None)  # the proxy's port says nothing about the client
    if not schemes:
        proto = last.get("proto") or (fields.get("X-FORWARDED-PROTO") or [""])[-1]
        if proto.strip().lower() in ("http", "https"):
            env["wsgi.url_scheme"] = proto.strip().lower()
    host = last.get("host") or (fields.get("X-FORWARDED-HOST") or [""])[-1].strip()
    if host:
        server, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if not server or not port.isdigit():
            server, port = host, ""
        env["HTTP_HOST"] = host
        env["SERVER_NAME"] = server
        if port:
            env["SERVER_PORT"] = port
        else:
            env["SERVER_PORT"] = "443" if env.get("wsgi.url_scheme") == "https" else "80"
    xport = (fields.get("X-FORWARDED-PORT") or [""])[-1].strip()
    if xport.isdigit():
        env["SERVER_PORT"] = xport
    for dropped_name, dropped_value in dropped:
        if dropped_name.upper() == b"SCRIPT_NAME":
            script = dropped_value.decode("latin-1").rstrip("/")
            env["SCRIPT_NAME"] = script
            path = env.get("PATH_INFO", "")
            if script and (path == script or path.startswith(script + "/")):
                env["PATH_INFO"] = path[len(script) :]
    return warnings
