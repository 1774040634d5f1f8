"""The gthread worker: the sync worker's epoll loop, with application calls in a thread pool.

Everything about sockets, parsing, buffering and deadlines is the sync worker's code (this
class replaces one method of it, :meth:`drive`). When a request is ready, the loop hands its
connection to one of ``--threads`` pool threads, which runs the response job for one batch
of output (the application call, then iteration up to the high-water mark) without touching
the socket. The thread hands the connection back through a queue and an eventfd; the loop
writes the batch and, if the job has more, hands it to the pool again. So a slow client
holds neither the loop nor a thread, and a slow application holds one thread, not the loop.

The exception is PEP 3333's ``write()`` callable: a thread calling it past the high-water
mark waits for the client itself (up to ``--send-timeout``), as ``write()`` must.
"""

from __future__ import annotations

import collections
import os
import queue
import select
import threading

from .sync import _ABORT, SyncWorker, _Client


class GthreadWorker(SyncWorker):
    """``-k gthread``: one event loop for I/O, ``--threads`` threads for the application."""

    multithread = True

    def setup(self) -> None:
        self._tasks: queue.SimpleQueue[_Client | None] = queue.SimpleQueue()
        self._done: collections.deque[tuple[_Client, int]] = collections.deque()
        self._efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.ep.register(self._efd, select.EPOLLIN)
        self._threads = [
            threading.Thread(target=self._work, name=f"corral-app-{i}", daemon=True)
            for i in range(max(1, int(self.cfg.threads)))
        ]
        for thread in self._threads:
            thread.start()

    def teardown(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(1.0)
        os.close(self._efd)

    def drive(self, client: _Client, now: float) -> bool:
        client.busy = True
        client.deadline = float("inf")  # the application's time is --timeout's business
        self._tasks.put(client)
        return False

    def _work(self) -> None:
        get = self._tasks.get
        done = self._done.append
        efd = self._efd
        produce = self.produce
        while True:
            client = get()
            if client is None:
                return
            try:
                status = produce(client)
            except BaseException:
                status = _ABORT
                self.log.exception("Error in an application thread")
            done((client, status))
            os.eventfd_write(efd, 1)

    def on_other(self, fd: int, now: float) -> None:
        if fd != self._efd:
            self.drain_wakeup()
            return
        try:
            os.eventfd_read(fd)
        except BlockingIOError:
            pass
        done = self._done
        while done:
            client, status = done.popleft()
            client.busy = False
            self.on_produced(client, status, now)
