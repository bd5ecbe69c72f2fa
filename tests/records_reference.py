"""A plain reading of the record code's column rule (docs/FORMAT.md §7.6), one object per column,
for checking the product's faster loops in `sigmalang._records` against: same code, same bytes."""

from __future__ import annotations

import re

from sigmalang import _records
from sigmalang._wire import encode_varint

NUMBER = re.compile(rb"[0-9]{1,18}(?:\.[0-9]{1,9})?\Z")
DELTA = re.compile(rb"-?(?:0|[1-9][0-9]{0,18})\Z")
RECENT = 4
REPEAT_MIN = 8  # version 4's writers leave out repeated entries of at least this many bytes


class Column:
    """A column's state: previous number and its shape, recent numbers, the two digit costs; with
    *clocks* (version 3), clocks count as numbers."""

    def __init__(self, clocks: bool = True) -> None:
        self.clocks = clocks
        self.prev = 0
        self.shape: tuple[object, ...] = (-1, -1)
        self.recent: list[int] = []
        self.raw_cost = 0
        self.delta_cost = 1
        self.last = b""  # the column's previous entry as written before repeats (version 4)

    @property
    def deltas(self) -> bool:
        return self.shape != (-1, -1) and self.delta_cost < self.raw_cost

    def parse(self, token: bytes) -> tuple[int, tuple[object, ...]] | None:
        return parse_number(token) or (parse_clock(token) if self.clocks else None)

    def see(self, token: bytes) -> None:
        number = self.parse(token)
        if number is None:
            return
        value, shape = number
        if shape == self.shape:
            self.raw_cost += 1 if value in self.recent else len(str(value))
            self.delta_cost += len(str(value - self.prev))
        self.prev, self.shape = value, shape
        if value not in self.recent:
            self.recent = [value, *self.recent[: RECENT - 1]]


def parse_number(token: bytes) -> tuple[int, tuple[int, int]] | None:
    if not NUMBER.match(token):
        return None
    dot = token.find(b".")
    decimals = 0 if dot < 0 else len(token) - dot - 1
    width = len(token) if token[:1] == b"0" and len(token) > 1 and token[1:2] != b"." else 0
    value = int(token.replace(b".", b""))
    return (value, (decimals, width)) if spell(value, decimals, width) == token else None


def parse_clock(token: bytes) -> tuple[int, tuple[object, ...]] | None:
    """HH:MM:SS with minutes and seconds below 60, then optionally '.', ',' or ':' and 1-9 digits:
    (seconds of the day * 10^digits + fraction, ("clock", separator, digits))."""
    if len(token) < 8 or token[2:3] != b":" or token[5:6] != b":":
        return None
    hh, mm, ss, rest = token[0:2], token[3:5], token[6:8], token[8:]
    if not (hh + mm + ss).isdigit() or len(hh + mm + ss) != 6 or int(mm) > 59 or int(ss) > 59:
        return None
    seconds = int(hh) * 3600 + int(mm) * 60 + int(ss)
    if not rest:
        return seconds, ("clock", b"", 0)
    separator, fraction = rest[:1], rest[1:]
    if separator not in (b".", b",", b":") or not fraction.isdigit() or not 1 <= len(fraction) <= 9:
        return None
    return seconds * 10 ** len(fraction) + int(fraction), ("clock", separator, len(fraction))


def find_clocks(line: bytes) -> list[tuple[int, int]]:
    """Where a line's clocks are, scanning left to right: at a position not after a digit or a
    colon, HH:MM:SS not followed by a digit, with the longest fraction that is not followed by a
    digit (its separator and 1-9 digits) when there is one."""
    found = []
    at = 0
    while at + 8 <= len(line):
        before = line[at - 1 : at] if at else b""
        if (before.isdigit() or before == b":") or parse_clock(line[at : at + 8]) is None:
            at += 1
            continue
        end = at + 8
        digits = 0
        while end + 1 + digits < len(line) and line[end + 1 + digits : end + 2 + digits].isdigit():
            digits += 1
        if line[end : end + 1] in (b".", b",", b":") and 1 <= digits <= 9:
            end += 1 + digits
        elif line[end : end + 1].isdigit():
            at += 1
            continue
        found.append((at, end))
        at = end
    return found


