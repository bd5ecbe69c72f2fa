"""A glyph-code decoder (transform 1) written from docs/FORMAT.md §7.4 alone: the header, the
codebook and its base, the glyphs of versions 1 and 2, and the stages in decoding order, each
over the whole text (no pieces). ``test_glyph_code_spec.py`` checks it against sigmalang's decoder.
It raises :class:`GlyphCodeError` for any code §7.4 calls an error; the texts of its errors are its
own (§11.1: a decoder must fail where sigmalang fails, the wording is free)."""

from __future__ import annotations

from timestamp_reference import TemporalError, decode_temporal, temporal_glyph


class GlyphCodeError(ValueError):
    """A glyph code that §7.4 does not allow."""


def varint(code: bytes, pos: int, most: int) -> tuple[int, int]:
    """A canonical LEB128 varint of at most *most* bytes at *pos*."""
    value = shift = 0
    for i in range(most):
        if pos + i >= len(code):
            raise GlyphCodeError("ends inside a varint")
        b = code[pos + i]
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if i and b == 0:
                raise GlyphCodeError("non-canonical varint")
            return value, pos + i + 1
    raise GlyphCodeError("varint too long")


def lines_of(text: bytes) -> list[bytes]:
    """The lines: the bytes before each line feed, and the bytes after the last one if any."""
    lines = text.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


def join(lines: list[bytes], text: bytes) -> bytes:
    return b"\n".join(lines) + (b"\n" if text.endswith(b"\n") else b"")


def line_references(text: bytes, marker: int) -> bytes:
    """Every line that is exactly ``marker d`` (d ≥ 80) becomes the line d − 7F lines before it in
    this stage's output, which must exist and be at least 16 bytes long."""
    lines = lines_of(text)
    for i, line in enumerate(lines):
        if len(line) == 2 and line[0] == marker and line[1] >= 0x80:
            back = line[1] - 0x7F
            if back > i:
                raise GlyphCodeError("line reference before the frame")
            if len(lines[i - back]) < 16:
                raise GlyphCodeError("line reference to a short line")
            lines[i] = lines[i - back]
    return join(lines, text)


def quantities(text: bytes) -> bytes:
    """Stage "Quantities": FC d tokens become the number at their position in the previous line
    with a number, plus d, in as many digits."""
    previous: list[bytes] = []
    lines = lines_of(text)
    for i, line in enumerate(lines):
        if not any(0x30 <= b <= 0x39 for b in line):
            continue
        numbers: list[bytes] = []
        out = bytearray()
        p = 0
        while p < len(line):
            b = line[p]
            if b == 0xFF and p + 1 < len(line) and line[p + 1] >= 0x80:  # an FF b pair: skipped
                out += line[p : p + 2]
                p += 2
                continue
            marker = b == 0xFC and p + 1 < len(line) and 0x30 <= line[p + 1] <= 0x39
            if not (marker or 0x30 <= b <= 0x39):
                out.append(b)
                p += 1
                continue
            start = p + 1 if marker else p
            end = start
            while end < len(line) and 0x30 <= line[end] <= 0x39:
                end += 1
            run = line[start:end]
            if marker:
                if len(run) > 1 and run[0] == 0x30:
                    raise GlyphCodeError("delta with a leading zero")
                if len(numbers) >= len(previous):
                    raise GlyphCodeError("delta without a number")
                before = previous[len(numbers)]
                if len(before) > 18 or len(run) > 18:
                    raise GlyphCodeError("delta too long")
                total = b"%d" % (int(before) + int(run))
                if len(total) > len(before):
                    raise GlyphCodeError("delta overflows its width")
                run = total.rjust(len(before), b"0")
            numbers.append(run)
            out += run
            p = end
        previous = numbers
        lines[i] = bytes(out)
    return join(lines, text)


