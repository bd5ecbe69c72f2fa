"""The items a search filter holds (docs/FORMAT.md §18), gathered from a frame's text in bounded
memory: the FNV-1a-64 hashes of its words and of its byte trigrams, ASCII-lowercased. Used by
:mod:`sigmalang._filters`, which builds the filters from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

KIND_WORD = 1  # hashed as b"\x01" + word
KIND_TRIGRAM = 2  # hashed as b"\x02" + three bytes
SLICE = 64 << 10  # text is read this much at a time: the memory for items does not grow with a chunk
LONG_WORD = 64  # a longer word is hashed alone
BITMAP_AT = 1 << 20  # a piece this long gathers its trigrams in a bitmap
MERGE_AT = 1 << 16  # hashes gathered before they are first merged (sorted, duplicates dropped)

_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_"
_NON_WORD_TO_SPACE = bytes(b if b in _WORD_BYTES else 0x20 for b in range(256))  # words split at spaces
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
_LF = 0x0A


def fnv1a64(data: bytes) -> int:
    """64-bit FNV-1a of *data* (the filters' item hash)."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return h


def _trigram_hashes(codes: np.ndarray) -> np.ndarray:
    """FNV-1a-64 of ``b"\\x02" + trigram`` for each trigram given as a 24-bit code (big-endian)."""
    import numpy as np  # not at import: worker processes need no numpy

    with np.errstate(over="ignore"):
        h = np.full(codes.shape, (_FNV_OFFSET ^ KIND_TRIGRAM) * _FNV_PRIME & _MASK64, dtype=np.uint64)
        prime = np.uint64(_FNV_PRIME)
        for shift in (16, 8, 0):
            h = (h ^ ((codes >> shift) & 0xFF).astype(np.uint64)) * prime
    return h


def _word_spans(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each word of *text* (words between spaces) that is not all digits starts, and its
    length, longest first (those longer than LONG_WORD, which are hashed one by one, first of
    all in no particular order)."""
    import numpy as np  # not at import: worker processes need no numpy

    word = np.concatenate([[False], text != 0x20, [False]])
    edges = np.flatnonzero(word[1:] != word[:-1])
    starts, ends = edges[0::2], edges[1::2]
    digits = np.zeros(len(text) + 1, dtype=np.int32)  # digits before each byte (a slice is short)
    np.cumsum((text >= 0x30) & (text <= 0x39), dtype=np.int32, out=digits[1:])
    lengths = ends - starts
    keep = digits[ends] - digits[starts] != lengths
    starts, lengths = starts[keep], lengths[keep]
    # A stable sort of 16-bit keys (a radix sort): the length below the cap, from the cap down.
    cap = min(LONG_WORD + 1, 0xFFFF)
    order = np.argsort(cap - np.minimum(lengths, cap).astype(np.uint16), kind="stable")
    return starts[order], lengths[order]


def _word_hashes(spaced: bytes) -> np.ndarray:
    """FNV-1a-64 of ``b"\\x01" + word`` for each word of *spaced* (words between spaces) that is
    not all digits, duplicates included. All words are hashed together a byte position at a time:
    longest first, the words still going on at position i are the first ones (a word longer than
    LONG_WORD is hashed alone, in Python)."""
    import numpy as np  # not at import: worker processes need no numpy

    text = np.frombuffer(spaced, dtype=np.uint8)
    starts, lengths = _word_spans(text)
    long = int(np.count_nonzero(lengths > LONG_WORD))
    longer = [fnv1a64(b"\x01" + spaced[a : a + n]) for a, n in zip(starts[:long], lengths[:long], strict=True)]
    starts, lengths = starts[long:], lengths[long:]
    h = np.full(len(starts), (_FNV_OFFSET ^ KIND_WORD) * _FNV_PRIME & _MASK64, dtype=np.uint64)
    longest = int(lengths[0]) if len(lengths) else 0
    going = np.searchsorted(-lengths, -np.arange(1, longest + 1), "right")  # the words longer than i
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for i, count in enumerate(going.tolist()):
            h[:count] ^= text[starts[:count] + i]
            h[:count] *= prime
    return np.concatenate([np.array(longer, dtype=np.uint64), h])


def _one_word_hash(word: bytes) -> np.ndarray:
    import numpy as np  # not at import: worker processes need no numpy

    return np.array([] if word.isdigit() else [fnv1a64(b"\x01" + word)], dtype=np.uint64)


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """*values* sorted, each once (``np.unique`` without its hash table, which costs more here)."""
    import numpy as np  # not at import: worker processes need no numpy

    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=np.bool_)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _set_bits(bitmap: np.ndarray, positions: np.ndarray) -> None:
    """Set bit ``p`` (byte ``p >> 3``, bit ``p & 7``: little-endian bit order) of *bitmap* for each
    of *positions*, repeats included: an unbuffered OR (``ufunc.at``), so that two positions in one
    byte both keep their bit."""
    import numpy as np  # not at import: worker processes need no numpy

    if len(positions):
        np.bitwise_or.at(bitmap, positions >> 3, np.left_shift(np.uint8(1), (positions & 7).astype(np.uint8)))


class _Hashes:
    """A growing set of 64-bit hashes, kept as sorted arrays: parts added since the last merge
    are merged once they outnumber the merged ones, so each hash is sorted a few times at most."""

    def __init__(self) -> None:
        import numpy as np  # not at import: worker processes need no numpy

        self._merged = np.zeros(0, dtype=np.uint64)
        self._parts: list[np.ndarray] = []
        self._waiting = 0

    def add(self, hashes: np.ndarray) -> None:
        self._parts.append(hashes)
        self._waiting += len(hashes)
        if self._waiting > max(len(self._merged), MERGE_AT):
            self._merge()

    def _merge(self) -> None:
        import numpy as np  # not at import: worker processes need no numpy

        if self._parts:
            self._merged = _distinct_sorted(np.concatenate([self._merged, *self._parts]))
            self._parts, self._waiting = [], 0

    def sorted(self) -> np.ndarray:
        """The distinct hashes, sorted."""
        self._merge()
        return self._merged


class _Items:
    """What a filter will hold, gathered from text fed a piece at a time, in order: the hashes of
    its words (maximal runs of word bytes, not all digits) and of its trigrams (three bytes without
    a line feed or a digit), the text ASCII-lowercased.

    Memory stays small whatever the text's length: the text is read in slices of SLICE bytes,
    words are hashed a slice at a time, and so are the distinct trigrams of a short piece; a piece of
    BITMAP_AT bytes or more marks its trigrams in a bitmap of all 2^24 codes (2 MiB) instead and
    hashes each once at its end (scanning the bitmap costs about as much as hashing 1 MiB of text
    slice by slice, so short pieces, such as small chunks, do without it). A slice's last two bytes
    and its unfinished word carry over to the next slice, so the items are those of the text read
    whole.
    """

    def __init__(self) -> None:
        self._hashes = _Hashes()
        self._last = b""  # the last two bytes so far: trigrams across a slice's start
        self._word: list[bytes] = []  # the word the text so far ends in, in pieces

    def feed(self, text: bytes | memoryview) -> None:
        import numpy as np  # not at import: worker processes need no numpy

        view = memoryview(text)
        trigrams = np.zeros(1 << 21, dtype=np.uint8) if len(view) >= BITMAP_AT else None  # bit c: code c
        for start in range(0, len(view), SLICE):
            lowered = bytes(view[start : start + SLICE]).lower()
            codes = self._trigram_codes(lowered)
            if trigrams is None:
                self._hashes.add(_trigram_hashes(_distinct_sorted(codes)))
            else:
                _set_bits(trigrams, codes)
            self._add_words(lowered.translate(_NON_WORD_TO_SPACE))
        if trigrams is not None:
            self._hash_trigrams(trigrams)

    def end_word(self) -> None:
        """Count the word the text so far ends in as a word (as if the text ended here); text
        fed later may still continue it into a longer word, which counts too."""
        word = b"".join(self._word)
        self._word = [word] if word else []
        if word:
            self._hashes.add(_one_word_hash(word))

    def sorted(self) -> np.ndarray:
        """The distinct item hashes of all the text fed, sorted."""
        self.end_word()
        return self._hashes.sorted()

    def _trigram_codes(self, lowered: bytes) -> np.ndarray:
        """The 24-bit codes of a slice's trigrams without a line feed or a digit (with the two
        bytes before the slice), repeats included."""
        import numpy as np  # not at import: worker processes need no numpy

        text = self._last + lowered
        self._last = text[-2:]
        a = np.frombuffer(text, dtype=np.uint8)
        if len(a) < 3:
            return np.zeros(0, dtype=np.int32)
        usable = (a != _LF) & ((a < 0x30) | (a > 0x39))
        keep = usable[:-2] & usable[1:-1] & usable[2:]
        codes = a[:-2].astype(np.int32) << 16
        codes |= a[1:-1].astype(np.int32) << 8
        codes |= a[2:]
        kept: np.ndarray = codes[keep]
        return kept

    def _hash_trigrams(self, trigrams: np.ndarray) -> None:
        """Hash the trigrams marked in *trigrams*, a block of the bitmap at a time: the bits of
        its bytes that are not 0 (most are, in text), in order."""
        import numpy as np  # not at import: worker processes need no numpy

        block = 1 << 16
        for start in range(0, len(trigrams), block):
            part = trigrams[start : start + block]
            at = np.flatnonzero(part)
            if len(at):
                bits = np.unpackbits(part[at], bitorder="little").view(np.bool_)
                codes = ((at + start) << 3)[:, None] + np.arange(8)
                self._hashes.add(_trigram_hashes(codes.reshape(-1)[bits]))

    def _add_words(self, spaced: bytes) -> None:
        """Hash the words of *spaced* (a slice, its non-word bytes made spaces), the first joined
        to the word the text before ends in, the last held back if the slice ends inside it."""
        if not spaced:
            return
        head, tail = 0, len(spaced)
        if self._word:
            head = spaced.find(b" ")
            if head < 0:  # the whole slice continues the word
                self._word.append(spaced)
                return
            self._word.append(spaced[:head])
            word = b"".join(self._word)
            self._word = []
            self._hashes.add(_one_word_hash(word))
        if spaced[-1] != 0x20:
            tail = spaced.rfind(b" ") + 1
            self._word = [spaced[tail:]]
        self._hashes.add(_distinct_sorted(_word_hashes(spaced[head:tail])))