def cut(line: bytes, version: int) -> list[bytes]:
    """Constant text and fields, alternating: clocks first (version 3), then the rest cut at its
    fields as every version cuts it."""
    if version < 3:
        return _records._cut_piece(line)
    parts: list[bytes] = []
    start = 0
    for at, end in find_clocks(line):
        parts += _records._cut_piece(line[start:at])
        parts.append(line[at:end])
        start = end
    return parts + _records._cut_piece(line[start:])


WIDE_DELIMITERS = b" \t\r\"'()[]{}<>=,;|"  # a wide word keeps ':', '/', '@' and '_' inside


def words(piece: bytes, wide: bool = False) -> list[tuple[int, int]]:
    """Where the maximal runs of bytes that are not delimiters (or, *wide*, not WIDE_DELIMITERS)
    are in *piece*."""
    delimiters = WIDE_DELIMITERS if wide else _records.DELIMITERS
    found = []
    start = None
    for at in range(len(piece) + 1):
        inside = at < len(piece) and piece[at] not in delimiters and piece[at] != 0x0A
        if inside and start is None:
            start = at
        elif not inside and start is not None:
            found.append((start, at))
            start = None
    return found


def group(cut_lines: list[list[bytes]]) -> list[list[bytes]]:
    """The writer's groups (version 6's writers): templates that differ only in one word, at least
    5 of them with at most 3 lines each on average, take that word as one more field. A word is a
    run of non-delimiters, or a wide one (a run of bytes outside WIDE_DELIMITERS). Words are looked
    at in templates of at most 1024 bytes (pieces joined by line feeds), the first 32 of each kind,
    in the order templates first occur until 2^18 words have been looked at; a template takes the
    word whose group has the most templates (the first kind, then the first word, on a tie)."""
    uses: dict[tuple[bytes, ...], int] = {}
    for parts in cut_lines:
        constants = tuple(parts[0::2])
        uses[constants] = uses.get(constants, 0) + 1
    groups: dict[tuple[object, ...], list[int]] = {}  # the kind and the template without the word: [templates, lines]
    found: dict[tuple[bytes, ...], list[tuple[int, int, int, tuple[object, ...]]]] = {}
    left = _records.GROUP_KEYS
    for constants, lines in uses.items():
        if left <= 0:
            break
        found[constants] = []
        if sum(map(len, constants)) + len(constants) - 1 > _records.GROUP_TEMPLATE:
            continue
        for wide in (False, True):
            places = [(at, start, end) for at, piece in enumerate(constants) for start, end in words(piece, wide)]
            places = places[: _records.GROUP_WORDS]
            left -= len(places)
            for at, start, end in places:
                piece = constants[at]
                key = (wide, constants[:at], piece[:start], piece[end:], constants[at + 1 :])
                groups.setdefault(key, [0, 0])
                groups[key][0] += 1
                groups[key][1] += lines
                found[constants].append((at, start, end, key))
    chosen = {}
    for constants, candidates in found.items():
        best = None
        for at, start, end, key in candidates:  # narrow words first, each kind in order
            templates, lines = groups[key]
            if templates >= 5 and lines <= 3 * templates and (best is None or templates > groups[best[3]][0]):
                best = (at, start, end, key)
        if best is not None:
            chosen[constants] = best
    out = []
    for parts in cut_lines:
        if tuple(parts[0::2]) in chosen:
            at, start, end, _ = chosen[tuple(parts[0::2])]
            piece = parts[2 * at]
            parts = parts[: 2 * at] + [piece[:start], piece[start:end], piece[end:]] + parts[2 * at + 1 :]
        out.append(parts)
    return out


def spell(value: int, decimals: int, width: int) -> bytes:
    text = str(value)
    if decimals:
        text = text.zfill(decimals + 1)
        text = text[:-decimals] + "." + text[-decimals:]
    return text.zfill(width).encode()


def write(token: bytes, column: Column) -> bytes:
    number = column.parse(token)
    difference = b""
    if column.deltas and number is not None and number[1] == column.shape:
        difference = str(number[0] - column.prev).encode()
    if not column.deltas:
        out = token
    elif DELTA.match(difference):
        out = difference
    elif DELTA.match(token) or token[:1] == b'"':
        out = b'"' + token
    else:
        out = token
    column.see(token)
    return out


