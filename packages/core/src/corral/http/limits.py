"""Size limits of the HTTP core (Gunicorn's names and defaults where it has them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a peer can make a connection buffer. ``0`` means unlimited."""

    max_request_line: int = 4094  # --limit-request-line: longer request target -> 414
    max_fields: int = 100  # --limit-request-fields: more header fields -> 431
    max_field_size: int = 8190  # --limit-request-field_size: longer field line -> 431
    max_head_bytes: int = 65536  # whole head still incomplete past this -> 431
