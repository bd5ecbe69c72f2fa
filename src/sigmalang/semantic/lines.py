"""Line stages of glyph code version 2: Σ-bank line references and TEMPORAL glyphs.

Both work on whole lines (bytes up to a line feed, or the unterminated last line) and keep their
state in small objects, so that a later shared-context mode could carry them from frame to frame:

* :class:`LineBank` codes a line that equals one of the last :data:`BANK_LINES` lines (at least
  :data:`MIN_LINE` bytes long) as ``marker d``, the line *d* − ``7F`` lines back, d in ``80``–``FF``.
* :class:`Clock` codes a date-time in a common log form (ISO 8601, syslog, ctime, ``MM-DD``, …)
  as ``FB k digits``: the value of the previous timestamp of the same form *k* in the frame, plus
  a signed delta in its finest unit. Decoding rebuilds the exact bytes (widths, padding,
  separators, month and weekday names); a timestamp that would not is left as it is.

The byte layout is in ``docs/FORMAT.md`` §7.4.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "BANK_LINES",
    "MIN_LINE",
    "TEMPORAL",
    "TEMPORAL_TOKEN",
    "Clock",
    "LineBank",
    "split_lines",
    "temporal_delta",
]

BANK_LINES = 128  # how far back a line reference reaches: d is one byte 80-FF
MIN_LINE = 16  # shorter lines model better as they are (measured: blank lines must stay literal)
TEMPORAL = 0xFB
MAX_FORMS = 64  # form numbers are one byte 80-BF
MAX_DIGITS = 10  # at most 10 continuation bytes before the final one: 65 bits of delta


class LineError(ValueError):
    """A line glyph that cannot be decoded (the transform turns it into SemanticDecodeError)."""


def split_lines(text: bytes) -> list[bytes]:
    """The lines of *text*: the pieces between line feeds, without an empty piece after the last."""
    lines = text.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def join_lines(lines: list[bytes], text: bytes) -> bytes:
    """Lines back to text, ending with a line feed where *text* (their source) did."""
    out = b"\n".join(lines)
    return out + b"\n" if text.endswith(b"\n") else out


# --------------------------------------------------------------------------- Σ-bank


@dataclass(slots=True)
class LineBank:
    """The last lines of one stage, by their number: exact repeats become ``marker d``."""

    marker: int
    count: int = 0  # lines seen so far
    last: dict[bytes, int] = field(default_factory=dict)  # line → number of its last occurrence
    recent: list[bytes] = field(default_factory=list)  # the last BANK_LINES lines, oldest first
    replaced: int = 0  # bytes of the lines encode replaced

    def _see(self, line: bytes) -> None:
        self.recent.append(line)
        if len(self.recent) > 2 * BANK_LINES:  # trim in batches: amortised O(1) per line
            for old in self.recent[:-BANK_LINES]:
                seen = self.last.get(old)
                if seen is not None and seen < self.count - BANK_LINES:
                    del self.last[old]
            del self.recent[:-BANK_LINES]
        if len(line) >= MIN_LINE:
            self.last[line] = self.count
        self.count += 1

    def encode(self, text: bytes) -> tuple[bytes, bool]:
        """Whole lines of *text* with repeats replaced; and whether any was."""
        lines = split_lines(text)
        used = False
        for i, line in enumerate(lines):
            seen = self.last.get(line) if len(line) >= MIN_LINE else None
            self._see(line)
            if seen is not None and self.count - 1 - seen <= BANK_LINES:
                lines[i] = bytes([self.marker, 0x7F + self.count - 1 - seen])
                self.replaced += len(line)
                used = True
        return (join_lines(lines, text), True) if used else (text, False)

    def decode(self, text: bytes, limit: int) -> bytes:
        """Undo :meth:`encode` on whole lines; the result may not be longer than *limit* bytes."""
        lines = split_lines(text)
        marker = self.marker
        total = 0
        used = False
        for i, line in enumerate(lines):
            if len(line) == 2 and line[0] == marker:  # the marker cannot start any other line
                if line[1] < 0x80:
                    raise LineError("damaged Σ-bank line reference")
                back = line[1] - 0x7F
                if back > len(self.recent):
                    raise LineError("Σ-bank line reference reaches before the frame")
                line = lines[i] = self.recent[-back]
                if len(line) < MIN_LINE:
                    raise LineError("Σ-bank line reference to a line too short to be referenced")
                used = True
            total += len(line) + 1
            if total > limit + 1:
                raise LineError(f"Σ-bank line references expand the text past {limit} bytes")
            self._see(line)
        return join_lines(lines, text) if used else text


# --------------------------------------------------------------------------- TEMPORAL

_MONTHS = b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS = b"Mon Tue Wed Thu Fri Sat Sun".split()
_TIME = rb"(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)(?:(?P<fs>[.,:])(?P<f>\d{1,9}))?(?P<z>Z?)"
# Not next to a letter, digit or byte >= 80 on either side: a TEMPORAL glyph's bytes are >= 80
# and a timestamp starts with a digit or a letter and ends with one, so a literal timestamp beside
# one that became a glyph is (not) matched alike by the encoder and the decoder.
_EDGE = rb"[0-9A-Za-z\x80-\xff]"
TIMESTAMP = re.compile(
    rb"(?<!" + _EDGE + rb")(?:"
    rb"(?P<y>\d{4}|\d\d)(?P<ds>[-/.]?)(?P<mo>\d\d)(?P=ds)(?P<d>\d\d)(?P<sep>[ T_-])" + _TIME + rb"|"
    rb"(?P<mo2>\d\d)(?P<ds2>[-/.])(?P<d2>\d\d)(?P<sep2>[ T_-])" + _TIME.replace(b"?P<", b"?P<_") + rb"|"
    rb"(?:(?P<dow>"
    + b"|".join(_DAYS)
    + rb") )?(?P<mon>"
    + b"|".join(_MONTHS)
    + rb") (?P<d3>[ \d]\d) "
    + _TIME.replace(b"?P<", b"?P<__")
    + rb"(?: (?P<y3>\d{4}))?"
    rb")(?!" + _EDGE + rb")"
)
# the tokens the temporal stage reads in version-2 text: escapes (skipped) and TEMPORAL glyphs
TEMPORAL_TOKEN = rb"\xfb[\x80-\xbf][\x80-\xbf]{0,%d}[\xc0-\xdf]" % MAX_DIGITS
# escapes and line references are skipped (their second byte may be FB); a stray FB is an error
_SCAN = re.compile(TIMESTAMP.pattern + rb"|(?P<glyph>[\xf9\xfa\xff][\x80-\xff]|" + TEMPORAL_TOKEN + rb"|\xfb)")
# Every match of _SCAN starts 6-11 bytes before a time's "HH:MM:SS" (the date parts before it have
# those lengths, whichever layout), so 8-13 bytes before its first colon, or at a marker byte.
# scan() tries only those places.
_BACK, _NEAR = 13, 8
_COLONS = re.compile(rb"(?=:\d\d:)")
_MARKERS = re.compile(rb"[\xf9-\xfb\xff]")


def _starts(text: bytes) -> Iterator[int]:
    """Where a match of _SCAN may start, in increasing order, each once."""
    nxt = 0
    for colon in _COLONS.finditer(text):
        low, high = max(colon.start() - _BACK, nxt), colon.start() - _NEAR + 1
        if low < high:
            yield from range(low, high)
            nxt = high


def scan(text: bytes) -> Iterator[re.Match[bytes]]:
    """The matches of ``_SCAN.finditer(text)``, found faster: ``_SCAN`` is tried only where a match
    can start, in order, from the end of the previous match, exactly as ``finditer`` moves."""
    starts = _starts(text)
    if not text.isascii():
        starts = heapq.merge(starts, (marker.start() for marker in _MARKERS.finditer(text)))
    match = _SCAN.match
    pos = 0
    for start in starts:
        if start >= pos:
            m = match(text, start)
            if m is not None:
                yield m
                pos = m.end()


_YEAR0 = 2000  # the year a date without one is counted in (a leap year: Feb 29 is valid)

# form: (kind, date separator, date-time separator, fraction separator, fraction digits,
#        year digits, day style, weekday, year suffix, zone letter)
Form = tuple[str, bytes, bytes, bytes, int, int, str, bool, bool, bytes]


def _time_fields(m: re.Match[bytes], prefix: str) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
    g = m.group
    fields = g(prefix + "H"), g(prefix + "M"), g(prefix + "S")
    return (*fields, g(prefix + "fs") or b"", g(prefix + "f") or b"", g(prefix + "z"))


def parse(m: re.Match[bytes]) -> tuple[Form, int] | None:
    """The form and value (in units of the form's fraction) of a match, or None if not a valid time."""
    g = m.group
    if g("y") is not None:
        kind, prefix = "ymd", ""
        y, mo, d = g("y"), g("mo"), g("d")
        year = int(y) if len(y) == 4 else _YEAR0 + int(y)
        ds, sep, style, dow, suffix = g("ds"), g("sep"), "0", False, False
    elif g("mo2") is not None:
        kind, prefix = "md", "_"
        mo, d, year = g("mo2"), g("d2"), _YEAR0
        y, ds, sep, style, dow, suffix = b"", g("ds2"), g("sep2"), "0", False, False
    else:
        kind, prefix = "mon", "__"
        mo = b"%02d" % (_MONTHS.index(g("mon")) + 1)
        d = g("d3")
        style = " " if d[:1] == b" " else "0"
        suffix = g("y3") is not None
        y = g("y3") or b""
        year = int(y) if suffix else _YEAR0
        dow = g("dow") is not None
        ds = sep = b" "
        if dow and not suffix:
            return None  # a weekday without a year cannot be rebuilt from the value
    hours, minutes, seconds, fs, frac, zone = _time_fields(m, prefix)
    h, mi, s = int(hours), int(minutes), int(seconds)
    if h > 23 or mi > 59 or s > 59:
        return None
    try:
        day = date(year, int(mo), int(d)).toordinal()
    except ValueError:
        return None
    if dow and _DAYS[date.fromordinal(day).weekday()] != g("dow"):
        return None
    form: Form = (kind, ds, sep, fs, len(frac), len(y), style, dow, suffix, zone)
    value = ((day * 86400 + h * 3600 + mi * 60 + s) * 10 ** len(frac)) + (int(frac) if frac else 0)
    if render(form, value) != m.group():
        return None  # e.g. a year 0999 that renders otherwise: keep it literal
    return form, value


def render(form: Form, value: int) -> bytes:
    """The bytes of timestamp *value* in *form*; raises LineError if the form cannot show it."""
    kind, ds, sep, fs, digits, ydigits, style, dow, suffix, zone = form
    seconds, frac = divmod(value, 10**digits)
    days, second = divmod(seconds, 86400)
    if not 1 <= days <= date.max.toordinal():
        raise LineError("TEMPORAL value outside the calendar")
    when = date.fromordinal(days)
    if ydigits == 2:
        if not _YEAR0 <= when.year < _YEAR0 + 100:
            raise LineError("TEMPORAL value outside its form's years")
    elif ydigits == 0 and when.year != _YEAR0:
        raise LineError("TEMPORAL value outside its form's year")
    h, rest = divmod(second, 3600)
    time = b"%02d:%02d:%02d" % (h, rest // 60, rest % 60)
    if digits:
        time += fs + b"%0*d" % (digits, frac)
    time += zone
    if kind == "ymd":
        year = b"%04d" % when.year if ydigits == 4 else b"%02d" % (when.year % 100)
        return b"%s%s%02d%s%02d%s%s" % (year, ds, when.month, ds, when.day, sep, time)
    if kind == "md":
        return b"%02d%s%02d%s%s" % (when.month, ds, when.day, sep, time)
    day = b"%2d" % when.day if style == " " else b"%02d" % when.day
    out = b"%s %s %s" % (_MONTHS[when.month - 1], day, time)
    if dow:
        out = _DAYS[when.weekday()] + b" " + out
    if suffix:
        out += b" %04d" % when.year
    return out


def _digits(delta: int) -> bytes:
    """Zigzag *delta*, then base 64 most significant first: 80-BF continue, C0-DF (5 bits) end."""
    n = 2 * delta if delta >= 0 else -2 * delta - 1
    last = 0xC0 | (n & 0x1F)
    n >>= 5
    out = []
    while n:
        out.append(0x80 | (n & 0x3F))
        n >>= 6
    return bytes(reversed(out)) + bytes([last])


def _undigits(token: bytes) -> int:
    n = 0
    for byte in token[:-1]:
        n = (n << 6) | (byte & 0x3F)
    n = (n << 5) | (token[-1] & 0x1F)
    return n // 2 if n % 2 == 0 else -(n + 1) // 2


def temporal_delta(token: bytes) -> int:
    """The change a TEMPORAL glyph codes: its timestamp minus the one before in its form, in units
    of the form's last digit (seconds, or the fraction's)."""
    return _undigits(token[2:])


@dataclass(slots=True)
class Clock:
    """Timestamp forms in order of first appearance, and the last value of each."""

    forms: dict[Form, int] = field(default_factory=dict)
    order: list[Form] = field(default_factory=list)
    last: list[int] = field(default_factory=list)
    rendered: list[int] | None = None  # if a list, decode appends the length of each glyph's timestamp
    replaced: int = 0  # bytes of the timestamps encode replaced

    def copy(self) -> Clock:
        return Clock(dict(self.forms), list(self.order), list(self.last))

    def _note(self, form: Form, value: int) -> int | None:
        """Record *value* for *form*; return its form number if it had a previous value."""
        k = self.forms.get(form)
        if k is None:
            if len(self.forms) < MAX_FORMS:
                self.forms[form] = len(self.last)
                self.order.append(form)
                self.last.append(value)
            return None
        self.last[k] = value
        return k

    def encode(self, text: bytes) -> tuple[bytes, bool]:
        """Timestamps of *text* after the first of their form become TEMPORAL glyphs."""
        out: list[bytes] = []
        start = 0
        for m in scan(text):
            if m.group("glyph") is not None:
                continue  # an escaped byte: cannot start a timestamp
            parsed = parse(m)
            if parsed is None:
                continue
            form, value = parsed
            k = self.forms.get(form)
            before = self.last[k] if k is not None else 0
            if self._note(form, value) is None or k is None:
                continue
            out.append(text[start : m.start()])
            out.append(bytes([TEMPORAL, 0x80 + k]) + _digits(value - before))
            self.replaced += m.end() - m.start()
            start = m.end()
        if not out:
            return text, False
        out.append(text[start:])
        return b"".join(out), True

    def decode(self, text: bytes, limit: int) -> bytes:
        """Undo :meth:`encode`; the result may not be longer than *limit* bytes."""
        if TEMPORAL not in text:
            self._scan_literal(text)
            return text
        out: list[bytes] = []
        start = total = 0
        for m in scan(text):
            glyph = m.group("glyph")
            if glyph is None:
                parsed = parse(m)
                if parsed is not None:
                    self._note(*parsed)
                continue
            if glyph[0] != TEMPORAL:
                continue
            if len(glyph) < 3:
                raise LineError("damaged TEMPORAL glyph")
            k = glyph[1] - 0x80
            if k >= len(self.last):
                raise LineError(f"TEMPORAL glyph names form {k}, not seen in the frame")
            form = self.order[k]
            value = self.last[k] + _undigits(glyph[2:])
            self.last[k] = value
            piece = render(form, value)
            if self.rendered is not None:
                self.rendered.append(len(piece))
            total += m.start() - start + len(piece)
            if total > limit:
                raise LineError(f"TEMPORAL glyphs expand the text past {limit} bytes")
            out.append(text[start : m.start()])
            out.append(piece)
            start = m.end()
        out.append(text[start:])
        return b"".join(out)

    def _scan_literal(self, text: bytes) -> None:
        for m in scan(text):
            if m.group("glyph") is None:
                parsed = parse(m)
                if parsed is not None:
                    self._note(*parsed)
