"""The timestamps of docs/FORMAT.md §7.4, read from its text alone and written without a regular
expression: the candidates at a position, field by field in priority order; the scan of a text,
glyphs included (the TEMPORAL stage's text); validity, form, value and rendering. Used by
``test_timestamp_spec.py`` and ``glyph_code_reference.py``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

MONTHS = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
WEEKDAYS = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"]
DATE_SEPARATORS = b"-/."
DATE_TIME_SEPARATORS = b" T_-"
FRACTION_SEPARATORS = b".,:"


def is_digit(b: int) -> bool:
    return 0x30 <= b <= 0x39


def is_edge(b: int) -> bool:
    """An ASCII digit, an ASCII letter, or a byte of 80 or more."""
    return is_digit(b) or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or b >= 0x80


@dataclass(frozen=True)
class Candidate:
    layout: str  # "A", "B", "C"
    end: int
    year: bytes  # the year field's digits (A: 4 or 2; C: the suffix's 4; else empty)
    month: int
    day: int
    date_sep: bytes  # A: one of - / . or empty; B: one of - / .; C: empty
    date_time_sep: bytes  # A, B: one of space T _ -; C: empty
    hour: int
    minute: int
    second: int
    fraction_sep: bytes
    fraction: bytes  # 0-9 digits
    zone: bool
    weekday: bytes  # C only, or empty
    space_padded: bool  # C: the day field's first byte is a space
    suffix: bool  # C: a year suffix


def digits(text: bytes, pos: int, n: int) -> int | None:
    """The value of exactly *n* digits at *pos*, or None."""
    piece = text[pos : pos + n]
    return int(piece) if len(piece) == n and all(map(is_digit, piece)) else None


def times(text: bytes, pos: int) -> Iterator[tuple[int, int, int, int, bytes, bytes, bool]]:
    """The time fields at *pos* in priority order: (end, H, M, S, fraction separator, fraction, Z)."""
    h, m, s = digits(text, pos, 2), digits(text, pos + 3, 2), digits(text, pos + 6, 2)
    if h is None or m is None or s is None or text[pos + 2 : pos + 3] != b":" or text[pos + 5 : pos + 6] != b":":
        return
    at = pos + 8
    fractions: list[tuple[int, bytes, bytes]] = []
    if at < len(text) and text[at] in FRACTION_SEPARATORS:
        for n in range(9, 0, -1):  # more digits first
            if digits(text, at + 1, n) is not None:
                fractions.append((at + 1 + n, text[at : at + 1], text[at + 1 : at + 1 + n]))
    fractions.append((at, b"", b""))  # any fraction before none
    for end, sep, fraction in fractions:
        if text[end : end + 1] == b"Z":  # Z present before absent
            yield end + 1, h, m, s, sep, fraction, True
        yield end, h, m, s, sep, fraction, False


def candidates(text: bytes, p: int) -> Iterator[Candidate]:
    """Every candidate at *p* whose bytes are all there, in priority order."""
    # layout A: year (4 before 2), s (present before absent), MM, s, DD, t, time
    for width in (4, 2):
        if digits(text, p, width) is None:
            continue
        year = text[p : p + width]
        at = p + width
        seps = [text[at : at + 1]] if at < len(text) and text[at] in DATE_SEPARATORS else []
        for sep in [*seps, b""]:
            month, day_at = digits(text, at + len(sep), 2), at + len(sep) + 2
            if month is None or text[day_at : day_at + len(sep)] != sep:
                continue
            day = digits(text, day_at + len(sep), 2)
            t_at = day_at + len(sep) + 2
            if day is None or t_at >= len(text) or text[t_at] not in DATE_TIME_SEPARATORS:
                continue
            for end, h, m, s, fs, f, z in times(text, t_at + 1):
                yield Candidate(
                    "A", end, year, month, day, sep, text[t_at : t_at + 1], h, m, s, fs, f, z, b"", False, False
                )
    # layout B: MM s DD t time, s required
    month = digits(text, p, 2)
    if month is not None and p + 2 < len(text) and text[p + 2] in DATE_SEPARATORS:
        day, t_at = digits(text, p + 3, 2), p + 5
        if day is not None and t_at < len(text) and text[t_at] in DATE_TIME_SEPARATORS:
            for end, h, m, s, fs, f, z in times(text, t_at + 1):
                sep, dts = text[p + 2 : p + 3], text[t_at : t_at + 1]
                yield Candidate("B", end, b"", month, day, sep, dts, h, m, s, fs, f, z, b"", False, False)
    # layout C: [weekday, space] month-name, space, day, space, time, [space, year]
    starts = []
    if text[p : p + 3] in WEEKDAYS and text[p + 3 : p + 4] == b" ":
        starts.append((text[p : p + 3], p + 4))  # the weekday present before absent
    starts.append((b"", p))
    for weekday, at in starts:
        name = text[at : at + 3]
        if name not in MONTHS or text[at + 3 : at + 4] != b" ":
            continue
        field = text[at + 4 : at + 6]
        if len(field) < 2 or not is_digit(field[1]) or not (is_digit(field[0]) or field[0] == 0x20):
            continue
        if text[at + 6 : at + 7] != b" ":
            continue
        for end, h, m, s, fs, f, z in times(text, at + 7):
            month, day, padded = MONTHS.index(name) + 1, int(field.strip()), field[0] == 0x20
            suffix = text[end + 1 : end + 5]
            if text[end : end + 1] == b" " and len(suffix) == 4 and all(map(is_digit, suffix)):
                yield Candidate("C", end + 5, suffix, month, day, b"", b"", h, m, s, fs, f, z, weekday, padded, True)
            yield Candidate("C", end, b"", month, day, b"", b"", h, m, s, fs, f, z, weekday, padded, False)


def spec_scan(text: bytes) -> list[tuple[int, Candidate]]:
    """The matches of a text without glyphs, as the scan of §7.4 finds them."""
    out = []
    p = 0
    while p < len(text):
        if p > 0 and is_edge(text[p - 1]):
            p += 1
            continue
        for c in candidates(text, p):
            if c.end == len(text) or not is_edge(text[c.end]):
                out.append((p, c))
                p = c.end
                break
        else:
            p += 1
    return out


def year_of(c: Candidate) -> int:
    if c.layout == "A":
        return int(c.year) if len(c.year) == 4 else 2000 + int(c.year)
    return int(c.year) if c.suffix else 2000


def form(c: Candidate) -> tuple[object, ...]:
    """The components of §7.4's form table."""
    year_digits = len(c.year) if c.layout == "A" else (4 if c.suffix else 0)
    return (
        c.layout,
        c.date_sep,
        c.date_time_sep,
        c.fraction_sep,
        len(c.fraction),
        year_digits,
        c.space_padded,
        bool(c.weekday),
        c.suffix,
        c.zone,
    )


