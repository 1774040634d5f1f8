"""``wsgi.file_wrapper`` responses to a client that stops reading, in every worker class,
with sendfile(2) and with ``--no-sendfile``: the response is cut at ``--send-timeout``
(a file does not hold a connection for ever) and the same worker serves on."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from corral_testing import drain, get_body, slow_reader, until, worker_classes

SIZE = 32 << 20  # far more than the socket buffers hold


def _server_side_established(sock: socket.socket) -> bool:
    """Whether the server's end of ``sock`` (a local IPv4 client) is still ESTABLISHED. A
    server that gives up shuts its end down: the kernel moves it to FIN-WAIT (the FIN waits
    behind the unread bytes), though the client, which reads nothing, sees no change yet."""
    server = f"0100007F:{sock.getpeername()[1]:04X}"
    client = f"0100007F:{sock.getsockname()[1]:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == server and fields[2] == client:
            return fields[3] == "01"
    raise LookupError(f"no server-side socket for {client} in /proc/net/tcp")


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "no-sendfile"])
@pytest.mark.parametrize("wclass", worker_classes())
def test_a_file_response_to_a_reader_that_stops_is_cut_at_the_send_deadline(
    corral, wclass, sendfile
):
    flags = [] if sendfile else ["--no-sendfile"]
    server = corral("-k", wclass, "-w", "1", "--send-timeout", "2", *flags, "behaviours:app")
    pid = int(get_body(server.host, server.port, "/pid"))
    raw = f"GET /file?size={SIZE}&length=1 HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    with slow_reader(server.host, server.port, raw) as sock:
        # Reads nothing until the server has given up on it (a bound, not a timing claim).
        until(lambda: not _server_side_established(sock), 60, "the server to cut the reader")
        received = drain(sock, timeout=30)
    assert 0 < received < SIZE, received  # cut: the rest of the file never came
    assert int(get_body(server.host, server.port, "/pid")) == pid  # the same worker
