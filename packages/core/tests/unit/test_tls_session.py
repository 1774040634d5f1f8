"""The sans-IO TLS engine against a real TLS client in memory (ssl.MemoryBIO both sides)."""

from __future__ import annotations

import ssl

import pytest
import trustme
from corral.tls import PLAIN_HTTP_REPLY, SLICE, TlsError, TlsSession


class MemoryClient:
    """A TLS client over memory buffers, trusting ``ca``."""

    def __init__(self, ca: trustme.CA) -> None:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")

    def step(self) -> bytes:
        """Advance the handshake; what to send to the server."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def read_all(self, wire: bytes) -> bytes:
        self.incoming.write(wire)
        chunks = []
        try:
            while True:
                chunks.append(self.obj.read(65536))
        except ssl.SSLWantReadError:
            pass
        return b"".join(chunks)


@pytest.fixture(scope="module")
def pki() -> tuple[trustme.CA, ssl.SSLContext]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return ca, context


def handshake(pki: tuple[trustme.CA, ssl.SSLContext]) -> tuple[MemoryClient, TlsSession]:
    ca, context = pki
    client, server = MemoryClient(ca), TlsSession(context)
    wire = client.step()
    while not (server.established and client.obj.version()):
        assert server.receive(wire) == b""
        client.incoming.write(server.outgoing())
        wire = client.step()
        if not wire and server.established:
            break
    if wire:
        server.receive(wire)
    return client, server


def test_the_handshake_then_plaintext_both_ways(pki):
    client, server = handshake(pki)
    assert server.established and not server.ended
    client.obj.write(b"GET / HTTP/1.1\r\n\r\n")
    assert server.receive(client.outgoing.read()) == b"GET / HTTP/1.1\r\n\r\n"
    server.send(b"HTTP/1.1 200 OK\r\n\r\n")
    assert client.read_all(server.outgoing()) == b"HTTP/1.1 200 OK\r\n\r\n"


def test_every_record_received_at_once_is_returned_at_once(pki):
    """Nothing decrypted stays inside the engine: a level-triggered loop would never see it."""
    client, server = handshake(pki)
    pieces = [bytes([65 + i]) * 20000 for i in range(5)]  # several records
    for piece in pieces:
        client.obj.write(piece)
    assert server.receive(client.outgoing.read()) == b"".join(pieces)


def test_a_byte_at_a_time_is_fine(pki):
    client, server = handshake(pki)
    client.obj.write(b"hello")
    got = b"".join(server.receive(bytes([b])) for b in client.outgoing.read())
    assert got == b"hello"


def test_close_notify_and_a_bare_end_of_stream_both_end_it(pki):
    client, server = handshake(pki)
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.unwrap()
    assert server.receive(client.outgoing.read()) == b""
    assert server.ended
    _, other = handshake(pki)
    assert other.receive(b"") == b"" and other.ended


def test_the_server_says_close_notify_before_closing(pki):
    client, server = handshake(pki)
    alert = server.close_notify()
    assert alert
    client.incoming.write(alert)
    assert client.obj.read(10) == b""  # a clean end (a bare one raises SSLEOFError)
    assert server.close_notify() == b""  # once


def test_the_clients_close_notify_is_answered(pki):
    client, server = handshake(pki)
    with pytest.raises(ssl.SSLWantReadError):
        client.obj.unwrap()
    server.receive(client.outgoing.read())
    client.incoming.write(server.close_notify())
    client.obj.unwrap()  # the shutdown completes: both alerts exchanged


def test_plain_http_gets_a_readable_400(pki):
    server = TlsSession(pki[1])
    with pytest.raises(TlsError) as info:
        server.receive(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert info.value.reply == PLAIN_HTTP_REPLY
    head, _, body = PLAIN_HTTP_REPLY.partition(b"\r\n\r\n")
    assert f"Content-Length: {len(body)}".encode() in head


def test_garbage_is_a_tls_error_without_a_reply(pki):
    server = TlsSession(pki[1])
    with pytest.raises(TlsError) as info:
        server.receive(b"\x16\x03\x01\x00\x05" + b"\xff" * 5)
    assert info.value.reply == b""
    assert isinstance(info.value, ConnectionError)  # drivers treat it as a lost peer


def test_large_sends_are_the_drivers_to_slice(pki):
    client, server = handshake(pki)
    server.send(b"x" * (3 * SLICE))
    assert client.read_all(server.outgoing()) == b"x" * (3 * SLICE)