def read(entry: bytes, column: Column) -> bytes:
    if not column.deltas:
        token = entry
    elif DELTA.match(entry):
        token = spell_shape(column.prev + int(entry), column.shape)
    elif entry[:1] == b'"':
        token = entry[1:]
    else:
        token = entry
    column.see(token)
    return token


def spell_shape(value: int, shape: tuple[object, ...]) -> bytes:
    if shape[0] != "clock":
        return spell(value, *shape)  # type: ignore[arg-type]
    _, separator, digits = shape
    seconds, fraction = divmod(value, 10**digits)  # type: ignore[operator]
    text = b"%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    return text + (separator + str(fraction).zfill(digits).encode() if digits else b"")  # type: ignore[operator]


def capped(lines: list[bytes], cut_lines: list[list[bytes]]) -> list[list[bytes]]:
    """The writer's bounds on shapes (version 6): once SHAPES constant texts have been seen, or
    when a new one's fields would take the fields of those seen past SHAPE_FIELDS, a non-empty
    line whose constant text is new is cut as one field, the whole line."""
    seen: set[tuple[bytes, ...]] = set()
    fields = 0
    out = []
    for line, parts in zip(lines, cut_lines, strict=True):
        shape = tuple(parts[0::2])
        full = len(seen) >= _records.SHAPES or fields + len(shape) - 1 > _records.SHAPE_FIELDS
        if shape not in seen and line and full:
            parts, shape = [b"", line, b""], (b"", b"")
        if shape not in seen:
            seen.add(shape)
            fields += len(shape) - 1
        out.append(parts)
    return out


