"""Bounded memos for the hot path: one rule for every cache corral keeps per process."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, size: int) -> None:
    """Store ``key -> value``; a full memo (``size`` entries) is emptied first.

    So a flood of distinct keys (peers, heads, targets) costs recomputation, never memory.
    """
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
