"""Transform 4, log records: each line as a template (its constant text) and the values of its
fields, written as a template table, one template id per line and one stream per column.

A line's *fields* are its tokens that hold an ASCII digit (a token is a run of bytes between
delimiters); the rest of the line is the template's constant text. A column is a field position
reached through the same constant text (templates that start alike share their first columns, so
a timestamp at the start of every line is one column whatever follows it). Numbers in a column
are written as differences from the column's previous number while that has been the cheaper
spelling. Any bytes round-trip: the encoder only chooses how to cut lines, and the decoder only
joins what the code holds. The byte layout is docs/FORMAT.md §7.6; docs/logs.md has the design and
the measurements.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .glyph import encode_varint, read_varint

__all__ = ["RECORDS_VERSION", "RecordsError", "decode", "describe", "encode", "looks_like_logs", "parse"]

RECORDS_VERSION = 1
DELIMITERS = b" \t\r[](){}<>=,;:\"'|/@_"  # and the line feed, which ends a line
_CLASS = re.escape(DELIMITERS)
# A field: a maximal run of non-delimiters holding a digit. The look-behind starts a match only at
# a token's first byte, so a long token without digits is scanned once.
_FIELD = re.compile(rb"((?<![^" + _CLASS + rb"\n])[^" + _CLASS + rb"\n]*[0-9][^" + _CLASS + rb"\n]*)")
_NUMBER = re.compile(rb"[0-9]{1,18}(?:\.[0-9]{1,9})?\Z")
_DELTA = re.compile(rb"-?(?:0|[1-9][0-9]{0,18})\Z")
_ESCAPE = 0x22  # '"': a value that would read as a difference is written after this byte
_RECENT = 4


class RecordsError(Exception):
    """A record code could not be decoded (damaged data); the caller adds the location."""


def looks_like_logs(data: bytes) -> bool:
    """Whether *data* is worth coding as records: lines of text, most of them with a field."""
    sample = data[:65536]
    lines = sample.count(b"\n")
    if lines < 8 or b"\x00" in sample or len(sample) > 1024 * lines:
        return False
    return len(_FIELD.findall(sample)) >= lines


class _Column:
    """A column's number state: previous number, its spelling, recent numbers, the two costs."""

    __slots__ = ("delta_cost", "prev", "raw_cost", "recent", "shape")

    def __init__(self) -> None:
        self.prev = 0
        self.shape = (-1, -1)
        self.recent: list[int] = []
        self.raw_cost = 0
        self.delta_cost = 1

    @property
    def deltas(self) -> bool:
        """Whether the column's next value is written as a difference when it can be: after a
        number, while differences have cost fewer digits than the numbers themselves."""
        return self.shape[0] >= 0 and self.delta_cost < self.raw_cost

    def see(self, value: int, shape: tuple[int, int]) -> None:
        if shape == self.shape:
            self.raw_cost += 1 if value in self.recent else len(str(value))
            self.delta_cost += len(str(value - self.prev))
        self.prev = value
        self.shape = shape
        if value not in self.recent:
            self.recent = [value, *self.recent[: _RECENT - 1]]


def _number(token: bytes) -> tuple[int, tuple[int, int]] | None:
    """A number's value and shape (decimals, zero-padded width or 0), when they spell *token*."""
    if not _NUMBER.match(token):
        return None
    dot = token.find(b".")
    decimals = 0 if dot < 0 else len(token) - dot - 1
    width = len(token) if token[:1] == b"0" and len(token) > 1 and token[1:2] != b"." else 0
    value = int(token.replace(b".", b""))
    return (value, (decimals, width)) if _spell(value, decimals, width) == token else None


def _spell(value: int, decimals: int, width: int) -> bytes:
    text = str(value)
    if decimals:
        text = text.zfill(decimals + 1)
        text = text[:-decimals] + "." + text[-decimals:]
    return text.zfill(width).encode()


