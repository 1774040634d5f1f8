"""A streamed response reaches the client chunk by chunk, in every worker class."""

from __future__ import annotations

import itertools
import time

import pytest
from corral_testing import worker_classes


def _complete_chunks(body: bytes) -> int:
    """How many whole chunks of a chunked body have arrived."""
    count = 0
    while True:
        line_end = body.find(b"\r\n")
        if line_end == -1:
            return count
        size = int(body[:line_end], 16)
        if size == 0 or len(body) < line_end + 2 + size + 2:
            return count
        count += 1
        body = body[line_end + 2 + size + 2 :]


@pytest.mark.parametrize("worker", worker_classes())
def test_each_chunk_is_sent_when_the_app_yields_it(corral, worker):
    server = corral("-k", worker, "--threads", "2", "behaviours:app")
    with server.connect() as sock:
        # Four 10-byte chunks, the app sleeping 0.4 s before each but the first.
        sock.sendall(b"GET /stream?n=4&delay=0.4&size=10 HTTP/1.1\r\nHost: t\r\n\r\n")
        started = time.monotonic()
        arrivals: list[float] = []
        data = b""
        while len(arrivals) < 4:
            piece = sock.recv(65536)
            assert piece, data
            data += piece
            _, _, body = data.partition(b"\r\n\r\n")
            while _complete_chunks(body) > len(arrivals):
                arrivals.append(time.monotonic() - started)
    # Had the response been held back, the chunks would arrive together at the end. Loose
    # bounds: the machine may be busy; the exact timing is not what is tested.
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals[-1] - arrivals[0] > 0.8, arrivals
    assert all(gap > 0.2 for gap in gaps), arrivals
