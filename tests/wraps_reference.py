"""A plain reading of docs/FORMAT.md §7.7 (transform 5, the wrap code), written from the text
alone: no search structures, every line's options listed afresh. The tests hold the product's
decoder to it."""

from __future__ import annotations

OTHER_EXCLUDED = (0x20, 0x0D, 0x0A)
MIN_SEGMENT = 4096  # the shortest text of a segment but the last (version 2)


class ReferenceError(Exception):
    pass


def _number(code: bytes, at: int) -> tuple[int, int]:
    value = 0
    for k in range(5):
        if at + k >= len(code):
            raise ReferenceError("ends inside a number")
        byte = code[at + k]
        value |= (byte & 0x7F) << (7 * k)
        if byte < 0x80:
            if byte == 0 and k > 0:
                raise ReferenceError("non-canonical number")
            return value, at + k + 1
    raise ReferenceError("number too long")


def _reach(text: bytes, option: int, is_end: bool, trimmed: bool) -> int:
    """Where an option's line is measured to: the option, or in a version 2 segment with *keep*,
    for a candidate, the place after the last byte before it that is not a space."""
    if is_end or not trimmed:
        return option
    return len(text[:option].rstrip(b" "))


def _other(byte: int) -> bool:
    return byte not in OTHER_EXCLUDED


def _segments(code: bytes, size: int) -> tuple[list[tuple[int, int, int, int]], int]:
    """The segments (flags, width, indent, text length) and where the text starts."""
    if len(code) < 4:
        raise ReferenceError("header")
    if code[0] == 1:
        width, at = _number(code, 2)
        n, at = _number(code, at)
        if code[1] & ~0x03 or not 1 <= width <= 65536:
            raise ReferenceError("header fields")
        return [(code[1], width, 0, n)], at
    if code[0] != 2:
        raise ReferenceError("version")
    count, at = _number(code, 1)
    if count < 1 or count > size // MIN_SEGMENT + 1:
        raise ReferenceError("segment count")
    segments = []
    for k in range(count):
        if at >= len(code):
            raise ReferenceError("segment table")
        flags = code[at]
        width, at = _number(code, at + 1)
        indent, at = _number(code, at)
        n, at = _number(code, at)
        if flags & ~0x03 or width > 65536 or indent > 255 or (width == 0 and (flags or indent)):
            raise ReferenceError("segment fields")
        if n < MIN_SEGMENT and k < count - 1:
            raise ReferenceError("segment length")
        segments.append((flags, width, indent, n))
    return segments, at


def decode(code: bytes, size: int) -> bytes:
    """The chunk a wrap code stands for, or ReferenceError."""
    segments, at = _segments(code, size)
    total = sum(n for _, _, _, n in segments)
    if total > size or at + total > len(code):
        raise ReferenceError("text")
    out = bytearray()
    text_at, at = at, at + total
    for flags, width, indent, n in segments:
        text = code[text_at : text_at + n]
        text_at += n
        if width == 0:
            out += text
        else:
            piece, at = _segment(code, at, text, flags, width, indent, code[0] == 2)
            out += piece
    if at != len(code):
        raise ReferenceError("bytes after the numbers")
    if len(out) != size:
        raise ReferenceError("size")
    return bytes(out)


def _segment(
    code: bytes, at: int, text: bytes, flags: int, width: int, indent: int, trimmed: bool
) -> tuple[bytes, int]:
    """One segment's text with its line ends put back, and where the numbers after it start. A
    line that starts after a line end put back is *indent* bytes longer than its text."""
    crlf, keep_space = bool(flags & 1), bool(flags & 2)
    n = len(text)
    if keep_space:  # a byte other than space, CR, LF that follows a space
        cands = [p for p in range(1, n) if text[p - 1] == 0x20 and _other(text[p])]
    else:  # a space between two such bytes
        cands = [p for p in range(1, n - 1) if text[p] == 0x20 and _other(text[p - 1]) and _other(text[p + 1])]
    breaks = []
    start = 0
    extra = 0  # how much longer the line is than its text: its indent after a line end put back
    while True:
        end = text.find(b"\n", start)
        if end < 0:
            end = n
        options = [c for c in cands if start < c < end] + [end]
        chosen = len(options) - 1
        if len(options) > 1:
            trim = keep_space and trimmed
            fitting = [i for i, o in enumerate(options) if _reach(text, o, o == end, trim) - start + extra <= width]
            greedy = fitting[-1] if fitting else 0
            number, at = _number(code, at)
            k = number // 2 if number % 2 == 0 else -(number + 1) // 2
            chosen = greedy - k
            if not 0 <= chosen < len(options):
                raise ReferenceError("option outside the line")
        if chosen < len(options) - 1:
            breaks.append(options[chosen])
            start = options[chosen] + (0 if keep_space else 1)
            extra = indent
        elif end == n:
            break
        else:
            start, extra = end + 1, 0
    eol = (b"\r\n" if crlf else b"\n") + b" " * indent
    out = bytearray()
    last = 0
    for p in breaks:
        out += text[last:p] + eol
        last = p if keep_space else p + 1
    out += text[last:]
    return bytes(out), at