def decode(code: bytes, size: int, base: tuple[list[bytes], int] | None = None) -> bytes:
    """The chunk a glyph code stands for. *base* is the base codebook (its words, its one-byte
    count), for a code with flag bit 4: the stream's codebook file or the previous codebook."""
    if len(code) < 4 or code[0] not in (1, 2):
        raise GlyphCodeError("no valid header")
    version, flags, short = code[0], code[1], code[2]
    end_lead = 0xF9 if version == 2 else 0xFC  # two-byte leads are 80+s .. end_lead - 1
    known = 0x1F if version == 2 else 0x13
    if flags & ~known or short > end_lead - 0x80:
        raise GlyphCodeError("unknown flags or codebook shape")
    words: list[bytes] = []
    if flags & 0x10:
        if base is None:
            raise GlyphCodeError("flag bit 4 without a base codebook")
        if base[1] != short:
            raise GlyphCodeError("the base codebook has another one-byte count")
        words = list(base[0])
    count, pos = varint(code, 3, 3)
    if len(words) + count > short + (end_lead - 0x80 - short) * 256:
        raise GlyphCodeError("codebook does not fit its code space")
    for _ in range(count):
        end = code.find(b"\n", pos)
        word = code[pos:end] if end >= 0 else b""
        if end < 0 or not word or not all(0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A for b in word):
            raise GlyphCodeError("bad codebook word")
        if word in words:
            raise GlyphCodeError("a word twice")
        words.append(word)
        pos = end + 1

    # stage 1: references; FF b, and in version 2 F9 d, FA d and FB glyphs, kept for later
    body = code[pos:]
    text = bytearray()
    p = 0

    def reference(at: int) -> tuple[bytes, int] | None:
        if at >= len(body):
            return None
        b = body[at]
        if 0x80 <= b < 0x80 + short:
            rank, after = b - 0x80, at + 1
        elif 0x80 + short <= b < end_lead and at + 1 < len(body):
            rank, after = short + 256 * (b - 0x80 - short) + body[at + 1], at + 2
        else:
            return None
        if rank >= len(words):
            raise GlyphCodeError("reference not in the codebook")
        return words[rank], after

    while p < len(body):
        b = body[p]
        pair = b == 0xFF or (version == 2 and b in (0xF9, 0xFA))  # FF b; F9 d and FA d
        if pair and p + 1 < len(body) and body[p + 1] >= 0x80:
            text += body[p : p + 2]
            p += 2
        elif version == 2 and b == 0xFB:
            try:  # a whole TEMPORAL glyph; an incomplete one is left to stage 4, which fails on it
                end = temporal_glyph(body, p)[0]
            except TemporalError:
                end = p + 1
            text += body[p:end]
            p = end
        elif b in (0xFD, 0xFE) and (found := reference(p + 1)) is not None:
            word, p = found
            text += word[:1].upper() + word[1:] if b == 0xFD else word.upper()
        elif b < 0x80 or b in (0xFC, 0xFD, 0xFE, 0xFF) or (version == 2 and b >= 0xF9):
            text.append(b)  # a byte of its own; FB glyphs are read whole by stage 4
            p += 1
        elif (found := reference(p)) is not None:
            word, p = found
            text += word
        else:
            text.append(b)  # a lead without its second byte: stray
            p += 1
    out = bytes(text)
    try:
        if flags & 0x04:
            out = line_references(out, 0xFA)
        if flags & 0x02:
            out = quantities(out)
        if flags & 0x08:
            out = decode_temporal(out)
        if flags & 0x04:
            out = line_references(out, 0xF9)
    except TemporalError as exc:
        raise GlyphCodeError(str(exc)) from None
    # last stage: escapes; any other byte of 80 or more is an error
    result = bytearray()
    p = 0
    while p < len(out):
        b = out[p]
        if b == 0xFF and flags & 0x01 and p + 1 < len(out) and out[p + 1] >= 0x80:
            result.append(out[p + 1])
            p += 2
        elif b >= 0x80:
            raise GlyphCodeError("stray byte")
        else:
            result.append(b)
            p += 1
    if len(result) != size:
        raise GlyphCodeError("not the frame's size")
    return bytes(result)
