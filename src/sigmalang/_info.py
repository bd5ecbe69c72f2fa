"""``sigmalang info``: what each stream of a file holds, read from its records without decoding any frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from ._container import EndOfStream
from ._frames import FrameReader
from ._stream_records import StreamHeader

__all__ = ["DEFAULT_READ_SIZE", "StreamInfo", "read_info"]

DEFAULT_READ_SIZE = 256 << 10


@dataclass
class StreamInfo:
    """What ``sigmalang info`` shows about one stream, read without decoding any frame."""

    version: int
    level: int
    chunk_size: int
    shared_context: bool
    frames: int
    original_size: int
    encoded_size: int
    checksum: str
    codebook: str = ""  # hex id of the codebook the stream needs ("" for none)
    filter_size: int = 0  # bytes of search filters in the index (counted in encoded_size)

    @property
    def ratio(self) -> float:
        return self.original_size / self.encoded_size if self.encoded_size else 0.0


def read_info(src: IO[bytes], read_size: int = DEFAULT_READ_SIZE) -> list[StreamInfo]:
    """Scan every stream in *src*, checking the container (CRCs, index) but decoding no frame."""
    infos: list[StreamInfo] = []
    reader = FrameReader(check_codebook=False)
    header: StreamHeader | None = None
    while data := src.read(read_size):
        reader.feed(data)
        for event in reader.events():
            if isinstance(event, StreamHeader):
                header = event
            elif isinstance(event, EndOfStream):
                assert header is not None
                infos.append(_info(header, event))
    reader.close(strict=False)
    return infos


def _info(header: StreamHeader, end: EndOfStream) -> StreamInfo:
    index = end.index
    return StreamInfo(
        header.version,
        header.level,
        header.chunk_size,
        header.shared_context,
        index.count,
        index.total_size,
        end.size,
        index.checksum.hex(),
        header.codebook_id.hex(),
        len(index.extension),
    )
