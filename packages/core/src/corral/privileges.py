"""``--user``, ``--group``, ``--initgroups``: workers run as another identity.

The master keeps the identity it was started with: it binds the listening sockets (a port
below 1024 needs root), opens the log files and forks. Each worker switches in the forked
child, before it imports the application, so no application code ever runs as root. What
a worker must still reach afterwards is handed over first, by the master: the log files
(a worker reopens them on USR1) and the unix socket files it created. The heartbeat is
anonymous shared memory and needs nothing.
"""

from __future__ import annotations

import os
import pwd
from typing import Any

from .errors import CorralError


def _wanted(cfg: Any) -> tuple[int | None, int | None]:
    """The uid and gid to switch to (None: keep). ``--user`` alone also switches to that
    user's primary group (as su(1) and systemd's User= do; Gunicorn keeps the master's
    group, root's, which is rarely what anyone wants)."""
    uid = cfg.user if cfg.user is not None and cfg.user != os.geteuid() else None
    group = cfg.group
    if group is None and uid is not None:
        try:
            group = pwd.getpwuid(uid).pw_gid
        except KeyError:
            group = None  # a bare uid with no passwd entry: keep the group
    gid = group if group is not None and group != os.getegid() else None
    return uid, gid


def check(cfg: Any) -> None:
    """At start (and on HUP): a switch is possible, or one clear error."""
    uid, gid = _wanted(cfg)
    if (uid is not None or gid is not None) and os.geteuid() != 0:
        asked = ", ".join(
            f"{flag} {value}" for flag, value in (("--user", uid), ("--group", gid)) if value
        )
        raise CorralError(
            f"{asked}: switching the workers' identity needs corral to be started as root "
            f"(it runs as uid {os.geteuid()})"
        )


def hand_over(cfg: Any, paths: list[str]) -> None:
    """In the master: give the workers' identity the files they must still write."""
    uid, gid = _wanted(cfg)
    if uid is None and gid is None:
        return
    for path in paths:
        try:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        except OSError as exc:
            raise CorralError(f"cannot hand {path} over to the workers' user: {exc.strerror}")


def drop(cfg: Any) -> None:
    """In the forked worker, before the application is imported."""
    uid, gid = _wanted(cfg)
    if uid is None and gid is None:
        return
    target_gid = gid if gid is not None else os.getegid()
    if cfg.initgroups and uid is not None:
        os.initgroups(pwd.getpwuid(uid).pw_name, target_gid)
    else:
        os.setgroups([])  # none of the master's supplementary groups
    if gid is not None:
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)
