"""The face this codec shows to servers that load it by entry point (corral does).

Registered in the entry-point group ``corral.proxy_protocol``. It uses nothing of corral:
it speaks plain data — a reader whose ``feed()`` answers ``None`` (need more bytes) or
``(info, remaining)`` with ``info`` a dict of built-in types plus the full
:class:`~corral_proxyproto.ProxyHeader` under ``"header"``.
"""

from __future__ import annotations

from typing import Any

from ._errors import ProxyProtocolError
from ._header import Command, Family, InetAddress, ProxyHeader, Transport, UnixAddress
from ._parser import NEED_DATA, Parser, Versions

API_VERSION = 1
ERRORS: tuple[type[Exception], ...] = (ProxyProtocolError,)

_VERSIONS = {"v1": Versions.V1, "v2": Versions.V2, "auto": Versions.AUTO}
_PROTOCOLS = {
    (Family.INET, Transport.STREAM): "TCP4",
    (Family.INET6, Transport.STREAM): "TCP6",
    (Family.INET, Transport.DGRAM): "UDP4",
    (Family.INET6, Transport.DGRAM): "UDP6",
    (Family.UNIX, Transport.STREAM): "UNIX",
    (Family.UNIX, Transport.DGRAM): "UNIX_DGRAM",
}


def _address(addr: InetAddress | UnixAddress | None) -> tuple[str, int] | str | None:
    if isinstance(addr, InetAddress):
        return (str(addr.host), addr.port)
    if isinstance(addr, UnixAddress):
        return addr.path.decode("utf-8", "replace")
    return None


def describe(header: ProxyHeader) -> dict[str, Any]:
    """The header as a dict of plain values (the full object is under ``"header"``)."""
    command = "LOCAL" if header.command == Command.LOCAL else "PROXY"
    if header.source is None and command == "PROXY":
        protocol = "UNKNOWN"
    else:
        protocol = _PROTOCOLS.get((header.family, header.transport), "UNKNOWN")
    tlvs: dict[str, Any] = {}
    if header.alpn is not None:
        tlvs["alpn"] = header.alpn.decode("ascii", "replace")
    if header.authority is not None:
        tlvs["authority"] = header.authority
    if header.unique_id is not None:
        tlvs["unique_id"] = header.unique_id.decode("ascii", "replace")
    if header.crc32c is not None:
        tlvs["crc32c"] = header.crc32c
    if header.netns is not None:
        tlvs["netns"] = header.netns
    ssl = header.ssl
    if ssl is not None:
        tlvs["ssl"] = {
            "ssl": ssl.ssl,
            "verified": ssl.verified,
            "version": ssl.version,
            "cn": ssl.cn,
            "cipher": ssl.cipher,
            "sig_alg": ssl.sig_alg,
            "key_alg": ssl.key_alg,
        }
    for name in ("aws_vpc_endpoint_id", "azure_private_endpoint_link_id", "gcp_psc_connection_id"):
        value = getattr(header, name)
        if value is not None:
            tlvs[name] = value
    return {
        "version": header.version,
        "command": command,
        "protocol": protocol,
        "source": _address(header.source),
        "destination": _address(header.destination),
        "ssl": bool(ssl is not None and ssl.ssl),
        "tlvs": tlvs,
        "header": header,
    }


class Reader:
    """One connection's header reader."""

    __slots__ = ("_parser",)

    def __init__(self, versions: str) -> None:
        self._parser = Parser(_VERSIONS[versions])

    def feed(self, data: bytes) -> tuple[dict[str, Any], bytes] | None:
        result = self._parser.feed(data)
        if result is NEED_DATA:
            return None
        return describe(result.header), result.remaining


def new_reader(versions: str) -> Reader:
    """A reader for ``versions`` = ``"v1"``, ``"v2"`` or ``"auto"``."""
    if versions not in _VERSIONS:
        raise ValueError(f"versions must be one of {sorted(_VERSIONS)}, got {versions!r}")
    return Reader(versions)
