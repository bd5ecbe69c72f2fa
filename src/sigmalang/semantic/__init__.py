"""The lossless glyph transform of ΣLANG text: tokenizer, per-frame codebook, glyph code.

``encode(chunk) -> code`` and ``decode(code) -> chunk``; ``decode(encode(x)) == x`` for every
byte string. Entropy coding is not done here: the code is handed to a backend.
"""

from __future__ import annotations

from .codebook import Codebook, build_codebook
from .transform import SemanticDecodeError, decode, encode, worth_trying

__all__ = ["Codebook", "SemanticDecodeError", "build_codebook", "decode", "encode", "worth_trying"]
