"""TLS in the workers (``--certfile``): one sans-IO engine that every worker class drives.

Theory of operation. :func:`server_context` builds the :class:`ssl.SSLContext` once, in the
master, before any worker starts (the key may be readable by root only; ``--user`` workers
inherit the loaded context through ``fork``), and again on HUP, so certificates are renewed
by a reload. A missing or unreadable file, or an ``ssl_context`` hook that fails, is one
line and a non-zero exit.

Each TLS connection gets a :class:`TlsSession`: an :class:`ssl.SSLObject` over two memory
buffers, so TLS is bytes in, bytes out, like the HTTP core (:mod:`corral.session`). The
driver feeds it what the socket received and gets back the plaintext, and hands it
plaintext to send and gets back the bytes for the wire. The handshake happens inside the
first ``receive`` calls: the driver never waits for it, and it runs under the connection's
header deadline like any other byte of a request head, so a client that connects and
stays silent is cut at ``--header-timeout`` and holds no worker.

* the event-loop workers (sync, gthread) call :class:`TlsSession` directly from their
  loop: see ``SyncWorker._flush_tls``;
* the green workers (gevent, eventlet) wrap their cooperative socket in a
  :class:`TlsStream`, which has the ``recv`` / ``send`` the one request loop
  (:func:`corral.blocking.serve_connection`) uses.

A client that speaks plain HTTP to a TLS port gets a plain-text 400 saying so (as nginx
does), not a TLS alert that curl shows as gibberish.
"""

from __future__ import annotations

import _socket
import os
import socket
import ssl
from typing import Any

from .errors import UsageError

_READ = 65536  # plaintext taken out of the engine per read() call
SLICE = 65536  # plaintext encrypted at a time: the wire buffer stays this small

PLAIN_HTTP_REPLY = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 52\r\n"
    b"\r\n"
    b"This port speaks HTTPS: the request was plain HTTP.\n"
)

_HANDSHAKE_RECORD = 0x16  # a TLS record carrying a handshake message: a ClientHello


class TlsError(ConnectionError):
    """The TLS connection cannot go on. ``reply`` is what to send, unencrypted, first."""

    def __init__(self, message: str, reply: bytes = b"") -> None:
        super().__init__(message)
        self.reply = reply


# ------------------------------------------------------------------------- context


def server_context(cfg: Any) -> ssl.SSLContext | None:
    """The context of the TLS listeners, or None when ``--certfile``/``--keyfile`` are
    unset; every mistake is a :class:`~corral.errors.UsageError` of one line."""
    if not cfg.certfile and not cfg.keyfile:
        return None
    if not cfg.certfile:
        raise UsageError("--keyfile was given without --certfile: give both, or neither")
    for flag, path in (
        ("--certfile", cfg.certfile),
        ("--keyfile", cfg.keyfile),
        ("--ca-certs", cfg.ca_certs),
    ):
        if path and not os.path.isfile(path):
            raise UsageError(f"{flag} {path}: no such file")

    def default_ssl_context_factory() -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cfg.ca_certs)
        except (ssl.SSLError, OSError) as exc:
            raise UsageError(f"--ca-certs {cfg.ca_certs}: {_reason(exc)}") from None
        try:
            context.load_cert_chain(certfile=cfg.certfile, keyfile=cfg.keyfile)
        except (ssl.SSLError, OSError) as exc:
            files = f"--certfile {cfg.certfile}"
            if cfg.keyfile:
                files += f" with --keyfile {cfg.keyfile}"
            raise UsageError(f"{files}: {_reason(exc)}") from None
        context.verify_mode = ssl.VerifyMode(cfg.cert_reqs)
        if cfg.ciphers:
            try:
                context.set_ciphers(cfg.ciphers)
            except ssl.SSLError:
                raise UsageError(
                    f"--ciphers {cfg.ciphers}: OpenSSL knows no cipher in that list"
                ) from None
        return context

    try:
        context = cfg.ssl_context(cfg, default_ssl_context_factory)
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"the ssl_context hook failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(context, ssl.SSLContext):
        raise UsageError(
            f"the ssl_context hook returned {type(context).__name__}, not an ssl.SSLContext"
        )
    return context


# OpenSSL's reasons for a file it cannot use, said as the mistake that causes them.
_REASONS = {
    "KEY_VALUES_MISMATCH": "the private key does not belong to the certificate",
    "PEM lib": "no PEM certificate and private key in it (or the key is missing)",
    "NO_START_LINE": "no PEM data in it",
    "NO_CERTIFICATE_OR_CRL_FOUND": "no PEM CA certificate in it",
}