def value(c: Candidate) -> int:
    day_number = date(year_of(c), c.month, c.day).toordinal()  # 0001-01-01 is day 1
    seconds = day_number * 86400 + c.hour * 3600 + c.minute * 60 + c.second
    return seconds * 10 ** len(c.fraction) + (int(c.fraction) if c.fraction else 0)


def render(c: Candidate, v: int) -> bytes:
    """Value *v* written in *c*'s form (the cases a valid match needs)."""
    f = len(c.fraction)
    seconds, fraction = divmod(v, 10**f)
    days, second = divmod(seconds, 86400)
    when = date.fromordinal(days)
    time = b"%02d:%02d:%02d" % (second // 3600, second // 60 % 60, second % 60)
    time += c.fraction_sep + (b"%0*d" % (f, fraction) if f else b"") + (b"Z" if c.zone else b"")
    if c.layout == "A":
        year = b"%04d" % when.year if len(c.year) == 4 else b"%02d" % (when.year % 100)
        return year + c.date_sep + b"%02d" % when.month + c.date_sep + b"%02d" % when.day + c.date_time_sep + time
    if c.layout == "B":
        return b"%02d" % when.month + c.date_sep + b"%02d" % when.day + c.date_time_sep + time
    day = b"%2d" % when.day if c.space_padded else b"%02d" % when.day
    out = MONTHS[when.month - 1] + b" " + day + b" " + time
    if c.weekday:
        out = WEEKDAYS[when.weekday()] + b" " + out
    return out + (b" %04d" % when.year if c.suffix else b"")


def valid(text: bytes, p: int, c: Candidate) -> bool:
    try:
        when = date(year_of(c), c.month, c.day)
    except ValueError:
        return False
    if c.hour > 23 or c.minute > 59 or c.second > 59:
        return False
    if c.weekday and (not c.suffix or WEEKDAYS[when.weekday()] != c.weekday):
        return False
    return render(c, value(c)) == text[p : c.end]


# -- the TEMPORAL stage of a version-2 glyph code (§7.4 "Version 2", stage 4) ------------------

MAX_FORMS = 64


class TemporalError(ValueError):
    """A TEMPORAL glyph that cannot be decoded."""


def temporal_glyph(text: bytes, p: int) -> tuple[int, int, int]:
    """The glyph ``FB k c... e`` at *p*: its end, its form number and its delta."""
    if p + 2 >= len(text) or not 0x80 <= text[p + 1] <= 0xBF:
        raise TemporalError("damaged TEMPORAL glyph")
    k, n, at = text[p + 1] - 0x80, 0, p + 2
    while at < len(text) and 0x80 <= text[at] <= 0xBF and at - (p + 2) < 10:
        n = n << 6 | (text[at] - 0x80)
        at += 1
    if at >= len(text) or not 0xC0 <= text[at] <= 0xDF:
        raise TemporalError("damaged TEMPORAL glyph")
    n = n << 5 | (text[at] - 0xC0)
    return at + 1, k, n // 2 if n % 2 == 0 else -(n + 1) // 2


def render_value(c: Candidate, v: int) -> bytes:
    """*v* written in *c*'s form, or TemporalError where the form cannot show it."""
    days = v // 10 ** len(c.fraction) // 86400
    if not 1 <= days <= date.max.toordinal():
        raise TemporalError("TEMPORAL value outside the calendar")
    year = date.fromordinal(days).year
    year_digits = form(c)[5]
    if (year_digits == 2 and not 2000 <= year <= 2099) or (year_digits == 0 and year != 2000):
        raise TemporalError("TEMPORAL value outside its form's years")
    return render(c, v)


def decode_temporal(text: bytes) -> bytes:
    """Stage 4: literal valid timestamps set their form's last value, and each TEMPORAL glyph
    becomes the last value of its form plus its delta, written in that form."""
    forms: dict[tuple[object, ...], int] = {}
    shapes: list[Candidate] = []  # a timestamp of each form, in form-number order
    last: list[int] = []
    out = bytearray()
    p = 0
    while p < len(text):
        b = text[p]
        if b in (0xFF, 0xF9, 0xFA):  # an escape or a line reference: skipped with the next byte
            out += text[p : p + 2]
            p += 2
            continue
        if b == 0xFB:
            end, k, delta = temporal_glyph(text, p)
            if k >= len(last):
                raise TemporalError(f"TEMPORAL glyph names form {k}, not seen in the frame")
            last[k] += delta
            out += render_value(shapes[k], last[k])
            p = end
            continue
        if p == 0 or not is_edge(text[p - 1]):
            found = next((c for c in candidates(text, p) if c.end == len(text) or not is_edge(text[c.end])), None)
            if found is not None:
                if valid(text, p, found):
                    key = form(found)
                    if key in forms:
                        last[forms[key]] = value(found)
                    elif len(forms) < MAX_FORMS:
                        forms[key] = len(last)
                        shapes.append(found)
                        last.append(value(found))
                out += text[p : found.end]
                p = found.end
                continue
        out.append(b)
        p += 1
    return bytes(out)
