"""The per-frame codebook: which words become REFERENCE glyphs, and the code each one gets.

Codes are byte strings in the range the glyph code reserves for references (see
:mod:`sigmalang.semantic.transform`): the *short* most frequent words get one byte
``0x80 + rank``, the next ones two bytes, a lead byte after the one-byte range and any second
byte. The codebook travels in the frame as the words in rank order, each ended by ``\\n``.

A book trained by ``sigmalang train`` also holds a *sample*: lines of the training text (one
example of each of its most frequent line templates, then its last lines). The context-mixing
levels read the words and the sample before every frame of a stream that names the book, so that a
small file starts with a model that knows what such text looks like.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from crc32c import crc32c

from .._errors import SigmaCodebookError
from .._wire import encode_varint, read_varint

__all__ = [
    "CODE_BASE",
    "CODE_END",
    "SAMPLE_DEFAULT",
    "SAMPLE_MAX",
    "Codebook",
    "LineSampler",
    "WordCounter",
    "as_codebook",
    "book_bytes",
    "book_id",
    "build_codebook",
    "load_codebook",
    "parse_book",
    "train_codebook",
]

CODE_BASE = 0x80  # first reference byte
CODE_END = 0xFC  # first byte after the reference range (markers follow)
CODE_BYTES = CODE_END - CODE_BASE  # 124 lead bytes
MIN_COUNT = 32  # rarer words cost more as codebook entries and 2-byte codes than as letters (measured)
MIN_LENGTH = 2
PRIMER_MAX = 64 << 10  # bytes of a book's words that prime the context-mixing model
SAMPLE_MAX = 256 << 10  # bytes of sample a book may hold (all of it primes every CM frame)
SAMPLE_DEFAULT = 64 << 10  # what training keeps unless told otherwise
WORD = re.compile(rb"[A-Za-z]+")
LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Codebook:
    """Words in rank order; the first *short* have one-byte codes, the rest two-byte ones. The
    *sample* (any bytes, at most SAMPLE_MAX) is text the context-mixing model reads after the words."""

    words: tuple[bytes, ...]
    short: int
    sample: bytes = b""

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

    def primer(self) -> bytes:
        """What the context-mixing model reads before a frame of a stream with this book (docs/FORMAT.md
        §7.2): the words in rank order, each followed by a space, at most PRIMER_MAX bytes (the first),
        then the sample."""
        return b"".join(word + b" " for word in self.words)[:PRIMER_MAX] + self.sample

    @property
    def id(self) -> bytes:
        """The book's identity as a file (BLAKE2b-128 of its canonical file bytes)."""
        return book_id(self)

    def to_bytes(self) -> bytes:
        """The book as a codebook file (docs/FORMAT.md, "Codebook files")."""
        return book_bytes(self)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the book as a codebook file, atomically; an existing *path* is kept unless *overwrite*."""
        from .._output import atomic_output  # not at import: workers that load books write none

        with atomic_output(path, overwrite=overwrite) as out:
            out.write(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Codebook:
        return parse_book(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Codebook:
        return load_codebook(path)


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


# -- codebook files ---------------------------------------------------------------------------
#
# magic (8) | version (1) | s (1) | w (varint) | [n (varint) | sample (n)] | w × (word LF) | CRC32C
# of all before (4, LE). Version 2 has the sample (1 <= n <= SAMPLE_MAX), version 1 has none; a
# book without a sample is always written as version 1. The identity of a book is BLAKE2b-128 of
# the whole file: docs/FORMAT.md, "Codebook files".

BOOK_MAGIC = b"\xce\xa3LB\r\n\x1a\n"  # "ΣLB": like the stream magic, damaged by text-mode transfers
BOOK_VERSIONS = (1, 2)
ID_SIZE = 16  # BLAKE2b-128, as the container's content checksum
MAX_WORD_LENGTH = 64
MAX_WORDS = CODE_BYTES * 256  # the capacity of a book with no one-byte codes (the largest)
MAX_BOOK_SIZE = len(BOOK_MAGIC) + 2 + 3 + 3 + SAMPLE_MAX + MAX_WORDS * (MAX_WORD_LENGTH + 1) + 4
_LETTERS = re.compile(rb"[A-Za-z]{1,%d}" % MAX_WORD_LENGTH)


def book_bytes(book: Codebook) -> bytes:
    """The canonical file bytes of *book* (its identity is the hash of these)."""
    if len(book.sample) > SAMPLE_MAX:
        raise ValueError(f"a codebook's sample is at most {SAMPLE_MAX:,} bytes, got {len(book.sample):,}")
    body = bytearray(BOOK_MAGIC)
    body += bytes([2 if book.sample else 1, book.short]) + encode_varint(len(book.words))
    if book.sample:
        body += encode_varint(len(book.sample)) + book.sample
    for word in book.words:
        body += word + b"\n"
    return bytes(body) + struct.pack("<I", crc32c(body))


def book_id(book: Codebook) -> bytes:
    """The book's identity: BLAKE2b-128 of :func:`book_bytes`, 16 bytes."""
    return hashlib.blake2b(book_bytes(book), digest_size=ID_SIZE).digest()


