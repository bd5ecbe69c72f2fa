"""Exceptions raised by sigmalang.

::

    SigmaError                      base of everything this package raises on bad data
    ├── SigmaFormatError            damaged, truncated or hostile stream (frame number, byte offset)
    │   └── SigmaTruncatedError     the stream ends before its trailer (also an ``EOFError``, as in lzma)
    ├── SigmaCodebookError          a stream needs a codebook that is missing or different
    └── WorkerError                 a worker process died, or the codec failed for a reason not about the data

Misuse of the API raises the standard library's ``ValueError``, ``TypeError`` or
``io.UnsupportedOperation`` instead.
"""

from __future__ import annotations

__all__ = ["SigmaCodebookError", "SigmaError", "SigmaFormatError", "SigmaTruncatedError", "WorkerError"]


class SigmaError(Exception):
    """Base class of the errors sigmalang raises about data."""


class SigmaFormatError(SigmaError):
    """The stream is not valid ΣLANG: damaged, truncated, or not ΣLANG at all.

    *frame* is the 0-based number of the frame where the problem was found (``None`` when it is
    outside any frame, e.g. in the stream header) and *offset* the byte offset, from the start of
    the input, of the record that is wrong.
    """

    def __init__(self, reason: str, *, frame: int | None = None, offset: int | None = None):
        self.reason = reason
        self.frame = frame
        self.offset = offset
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        return f"{self.reason} ({', '.join(where)})" if where else self.reason

    def located(self, *, frame: int | None = None, offset: int | None = None) -> SigmaFormatError:
        """Return a copy of this error with the location filled in where it was unknown."""
        return type(self)(
            self.reason,
            frame=self.frame if self.frame is not None else frame,
            offset=self.offset if self.offset is not None else offset,
        )


class SigmaTruncatedError(SigmaFormatError, EOFError):
    """The stream ended before its trailer (cut transfer, partial file).

    It is also an :class:`EOFError`, which is what ``lzma`` and ``bz2`` file objects raise for
    a stream that ends early, so code written for them catches it unchanged.
    """


class SigmaCodebookError(SigmaError):
    """The stream names a codebook that was not given, or a different one was given."""


class WorkerError(SigmaError):
    """The chunk codec failed for a reason that is not about the data.

    A worker process died (killed, out of memory), or the codec raised an exception that is not a
    :class:`SigmaError` (a bug); the original exception, if any, is the ``__cause__``.
    """
