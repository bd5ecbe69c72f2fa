"""A plain reading of docs/FORMAT.md §7.7 (transform 5, the wrap code), written from the text
alone: no search structures, every line's options listed afresh. The tests hold the product's
decoder to it."""

from __future__ import annotations

OTHER_EXCLUDED = (0x20, 0x0D, 0x0A)


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


def _other(byte: int) -> bool:
    return byte not in OTHER_EXCLUDED


def decode(code: bytes, size: int) -> bytes:
    """The chunk a wrap code stands for, or ReferenceError."""
    if len(code) < 4 or code[0] != 1 or code[1] & ~0x03:
        raise ReferenceError("header")
    crlf, keep_space = bool(code[1] & 1), bool(code[1] & 2)
    width, at = _number(code, 2)
    n, at = _number(code, at)
    if not 1 <= width <= 65536 or n > size or at + n > len(code):
        raise ReferenceError("header fields")
    text = code[at : at + n]
    at += n
    if keep_space:  # a byte other than space, CR, LF that follows a space
        cands = [p for p in range(1, n) if text[p - 1] == 0x20 and _other(text[p])]
    else:  # a space between two such bytes
        cands = [p for p in range(1, n - 1) if text[p] == 0x20 and _other(text[p - 1]) and _other(text[p + 1])]
    breaks = []
    start = 0
    while True:
        end = text.find(b"\n", start)
        if end < 0:
            end = n
        options = [c for c in cands if start < c < end] + [end]
        chosen = len(options) - 1
        if len(options) > 1:
            fitting = [i for i, o in enumerate(options) if o - start <= width]
            greedy = fitting[-1] if fitting else 0
            number, at = _number(code, at)
            k = number // 2 if number % 2 == 0 else -(number + 1) // 2
            chosen = greedy - k
            if not 0 <= chosen < len(options):
                raise ReferenceError("option outside the line")
        if chosen < len(options) - 1:
            breaks.append(options[chosen])
            start = options[chosen] + (0 if keep_space else 1)
        elif end == n:
            break
        else:
            start = end + 1
    if at != len(code):
        raise ReferenceError("bytes after the numbers")
    eol = b"\r\n" if crlf else b"\n"
    out = bytearray()
    last = 0
    for p in breaks:
        out += text[last:p] + eol
        last = p if keep_space else p + 1
    out += text[last:]
    if len(out) != size:
        raise ReferenceError("size")
    return bytes(out)
