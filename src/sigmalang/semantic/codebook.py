"""The per-frame codebook: which words become REFERENCE glyphs, and the code each one gets.

Codes are byte strings in the range the glyph code reserves for references (see
:mod:`sigmalang.semantic.transform`): the *short* most frequent words get one byte
``0x80 + rank``, the next ones two bytes, a lead byte after the one-byte range and any second
byte. The codebook travels in the frame as the words in rank order, each ended by ``\\n``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

__all__ = ["CODE_BASE", "CODE_END", "Codebook", "build_codebook"]

CODE_BASE = 0x80  # first reference byte
CODE_END = 0xFC  # first byte after the reference range (markers follow)
CODE_BYTES = CODE_END - CODE_BASE  # 124 lead bytes
MIN_COUNT = 32  # rarer words cost more as codebook entries and 2-byte codes than as letters (measured)
MIN_LENGTH = 2


@dataclass(frozen=True, slots=True)
class Codebook:
    """Words in rank order; the first *short* have one-byte codes, the rest two-byte ones."""

    words: tuple[bytes, ...]
    short: int

    @property
    def capacity(self) -> int:
        return self.short + (CODE_BYTES - self.short) * 256

    def code(self, rank: int) -> bytes:
        if rank < self.short:
            return bytes([CODE_BASE + rank])
        lead, second = divmod(rank - self.short, 256)
        return bytes([CODE_BASE + self.short + lead, second])

    def codes(self) -> dict[bytes, bytes]:
        """Word → code, for every word in the book."""
        return {word: self.code(rank) for rank, word in enumerate(self.words)}

    def serialize(self) -> bytes:
        return b"".join(word + b"\n" for word in self.words)


def _case_folds(word: bytes) -> bool:
    """True for the spellings a case modifier can rebuild from the lower-case word."""
    return word.islower() or (len(word) > 1 and word.isupper()) or (word[:1].isupper() and word[1:].islower())


def build_codebook(counts: Counter[bytes], short: int = 96, min_count: int = MIN_COUNT) -> Codebook:
    """Rank the words of one frame (*counts*: exact spelling → occurrences) into a codebook.

    Spellings that differ only by a case modifier share one lower-case entry; mixed-case words
    are entries of their own. Ties keep first-seen order, so the result is deterministic.
    """
    folded: Counter[bytes] = Counter()
    for word, count in counts.items():
        folded[word.lower() if _case_folds(word) else word] += count
    # filter before sorting: most_common() would build and sort a pair for every distinct word
    kept = [(w, c) for w, c in folded.items() if c >= min_count and len(w) >= MIN_LENGTH]
    del folded
    kept.sort(key=itemgetter(1), reverse=True)  # stable: ties keep first-seen order
    ranked = [w for w, _ in kept]
    short = min(short, CODE_BYTES)
    book = Codebook((), short)
    return Codebook(tuple(ranked[: book.capacity]), short)
