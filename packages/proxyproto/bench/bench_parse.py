"""Parse-rate benchmark: corral_proxyproto vs the ``proxy-protocol`` package on PyPI.

Not a test.  Needs ``pip install proxy-protocol`` in the same environment (it
is *not* a dependency of corral-proxyproto).  Run from the repository root:

    .venv/bin/python packages/proxyproto/bench/bench_parse.py

Both libraries get the complete header bytes in one piece (the fair case for
``proxy-protocol``, whose ``unpack`` wants exactly the header); each header is
parsed into a result object, as a server would do once per connection.
Figures are headers per second, best of several rounds, the two libraries'
rounds interleaved.  Arguments: parses per round (20000), rounds (7).  Neither side gets a
CRC32C TLV: ``proxy-protocol`` only verifies it when the optional C ``crc32c``
package is installed, so that would compare different work.
"""

from __future__ import annotations

import platform
import sys
import timeit
from collections.abc import Callable

from corral_proxyproto import TLV, Parser, TLVType, build_v1, build_v2, make_ssl_tlv, parse

try:
    from proxyprotocol.detect import ProxyProtocolDetect
except ImportError:  # pragma: no cover - a benchmark prerequisite
    sys.exit("install the comparison package first:  pip install proxy-protocol")

HEADERS: dict[str, bytes] = {
    "v1 TCP4": build_v1(("192.0.2.10", 51234), ("198.51.100.7", 443)),
    "v1 TCP6": build_v1(("2001:db8::10", 51234), ("2001:db8:1::7", 443)),
    "v2 TCP4": build_v2(("192.0.2.10", 51234), ("198.51.100.7", 443)),
    "v2 TCP6": build_v2(("2001:db8::10", 51234), ("2001:db8:1::7", 443)),
    "v2 TCP4 + TLVs (ALPN, authority, SSL)": build_v2(
        ("192.0.2.10", 51234),
        ("198.51.100.7", 443),
        tlvs=[
            TLV(TLVType.ALPN, b"http/1.1"),
            TLV(TLVType.AUTHORITY, b"www.example.com"),
            make_ssl_tlv(version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384"),
        ],
    ),
}


def rates(
    ours: Callable[[], object], theirs: Callable[[], object], number: int, rounds: int
) -> tuple[float, float]:
    """Best rate of each, with their rounds interleaved.

    Alternating the two keeps a burst of load from other work on a shared
    machine from landing on one side only.
    """
    best_ours = best_theirs = float("inf")
    for _ in range(rounds):
        best_ours = min(best_ours, timeit.timeit(ours, number=number))
        best_theirs = min(best_theirs, timeit.timeit(theirs, number=number))
    return number / best_ours, number / best_theirs


def main() -> None:
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    theirs = ProxyProtocolDetect()
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"best of {rounds} interleaved rounds of {number} parses"
    )
    print(f"{'header':40} {'corral_proxyproto':>18} {'proxy-protocol':>16} {'ratio':>7}")
    for name, data in HEADERS.items():
        # Sanity: both read the same addresses.
        ours = parse(data).header
        other = theirs.unpack(data)
        assert str(ours.source.host) == str(other.source[0])  # type: ignore[union-attr,index]

        def run_ours(data: bytes = data) -> object:
            return Parser().feed(data)

        def run_theirs(data: bytes = data) -> object:
            return theirs.unpack(data)

        r_ours, r_theirs = rates(run_ours, run_theirs, number, rounds)
        print(f"{name:40} {r_ours:>16,.0f}/s {r_theirs:>14,.0f}/s {r_ours / r_theirs:>6.2f}x")


if __name__ == "__main__":
    main()
