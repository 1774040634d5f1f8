"""The event loop's TLS output path with a socket that takes little at a time: a response
is complete only when its last encrypted byte is on the socket (a real socketpair with a
small send buffer; the TLS peer is an in-memory client)."""

from __future__ import annotations

import select
import socket
import sys
from types import SimpleNamespace

import pytest
from corral.heartbeat import Heartbeat, HeartbeatTable
from corral.http import Limits
from corral.session import Session
from corral.workers.sync import SyncWorker, _Client
from corral.wsgi import ConnInfo, WSGIRunner
from test_tls_session import handshake, pki  # noqa: F401  (the fixture)


class _Log:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _worker() -> SyncWorker:
    worker = SyncWorker.__new__(SyncWorker)  # no arbiter: only what the loop's output reads
    worker.log = _Log()  # type: ignore[assignment]
    worker.alive = True
    worker.send_timeout = 30.0
    worker.ep = select.epoll()
    worker.clients = {}
    table = HeartbeatTable(1)
    worker.ctx = SimpleNamespace(heartbeat=Heartbeat(table, table.allocate()))  # type: ignore[assignment]
    worker.runner = WSGIRunner(lambda e, s: [], _Log())  # type: ignore[arg-type]
    worker.max_requests = sys.maxsize
    return worker


@pytest.mark.parametrize("pieces", [[50_880], [65_536] * 5 + [50_880], [1000] * 300])
def test_a_response_ends_only_when_every_encrypted_byte_is_sent(pki, pieces):  # noqa: F811
    peer, tls = handshake(pki)
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ours.setblocking(False)
    worker = _worker()
    info = ConnInfo("127.0.0.1", 1, "127.0.0.1", "443")
    session = Session(worker.runner, info, Limits(), worker.log)
    client = _Client(ours, ours.fileno(), session, 0.0, tls)
    worker.clients[client.fd] = client
    body = b"".join(bytes([65 + i % 26]) * size for i, size in enumerate(pieces))
    client.job = iter([bytes([65 + i % 26]) * size for i, size in enumerate(pieces)])
    client.responding = True
    received = bytearray()
    done = worker.drive(client, 0.0)
    for _ in range(100_000):
        if done:
            break
        received += theirs.recv(65536)  # the client reads a little; then, as _on_writable:
        if not worker._flush(client):
            continue
        done = worker.drive(client, 0.0) if client.job is not None else True
    assert done
    assert not client.wire, "the response ended with encrypted bytes still unsent"
    theirs.setblocking(False)
    try:
        while True:
            chunk = theirs.recv(65536)
            if not chunk:
                break
            received += chunk
    except BlockingIOError:
        pass
    assert peer.read_all(bytes(received)) == body
    ours.close()
    theirs.close()