def _reason(exc: ssl.SSLError | OSError) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, ssl.SSLError):
        for key, said in _REASONS.items():
            if key == reason or key in str(exc):
                return said
        return str(reason or exc)
    if exc.strerror:
        return exc.strerror
    return str(exc)


# -------------------------------------------------------------------- the engine


class TlsSession:
    """One server-side TLS connection, sans-IO: wire bytes in and out, plaintext in and out."""

    __slots__ = ("_incoming", "_notified", "_obj", "_outgoing", "_started", "ended", "established")

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._started = False
        self._notified = False  # our close_notify was made
        self.established = False  # the handshake is complete
        self.ended = False  # the client ended the stream (close_notify, or TCP end)

    def receive(self, data: bytes) -> bytes:
        """Feed what the socket received (``b""``: it reached its end); return all the
        plaintext that is now readable. Afterwards send :meth:`outgoing`."""
        if not self._started and data:
            self._started = True
            if data[0] != _HANDSHAKE_RECORD and data[:1].isalpha():
                raise TlsError("plain HTTP on a TLS port", PLAIN_HTTP_REPLY)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
        obj = self._obj
        chunks = []
        try:
            if not self.established:
                obj.do_handshake()
                self.established = True
            while True:
                chunk = obj.read(_READ)
                if not chunk:  # the client's close_notify
                    self.ended = True
                    break
                chunks.append(chunk)
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            self.ended = True  # close_notify, or the connection ended without one
        except ssl.SSLError as exc:
            raise TlsError(f"TLS failed: {exc.reason or exc}") from None
        if not data:
            self.ended = True
        return b"".join(chunks)

    def send(self, data: bytes | memoryview) -> None:
        """Encrypt ``data``; the records are then in :meth:`outgoing`."""
        try:
            self._obj.write(data)
        except ssl.SSLError as exc:
            raise TlsError(f"TLS failed: {exc.reason or exc}") from None

    def outgoing(self) -> bytes:
        """The bytes to write to the socket now (``b""``: none)."""
        return self._outgoing.read()

    @property
    def has_outgoing(self) -> bool:
        return self._outgoing.pending > 0

    def close_notify(self) -> bytes:
        """The alert that ends the TLS stream cleanly, to send before closing (also the
        answer to the client's); ``b""`` the second time."""
        if self.established and not self._notified:
            self._notified = True
            try:
                self._obj.unwrap()
            except ssl.SSLError:
                pass  # (it wants the client's close_notify, which nobody waits for)
        return self._outgoing.read()


def send_nowait(fd: int, data: bytes) -> None:
    """Write what the socket takes at once, never waiting (no green library patches
    this): for the last bytes before a close, which nobody waits for."""
    if not data:
        return
    raw = _socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fd)
    try:
        raw.send(data, socket.MSG_DONTWAIT)
    except OSError:
        pass
    finally:
        raw.detach()


# ------------------------------------------------------ the blocking-style stream


class TlsStream:
    """A TLS connection over a blocking-style socket (a green library's), offering what
    :func:`corral.blocking.serve_connection` calls: ``recv``, ``send``, ``shutdown``,
    ``close``. Deadlines stay the request loop's: a cut socket ends the wait inside."""

    __slots__ = ("_fd", "_plain", "_sock", "tls")

    def __init__(self, sock: Any, fd: int, tls: TlsSession) -> None:
        self._sock = sock
        self._fd = fd
        self.tls = tls
        self._plain = b""

    def recv(self, size: int) -> bytes:
        """All the plaintext there is, once there is some (``size`` is not a bound: the
        request loop takes everything it is given); ``b""`` at the end of the stream."""
        tls = self.tls
        while not self._plain:
            if tls.ended:
                return b""
            data = self._sock.recv(_READ)
            try:
                self._plain = tls.receive(data)
            except TlsError as exc:
                send_nowait(self._fd, exc.reply)
                raise
            self._write(tls.outgoing())
        plain, self._plain = self._plain, b""
        return plain

    def send(self, data: bytes | memoryview) -> int:
        """Encrypt and write (up to :data:`SLICE` bytes of) ``data``; return how much."""
        piece = data[:SLICE]
        self.tls.send(piece)
        self._write(self.tls.outgoing())
        return len(piece)

    def _write(self, wire: bytes) -> None:
        send = self._sock.send
        while wire:
            sent = send(wire)
            wire = wire[sent:]

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        send_nowait(self._fd, self.tls.close_notify())
        self._sock.close()