def parse_book(data: bytes, name: str = "codebook") -> Codebook:
    """Parse and check the bytes of a codebook file; any problem is a :class:`SigmaCodebookError`."""

    def bad(reason: str) -> SigmaCodebookError:
        return SigmaCodebookError(f"{name}: {reason}")

    if len(data) > MAX_BOOK_SIZE:
        raise bad(f"{len(data)} bytes, more than a codebook file can hold ({MAX_BOOK_SIZE})")
    if data[: len(BOOK_MAGIC)] != BOOK_MAGIC:
        raise bad("not a ΣLANG codebook file (bad magic)")
    if len(data) < len(BOOK_MAGIC) + 3 + 4:
        raise bad("truncated codebook file")
    body, (stored,) = data[:-4], struct.unpack("<I", data[-4:])
    if crc32c(body) != stored:
        raise bad("CRC32C mismatch (damaged codebook file)")
    pos = len(BOOK_MAGIC)
    version, short = body[pos], body[pos + 1]
    if version not in BOOK_VERSIONS:
        raise bad(f"unsupported codebook version {version} (this reader knows 1 and 2)")
    if short > CODE_BYTES:
        raise bad(f"{short} one-byte codes, at most {CODE_BYTES}")
    count, pos = read_varint(
        body, pos + 2, 3, lambda exc: bad(f"bad word count: {exc.reason}" if exc else "truncated word count")
    )
    capacity = Codebook((), short).capacity
    if count > capacity:
        raise bad(f"{count} words do not fit the code space of {capacity}")
    sample = b""
    if version == 2:
        size, pos = read_varint(
            body, pos, 3, lambda exc: bad(f"bad sample length: {exc.reason}" if exc else "truncated sample length")
        )
        if not 1 <= size <= SAMPLE_MAX:
            raise bad(f"a sample of {size:,} bytes (a version-2 book holds 1 to {SAMPLE_MAX:,})")
        if pos + size > len(body):
            raise bad(f"truncated sample ({len(body) - pos:,} of {size:,} bytes)")
        sample, pos = bytes(body[pos : pos + size]), pos + size
    words = body[pos:].split(b"\n")
    if words.pop() != b"" or len(words) != count:
        raise bad(f"holds {len(words)} words where its header says {count} (or lacks the final LF)")
    for rank, word in enumerate(words):
        if not _LETTERS.fullmatch(word):
            raise bad(f"word {rank} is not 1-{MAX_WORD_LENGTH} ASCII letters")
    if len(set(words)) != count:
        raise bad("a word appears twice")
    return Codebook(tuple(words), short, sample)


def load_codebook(path: str | os.PathLike[str]) -> Codebook:
    """Read a codebook file written by ``sigmalang train`` (size checked before it is read whole)."""
    with open(path, "rb") as f:
        data = f.read(MAX_BOOK_SIZE + 1)
    return parse_book(data, os.fspath(path))


def as_codebook(book: Codebook | str | os.PathLike[str] | None) -> Codebook | None:
    """A :class:`Codebook` as given, or loaded from a path."""
    if book is None or isinstance(book, Codebook):
        return book
    if isinstance(book, str | os.PathLike):
        return load_codebook(book)
    raise TypeError(f"codebook must be a Codebook or a path, got {type(book).__name__}")


# -- training -----------------------------------------------------------------------------------

TRAIN_READ = 1 << 20  # bytes read from a sample at a time
TRAIN_MAX_ENTRIES = 1 << 18  # distinct spellings kept while counting; then the rarer half is pruned
TRAIN_MAX_TEMPLATES = 1 << 15  # distinct line templates kept while sampling; likewise
SAMPLE_LINE_MAX = 1 << 10  # longer lines are never a template's example


