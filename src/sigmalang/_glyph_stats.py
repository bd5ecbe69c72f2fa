"""One glyph code taken apart for ``sigmalang inspect``: glyphs by kind (each mapped to its
Σ-primitive), bytes of code and of text per kind, codebook uses, and the code's lines in readable
form. The glyphs come from the transform's own tokenizer (:mod:`sigmalang.semantic._tokens`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import primitives as P
from .semantic._tokens import glyphs
from .semantic.codebook import Codebook
from .semantic.lines import temporal_delta

__all__ = ["GLYPH_KINDS", "CodeAnalysis", "Histogram", "analyze_code", "render_bytes", "render_glyph_lines"]

# kind → (Σ-primitive name, what it is, in a user's words). One glyph of the code is exactly one
# kind; literal bytes are one glyph each, sorted by what the byte is. How each is written in the
# code: docs/FORMAT.md and docs/semantic.md.
GLYPH_KINDS: dict[str, tuple[str, str]] = {
    "reference-1": ("WORD", "words in the codebook (1-byte code)"),
    "reference-2": ("WORD", "words in the codebook (2-byte code)"),
    "capitalized": ("CASE", "Capitalized words in the codebook"),
    "upper": ("CASE", "UPPER-CASE words in the codebook"),
    "delta": ("QUANTITY", "numbers, as the change from the line before"),
    "line": ("LINE", "lines repeated from up to 128 lines before"),
    "line-coded": ("LINE", "lines repeated, once their numbers are coded"),
    "temporal": ("TEMPORAL", "timestamps, as the time since the one before"),
    "escape": ("LITERAL", "bytes 80-FF (non-ASCII), escaped"),
    "letters": ("LITERAL", "letters of other words"),
    "digits": ("NUMBER", "digits of other numbers"),
    "whitespace": ("WHITESPACE", "spaces and tabs"),
    "punctuation": ("PUNCTUATION", "punctuation and symbols"),
    "newline": ("NEWLINE", "line ends"),
    "control": ("LITERAL", "other control bytes"),
}
_LETTERS = bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B))
_DIGITS = b"0123456789"
_WHITESPACE = b" \t\x0b\x0c"
_NEWLINE = b"\r\n"
_PUNCTUATION = bytes(b for b in range(0x21, 0x7F) if b not in _LETTERS + _DIGITS)
_BYTE_CLASSES = {
    "letters": _LETTERS,
    "whitespace": _WHITESPACE,
    "punctuation": _PUNCTUATION,
    "newline": _NEWLINE,
}


@dataclass(slots=True)
class Histogram:
    """Per glyph kind: glyphs, bytes of glyph code, and bytes of original text they stand for."""

    glyphs: Counter[str] = field(default_factory=Counter)
    code_bytes: Counter[str] = field(default_factory=Counter)
    text_bytes: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, glyphs: int, code_bytes: int, text_bytes: int) -> None:
        self.glyphs[kind] += glyphs
        self.code_bytes[kind] += code_bytes
        self.text_bytes[kind] += text_bytes

    def update(self, other: Histogram) -> None:
        self.glyphs.update(other.glyphs)
        self.code_bytes.update(other.code_bytes)
        self.text_bytes.update(other.text_bytes)

    def rows(self) -> list[dict[str, Any]]:
        """One row per kind, in :data:`GLYPH_KINDS` order (kinds never seen included, as zeros)."""
        return [
            {
                "kind": kind,
                "primitive": str(P.by_name(name)),
                "meaning": meaning,
                "glyphs": self.glyphs[kind],
                "code_bytes": self.code_bytes[kind],
                "text_bytes": self.text_bytes[kind],
            }
            for kind, (name, meaning) in GLYPH_KINDS.items()
        ]


@dataclass(slots=True)
class CodeAnalysis:
    """One glyph code taken apart: its codebook, sizes, glyph histogram and reference uses."""

    codebook: Codebook
    codebook_bytes: int  # header and codebook words, before the body
    body_bytes: int
    histogram: Histogram
    uses: Counter[int]  # codebook rank → references to it (with or without a case modifier)


def analyze_code(code: bytes, size: int | None = None, stream_book: Codebook | None = None) -> CodeAnalysis:
    """Count every glyph of a semantic glyph code by kind; raises ``ValueError`` if it is damaged."""
    book, start, tokens = glyphs(code, size, stream_book)
    histogram = Histogram()
    uses: Counter[int] = Counter()
    literal: list[bytes] = []
    for kind, token, value in tokens:
        if kind == "literal":
            literal.append(token)
        elif kind == "digits":
            histogram.add(kind, len(token), len(token), len(token))
        elif kind == "delta":
            histogram.add(kind, 1, len(token), value)
        elif kind == "escape":
            histogram.add(kind, 1, 2, 1)
        elif kind in ("line", "line-coded", "temporal"):
            histogram.add(kind, 1, len(token), value)
        else:
            uses[value] += 1
            histogram.add(kind, 1, len(token), len(book.words[value]))
    text = b"".join(literal)  # runs of literal bytes (digits are glyphs of their own)
    for kind, members in _BYTE_CLASSES.items():
        rest = text.translate(None, members)
        count = len(text) - len(rest)
        histogram.add(kind, count, count, count)
        text = rest
    histogram.add("control", len(text), len(text), len(text))
    return CodeAnalysis(book, start, len(code) - start, histogram, uses)


def render_bytes(data: bytes) -> str:
    """Bytes as readable text: printable ASCII as is; tab, CR and other bytes escaped (``\\xNN``)."""
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        elif byte == 0x09:
            out.append("\\t")
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x0A:
            out.append("\\n")
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def render_glyph_lines(
    code: bytes, count: int, size: int | None = None, stream_book: Codebook | None = None
) -> list[str]:
    """The first *count* lines of the code's body, one readable string per line (no line end).

    ``[word]`` is a 1-byte reference, ``{word}`` a 2-byte one, ``[Cap:word]`` and ``[UP:word]``
    case-modified references, ``[+12]`` a number delta, ``[time +7]`` a timestamp 7 units of its
    last digit after the one before, ``\\xNN`` an escaped byte; literal
    text is shown as it is.
    """
    book, _, tokens = glyphs(code, size, stream_book)
    lines: list[str] = []
    if count <= 0:
        return lines
    line: list[str] = []
    for kind, token, value in tokens:
        if kind == "literal":
            *ends, last = token.split(b"\n")
            for piece in ends:
                lines.append("".join(line) + render_bytes(piece))
                line = []
                if len(lines) == count:
                    return lines
            line.append(render_bytes(last))
        elif kind == "digits":
            line.append(token.decode("ascii"))
        elif kind == "delta":
            line.append(f"[+{token[1:].decode('ascii')}]")
        elif kind == "escape":
            line.append(f"\\x{token[1]:02x}")
        elif kind in ("line", "line-coded"):
            line.append(f"[{'line' if kind == 'line' else 'coded line'} -{token[1] - 0x7F}]")
        elif kind == "temporal":
            line.append(f"[time {temporal_delta(token):+d}]")  # the change, not the form's number
        else:
            word = render_bytes(book.words[value])
            prefix = {"capitalized": "Cap:", "upper": "UP:"}.get(kind, "")
            line.append(f"{{{word}}}" if kind == "reference-2" else f"[{prefix}{word}]")
    if line and len(lines) < count:
        lines.append("".join(line))
    return lines
