"""What the HTTP core accepts: size limits and the strictness knobs.

Gunicorn's names and defaults where it has them. Every worker builds one :class:`Limits`
from the configuration (``workers/base.py``) and every connection is judged by it, so every
worker class reaches the same verdict on the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HeaderMap = Literal["drop", "refuse", "dangerous"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a peer can make a connection buffer (``0`` means unlimited), and the
    relaxations of RFC 9112 a deployment may opt into (all off by default)."""

    max_request_line: int = 4094  # --limit-request-line: longer request line -> 414
    max_fields: int = 100  # --limit-request-fields: more field lines -> 431
    max_field_size: int = 8190  # --limit-request-field_size: longer field line -> 431
    max_head_bytes: int = 65536  # --limit-request-header-bytes: longer head -> 431
    max_chunk_ext: int = 1024  # --limit-request-chunk-extension: longer chunk-ext -> 400
    permit_obsolete_folding: bool = False  # RFC 9112 §5.2: unfold instead of 400
    casefold_http_method: bool = False  # upper-case the method (Gunicorn)
    permit_unconventional_http_method: bool = False  # any token as a method (Gunicorn)
    permit_unconventional_http_version: bool = False  # HTTP/1.2-1.9 served as 1.1
    header_map: HeaderMap = "drop"  # field names with "_": drop / refuse / dangerous
    strip_header_spaces: bool = False  # "Name : value" served as "Name: value" (Gunicorn)


GUNICORN_FIELD_SIZE_DEFAULT = 8190


def field_line_limit(setting: int) -> int:
    """``max_field_size`` for a ``--limit-request-field_size`` value, counted as Gunicorn
    counts it: the field line with its CRLF, and ``0`` meaning Gunicorn's default of 8190
    (what Gunicorn 27.0.1 does, whatever its help text says; its own corpus cases show it)."""
    return max((setting or GUNICORN_FIELD_SIZE_DEFAULT) - 2, 1)