class WordCounter:
    """Word counts over any amount of text, in bounded memory.

    Text is fed in pieces (a word cut by a piece boundary is held back and joined to the next
    piece). When more than *max_entries* distinct spellings are held, the entries with the
    smallest counts are dropped until at most half remain: a word that is frequent overall is
    counted from where it last survived, so its count can only be too low, never too high.
    """

    def __init__(self, max_entries: int = TRAIN_MAX_ENTRIES):
        if max_entries < 2:
            raise ValueError("max_entries must be at least 2")
        self.max_entries = max_entries
        self.counts: Counter[bytes] = Counter()
        self.pruned = 0
        self._tail = b""
        self._skip = False

    def feed(self, data: bytes) -> None:
        if self._skip:  # inside a run of letters longer than any word a book keeps
            rest = data.lstrip(LETTERS)
            if not rest:
                return
            data, self._skip = rest, False
        text = self._tail + data
        cut = len(text.rstrip(LETTERS))
        self._tail = text[cut:]
        if len(self._tail) > MAX_WORD_LENGTH:
            self._tail, self._skip = b"", True
        self._count(text[:cut])

    def end(self) -> None:
        """The input (one sample file) ends: count the word held back."""
        self._count(self._tail)
        self._tail, self._skip = b"", False

    def _count(self, text: bytes) -> None:
        self.counts.update(WORD.findall(text))
        if len(self.counts) > self.max_entries:
            ranked = sorted(self.counts.values(), reverse=True)
            floor = ranked[self.max_entries // 2]  # entries with at most this count are dropped
            self.pruned += 1
            self.counts = Counter({w: c for w, c in self.counts.items() if c > floor})


class LineSampler:
    """A sample of at most *size* bytes of any amount of text, in bounded memory: one example (the
    latest) of each of the most frequent line templates (:func:`sigmalang._records.template`), at
    most half the size, then the text's last lines.

    Templates are counted as :class:`WordCounter` counts words (when more than *max_entries* are
    held, the rarer half is dropped); a line longer than SAMPLE_LINE_MAX is no template's example.
    The examples are written rarest first, so the most frequent come just before the tail; the tail
    starts at a line start unless one line is longer than what is left of the size.
    """

    def __init__(self, size: int, max_entries: int = TRAIN_MAX_TEMPLATES):
        if not 0 <= size <= SAMPLE_MAX:
            raise ValueError(f"a sample is 0 to {SAMPLE_MAX:,} bytes, got {size:,}")
        if max_entries < 2:
            raise ValueError("max_entries must be at least 2")
        self.size = size
        self.max_entries = max_entries
        self.counts: Counter[bytes] = Counter()
        self.examples: dict[bytes, bytes] = {}
        self._line = b""  # the start of a line cut by a piece boundary
        self._long = False  # that line is longer than an example may be
        self._tail = b""  # the last size + 1 bytes of the text

    def feed(self, data: bytes) -> None:
        if not self.size:
            return
        self._tail = (self._tail + data)[-(self.size + 1) :]
        *lines, rest = data.split(b"\n")
        for line in lines:
            if not self._long:
                self._add(self._line + line + b"\n")
            self._line, self._long = b"", False
        if not self._long:
            self._line += rest
            if len(self._line) > SAMPLE_LINE_MAX:
                self._line, self._long = b"", True

    def end(self) -> None:
        """The input (one sample file) ends: its last line, if it has no line feed, counts too."""
        if self._line and not self._long:
            self._add(self._line)
        self._line, self._long = b"", False

    def _add(self, line: bytes) -> None:
        if len(line) > SAMPLE_LINE_MAX:
            return
        from .._records import template  # not at import: only training needs it

        key = template(line.removesuffix(b"\n"))
        self.counts[key] += 1
        self.examples[key] = line
        if len(self.counts) > self.max_entries:
            floor = sorted(self.counts.values(), reverse=True)[self.max_entries // 2]
            self.counts = Counter({k: c for k, c in self.counts.items() if c > floor})
            self.examples = {k: self.examples[k] for k in self.counts}

    def sample(self) -> bytes:
        """The sample: the chosen examples, then the tail."""
        chosen: list[tuple[bytes, int]] = []
        used = 0
        for key, count in sorted(self.counts.items(), key=itemgetter(1), reverse=True):  # ties: first seen
            line = self.examples[key]
            if used + len(line) <= self.size // 2:
                chosen.append((line, count))
                used += len(line)
        chosen.sort(key=itemgetter(1))  # rarest first; stable
        room = self.size - used
        tail = self._tail[-(room + 1) :] if room else b""
        if len(tail) > room:  # the byte before the last *room* bytes: start after a line feed
            tail = tail[tail.find(b"\n") + 1 :] if b"\n" in tail else tail[1:]
        return b"".join(line for line, _ in chosen) + tail


def train_codebook(
    paths: Sequence[str | os.PathLike[str]],
    words: int = 4096,
    short: int = 96,
    min_count: int = MIN_COUNT,
    *,
    sample_size: int = SAMPLE_DEFAULT,
    max_entries: int = TRAIN_MAX_ENTRIES,
    read_size: int = TRAIN_READ,
) -> Codebook:
    """Build a book from sample files: the *words* most frequent words, ranked as by build_codebook,
    and a sample of at most *sample_size* bytes of their lines (:class:`LineSampler`)."""
    if words < 0:
        raise ValueError("words must be 0 or more")
    counter = WordCounter(max_entries)
    sampler = LineSampler(sample_size)
    for path in paths:
        with open(path, "rb") as f:
            while data := f.read(read_size):
                counter.feed(data)
                sampler.feed(data)
        counter.end()
        sampler.end()
    counts = Counter({w: c for w, c in counter.counts.items() if len(w) <= MAX_WORD_LENGTH})
    book = build_codebook(counts, short, min_count)
    return Codebook(book.words[:words], book.short, sampler.sample())