def _escape(piece: bytes) -> bytes:
    return piece.replace(b"\x01", b"\x01\x03").replace(b"\x00", b"\x01\x02")


class _Columns:
    """Column ids: a column is (the column before it in the line, the constant text before it)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, bytes], int] = {}

    def of(self, constants: list[bytes] | tuple[bytes, ...]) -> list[int]:
        out = []
        node = -1
        for piece in constants[:-1]:
            key = (node, piece)
            found = self.ids.get(key)
            if found is None:
                found = self.ids[key] = len(self.ids)
            out.append(found)
            node = found
        return out


def encode(data: bytes) -> bytes:
    """The record code of *data* (any bytes)."""
    templates: dict[tuple[bytes, ...], tuple[int, list[int]]] = {}
    table: list[bytes] = []
    ids = bytearray()
    columns = _Columns()
    values: list[list[bytes]] = []
    state: list[_Column] = []
    lines = data.split(b"\n")
    for line in lines:
        parts = _FIELD.split(line)
        constants = tuple(parts[0::2])
        known = templates.get(constants)
        if known is None:
            known = templates[constants] = (len(table), columns.of(constants))
            table.append(b"\x00".join(_escape(c) for c in constants) + b"\n")
            for _ in range(len(columns.ids) - len(values)):
                values.append([])
                state.append(_Column())
        ids += encode_varint(known[0])
        for column, token in zip(known[1], parts[1::2], strict=True):
            values[column].append(_value(token, state[column]))
    head = bytes([RECORDS_VERSION]) + encode_varint(len(lines))
    body = b"".join(table)
    return b"".join([head, encode_varint(len(body)), encode_varint(len(ids)), body, ids, *map(b"".join, values)])


def _value(token: bytes, column: _Column) -> bytes:
    number = _number(token)
    difference = b""
    if column.deltas and number is not None and number[1] == column.shape:
        difference = str(number[0] - column.prev).encode()
    if not column.deltas:
        out = token
    elif _DELTA.match(difference):  # a difference of more than 19 digits is written as the value
        out = difference
    elif _DELTA.match(token) or token[0] == _ESCAPE:
        out = b'"' + token
    else:
        out = token
    if number is not None:
        column.see(*number)
    return out + b"\n"


def parse(code: bytes) -> tuple[int, list[tuple[bytes, ...]], list[int], int]:
    """The line count, the templates, each line's template id and where the columns start.

    Raises :class:`RecordsError` for a code that no encoder writes.
    """
    fail = _fails
    if not code or code[0] != RECORDS_VERSION:
        raise RecordsError(f"unknown record code version {code[0] if code else 'missing'}")
    n_lines, pos = read_varint(code, 1, 5, fail("no valid line count"))
    table_size, pos = read_varint(code, pos, 5, fail("no valid template table length"))
    ids_size, pos = read_varint(code, pos, 5, fail("no valid template id length"))
    if n_lines > len(code) or table_size + ids_size > len(code) - pos:
        raise RecordsError("section lengths run past the record code's end")
    table = code[pos : pos + table_size]
    if table and table[-1] != 0x0A:
        raise RecordsError("template table does not end with a line feed")
    templates = [tuple(_unescape(c) for c in t.split(b"\x00")) for t in table.split(b"\n")[:-1]]
    at = pos + table_size
    end = at + ids_size
    line_ids = []
    for _ in range(n_lines):
        if at >= end:
            raise RecordsError("template ids end before the last line")
        tid, at = read_varint(code, at, 5, fail("no valid template id"))
        if tid >= len(templates):
            raise RecordsError(f"template id {tid} is not in the table of {len(templates)}")
        line_ids.append(tid)
    if at != end:
        raise RecordsError("template ids run past the last line")
    return n_lines, templates, line_ids, end


def decode(code: bytes, size: int) -> bytes:
    """Exactly *size* bytes from a record code, or :class:`RecordsError`."""
    n_lines, templates, line_ids, start = parse(code)
    columns = _Columns()
    template_columns = [columns.of(t) for t in templates]
    if n_lines == 0 or size + 1 < n_lines:
        raise RecordsError(f"{n_lines} lines cannot make {size} bytes")
    values = _column_values(code, start, template_columns, line_ids, len(columns.ids))
    state = [_Column() for _ in range(len(columns.ids))]
    taken = [0] * len(columns.ids)
    out = bytearray()
    for number, tid in enumerate(line_ids):
        if number:
            out += b"\n"
        constants = templates[tid]
        out += constants[0]
        for column, piece in zip(template_columns[tid], constants[1:], strict=True):
            out += _token(values[column][taken[column]], state[column])
            taken[column] += 1
            out += piece
        if len(out) > size:
            raise RecordsError(f"records decode to more than {size} bytes")
    if len(out) != size:
        raise RecordsError(f"records decoded to {len(out)} bytes, expected {size}")
    return bytes(out)


def describe(code: bytes) -> tuple[list[tuple[bytes, int]], list[tuple[bytes, str, int, int]]]:
    """What a record code holds, for ``sigmalang inspect``: each template (its constant text with
    ``<*>`` for each field) with its line count, and each column (the template text up to it, its
    kind, its values and its bytes in the code), both in order of first use."""
    n_lines, templates, line_ids, start = parse(code)
    columns = _Columns()
    template_columns = [columns.of(t) for t in templates]
    values = _column_values(code, start, template_columns, line_ids, len(columns.ids))
    uses = [0] * len(templates)
    for tid in line_ids:
        uses[tid] += 1
    shown = [b"<*>".join(t) for t in templates]
    labels = [b""] * len(columns.ids)
    for t, ids in zip(templates, template_columns, strict=True):
        for k, column in enumerate(ids):
            if not labels[column]:
                labels[column] = b"<*>".join(t[: k + 1]) + b"<*>"
    out = []
    for label, entries in zip(labels, values, strict=True):
        state = _Column()
        numbers = sum(1 for e in entries if _number(_token(e, state)) is not None)
        kind = "number" if numbers == len(entries) else ("text" if not numbers else "mixed")
        out.append((label, kind, len(entries), sum(len(e) + 1 for e in entries)))
    return list(zip(shown, uses, strict=True)), out


def _column_values(
    code: bytes, start: int, template_columns: list[list[int]], line_ids: list[int], n_columns: int
) -> list[list[bytes]]:
    counts = [0] * n_columns
    for tid in line_ids:
        for column in template_columns[tid]:
            counts[column] += 1
    if sum(counts) > len(code) - start:
        raise RecordsError("more field values than the record code has bytes")
    values: list[list[bytes]] = []
    pos = start
    for count in counts:
        entries = []
        for _ in range(count):
            stop = code.find(b"\n", pos)
            if stop < 0:
                raise RecordsError("a column ends before its last value")
            entries.append(code[pos:stop])
            pos = stop + 1
        values.append(entries)
    if pos != len(code):
        raise RecordsError("bytes after the last column")
    return values


def _token(entry: bytes, column: _Column) -> bytes:
    if not column.deltas:
        token = entry
    elif _DELTA.match(entry):
        token = _spell(column.prev + int(entry), *column.shape)
    elif entry[:1] == b'"':
        token = entry[1:]
    else:
        token = entry
    number = _number(token)
    if number is not None:
        column.see(*number)
    return token


def _unescape(piece: bytes) -> bytes:
    if b"\x01" not in piece:
        return piece
    out = bytearray()
    i = 0
    while i < len(piece):
        byte = piece[i]
        if byte == 1:
            if i + 1 >= len(piece) or piece[i + 1] not in (2, 3):
                raise RecordsError("bad escape in the template table")
            out.append(piece[i + 1] - 2)
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


def _fails(reason: str) -> Callable[[object], Exception]:
    return lambda _: RecordsError(reason)
