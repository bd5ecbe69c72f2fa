"""Counts in messages, written one way everywhere: ``1 frame``, ``2 frames``, ``12,345 bytes``."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str) -> str:
    """*n* with thousands separators and *word*, with an s unless *n* is 1."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
