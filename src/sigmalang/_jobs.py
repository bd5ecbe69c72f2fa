"""What a worker process runs: one chunk, one run of a shared-context stream, one frame.

These live in a module of their own, beside the codec and the frames layer, so that a worker
imports only what coding needs (the package's ``__init__`` is lazy). A stream codebook is sent to
each worker once, by the pool's warm-up (:func:`install_codebook`), and jobs then name it by its
id, so that it is not pickled with every chunk.
"""

from __future__ import annotations

from typing import Any

from ._chunking import Chunk
from ._codec import encode_chunk
from ._frames import FrameContext, code_frames, decode_frame
from ._levels import AUTO
from ._stream_records import Frame
from .semantic.codebook import Codebook

__all__ = ["WARM_UP_TEXT", "BookRef", "decode_job", "encode_job", "encode_run_job", "install_codebook", "warm_up"]

# Encoded once by each new worker, so codec contexts (and codebooks) are ready before the first chunk.
WARM_UP_TEXT = b"The quick brown fox, 42 times: 2024-01-01T00:00:00Z INFO warm-up\n" * 4

_installed: dict[bytes, Codebook] = {}
BookRef = Codebook | bytes | None  # a book, or the id of one installed in this process


def install_codebook(book: Codebook) -> bytes:
    """Keep *book* in this process, so that jobs can name it by its id; returns the id."""
    book_id = book.id
    _installed[book_id] = book
    return book_id


def _resolve(book: BookRef) -> Codebook | None:
    if book is None or isinstance(book, Codebook):
        return book
    try:
        return _installed[book]
    except KeyError:
        raise RuntimeError(f"codebook {book.hex()} was not installed in this worker") from None


def warm_up(text: bytes, level: int, book: Codebook | None = None, form: str = AUTO) -> None:
    """A new worker's initializer: install the stream's codebook and encode *text* once."""
    if book is not None:
        install_codebook(book)
    encode_chunk(text, level, book, form=form)


def encode_options(level: int, book: BookRef = None, form: str = AUTO) -> dict[str, Any]:
    """The keywords of an encode job: *level*, and *book* and *form* when not their defaults (a job
    at the defaults is the partial it always was)."""
    options: dict[str, Any] = {"level": level}
    if book is not None:
        options["book"] = book
    if form != AUTO:
        options["form"] = form
    return options


def encode_job(chunk: Chunk, level: int, book: BookRef = None, form: str = AUTO) -> tuple[int, int, bytes]:
    """One chunk of a stream of independent frames: transform, backend and frame body. *form* is
    what the chunk is taken for (``auto``, ``text`` or ``logs``)."""
    encoded = encode_chunk(chunk.data, level, _resolve(book), form=form)
    return encoded.transform, encoded.backend, encoded.data


def encode_run_job(
    chunks: list[Chunk],
    level: int,
    book: BookRef = None,
    context: FrameContext | None = None,
    form: str = AUTO,
) -> list[tuple[int, int, bytes, bool]]:
    """A run of a shared-context stream: chunks from one reset point (a frame number that is a
    multiple of RESET_INTERVAL) to the next, coded in order with a context of their own. The
    result is what a writer coding every chunk in order would write. Inline, *context* carries on
    from the previous call instead (runs of any length)."""
    if context is None:
        context = FrameContext()
        context.frames = chunks[0].number if chunks else 0
    coded = code_frames((chunk.data for chunk in chunks), level, _resolve(book), context, form=form)
    return [(encoded.transform, encoded.backend, encoded.data, encoded.continues) for _, encoded in coded]


def decode_job(frame: Frame, book: BookRef = None) -> bytes:
    """One frame of a stream of independent frames (see :func:`encode_job`)."""
    return decode_frame(frame, _resolve(book))
