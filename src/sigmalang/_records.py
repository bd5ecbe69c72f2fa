"""Transform 4, log records: each line as a template (its constant text) and the values of its
fields, written as a template table, one template id per line and one stream per column.

A line's *fields* are its tokens that hold an ASCII digit (a token is a run of bytes between
delimiters); the rest of the line is the template's constant text. A column is a field position
reached through the same constant text (templates that start alike share their first columns, so
a timestamp at the start of every line is one column whatever follows it). Numbers in a column
are written as differences from the column's previous number while that has been the cheaper
spelling; so are clocks (``12:04:59.250``), one field each, as their time of day. A value that
repeats the column's previous one is written empty (when that spares the model bytes to code:
:data:`REPEAT_MIN`). Any bytes
round-trip: the encoder only chooses how to cut lines, and the decoder only joins what the code
holds. The byte layout is docs/FORMAT.md §7.6; docs/logs.md has the design and
the measurements.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, count
from typing import cast

import numpy as np

from ._wire import encode_varint, read_varint

__all__ = [
    "RECORDS_VERSION",
    "RecordsError",
    "decode",
    "describe",
    "encode",
    "history_part",
    "looks_like_logs",
    "parse",
    "template",
]

RECORDS_VERSION = 7  # the newest version; 1 to 6 are still read, and 6 is written where 7 is not needed
_VERSIONS = (1, 2, 3, 4, 5, 6, 7)
LABEL = 16  # bytes of a column's label that order the columns (version 2)
DELIMITERS = b" \t\r[](){}<>=,;:\"'|/@_"  # and the line feed, which ends a line
_CLASS = re.escape(DELIMITERS)
# A field: a maximal run of non-delimiters holding a digit. The look-behind starts a match only at
# a token's first byte, and the possessive runs never step back, so each token is scanned once.
_TOKEN_BYTE = rb"[^" + _CLASS + rb"\n]"
_DIGITS_TOKEN = rb"(?<!" + _TOKEN_BYTE + rb")[^" + _CLASS + rb"\n0-9]*+[0-9]" + _TOKEN_BYTE + rb"*+"
_FIELD = re.compile(rb"(" + _DIGITS_TOKEN + rb")")
# In a line with double quotes, a quoted string is one field, quotes left out, unless it is a key
# (a colon follows: JSON's "time":, "msg":), which stays constant text: JSON values, the request
# line and user agent of an access log become columns, whatever bytes they hold.
_QUOTED = re.compile(rb'"[^"\n]*"(?=[ \t]*:)|"([^"\n]*)"|(' + _DIGITS_TOKEN + rb")")
_NUMBER = re.compile(rb"[0-9]{1,18}(?:\.([0-9]{1,9}))?\Z")
# A difference as the column code spells it (:func:`_is_difference` tests this without the regex).
_DELTA = re.compile(rb"-?(?:0|[1-9][0-9]{0,18})\Z")
_DELTA_END = 10**19  # a difference is written only if it is shorter: what _DELTA reads
# Version 3: a clock (two digits, then minutes and seconds 00-59 after colons, and optionally a
# fraction of 1-9 digits after '.', ',' or ':'), not preceded by a digit or a colon and not followed
# by a digit, is a field of its own, found before the line is cut at delimiters; its value in a
# column is its time of day in units of its fraction (:func:`_clock`).
# The look-ahead, which the clock itself implies, rejects most positions before the look-behind runs.
_CLOCK = re.compile(
    rb"(?=[0-9][0-9]:)(?<![0-9:])([0-9]{2}:[0-5][0-9]:[0-5][0-9](?:[.,:][0-9]{1,9}(?![0-9]))?)(?![0-9])"
)
_CLOCK_PARTS = re.compile(rb"([0-9]{2}):([0-5][0-9]):([0-5][0-9])(?:([.,:])([0-9]{1,9}))?\Z")
_CLOCK_SHAPE = 1 << 16  # above every number's shape; the fraction's separator and digits below
_ESCAPE = 0x22  # '"': a value that would read as a difference is written after this byte
_PLAIN_END = 10**18  # plain numbers below this are read by the digits-only path of _parsed
# Version 4: an empty entry repeats the column's previous entry. The writer writes entries of this
# many bytes or more that way; shorter ones cost the model as little written out, and keep the
# contexts the next entries are predicted from (docs/logs.md has the measurements).
REPEAT_MIN = 8
# Groups of templates one word apart (:func:`_groups`): at least this many templates, with at most
# GROUP_USES lines each on average, make the word a field (measured: docs/logs.md, "Words as fields").
GROUP_MIN = 5
GROUP_USES = 3
GROUP_TEMPLATE = 1024  # bytes of a template looked at for words
GROUP_WORDS = 32  # words of a template looked at (at most 256: _groups keys a word with its place in 8 bits)
GROUP_KEYS = 1 << 19  # words looked at in all, both kinds (a chunk of many long, different lines stops there)
# The two kinds of word a group may take (:func:`_groups`): runs of non-delimiters, and wide ones
# that keep ':', '/', '@' and '_' inside (a method, a path, a scoped package).
WORD_KINDS = (re.compile(rb"[^" + _CLASS + rb"\n]+"), re.compile(rb"[^ \t\r\n\"'()\[\]{}<>=,;|]+"))
# Distinct tokens per column whose parse is kept (:class:`_Parses`): a small bound on memory
# whatever the column holds.
PARSED_MEMO = 4096
# Columns of a record code past which its reader keeps no reader per short column (:func:`decode`):
# writers write at most SHAPE_FIELDS and one per word group.
LEAN_COLUMNS = 1 << 16
SHOWN_END = 128  # bytes of a long column label shown at each end (:func:`_shortened`)
# Decoded lines joined at a time (:func:`decode`): short lines do not all live as objects at once.
LINE_BLOCK = 4096
# Shapes kept per chunk (:func:`encode`); past them, a line of a new shape is one field, the whole line.
SHAPES = 1 << 16
# Fields of the shapes kept per chunk, all shapes together (:func:`encode`): past them, a line of a
# new shape is one field too. A chunk's columns are at most these plus one per word group, so that
# a decoder's column readers stay few (a line of a million one-digit fields would otherwise make
# a million columns). Of the logs measured in docs/memory.md, wget's has the most: 23,165.
SHAPE_FIELDS = 1 << 15
LINE_BYTES = 1 << 16  # bytes of lines the encoder cuts at a time (:func:`_line_blocks`)
SLICE = 1 << 16  # entries (and bytes) the decoder's checks look at a time, bounding their memory
ENTRY_RUN = 1024  # a column's entries read at a time (:func:`_runs`)
# Version 7: a field whose value begins with this byte refers to another field of its line
# (:func:`_refer`, :func:`_resolve`): the field a number of places before it, written as that
# number, or the field just before it, a count of bytes, shown in larger units (:func:`_rescaled`),
# written as a letter; a value that begins with the byte itself is written after it.
REFERENCE = 0x01
# The writer's choices (docs/logs.md, "Fields that repeat a field of their line"): a template's
# lines are looked at until this many in a row had no reference, and a value equal to one before
# it is written as a reference from this many bytes on.
REFER_TRIES = 8
REFER_MIN = 8
_REFER_BACK = 9999  # the farthest a reference reaches back, in fields (at most four digits)
_RESCALED = 16  # letters A-P: the ways of showing a count in other units (:func:`_rescaled`)
_DIVISORS = (1000, 1024, 1000**2, 1024**2, 1000**3, 1024**3, 1000**4, 1024**4)  # by letter pair (_rescaled)
_RESCALABLE = re.compile(rb"[0-9]{1,19}(?:\.[0-9]{1,2})?\Z")  # what _rescaled can write


# How _cut_lines classes bytes: a token byte, a digit, a delimiter (or line feed), a colon (one of
# the delimiters); and the bytes of clocks and quoted strings, which it marks itself. Blocks longer
# than CUT_BLOCK (a very long line) are cut a line at a time, so that its arrays stay a few times
# CUT_BLOCK.
_TOKEN, _DIGIT, _DELIMITER, _COLON, _TAKEN = range(5)
_KINDS = bytes(
    _DIGIT if 0x30 <= b <= 0x39 else _COLON if b == 0x3A else _DELIMITER if b in DELIMITERS + b"\n" else _TOKEN
    for b in range(256)
)
CUT_BLOCK = 1 << 20


class RecordsError(Exception):
    """A record code could not be decoded (damaged data); the caller adds the location."""


def looks_like_logs(data: bytes) -> bool:
    """Whether *data* is worth coding as records: lines of text, most of them with a field."""
    sample = data[:65536]
    lines = sample.count(b"\n")
    if lines < 8 or b"\x00" in sample or len(sample) > 1024 * lines:
        return False
    return len(_FIELD.findall(sample)) >= lines


def _spell(value: int, shape: int) -> bytes:
    """The token of a number or (version 3) a clock with this value and shape."""
    if shape >= _CLOCK_SHAPE:
        return _spell_clock(value, shape)
    decimals, width = shape >> 8, shape & 0xFF
    text = str(value)
    if decimals:
        text = text.zfill(decimals + 1)
        text = text[:-decimals] + "." + text[-decimals:]
    return text.zfill(width).encode()


def _clock(token: bytes) -> tuple[int, int] | None:
    """A clock's value (seconds since midnight times 10^digits of its fraction, plus the fraction)
    and shape (``_CLOCK_SHAPE``, the separator byte << 8, the fraction's digits), or None."""
    found = _CLOCK_PARTS.match(token)
    if found is None:
        return None
    hours, minutes, seconds, separator, fraction = found.groups()
    digits = len(fraction) if fraction else 0
    value = (int(hours) * 3600 + int(minutes) * 60 + int(seconds)) * 10**digits + int(fraction or b"0")
    return value, _CLOCK_SHAPE | (separator[0] if separator else 0) << 8 | digits


def _spell_clock(value: int, shape: int) -> bytes:
    digits = shape & 0xFF
    seconds, fraction = divmod(value, _TENS[digits])
    if value < 0 or seconds >= 100 * 3600:
        raise RecordsError(f"a clock's value {value} is out of range")
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if digits:  # the separator as %c: one formatting for the whole clock
        return b"%02d:%02d:%02d%c%0*d" % (hours, minutes, seconds, shape >> 8 & 0xFF, digits, fraction)
    return b"%02d:%02d:%02d" % (hours, minutes, seconds)


_TENS = tuple(10**digits for digits in range(10))  # by a clock's fraction digits (at most 9: _CLOCK_PARTS)


def _escape(piece: bytes) -> bytes:
    return piece.replace(b"\x01", b"\x01\x03").replace(b"\x00", b"\x01\x02")


class _Columns:
    """Column ids: a column is (the column before it in the line, the constant text before it),
    numbered in the order the templates, read in order, first reach it (docs/FORMAT.md §7.6).

    Once a template reaches a column no template before it did, every later column of it is new
    too: such a *run* of columns is kept as the template and where in it the run starts, not as a
    key per column, and a later template that follows the run is matched against the template's
    pieces. Only a run's first column has a key (a later template that leaves a run starts a run
    of its own), so that a template of very many fields costs its labels (LABEL + 1 bytes a
    column) and not an object per column."""

    def __init__(self) -> None:
        self.heads: dict[tuple[int, bytes], int] = {}  # each run's first column, by its key
        self.starts: list[int] = []  # each run's first column id (ascending)
        self.runs: list[tuple[tuple[bytes, ...] | list[bytes], int]] = []  # its template and first piece
        self.count = 0
        # Each column's label read backwards: the last LABEL bytes of the constant text before it
        # on its path, last byte first, padded with zeros to LABEL bytes; and its length.
        self.backwards = bytearray()
        self.lengths = bytearray()

    def of(self, constants: list[bytes] | tuple[bytes, ...]) -> tuple[range, ...]:
        """The column ids of a template's fields (its pieces *constants*), as ranges of ids (a
        tuple: a template of no field or one run costs a few dozen bytes)."""
        out: list[range] = []
        node = -1
        fields = len(constants) - 1
        for k in range(fields):
            piece = constants[k]
            found = self.heads.get((node, piece), -1)
            if found < 0 and node >= 0:  # the next column of node's run, if this template follows it
                run = bisect_right(self.starts, node) - 1
                pieces, first = self.runs[run]
                at = first + node - self.starts[run] + 1  # the piece before node + 1 in its template
                if at < len(pieces) - 1 and pieces[at] == piece:
                    found = node + 1
            if found < 0:  # a new run: this column and every later one of the template
                self.heads[(node, piece)] = self.count
                self.starts.append(self.count)
                self.runs.append((constants, k))
                label = bytes(self.backwards[node * LABEL : node * LABEL + self.lengths[node]]) if node >= 0 else b""
                for later in constants[k:fields]:
                    label = (later[-LABEL:][::-1] + label)[:LABEL]
                    self.backwards += label.ljust(LABEL, b"\x00")
                    self.lengths.append(len(label))
                _extend(out, range(self.count, self.count + fields - k))
                self.count += fields - k
                break
            _extend(out, range(found, found + 1))
            node = found
        return tuple(out)

    def order(self, version: int) -> np.ndarray:
        """The order of the columns in a code of *version*: version 1 in order of first use;
        version 2 by their labels read backwards (columns whose fields follow the same text, such as
        ``pid=`` or ``:``, side by side), first use breaking ties. Labels are bounded (LABEL bytes)
        so that a hostile table of long lines with many fields cannot make them quadratic. Padded
        with zeros, the length breaking ties, labels sort as the byte strings they are."""
        if version == 1:
            return np.arange(self.count)
        halves = np.frombuffer(self.backwards, dtype=">u8").reshape(-1, LABEL // 8)
        keys = [np.frombuffer(self.lengths, dtype=np.uint8), *(halves[:, k] for k in reversed(range(LABEL // 8)))]
        return np.lexsort(keys)  # stable: first use breaks ties


def _extend(ranges: list[range], more: range) -> None:
    """Add the ids *more* to *ranges*, joining them to the last range where they follow it."""
    if ranges and ranges[-1].stop == more.start:
        ranges[-1] = range(ranges[-1].start, more.stop)
    else:
        ranges.append(more)


def _ids(ranges: Iterable[range]) -> list[int]:
    """The column ids of :meth:`_Columns.of`'s ranges, one by one."""
    return [column for ids in ranges for column in ids]


def encode(data: bytes) -> bytes:
    """The record code of *data* (any bytes).

    Two passes over the lines, a block of them at a time (:func:`_line_blocks`): the first cuts
    each line into its *shape* (the constant text that :func:`_cut` leaves) and its fields, which
    it keeps joined by line feeds, a run per block (memory as the fields, plus 4 bytes a line);
    then the shapes that group (:func:`_groups`) take their word as a field, and the second pass
    makes the templates and ids and hands each column its values, again a run per block, so that
    however short the lines, few of them are objects at once. Once a chunk has SHAPES shapes, or
    its shapes' fields would pass SHAPE_FIELDS, a line of a shape not seen yet is one field, the
    whole line (so that lines that are all different cannot fill memory with shapes, nor lines of
    many fields with columns)."""
    found: dict[tuple[bytes, ...], int] = {}
    shapes: list[tuple[bytes, ...]] = []
    line_shapes = array("I")
    blocks: list[tuple[int, bytes]] = []  # each block's number of lines and its fields, joined
    shape_fields = 0  # the fields of the shapes kept
    for text in _line_blocks(data):
        fields: list[bytes] = []
        lines = _cut_lines(text)
        for parts in lines:
            constants = tuple(parts[0::2])
            shape = found.get(constants)
            if (
                shape is None
                and (len(shapes) >= SHAPES or shape_fields + len(constants) - 1 > SHAPE_FIELDS)
                and (line := b"".join(parts))
            ):  # the whole line as one field
                parts = [b"", line, b""]
                constants = (b"", b"")
                shape = found.get(constants)
            if shape is None:
                shape = found[constants] = len(shapes)
                shapes.append(constants)
                shape_fields += len(constants) - 1
            line_shapes.append(shape)
            fields += parts[1::2]
        blocks.append((len(lines), b"\n".join(fields)))  # a field holds no line feed, nor is it empty
    n_lines = len(line_shapes)
    del found
    words = _groups(shapes, np.bincount(np.asarray(line_shapes), minlength=len(shapes)))
    templates: dict[tuple[bytes, ...], tuple[int, list[int]]] = {}
    table: list[bytes] = []
    columns = _Columns()
    # Each shape's template id, columns, number of fields and the word it takes as a field (the
    # field's index, the word), in order of first use: the order the lines first use the templates.
    made: list[tuple[int, list[int], int, int, bytes]] = []
    for shape, constants in enumerate(shapes):
        at, word = -1, b""
        if shape in words:
            at, start, end = words[shape]
            text = constants[at]
            word = text[start:end]
            constants = (*constants[:at], text[:start], text[end:], *constants[at + 1 :])
        known = templates.get(constants)
        if known is None:
            known = templates[constants] = (len(table), _ids(columns.of(constants)))
            table.append(b"\x00".join(_escape(c) for c in constants) + b"\n")
        made.append((known[0], known[1], len(shapes[shape]) - 1, at, word))
    del shapes
    runs: list[list[bytes]] = [[] for _ in range(columns.count)]  # each column's values, joined, a run per block
    version = 6  # the oldest version that reads the code: 7 where a line needs references
    # Each template's lines are looked at for references (:func:`_refer`) until REFER_TRIES of them
    # in a row had none; every line is where a value may begin with the reference byte.
    tries = [REFER_TRIES] * len(made)  # by template id (at most one template per shape)
    escapes = b"\x01" in data
    ids = array("I")
    first = 0
    for n, joined in blocks:
        fields = joined.split(b"\n") if joined else []
        block: defaultdict[int, list[bytes]] = defaultdict(list)
        read = 0
        for shape in line_shapes[first : first + n]:
            tid, where, n_fields, at, word = made[shape]
            ids.append(tid)
            values = fields[read : read + n_fields]
            read += n_fields
            if at >= 0:
                values.insert(at, word)
            if values and (escapes or tries[tid] > 0):
                referred = _refer(values)
                if referred is not None:
                    values = referred
                    version = RECORDS_VERSION
                    tries[tid] = REFER_TRIES
                else:
                    tries[tid] -= 1
            for column, token in zip(where, values, strict=True):
                block[column].append(token)
        first += n
        for column, tokens in block.items():
            runs[column].append(b"\n".join(tokens))
    del blocks, line_shapes, made
    head = bytes([version]) + encode_varint(n_lines)
    body = b"".join(table)
    coded = []
    for column in columns.order(version).tolist():
        coded.append(_column_code((run.split(b"\n") for run in runs[column]), True, True))
        runs[column] = []
    written = _fixed_ids(ids, id_width(len(table)))
    return b"".join([head, encode_varint(len(body)), encode_varint(len(written)), body, written, *coded])


def _line_blocks(data: bytes) -> Iterator[bytes]:
    """*data* in blocks of whole lines of about LINE_BYTES bytes, without the line feed between
    two blocks: the blocks' lines are ``data.split(b"\\n")``."""
    at = 0
    while True:
        end = data.find(b"\n", at + LINE_BYTES)
        if end < 0:
            yield data[at:]
            return
        yield data[at:end]
        at = end + 1


def _groups(shapes: list[tuple[bytes, ...]], uses: np.ndarray) -> dict[int, tuple[int, int, int]]:
    """The **groups** among the lines' *shapes* (each the constant text :func:`_cut` leaves of a
    line, with the number of lines of each in *uses*): at least GROUP_MIN shapes that differ only
    in one word and have at most GROUP_USES lines each on average. In each, the word becomes a
    value and the group one template: the host in a proxy's lines, the user name in sshd's, the
    class or package name in a line that is otherwise constant (docs/logs.md, "Words as fields").
    A word is of one of two kinds (WORD_KINDS): a maximal run of bytes that are not delimiters
    (so it holds no digit), or a *wide* one, a maximal run without space, tab, CR, quotes,
    brackets, ``=``, ``,``, ``;`` or ``|`` (``ClassReader::readUtf``, ``java/util/List``). A shape
    takes the word whose group has the most shapes (the first kind, then the first word, on a
    tie). Returns, for each shape that groups, where its word is: the piece, and the word's start
    and end in it. Only the encoder groups: the code is read as any other.

    Bounded whatever the lines: words are looked at in shapes of at most GROUP_TEMPLATE bytes, the
    first GROUP_WORDS of each kind, in the order the shapes first occur until GROUP_KEYS words have
    been looked at. Shapes one word apart have the same *skeleton* (their pieces joined by line
    feeds, the words of that kind each replaced by 0x01) and the same other words: the groups are
    found by keys of those, all at once (numpy)."""
    classes: dict[bytes, list[tuple[int, int]]] = {}  # skeleton: (shape, kind) of each member
    budget = GROUP_KEYS
    for shape, constants in enumerate(shapes):
        if budget <= 0:
            break
        joined = b"\n".join(constants)  # no piece holds a line feed
        if len(joined) > GROUP_TEMPLATE:
            continue
        for kind, pattern in enumerate(WORD_KINDS):
            skeleton, words = pattern.subn(b"\x01", joined, GROUP_WORDS)
            if words:
                budget -= words
                classes.setdefault(b"%d %d\n%s" % (kind, words, skeleton), []).append((shape, kind))
    members = [member for found in classes.values() if len(found) >= GROUP_MIN for member in found]
    if not members:
        return {}
    word_ids: defaultdict[bytes, int] = defaultdict(count().__next__)  # each word a number, in order of first use
    rows = [
        list(map(word_ids.__getitem__, WORD_KINDS[kind].findall(b"\n".join(shapes[shape]))[:GROUP_WORDS]))
        for shape, kind in members
    ]
    # One entry per (shape, kind, word): a 64-bit key of the skeleton and the other words and the
    # word's place, summed from a hash per word and place; shapes one word apart share the key of
    # that word (two others share one only by chance, about 2^-64, and the code is then merely
    # larger).
    skeleton_of = {member: n for n, found in enumerate(classes.values()) for member in found}
    counts = np.array([len(row) for row in rows], dtype=np.int64)
    entry_of = np.repeat(np.arange(len(members)), counts)
    place = np.arange(len(entry_of)) - np.repeat(np.cumsum(counts) - counts, counts)
    word = np.array([w for row in rows for w in row], dtype=np.uint64)
    each = _mix(word << np.uint64(8) | place.astype(np.uint64))  # a place is below GROUP_WORDS (at most 256)
    whole = np.add.reduceat(each, np.cumsum(counts) - counts)
    whole += _mix(np.array([skeleton_of[m] for m in members], dtype=np.uint64) | np.uint64(1 << 40))
    keys = whole[entry_of] - each + _mix(place.astype(np.uint64) | np.uint64(1 << 41))
    _, group, size = np.unique(keys, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    shape_of = np.array([shape for shape, _ in members], dtype=np.int64)[entry_of]
    kind_of = np.array([kind for _, kind in members], dtype=np.int64)[entry_of]
    lines = np.bincount(group, weights=uses[shape_of].astype(np.float64))
    fits = (size >= GROUP_MIN) & (lines <= GROUP_USES * size)
    score = np.where(fits, size, 0)[group]
    # Each shape's entries, the largest group first, then the first kind and the first word: the
    # first entry of each shape in that order is its choice, if its group fits.
    order = np.lexsort((place, kind_of, -score, shape_of))
    firsts = order[np.flatnonzero(np.diff(shape_of[order], prepend=-1))]
    chosen: dict[int, tuple[int, int, int]] = {}
    for entry in firsts[score[firsts] > 0].tolist():
        shape = int(shape_of[entry])
        found = list(WORD_KINDS[kind_of[entry]].finditer(b"\n".join(shapes[shape])))[place[entry]]
        chosen[shape] = _in_piece(shapes[shape], *found.span())
    return chosen


def _mix(x: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each of *x* (uint64; SplitMix64's finaliser, wrapping as numpy's uint64 does
    on every machine)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def _in_piece(constants: tuple[bytes, ...], start: int, end: int) -> tuple[int, int, int]:
    """The piece of *constants* that bytes start:end of their join by line feeds fall in, and
    where in it."""
    for at, piece in enumerate(constants):
        if start <= len(piece):
            return at, start, end
        start -= len(piece) + 1
        end -= len(piece) + 1
    raise AssertionError("a word past the template's end")


def id_width(templates: int) -> int:
    """Version 6: the bytes of each template id in a code of *templates* templates, as few as hold
    every index in the table (1 up to 256 templates, 2 up to 65,536, ...).

    Ids are written big-endian, at a fixed width: the model then sees the coarse part of an id
    first and every line's id at the same place (measured in docs/logs.md, "Template ids")."""
    return max(1, ((templates - 1).bit_length() + 7) // 8)


def _fixed_ids(ids: array[int], width: int) -> bytes:
    """*ids* (four bytes each), each as *width* bytes big-endian (version 6)."""
    wide = np.frombuffer(ids, dtype=np.uint32).astype(">u4").view(np.uint8).reshape(-1, 4)
    return wide[:, 4 - width :].tobytes()


def _read_fixed_ids(ids: bytes, width: int) -> array[int]:
    """Version 6's template ids: :func:`_fixed_ids` backwards (len(ids) a multiple of *width*), four
    bytes a line."""
    rows = np.frombuffer(ids, dtype=np.uint8).reshape(-1, width)
    out = array("I", [0]) * len(rows)
    value = np.frombuffer(out, dtype=np.uint32)  # read in place: no copy of the ids is made
    value[:] = rows[:, 0]
    for k in range(1, width):
        value <<= 8
        value |= rows[:, k]
    return out


def template(line: bytes) -> bytes:
    """The constant text of *line* (no line feed) with its fields taken out, joined by NUL: lines
    of one template give the same bytes (what the record code's template table holds)."""
    return b"\x00".join(_cut(line)[0::2])


def _cut_lines(block: bytes) -> list[list[bytes]]:
    """Each line of *block* (``block.split(b"\\n")``) cut as :func:`_cut` cuts it, found for the
    whole block at once: the bytes classed by a table, the clocks matched only where their digits
    and colons are in place (:func:`_clock_spans`), the quoted strings paired (:func:`_strings`),
    the other fields as runs of token bytes that hold a digit, and a byte the block lacks put at
    each field's two ends, so that one split of each line at that byte gives its pieces. A block
    longer than CUT_BLOCK (a very long line) or that holds every byte value is cut a line at a time."""
    marker = next((m for m in range(1, 256) if m not in block), 0) if len(block) <= CUT_BLOCK else 0
    if not marker:
        return [_cut(line) for line in block.split(b"\n")]
    raw = np.frombuffer(block, dtype=np.uint8)
    kind = np.frombuffer(block.translate(_KINDS), dtype=np.uint8).copy()
    clocks = _clock_spans(block, kind)
    strings, quoted = _strings(raw, clocks)
    taken = np.concatenate((clocks, quoted))  # no token's bytes: their ends end the tokens beside them
    if len(taken):  # every byte of every span (the spans' ranges joined)
        lengths = taken[:, 1] - taken[:, 0]
        firsts = np.cumsum(lengths) - lengths  # where each span's bytes begin among them all
        kind[np.arange(int(lengths.sum())) + np.repeat(taken[:, 0] - firsts, lengths)] = _TAKEN
    token = np.zeros(len(block) + 2, dtype=bool)
    token[1:-1] = kind <= _DIGIT
    runs = np.flatnonzero(token[1:] != token[:-1])  # each run of token bytes: its start, its end
    starts, ends = runs[0::2], runs[1::2]
    if len(starts):  # the digits from each run's start to the next run's: the run's own
        held = np.add.reduceat(kind == _DIGIT, starts, dtype=np.int32) > 0
        starts, ends = starts[held], ends[held]
    cuts = np.sort(np.concatenate((starts, ends, clocks.reshape(-1), strings.reshape(-1))))
    marked = np.insert(raw, cuts, marker).tobytes()
    sep = bytes((marker,))
    return [line.split(sep) for line in marked.split(b"\n")]


def _strings(raw: np.ndarray, clocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The quoted strings of the block *raw* as :func:`_cut_piece` finds them in the pieces a line
    leaves between its *clocks*: in each piece, the first double quote pairs with the second, the
    third with the fourth, and so on (a last one alone is constant text). Returns the strings that
    are fields (the bytes between the quotes, where there are any and no colon follows the closing
    quote after spaces or tabs: a key), and the span of every pair, quotes included, whose bytes
    are no token's; each a row of start and end."""
    quotes = np.flatnonzero(raw == 0x22)
    none = np.zeros((0, 2), dtype=np.int64)
    if len(quotes) < 2:
        return none, none
    bounds = np.sort(np.concatenate((np.flatnonzero(raw == 0x0A), clocks.reshape(-1))))
    piece = np.searchsorted(bounds, quotes, side="right")
    at = np.arange(len(quotes))
    first = np.maximum.accumulate(np.where(np.diff(piece, prepend=-1) != 0, at, 0))
    opens = np.flatnonzero(((at - first) % 2 == 0)[:-1] & (piece[1:] == piece[:-1]))
    pairs = np.stack((quotes[opens], quotes[opens + 1] + 1), axis=1)
    solid = np.flatnonzero((raw != 0x20) & (raw != 0x09))  # where each run of spaces and tabs ends
    after = np.searchsorted(solid, pairs[:, 1])
    key = after < len(solid)
    key[key] = raw[solid[after[key]]] == 0x3A
    fields = pairs[~key & (pairs[:, 1] - pairs[:, 0] > 2)] + np.array([1, -1])
    return fields, pairs


def _clock_spans(block: bytes, kind: np.ndarray) -> np.ndarray:
    """Where ``_CLOCK`` matches in *block*, as finditer finds them (a row of start and end each);
    *kind* is the block's bytes classed by ``_KINDS``. Found without the pattern, as arrays: every
    match begins where two digits, a colon, a digit 0-5 and a digit, a colon, a digit 0-5 and a digit
    begin after a byte that is neither a digit nor a colon, and the runs of digits after them say
    where it ends."""
    size = len(block)
    n = size - 7
    if n <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    raw = np.frombuffer(block, dtype=np.uint8)
    digit, colon, low = kind == _DIGIT, kind == _COLON, (raw >= 0x30) & (raw <= 0x35)
    fits = digit[:n] & digit[1 : n + 1] & colon[2 : n + 2] & low[3 : n + 3] & digit[4 : n + 4]
    fits &= colon[5 : n + 5] & low[6 : n + 6] & digit[7 : n + 7]
    fits[1:] &= ~(digit[: n - 1] | colon[: n - 1])
    starts = np.flatnonzero(fits)
    # What the pattern does after a candidate's eight bytes: a separator and 1-9 digits that a digit
    # does not follow are its fraction; else the clock ends there, unless a digit follows.
    ends = starts + 8
    after = np.append(raw, 0)[ends]  # 0 past the block's end: no digit, no separator
    stops = np.append(np.flatnonzero(~digit), size)  # where each run of digits ends
    run = stops[np.searchsorted(stops, np.minimum(ends + 1, size))] - (ends + 1)  # the fraction's digits
    fraction = ((after == 0x2E) | (after == 0x2C) | (after == 0x3A)) & (run >= 1) & (run <= 9)
    clock = fraction | (ends >= size) | ~digit[np.minimum(ends, size - 1)]
    starts, ends = starts[clock], np.where(fraction, ends + 1 + run, ends)[clock]
    if len(starts) > 1 and np.any(starts[1:] < ends[:-1]):  # matches do not overlap: the first wins
        keep = np.zeros(len(starts), dtype=bool)
        end = 0
        for k, (at, stop) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            if at >= end:
                keep[k] = True
                end = stop
        starts, ends = starts[keep], ends[keep]
    return np.stack((starts, ends), axis=1)


def _cut(line: bytes) -> list[bytes]:
    """A line cut at its fields: constant text, field, constant text, ..., constant text. Clocks
    first, then each piece between them (:func:`_cut_piece`)."""
    pieces = _CLOCK.split(line)
    if len(pieces) == 1:
        return _cut_piece(line)
    parts = _cut_piece(pieces[0])
    for at in range(1, len(pieces), 2):
        parts.append(pieces[at])
        parts += _cut_piece(pieces[at + 1])
    return parts


def _cut_piece(line: bytes) -> list[bytes]:
    """Text without clocks cut at its fields."""
    if b'"' not in line:
        return _FIELD.split(line)
    parts: list[bytes] = []
    start = 0  # where the constant text being read began
    for found in _QUOTED.finditer(line):
        at, end = found.span(1)
        if at == end:  # a key, or an empty string: constant text
            at, end = found.span(2)
            if at < 0:
                continue
        parts += (line[start:at], line[at:end])
        start = end
    parts.append(line[start:])
    return parts


def _rescaled(count: int, letter: int) -> bytes:
    """A count (of bytes, say) in larger units, as version 7's reference letter *letter* (0-15 for
    ``A``-``P``) shows it: divided by 1000 (even pairs of letters: A, B, E, F, ...) or 1024 (C, D,
    G, H, ...) to the power (letter >> 2) + 1, with two decimals below 10, one below 100 and none
    from 100 on, truncated (even letters) or rounded half up (odd letters): ``18846`` with C
    (18846 / 1024, truncated) is ``18.4``. The letters go up with the divisor."""
    div = _DIVISORS[letter >> 1]
    whole = count // div
    places = 0 if whole >= 100 else (1 if whole >= 10 else 2)
    scale = 10**places
    shown = (2 * count * scale + div) // (2 * div) if letter & 1 else count * scale // div
    return b"%d.%0*d" % (shown // scale, places, shown % scale) if places else b"%d" % shown


def _rescale_letter(count: bytes, value: bytes) -> int:
    """The first letter (0-15) whose divisor is at most the digits *count* and with which
    :func:`_rescaled` shows them as *value*, or -1."""
    point = value.find(b".")
    digits = point if point >= 0 else len(value)
    # Divisors are at least 1000 and rounding adds at most 1 to the whole part, so a count shown
    # as *value* has at least two digits more than its whole part.
    if len(count) < digits + 2 or len(count) > 18 or not count.isdigit() or not _RESCALABLE.match(value):
        return -1
    n = int(count)
    whole = int(value[:digits])
    # The divisors d with whole - 1 <= n // d <= whole, from the smallest: n // (whole + 1) < d.
    for at in range(bisect_right(_DIVISORS, n // (whole + 1)), len(_DIVISORS)):
        div = _DIVISORS[at]
        if div > n or n // div < whole - 1:
            break
        for letter in (2 * at, 2 * at + 1):
            if _rescaled(n, letter) == value:
                return letter
    return -1


def _refer(values: list[bytes]) -> list[bytes] | None:
    """A line's field values as version 7 writes them (:data:`REFERENCE`), or None if no value
    needs it: a value of at most 6 bytes that shows the count just before it in other units as its
    letter, one of at least REFER_MIN bytes that equals a value before it as the distance to the
    nearest such, a value that begins with the reference byte after that byte."""
    out = None
    last: dict[bytes, int] | None = {} if len(set(values)) < len(values) else None
    before = b""
    for k, value in enumerate(values):
        written = value
        if value[0] == REFERENCE:
            written = b"\x01" + value
        elif len(value) <= 6 and len(before) >= 4 and before.isdigit():
            point = value.find(b".")
            if len(before) >= (point if point >= 0 else len(value)) + 2:  # see _rescale_letter
                letter = _rescale_letter(before, value)
                if letter >= 0:
                    written = bytes((REFERENCE, 0x41 + letter))
        if last is not None and len(value) >= REFER_MIN:
            at = last.get(value, -1)
            if written is value and at >= 0 and k - at <= _REFER_BACK:
                written = b"\x01%d" % (k - at)
            last[value] = k
        if written is not value:
            if out is None:
                out = list(values)
            out[k] = written
        before = value
    return out


def _resolve(values: list[bytes], budget: int) -> list[bytes]:
    """:func:`_refer` backwards: the field values of a version-7 line whose values are *values*
    (read from its columns), or :class:`RecordsError` if a reference cannot be followed or the
    values would add up to more than *budget* bytes."""
    out: list[bytes] = []
    total = 0
    for k, value in enumerate(values):
        if value[:1] == b"\x01":
            tail = value[1:]
            if tail[:1] == b"\x01":
                value = tail
            elif len(tail) == 1 and 0x41 <= tail[0] < 0x41 + _RESCALED:
                if not (k and len(out[-1]) <= 18 and out[-1].isdigit()):
                    raise RecordsError("a field shown in other units does not follow a count")
                value = _rescaled(int(out[-1]), tail[0] - 0x41)
            elif 0 < len(tail) <= 4 and tail.isdigit() and tail[0] != 0x30 and int(tail) <= k:
                value = out[k - int(tail)]
            else:
                raise RecordsError(f"bad field reference {tail[:8]!r}")
        total += len(value)
        if total > budget:
            raise RecordsError(f"records decode to more than {budget} bytes")
        out.append(value)
    return out


def _column_code(runs: Iterable[list[bytes]], clocks: bool, repeats: bool = False) -> bytes:
    """One column's values (given in runs) as the code writes them, each followed by a line feed;
    with *repeats* (version 4), an entry of REPEAT_MIN bytes or more that equals the entry before
    it is empty.

    A number (``_NUMBER``), or with *clocks* (version 3) a clock, is written as the difference from
    the column's previous number when the column is writing differences (see :func:`_tokens`,
    which reads them back) and the two have the same shape; a value that would then read as a
    difference is written after ``"``. The column's state and the rule that updates it are
    :func:`_tokens`' (written out in both loops, which run once per value, or once per run of equal
    values where the rule reads each of them the same)."""
    pieces: list[bytes] = []
    prev, shape, raw_cost, delta_cost = 0, -1, 0, 1
    recent = (-1, -1, -1, -1)  # the four most recent numbers, newest first (-1: none; no number is negative)
    parsed = _Parses(clocks)
    repeat_min = REPEAT_MIN
    last: bytes | None = None  # the entry before the run, as written before repeats are left out
    for tokens in runs:
        out: list[bytes] = []
        append = out.append
        k, n, run_end = 0, len(tokens), 0
        while k < n:
            token = tokens[k]
            if k >= run_end:  # where the run of tokens equal to this one ends
                run_end = k + 1
                while run_end < n and tokens[run_end] == token:
                    run_end += 1
            more = run_end - k - 1  # equal tokens after this one
            k = run_end
            value, this = parsed[token]
            step = 0  # the written difference's length
            if shape < 0 or delta_cost >= raw_cost:  # values as they are
                append(token)
                if this < 0:
                    out += [token] * more  # the state stays as it is: each is written the same
                    continue
            elif this < 0:
                written = b'"' + token if token[0] == _ESCAPE or _is_difference(token) else token
                out += [written] * (more + 1)
                continue
            elif this == shape and -_DELTA_END < value - prev < _DELTA_END:  # a longer one is written as the value
                written = b"%d" % (value - prev)
                append(written)
                step = len(written)
            else:
                append(b'"' + token if _is_difference(token) else token)
            known = value in recent
            if this == shape:  # a plain number's token is its value in decimal
                raw_cost += 1 if known else (len(token) if this == 0 else len(str(value)))
                delta_cost += step or len(str(value - prev))
            if not known:
                recent = (value, recent[0], recent[1], recent[2])
            prev, shape = value, this
            if more:  # each equal number after it: known, of the same shape, a difference of 0
                out += [token if delta_cost >= raw_cost else b"0"] * more
                raw_cost += more
                delta_cost += more
        if not out:
            continue
        if repeats:  # each entry against the one before it as written out
            before = [last, *out[:-1]]
            last = out[-1]
            out = [
                b"" if entry == prior and len(entry) >= repeat_min else entry
                for entry, prior in zip(out, before, strict=True)
            ]
        pieces.append(b"\n".join(out))
    return b"\n".join(pieces) + b"\n" if pieces else b""


class _Parses(dict[bytes, tuple[int, int]]):
    """One column's tokens, each with its :func:`_parsed` value and shape, parsed when first looked
    up (a column's tokens repeat: a level, a host, a status); at most PARSED_MEMO are kept."""

    def __init__(self, clocks: bool):
        super().__init__()
        self.clocks = clocks

    def __missing__(self, token: bytes) -> tuple[int, int]:
        found = _parsed(token, self.clocks)
        if len(self) < PARSED_MEMO:
            self[token] = found
        return found


def _parsed(token: bytes, clocks: bool) -> tuple[int, int]:
    """A token's value and shape when it is a number (``_NUMBER``) or, with *clocks*, a clock
    (:func:`_clock`), else (0, -1). A number's shape is ``decimals << 8 | width``: the digits after
    the point, and the token's length if it is zero-padded, else 0. Every number and clock is spelt
    as :func:`_spell` spells its value and shape."""
    if len(token) <= 18 and token.isdigit():
        return int(token), (len(token) if token[0] == 0x30 and len(token) > 1 else 0)
    found = _NUMBER.match(token)
    if found is None:
        return (_clock(token) or (0, -1)) if clocks else (0, -1)
    decimals = found.end(1) - found.start(1)
    width = len(token) if token[0] == 0x30 and token[1] != 0x2E else 0
    return int(token.replace(b".", b"")), decimals << 8 | width


def parse(code: bytes) -> tuple[int, list[tuple[bytes, ...]], Sequence[int], int]:
    """The line count, the templates, each line's template id and where the columns start.

    Raises :class:`RecordsError` for a code that no encoder writes: among others, one with a
    template no line uses (writers add a template to the table as a line first needs it), whose
    columns would cost a reader memory for nothing."""
    fail = _fails
    if not code or code[0] not in _VERSIONS:
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
    line_ids = _template_ids(code, at, end, n_lines, len(templates))
    uses = _uses(line_ids, len(templates))
    if not uses.all():
        raise RecordsError(f"template {int(np.argmin(uses))} of the table is used by no line")
    return n_lines, templates, line_ids, end


def _uses(line_ids: Sequence[int], n_templates: int) -> np.ndarray:
    """How many lines use each of *n_templates* templates (*line_ids*: :func:`parse`'s)."""
    ids = np.frombuffer(line_ids, dtype=np.uint32) if isinstance(line_ids, array) else np.asarray(line_ids, np.int64)
    return np.bincount(ids, minlength=n_templates)


def _template_ids(code: bytes, at: int, end: int, n_lines: int, n_templates: int) -> Sequence[int]:
    """The template ids of code[at:end], each checked below *n_templates*: four bytes an id from
    version 6 on, a list before."""
    if code[0] >= 6:
        width = id_width(n_templates)
        if end - at != n_lines * width:
            raise RecordsError(f"template ids of {end - at} bytes are not {n_lines} lines of {width} bytes")
        fixed = _read_fixed_ids(code[at:end], width)
        if fixed and (top := int(np.frombuffer(fixed, dtype=np.uint32).max())) >= n_templates:
            raise RecordsError(f"template id {top} is not in the table of {n_templates}")
        return fixed
    quick = _short_ids(code[at:end], n_lines, n_templates)
    if quick is not None:
        return quick
    line_ids = []
    for _ in range(n_lines):
        if at >= end:
            raise RecordsError("template ids end before the last line")
        tid, at = read_varint(code, at, 5, _fails("no valid template id"))
        if tid >= n_templates:
            raise RecordsError(f"template id {tid} is not in the table of {n_templates}")
        line_ids.append(tid)
    if at != end:
        raise RecordsError("template ids run past the last line")
    return line_ids


def _short_ids(ids: bytes, count: int, n_templates: int) -> list[int] | None:
    """Versions 1-5: the template ids when they are *count* valid one- or two-byte varints below *n_templates*
    (every code of up to 16,384 templates), else None: :func:`parse`'s careful loop then says what
    is wrong."""
    out: list[int] = []
    high = -1
    for byte in ids:
        if high >= 0:
            if byte == 0 or byte & 0x80:  # a longer or non-minimal varint: the careful loop reads it
                return None
            out.append(high | byte << 7)
            high = -1
        elif byte & 0x80:
            high = byte & 0x7F
        else:
            out.append(byte)
    if high >= 0 or len(out) != count or (out and max(out) >= n_templates):
        return None
    return out


def decode(code: bytes, size: int) -> bytes:
    """Exactly *size* bytes from a record code, or :class:`RecordsError`.

    Memory stays within a few times *size* and the code, however short the lines: each column is
    read where it lies in the code, ENTRY_RUN values at a time as the lines need them, and the
    lines are joined LINE_BLOCK at a time. However many columns the code names, each costs a few
    numbers in arrays and its values (docs/robustness.md, "Record codes of very many columns")."""
    n_lines, templates, line_ids, start = parse(code)
    columns = _Columns()
    template_columns = [columns.of(t) for t in templates]
    if n_lines == 0 or size + 1 < n_lines:
        raise RecordsError(f"{n_lines} lines cannot make {size} bytes")
    ends, spans = _column_spans(code, start, template_columns, line_ids, columns, size)
    n_columns = columns.count
    del columns
    clocks, repeats = code[0] >= 3, code[0] >= 4
    # Each column's reader and each template's readers are made when a line first needs them: a
    # column of at most ENTRY_RUN values is then read whole into a list, last value first, whose
    # pop is the reader (its reading state goes as soon as it is read); a longer one keeps its
    # reading state, a few KB, for ENTRY_RUN values and more.
    nexts: list[Callable[[], bytes] | None] = [None] * len(spans)

    def read_column(column: int) -> Callable[[], bytes]:
        found = nexts[column]
        if found is None:
            first, n = spans[column].tolist()
            runs = _tokens(_runs(code, start, ends, first, n), clocks, repeats)
            if n <= ENTRY_RUN:
                values = next(runs)
                values.reverse()
                found = nexts[column] = values.pop
            else:
                found = nexts[column] = chain.from_iterable(runs).__next__
        return found

    # A code of more than LEAN_COLUMNS columns (no writer writes one now: a hostile code, or one
    # written before SHAPE_FIELDS) has no reader per short column: its values go to one list, and
    # each short column keeps only where its next value is there (*lean_values*).
    lean = n_columns > LEAN_COLUMNS
    flat: list[bytes | None] = []
    where = array("q", [-1]) * (n_columns if lean else 0)  # -1: not read yet; -2: a long column

    def lean_values(tid: int) -> list[bytes]:
        values = []
        for ids in template_columns[tid]:
            for column in ids:
                at = where[column]
                if at == -1:
                    first, n = spans[column].tolist()
                    if n > ENTRY_RUN:
                        read_column(column)
                        at = where[column] = -2
                    else:
                        at = where[column] = len(flat)
                        flat.extend(next(_tokens(iter((_run(code, start, ends, first, n),)), clocks, repeats)))
                if at == -2:
                    values.append(cast(Callable[[], bytes], nexts[column])())
                else:
                    values.append(cast(bytes, flat[at]))
                    flat[at] = None  # read: the list keeps no value it has handed out
                    where[column] = at + 1
        return values

    # Each template as a %-format of its constant text: a line is read and joined in two steps.
    formats = [_format(t) for t in templates]
    del templates  # the formats hold what the lines need of them: the pieces go
    readers: list[tuple[Callable[[], bytes], ...] | None] = [None] * len(formats)
    blocks: list[bytes] = []
    total = -1
    refers = code[0] >= 7
    for at in range(0, len(line_ids), LINE_BLOCK):
        lines: list[bytes] = []
        append = lines.append
        for tid in line_ids[at : at + LINE_BLOCK]:
            if lean:
                values = lean_values(tid)
            else:
                row = readers[tid]
                if row is None:
                    row = readers[tid] = tuple(read_column(column) for ids in template_columns[tid] for column in ids)
                values = [read() for read in row]
            line = formats[tid] % tuple(values)
            if refers and b"\x01" in line:  # a reference, or the reference byte in the constant text
                line = formats[tid] % tuple(_resolve(values, size - total))
            total += len(line) + 1
            if total > size:
                raise RecordsError(f"records decode to more than {size} bytes")
            append(line)
        blocks.append(b"\n".join(lines))
    if total != size:
        raise RecordsError(f"records decoded to {total} bytes, expected {size}")
    return b"\n".join(blocks)


Described = tuple[list[tuple[bytes, int]], list[tuple[bytes, str, int, int, int]], list[tuple[str, int, int]]]


def describe(code: bytes, size: int, spent: Sequence[int] | None = None) -> Described:
    """What a record code holds, for ``sigmalang inspect``: each template (its constant text with
    ``<*>`` for each field) with its line count; each column (the template text up to it, past
    2 * SHOWN_END bytes its two ends only (:func:`_shortened`), its kind
    (number, clock, text, mixed, or reference: every value refers to another of its line),
    its values, its bytes in the code and what they cost the model); and the code's sections (the
    template table, the template ids, the columns) with their bytes and cost. Templates and columns
    are in order of first use. A cost is what the model spent on the bytes, from *spent* (what it
    had spent before each byte of the code and after the last, in any unit), or -1 without it.
    *size* is the frame's original size (the code is refused if its values could not fit it)."""
    n_lines, templates, line_ids, start = parse(code)
    columns = _Columns()
    template_columns = [columns.of(t) for t in templates]
    ends, spans = _column_spans(code, start, template_columns, line_ids, columns, size)
    uses = [0] * len(templates)
    for tid in line_ids:
        uses[tid] += 1
    shown = [b"<*>".join(t) for t in templates]
    labels = [b""] * columns.count
    for t, text, ids in zip(templates, shown, template_columns, strict=True):
        end = 0  # where the template's text up to the column ends
        for piece, column in zip(t[:-1], chain.from_iterable(ids), strict=True):
            end += len(piece) + 3
            if not labels[column]:
                labels[column] = _shortened(text, end)

    def cost(begin: int, end: int) -> int:
        return -1 if spent is None else int(spent[end] - spent[begin])

    out = []
    clocks, repeats, refers = code[0] >= 3, code[0] >= 4, code[0] >= 7
    for label, (first, n) in zip(labels, spans.tolist(), strict=True):
        at = start + _entry_at(ends, first)
        used = _entry_at(ends, first + n) - _entry_at(ends, first)
        numbers = clocks_seen = references = 0
        for run in _tokens(_runs(code, start, ends, first, n), clocks, repeats):
            for token in run:
                shape = _parsed(token, clocks)[1]
                numbers += shape >= 0
                clocks_seen += shape >= _CLOCK_SHAPE
                references += refers and token[:1] == b"\x01" and token[1:2] != b"\x01"
        kind = "number" if numbers == n else ("text" if not numbers else "mixed")
        if numbers == n and clocks_seen == n:
            kind = "clock"
        if n and references == n:
            kind = "reference"
        out.append((label, kind, n, used, cost(at, at + used)))
    table_at, ids_at = _section_starts(code)
    sections = [
        ("template table", ids_at - table_at, cost(0, ids_at)),  # with the code's first few bytes
        ("template ids", start - ids_at, cost(ids_at, start)),
        ("columns", len(code) - start, cost(start, len(code))),
    ]
    return list(zip(shown, uses, strict=True)), out, sections


def _shortened(text: bytes, end: int) -> bytes:
    """``text[:end]``, or where that is longer than 2 * SHOWN_END bytes, its first and last SHOWN_END
    bytes with the number of bytes left out between them: a column's label in :func:`describe`,
    so that the labels of a template of very many fields take time and memory in proportion to
    its fields, not to their square."""
    if end <= 2 * SHOWN_END:
        return text[:end]
    return b"%s[... %d bytes ...]%s" % (text[:SHOWN_END], end - 2 * SHOWN_END, text[end - SHOWN_END : end])


def history_part(code: bytes) -> tuple[bytes, int]:
    """What a frame coded as the valid record code *code* adds to a shared-context history
    (docs/FORMAT.md §6.3), and how many of its last bytes are a template table: from version 5,
    the code from its template ids on, then its template table (so that the table, which the next
    frame's templates are most like, can prime a frame alone); before, the whole record code."""
    if code[0] < 5:
        return code, 0
    table, ids = _section_starts(code)
    return code[ids:] + code[table:ids], ids - table


def _section_starts(code: bytes) -> tuple[int, int]:
    """Where the template table and the template ids start in a record code :func:`parse` read."""
    fail = _fails("bad record code")
    pos = read_varint(code, 1, 5, fail)[1]
    table_size, pos = read_varint(code, pos, 5, fail)
    pos = read_varint(code, pos, 5, fail)[1]
    return pos, pos + table_size


def _column_spans(
    code: bytes,
    start: int,
    template_columns: Sequence[Sequence[range]],
    line_ids: Sequence[int],
    columns: _Columns,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Where each entry of the columns section (which starts at *start*) ends, as offsets of its
    line feed from *start*; and each column's first entry and number of entries (by column id).
    Checked before any value is read.

    From version 4 an empty entry repeats the one before it. Every value is in the decoded chunk,
    and an entry is at most one byte longer than its value or a difference of at most 20 bytes:
    entries that, repeats filled in, add up to more than *size* + 20 per entry come from no encoder,
    and reading them (a long entry repeated many times) would take time out of all proportion to
    the code, so they are refused here. Both are numpy arrays (a code of very many columns
    costs a few bytes a column here)."""
    uses = _uses(line_ids, len(template_columns)).tolist()
    # Each run of a template's columns adds the template's lines to each of its columns: added at
    # the run's start and taken back at its end, then summed along the columns.
    bounds: list[int] = []
    added: list[int] = []
    for tid, ranges in enumerate(template_columns):
        for ids in ranges:
            bounds += (ids.start, ids.stop)
            added += (uses[tid], -uses[tid])
    steps = np.zeros(columns.count + 1, dtype=np.int64)
    np.add.at(steps, np.array(bounds, dtype=np.int64), np.array(added, dtype=np.int64))
    counts = np.cumsum(steps, out=steps)[:-1]
    needed = int(counts.sum())
    if needed > len(code) - start:
        raise RecordsError("more field values than the record code has bytes")
    ends = _line_feeds(code, start)
    if len(ends) < needed:
        raise RecordsError("a column ends before its last value")
    if len(ends) > needed or (ends[-1] if needed else -1) != len(code) - start - 1:
        raise RecordsError("bytes after the last column")
    order = columns.order(code[0])
    spans = np.zeros((len(counts), 2), dtype=np.int64)
    spans[order, 0] = np.cumsum(counts[order]) - counts[order]
    spans[:, 1] = counts
    if code[0] >= 4 and needed:
        firsts = spans[counts > 0, 0]
        if (ends[firsts] == np.where(firsts > 0, ends[firsts - 1] + 1, 0)).any():
            raise RecordsError("a column's first value repeats nothing")
        if _filled_length(ends) > size + 20 * needed:
            raise RecordsError(f"records decode to more than {size} bytes")
    return ends, spans


def _line_feeds(code: bytes, start: int) -> np.ndarray:
    """Where the line feeds of code[start:] are, as offsets from *start* (4 bytes each), found a
    slice at a time: the memory is that of the result."""
    body = np.frombuffer(code, dtype=np.uint8)[start:]
    kind = np.int32 if len(body) < 1 << 31 else np.int64
    found = [np.flatnonzero(body[at : at + SLICE] == 0x0A).astype(kind) + at for at in range(0, len(body), SLICE)]
    return np.concatenate(found) if found else np.zeros(0, dtype=kind)


def _filled_length(ends: np.ndarray) -> int:
    """The total length of the entries that end at *ends* (:func:`_line_feeds`) with each empty
    one as the last entry before it that is not (version 4's repeats; the first entry is not
    empty), a slice at a time: each entry that is not empty counts once for itself and once for
    each empty one after it."""
    total = 0
    carry = 0  # the length of the last entry that is not empty, before the slice
    for at in range(0, len(ends), SLICE):
        before = int(ends[at - 1]) if at else -1
        lengths = np.diff(ends[at : at + SLICE].astype(np.int64), prepend=before) - 1
        full = np.flatnonzero(lengths)
        if not len(full):
            total += carry * len(lengths)
            continue
        total += carry * int(full[0]) + int(np.dot(lengths[full], np.diff(full, append=len(lengths))))
        carry = int(lengths[full[-1]])
    return total


def _entry_at(ends: np.ndarray, k: int) -> int:
    """Where entry *k* of the columns section starts, as an offset from the section's start
    (*ends*: :func:`_line_feeds`); with *k* the number of entries, where the section ends."""
    return int(ends[k - 1]) + 1 if k else 0


def _format(pieces: tuple[bytes, ...]) -> bytes:
    """A template's pieces as a %-format: %s between them, % doubled. (Joined a piece at a time:
    ``bytes.join`` keeps a buffer of about 80 bytes per piece while it joins.)"""
    out = bytearray(pieces[0].replace(b"%", b"%%"))
    for piece in pieces[1:]:
        out += b"%s"
        out += piece.replace(b"%", b"%%")
    return bytes(out)


def _run(code: bytes, start: int, ends: np.ndarray, first: int, count: int) -> bytes:
    """Entries *first* to *first* + *count* (at least one) of the columns section, as the code
    holds them: joined by line feeds."""
    return code[start + _entry_at(ends, first) : start + int(ends[first + count - 1])]


def _runs(code: bytes, start: int, ends: np.ndarray, first: int, count: int) -> Iterator[bytes]:
    """A column's entries *first* to *first* + *count* of the columns section (:func:`_column_spans`)
    in runs of at most ENTRY_RUN, each run as the code holds it: entries joined by line feeds."""
    for at in range(first, first + count, ENTRY_RUN):
        yield _run(code, start, ends, at, min(ENTRY_RUN, first + count - at))


def _tokens(runs: Iterator[bytes], clocks: bool, repeats: bool) -> Iterator[list[bytes]]:
    """One column's field values from its entries in the code, a list per run of entries
    (:func:`_runs`): :func:`_column_code` backwards. With *repeats* (version 4), an empty entry is
    the one before it.

    A column writes differences once it has seen a number and while differences have cost fewer
    digits than the numbers themselves (a number among the column's four most recent ones counts
    one digit); both costs count only numbers of the previous number's shape: the one rule both
    directions follow (:func:`_column_code` keeps the same state). The loop runs once per value,
    or once per run of equal entries where they all read as the same value (the state then
    changes as the run's length says), so the rule and :func:`_is_difference` are written out in it."""
    prev, shape, raw_cost, delta_cost = 0, -1, 0, 1
    recent = (-1, -1, -1, -1)  # the four most recent numbers, newest first (-1: none; no number is negative)
    parsed = _Parses(clocks)
    before = b""  # the entry before the run
    for run in runs:
        out: list[bytes] = []
        append = out.append
        entries = run.split(b"\n")
        if repeats and b"" in entries:
            for k, entry in enumerate(entries):
                before = entries[k] = entry or before
        before = entries[-1]
        k, n, run_end = 0, len(entries), 0
        while k < n:
            entry = entries[k]
            if k >= run_end:  # where the run of entries equal to this one ends
                run_end = k + 1
                while run_end < n and entries[run_end] == entry:
                    run_end += 1
            more = run_end - k - 1  # equal entries after this one
            k += 1
            step = 0  # the difference's length, where the entry is a difference without a minus
            as_they_are = shape < 0 or delta_cost >= raw_cost
            if as_they_are:  # values as they are
                token = entry
                value, this = parsed[token]
            elif (digits := entry.isdigit() and len(entry) <= 19 and (entry[0] != 0x30 or len(entry) == 1)) or (
                entry[:1] == b"-" and _is_difference(entry)
            ):
                value = prev + int(entry)
                step = len(entry) if digits else 0
                if shape == 0 and 0 <= value < _PLAIN_END:  # spelt as b"%d", which parses back to (value, 0)
                    token = b"%d" % value
                    this = 0
                elif shape >= _CLOCK_SHAPE:  # a clock's spelling parses back to its value and shape
                    token = _spell_clock(value, shape)
                    this = shape
                else:  # a spelling that parses reads back as the same value
                    token = _spell(value, shape)
                    value, this = parsed[token]
            else:
                token = entry[1:] if entry[:1] == b'"' else entry
                value, this = parsed[token]
            append(token)
            if this < 0:  # the state stays as it is: each equal entry reads the same
                out += [token] * more
                k = run_end
                continue
            known = value in recent
            same_shape = this == shape
            if same_shape:  # a plain number's token is its value in decimal
                raw_cost += 1 if known else (len(token) if this == 0 else len(str(value)))
                delta_cost += step or len(str(value - prev))
            if not known:
                recent = (value, recent[0], recent[1], recent[2])
            prev, shape = value, this
            # Each equal entry after it reads as the same number (known, of the same shape, a
            # difference of 0) where it is read the same way: as it is, or as the difference 0
            # from a number of its shape.
            if more and (delta_cost >= raw_cost) == as_they_are and (as_they_are or (entry == b"0" and same_shape)):
                out += [token] * more
                raw_cost += more
                delta_cost += more
                k = run_end
        yield out


def _is_difference(entry: bytes) -> bool:
    """Whether *entry* reads as a difference (``_DELTA``: an optional minus, then 0 or up to 19
    digits without a leading zero), without the regular expression."""
    digits = entry[1:] if entry[:1] == b"-" else entry
    return 0 < len(digits) <= 19 and digits.isdigit() and (digits[0] != 0x30 or len(digits) == 1)


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
