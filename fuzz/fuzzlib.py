"""What the fuzz harnesses share: the records of a stream, their CRC32Cs recomputed, byte
mutations, and the atheris entry point.

sigmalang is imported inside the functions, never when this module is: an atheris harness imports
this module before its ``atheris.instrument_imports()`` block, and sigmalang is instrumented only
if that block is where it is first imported.
"""

from __future__ import annotations

import os
import random
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any


def records(data: bytes | bytearray) -> Iterator[tuple[Any, int]]:
    """Each record of every stream in *data* (a magic is passed over) and the offset where it
    ends, up to the first bytes that are not a whole record."""
    from sigmalang._container import MAGIC
    from sigmalang._errors import SigmaFormatError
    from sigmalang._wire import read_record

    pos = 0
    while pos < len(data):
        if data[pos : pos + len(MAGIC)] == MAGIC:
            pos += len(MAGIC)
            continue
        try:
            parsed = read_record(data, pos)
        except SigmaFormatError:
            return
        if parsed is None:
            return
        glyph, pos = parsed
        yield glyph, pos


def fix_crcs(data: bytes) -> bytes:
    """*data* with the CRC32C at the end of every record payload of every stream recomputed, so
    that damage gets past the checksums."""
    from crc32c import crc32c

    out = bytearray(data)
    for glyph, end in records(data):
        if len(glyph.payload) >= 4:
            out[end - 4 : end] = struct.pack("<I", crc32c(glyph.payload[:-4]))
    return bytes(out)


EXTREME_VALUES = [0, 1, 0x7F, 0x80, 0xFF, 2**16, 2**20, 2**26, 2**28 - 1, 2**31, 2**34, 2**60, 2**64 - 1]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """*data* with one to eight edits drawn from *rng*: bit flips, byte edits, insertions,
    deletions, truncation, copied and swapped ranges, varints of extreme values, a repeated tail.
    The same *rng* state gives the same edits."""
    from sigmalang._wire import encode_varint

    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(9)
        n = len(out)
        if op == 0 and n:  # flip a bit
            i = rng.randrange(n)
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # set a byte
            out[rng.randrange(n)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:  # insert bytes
            i = rng.randrange(n + 1)
            out[i:i] = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 16))))
        elif op == 3 and n:  # delete a range
            i = rng.randrange(n)
            del out[i : i + rng.choice((1, 2, 8, 64))]
        elif op == 4 and n:  # truncate
            del out[rng.randrange(n) :]
        elif op == 5 and n > 2:  # copy a range elsewhere
            i, j = sorted(rng.sample(range(n), 2))
            k = rng.randrange(n)
            out[k:k] = out[i:j][:4096]
        elif op == 6 and n > 4:  # swap two ranges
            i, j = sorted(rng.sample(range(n), 2))
            length = min(rng.choice((1, 4, 32, 256)), (j - i))
            a, b = bytes(out[i : i + length]), bytes(out[j : j + length])
            out[i : i + len(b)], out[j : j + len(a)] = b, a
        elif op == 7 and n:  # write a varint with an extreme value (sizes, offsets, counts)
            i = rng.randrange(n)
            v = encode_varint(rng.choice(EXTREME_VALUES))
            out[i : i + rng.choice((1, len(v)))] = v
        elif op == 8 and n > 8:  # repeat the tail (extra frames, streams)
            i = rng.randrange(n)
            out += out[i:][:8192]
    return bytes(out)


def fuzz(test_one_input: Callable[[bytes], None], write_seeds: Callable[[str], None]) -> None:
    """Run an atheris harness with this process's arguments: a first argument that is not a file
    (a finding to replay) is the corpus directory, and the seeds are written into it first."""
    import atheris

    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus and not os.path.isfile(corpus[0]):
        write_seeds(corpus[0])
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