def shown(count: int, letter: int) -> bytes:
    """A count in larger units as version 7's letter A-P (0-15) shows it (FORMAT.md §7.6)."""
    base = 1024 if letter & 2 else 1000
    div = base ** ((letter >> 2) + 1)
    whole = count // div
    places = 2 if whole < 10 else (1 if whole < 100 else 0)
    exact = count * 10**places
    digits = (2 * exact + div) // (2 * div) if letter & 1 else exact // div  # odd letters round half up
    text = str(digits // 10**places)
    if places:
        text += "." + str(digits % 10**places).zfill(places)
    return text.encode()


def refer(values: list[bytes]) -> list[bytes]:
    """Version 7's writer: each value that begins with byte 1 after that byte; else a value of at
    most 6 bytes after a count of 1-18 digits that the first letter (A-P) whose divisor is at most
    the count shows as the value, as byte 1 and that letter; else a value of at least 8 bytes equal
    to one at most 9,999 values before it, as byte 1 and the distance to the nearest one."""
    out = []
    for k, value in enumerate(values):
        written = value
        if value[:1] == b"\x01":
            written = b"\x01" + value
        elif k and len(value) <= 6 and 0 < len(values[k - 1]) <= 18 and values[k - 1].isdigit():
            count = int(values[k - 1])
            for letter in range(16):
                if (1024 if letter & 2 else 1000) ** ((letter >> 2) + 1) <= count and shown(count, letter) == value:
                    written = b"\x01" + bytes([65 + letter])
                    break
        if written == value and len(value) >= 8 and value in values[:k]:
            nearest = max(j for j in range(k) if values[j] == value)
            if k - nearest <= 9999:
                written = b"\x01" + str(k - nearest).encode()
        out.append(written)
    return out


def encode(data: bytes, version: int = 7) -> bytes:
    """The record code of *data* in *version* (5 codes as 4 does: the two differ only in what a
    frame adds to a shared-context history, FORMAT.md §6.3; 6 is 5 with template ids of a fixed
    width, big-endian, instead of varints; 7 adds references between the fields of a line, and
    is written as 6 where no line needs one, as today's writer does)."""
    templates: dict[tuple[bytes, ...], tuple[int, list[int]]] = {}
    table = []
    line_ids = []
    columns = Columns()
    values: list[list[bytes]] = []
    state: list[Column] = []
    lines = data.split(b"\n")
    cut_lines = [cut(line, version) for line in lines]
    if version >= 6:
        cut_lines = group(capped(lines, cut_lines))
    tries: dict[int, int] = {}  # version 7: lines of each template still looked at for references
    every_line = b"\x01" in data
    referred = False
    for parts in cut_lines:
        constants = tuple(parts[0::2])
        if constants not in templates:
            templates[constants] = (len(table), columns.of(constants))
            table.append(b"\x00".join(_records._escape(c) for c in constants) + b"\n")
            values += [[] for _ in range(len(columns.ids) - len(values))]
            state += [Column(version >= 3) for _ in range(len(columns.ids) - len(state))]
        tid, ids_of = templates[constants]
        line_ids.append(tid)
        tokens = parts[1::2]
        if version >= 7 and tokens and (every_line or tries.get(tid, 8) > 0):
            written = refer(tokens)
            if written != tokens:
                tokens, referred = written, True
                tries[tid] = 8
            else:
                tries[tid] = tries.get(tid, 8) - 1
        for column, token in zip(ids_of, tokens, strict=True):
            entry = write(token, state[column])
            if version >= 4 and len(entry) >= REPEAT_MIN and state[column].last == entry:
                values[column].append(b"\n")  # an empty entry: the one before it, repeated
            else:
                values[column].append(entry + b"\n")
            state[column].last = entry
    body = b"".join(table)
    if version >= 6:
        width = 1
        while len(table) > 256**width:
            width += 1
        ids = b"".join(tid.to_bytes(width, "big") for tid in line_ids)
    else:
        ids = b"".join(encode_varint(tid) for tid in line_ids)
    if version == 7 and not referred:
        version = 6
    head = bytes([version]) + encode_varint(len(lines))
    labels = {}  # column: the last 16 bytes of the text before it on its path (version 2's order)
    for constants, (_, ids_of) in templates.items():
        label = b""
        for column, piece in zip(ids_of, constants, strict=False):
            label = (label + piece[-16:])[-16:]
            labels.setdefault(column, label)
    order = sorted(range(len(values)), key=lambda column: (labels[column][::-1], column) if version >= 2 else column)
    columns_section = [b"".join(values[column]) for column in order]
    return b"".join([head, encode_varint(len(body)), encode_varint(len(ids)), body, ids, *columns_section])


class Columns:
    """Column ids as FORMAT.md §7.6 numbers them: a dictionary from (the column before, the piece
    before) to the id, in order of first use, and each column's label (the last 16 bytes of the
    constant text before it on its path) to order them."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, bytes], int] = {}
        self.labels: list[bytes] = []

    def of(self, constants: tuple[bytes, ...]) -> list[int]:
        out = []
        node = -1
        for piece in constants[:-1]:
            if (node, piece) not in self.ids:
                self.ids[(node, piece)] = len(self.ids)
                self.labels.append(((self.labels[node] if node >= 0 else b"") + piece)[-16:])
            node = self.ids[(node, piece)]
            out.append(node)
        return out

    def order(self, version: int) -> list[int]:
        if version == 1:
            return list(range(len(self.labels)))
        return sorted(range(len(self.labels)), key=lambda column: (self.labels[column][::-1], column))


def decode_tokens(code: bytes) -> list[list[bytes]]:
    """Each column's field values, read back one entry at a time."""
    _, templates, line_ids, start = _records.parse(code)
    columns = Columns()
    template_columns = [columns.of(t) for t in templates]
    counts = [0] * len(columns.ids)
    for tid in line_ids:
        for column in template_columns[tid]:
            counts[column] += 1
    written = code[start:].split(b"\n")[:-1]
    entries: list[list[bytes]] = [[] for _ in counts]
    for column in columns.order(code[0]):
        entries[column], written = written[: counts[column]], written[counts[column] :]
    out = []
    for column in entries:
        state = Column(code[0] >= 3)
        tokens = []
        for entry in column:
            if code[0] >= 4 and not entry:
                if not state.last:
                    raise _records.RecordsError("a column's first value repeats nothing")
                entry = state.last
            state.last = entry
            tokens.append(read(entry, state))
        out.append(tokens)
    return out
