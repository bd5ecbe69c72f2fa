"""Entropy backends behind one small interface: ``encode(bytes) -> bytes`` and
``decode(bytes, size) -> bytes``, where *size* is the exact decoded length.

Backends know nothing of glyphs or frames. Each has a one-byte id that frames store.

*prime* (shared-context frames, docs/FORMAT.md §7.5) is input that both sides
already have: the backend's model is trained on it first, so the encoding of *data* can refer to
it, and the payload holds only what encodes *data*. Store cannot be primed.

The ids, :class:`BackendError` and the :class:`Backend` interface are
:mod:`sigmalang._backend_base`; the PPMd backend and its constants are :mod:`sigmalang._backend_ppmd`.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import zstandard

from ._backend_base import CM, PPMD, STORE, ZSTD, Backend, BackendError
from ._backend_ppmd import PpmdBackend
from ._wire import encode_varint, read_varint

__all__ = [
    "BACKENDS",
    "CmBackend",
    "MIN_PAYLOAD",
    "StoreBackend",
    "ZstdBackend",
    "get_backend",
]


class StoreBackend:
    id = STORE
    name = "store"

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        if prime:
            raise ValueError("store cannot be primed")
        return bytes(data)

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        if prime:
            raise BackendError("a stored frame cannot continue a context")
        if len(data) != size:
            raise BackendError(f"stored data is {len(data)} bytes, expected {size}")
        return bytes(data)


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class ZstdBackend:
    """Zstandard via the ``zstandard`` package, single-threaded so output is deterministic."""

    id = ZSTD
    name = "zstd"

    def __init__(self, level: int = 3):
        self.level = level
        self._compressor = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False)
        # A frame never holds more than its chunk, so the window never needs to exceed 64 MiB.
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=1 << 26)

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        if not prime:
            return bytes(self._compressor.compress(data))
        compressor = zstandard.ZstdCompressor(
            level=self.level,
            dict_data=_raw_dict(prime),
            write_content_size=True,
            write_checksum=False,
            write_dict_id=False,
        )
        return bytes(compressor.compress(data))

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        if size == 0:
            if data:
                raise BackendError("zstd data present for an empty chunk")
            return b""
        if data[:4] != ZSTD_MAGIC:  # also refuses skippable frames (magic 0x184D2A5?)
            raise BackendError("zstd data does not start with a Zstandard frame")
        try:
            params = zstandard.get_frame_parameters(data)
            if params.content_size != size:
                raise BackendError(f"zstd frame declares {params.content_size} bytes, expected {size}")
            if params.dict_id:
                raise BackendError("zstd frame names a dictionary")
            decompressor = self._decompressor
            if prime:
                decompressor = zstandard.ZstdDecompressor(dict_data=_raw_dict(prime), max_window_size=1 << 26)
            out = decompressor.decompress(data, max_output_size=size, allow_extra_data=False)
        except zstandard.ZstdError as exc:
            raise BackendError(f"zstd: {exc}") from None
        if len(out) != size:
            raise BackendError(f"zstd decoded {len(out)} bytes, expected {size}")
        return bytes(out)

    def memory_usage(self) -> int:
        """Bytes of native memory the compression context uses, as zstd estimates it."""
        params = zstandard.ZstdCompressionParameters.from_level(self.level)
        return int(params.estimated_compression_context_size())


def _raw_dict(prime: bytes) -> zstandard.ZstdCompressionDict:
    """*prime* as a raw-content zstd dictionary (no entropy tables, id 0: nothing to name)."""
    return zstandard.ZstdCompressionDict(prime, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


CM_VERSION = 5  # the newest model version (docs/FORMAT.md §7.2); every one in CM_VERSIONS is read
CM_VERSIONS = (1, 2, 3, 4, 5)


def cm_writer_version(components: int) -> int:
    """The model version writers use for *components*: the oldest that knows them all, so that a
    set an older version codes is written as it was (5 with the word-skip context, 4 with the
    indirect or order-5 context), except that a set without the word context is written in
    version 2: version 3's order-8 context pays beside the word contexts; without them (level 4's
    fast set), version 2's order 6 codes prose 0.8-1.2% smaller (docs/cm.md, "Model version 3")."""
    from . import _cm

    if components & ~_cm.COMPONENTS_OF[4]:
        return 5
    if components & ~_cm.COMPONENTS_OF[3]:
        return 4
    return 3 if components >> _cm.C_WORD & 1 else 2


# The longest primer a CM frame may ask for. Modelling a primer costs as much as decoding, before
# the payload can be checked, so a decoder bounds it; writers prime with at most 256 KiB.
CM_MAX_PRIME = 256 << 10
CM_SLOTS_PER_BYTE_BITS = 4  # tables sized to 16 slots per input byte when that is below the level's size
CM_DEFAULT_COMPONENTS = 0xFFFF
# In a CM payload's component set, beside the model's components: the model was first primed
# with the stream's codebook (its primer, :meth:`sigmalang.semantic.codebook.Codebook.primer`),
# then with the frame's context if it has one (docs/FORMAT.md §7.2).
CM_BOOK = 1 << 16
CM_DEFAULT_HASH_BITS = 22
# In a CM payload's component set: byte trees of the payload's own follow the set (docs/FORMAT.md
# §7.2, "Byte trees"). The encoder gives trees to an input of at least CM_TREES_MIN bytes modelled
# without a primer (a shorter one codes larger with them: the model learns them more slowly than
# the bits), unless it was made without: shaped by the input's byte counts, they take a byte of
# text in about 5.6-6.7 decisions instead of 8, and the model's time is mostly per decision
# (docs/cm.md, "Byte trees").
CM_TREES = 1 << 18
CM_TREES_CANONICAL = 1 << 17  # in the byte trees field's mask: the given trees' leaves are in canonical order
CM_TREES_MIN = 1 << 20
CM_TREES_SAVE = 16  # ... and where they save at least 1/16 of the decisions (not on random bytes)
# A record code (transform 4) codes larger with all its trees cut, but not with its high nibble's
# tree flat: it gets the trees of the rows (the low nibbles) that each save at least
# 1/CM_ROW_TREES_SAVE of its decisions, from CM_RECORD_TREES_MIN bytes (docs/cm.md, "Byte trees
# for record codes").
CM_RECORD_TREES_MIN = 512 << 10
CM_ROW_TREES_SAVE = 50
# A codebook's primer is read by the model once per thread and kept (_cm.Primed), rather than once
# per payload, from the third payload of a thread with the same primer and parameters (one small
# file coded both as bytes and as records makes two: it keeps nothing), when the primer is at least
# a fifth of what the model reads (small frames, small files) and the tables are at most 2^21 slots
# (58.5 MiB). One is kept per thread, and dropped when a larger payload with a primer comes (its
# tables need the memory more). Keeping changes no output byte.
CM_KEEP_PRIMER_SHARE = 5
CM_KEEP_MAX_BITS = 21
CM_KEEP_AFTER = 2  # payloads that read the primer themselves first


class CmBackend:
    """Our context-mixing model (``_cm``), with its parameters in the payload.

    Payload: model version (1 byte: 5, 4, 3 or 2 written by component set (:func:`cm_writer_version`);
    1-5 read) | hash-table size as a power of two (1 byte, 12-24) |
    component set (LEB128 varint, a subset of ``_cm.COMPONENTS_ALL``, and ``CM_BOOK`` when the
    model was primed with the stream's codebook, ``CM_TREES`` when byte trees follow) | with
    ``CM_TREES``, the trees (:func:`encode_trees`) | the arithmetic-coded bits. The decoder checks
    the parameters before it allocates anything, decodes exactly *size*
    bytes and requires the coded bits to end exactly at the payload's end.
    """

    id = CM
    name = "cm"

    def __init__(
        self,
        components: int = CM_DEFAULT_COMPONENTS,
        hash_bits: int = CM_DEFAULT_HASH_BITS,
        version: int | None = None,
        book: bytes = b"",
        trees: bool = True,
        record_code: bool = False,
    ):
        from . import _cm

        if version is None:
            version = cm_writer_version(components)
        if version not in CM_VERSIONS:  # an older version is written only to test its decoder
            raise ValueError(f"unknown CM model version {version}")
        if components & ~_cm.COMPONENTS_OF[version]:
            raise ValueError(f"unknown CM components {components:#x} for model version {version}")
        if not _cm.HASH_BITS_MIN <= hash_bits <= _cm.HASH_BITS_MAX:
            raise ValueError(f"CM hash bits must be {_cm.HASH_BITS_MIN}-{_cm.HASH_BITS_MAX}, got {hash_bits}")
        self.components = components
        self.hash_bits = hash_bits
        self.version = version
        self.book = book  # a codebook's primer: payloads are primed with it (CM_BOOK)
        self.trees = trees  # whether the encoder may give a payload byte trees of its own (CM_TREES)
        self.record_code = record_code  # whether what it encodes is a record code (its trees: given_trees)

    def without_trees(self) -> CmBackend:
        """This backend, writing the flat trees only."""
        return CmBackend(self.components, self.hash_bits, self.version, self.book, False, self.record_code)

    def for_record_code(self) -> CmBackend:
        """This backend for record codes (transform 4), which get trees of their own kind
        (:func:`given_trees`)."""
        return CmBackend(self.components, self.hash_bits, self.version, self.book, self.trees, True)

    def with_book(self, primer: bytes) -> CmBackend:
        """This backend with a codebook's primer: what it encodes is primed with it first, and
        it can decode payloads that were."""
        return CmBackend(self.components, self.hash_bits, self.version, primer, self.trees, self.record_code)

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        return cast(bytes, self.encode_at_most(data, prime, None))  # None only where a limit stopped it

    def encode_at_most(self, data: bytes, prime: bytes, limit: int | None) -> bytes | None:
        """:meth:`encode`'s payload if it is at most *limit* bytes long, else None: the model stops
        coding as soon as its output passes the limit. A caller that keeps the shorter of two
        codings of a chunk codes the second one this way, with the first one's length as the
        limit. Raises :class:`BackendError` as :meth:`encode` does (a primer too long, or an output
        past the bound every payload is held to, where that bound is below the limit)."""
        import numpy as np

        from . import _cm

        if len(prime) > CM_MAX_PRIME:  # no decoder would accept it; the codec falls back to zstd
            raise BackendError(f"CM primer of {len(prime):,} bytes is longer than {CM_MAX_PRIME:,}")
        buf = np.frombuffer(self.book + prime + data, dtype=np.uint8).copy()
        hash_bits = self.table_bits(len(buf))
        tree, trees = None, b""
        given = None
        if self.trees and len(buf) == len(data):
            given = given_trees(buf, self.components, self.version, self.record_code)
        if given is not None:
            trees = encode_trees(*given)
            tree = _cm.tree_table(*given)
        components = self.components | (CM_BOOK if self.book else 0) | (CM_TREES if trees else 0)
        header = bytes([self.version, hash_bits]) + encode_varint(components) + trees
        # Coded bits can exceed the input only slightly (12 bits per bit at the very worst, far
        # less in practice): past this bound the caller stores the chunk anyway.
        bound = len(data) + (len(data) >> 3) + 64
        if limit is not None:
            if limit < len(header):
                return None
            bound = min(bound, limit - len(header))
        out = np.empty(bound, dtype=np.uint8)
        start = len(buf) - len(data)
        primed = _kept_primer(self.book, len(buf), self.components, hash_bits, self.version)
        written = _cm.code(
            buf,
            start,
            False,
            _no_array(),
            out,
            self.components,
            hash_bits,
            version=self.version,
            primed=primed,
            tree=tree,
        )
        if written < 0:  # the kernel stopped: the output would not fit
            if limit is not None and bound == limit - len(header):
                return None
            raise BackendError("CM output larger than its bound")
        return header + out[:written].tobytes()

    def table_bits(self, size: int) -> int:
        """The hash-table size (a power of two) the encoder uses for *size* bytes of primer and
        input: a small input gets small tables, the same model with far less memory to touch."""
        from . import _cm

        return max(_cm.HASH_BITS_MIN, min(self.hash_bits, size.bit_length() + CM_SLOTS_PER_BYTE_BITS))

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        return self._decode(data, size, prime, None)

    def decode_costs(self, data: bytes, size: int) -> tuple[bytes, Any]:
        """:meth:`decode` (no context primer), and what coding each byte cost: an int32 array, in
        ``_cm.COST_SCALE``-ths of a bit (what ``sigmalang inspect`` shows)."""
        import numpy as np

        costs = np.zeros(size, dtype=np.int32)
        return self._decode(data, size, b"", costs), costs

    def _decode(self, data: bytes, size: int, prime: bytes, costs: Any) -> bytes:
        import numpy as np

        from . import _cm

        version, components, hash_bits, start, tree = self._parameters(data)
        if len(data) - start < 4:  # the coder's first read: refused before any table is made
            raise BackendError("CM stream does not end where expected")
        if len(prime) > CM_MAX_PRIME:
            raise BackendError(f"CM frame continues a context of {len(prime):,} bytes, more than {CM_MAX_PRIME:,}")
        components_book = bool(components & CM_BOOK)
        if components_book:
            if not self.book:
                raise BackendError("CM frame was primed with the stream's codebook, and the stream names none")
            prime = self.book + prime
            components &= ~CM_BOOK
        buf = np.zeros(len(prime) + size, dtype=np.uint8)
        buf[: len(prime)] = np.frombuffer(prime, dtype=np.uint8)
        payload = np.frombuffer(data, dtype=np.uint8)[start:].copy()
        primed = None
        if costs is None and components_book and tree is None:
            primed = _kept_primer(self.book, len(buf), components, hash_bits, version)
        counted = costs if costs is None or not prime else np.zeros(len(buf), dtype=np.int32)  # primer's too
        result = _cm.code(
            buf,
            len(prime),
            True,
            payload,
            _no_array(),
            components,
            hash_bits,
            version=version,
            costs=counted,
            primed=primed,
            tree=tree,
        )
        if result != 0:
            raise BackendError("CM stream does not end where expected")
        if counted is not costs:
            costs[:] = counted[len(prime) :]
        return buf[len(prime) :].tobytes()

    @staticmethod
    def _parameters(data: bytes) -> tuple[int, int, int, int, Any]:
        """The payload's version, component set (without CM_TREES), hash bits, where its coded bytes
        start and its byte trees' table (None: the flat trees)."""
        from . import _cm

        if len(data) < 3:
            raise BackendError("CM payload ends inside its parameters")
        if data[0] not in CM_VERSIONS:
            raise BackendError(f"unknown CM model version {data[0]}")
        hash_bits = data[1]
        components, start = read_varint(data, 2, 3, lambda _: BackendError("CM payload ends inside its parameters"))
        known = _cm.COMPONENTS_OF[data[0]]
        if not _cm.HASH_BITS_MIN <= hash_bits <= _cm.HASH_BITS_MAX or components & ~(known | CM_BOOK | CM_TREES):
            raise BackendError(f"CM parameters out of range: {hash_bits} hash bits, components {components:#x}")
        tree = None
        if components & CM_TREES:
            _, _, tree, start = read_trees(data, start)
        return data[0], components & ~CM_TREES, hash_bits, start, tree

    def memory_usage(self) -> int:
        """Bytes of model tables one encoder or decoder allocates."""
        from . import _cm

        return _cm.model_memory(self.hash_bits)


def given_trees(
    data: Any, components: int, version: int, record_code: bool = False
) -> tuple[list[tuple[int, ...]], bool] | None:
    """The byte trees the encoder gives an unprimed input (bytes, or a uint8 array) coded with
    *components* in model *version*, and whether their leaves are in canonical order (trees whose
    leaves read the same in value order are written without saying so: :func:`encode_trees`); None where
    it writes the flat ones: an input shorter than CM_TREES_MIN (a *record_code*, CM_RECORD_TREES_MIN),
    or whose trees would save less than 1/CM_TREES_SAVE of its decisions (or none: flat trees are
    never given). Running text (the sets levels 5-8 write for paragraphs) gets Huffman-shaped trees
    in canonical order where its bytes allow them (docs/cm.md, "Huffman-shaped trees for running
    text"); a record code, the trees of the rows that save enough (:func:`_row_trees`); other
    inputs, trees cut in value order."""
    import numpy as np

    from . import _cm

    if len(data) < (CM_RECORD_TREES_MIN if record_code else CM_TREES_MIN):
        return None
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).tolist()
    if record_code:
        depths, canonical = _row_trees(counts), False
    else:
        running_text = bool(_cm.full_copy(components, version) & _cm.COPY_PARAGRAPHS)
        canonical = running_text and _cm.canonical_trees(counts)
        depths = _cm.tree_depths(counts, canonical)
    if CM_TREES_SAVE * _cm.tree_decisions(depths, counts) > (CM_TREES_SAVE - 1) * 8 * len(data):
        return None
    if all(tree == _cm.FLAT_DEPTHS for tree in depths):
        return None
    return depths, canonical


def _row_trees(counts: list[int]) -> list[tuple[int, ...]]:
    """A record code's trees, from its byte *counts*: tree 0 (the high nibble's) flat, and each
    row's tree cut by counts where it saves at least 1/CM_ROW_TREES_SAVE of the code's decisions
    (in logs, the rows of line feeds and of digits), else flat (a tree costs 8 bytes)."""
    from . import _cm

    decisions = 8 * sum(counts)  # the code's, down the flat trees
    trees: list[tuple[int, ...]] = [_cm.FLAT_DEPTHS]
    for row, tree in enumerate(_cm.tree_depths(counts)[1:]):
        saved = sum(n * (4 - depth) for n, depth in zip(counts[16 * row : 16 * row + 16], tree, strict=True))
        trees.append(tree if CM_ROW_TREES_SAVE * saved >= decisions else _cm.FLAT_DEPTHS)
    return trees


def _in_value_order(depths: tuple[int, ...]) -> bool:
    """Whether a tree's leaves in canonical order are its leaves in value order (depths that never
    fall from one value to the next): the same tree read either way."""
    return all(depths[v] <= depths[v + 1] for v in range(len(depths) - 1))


def encode_trees(depths: list[tuple[int, ...]], canonical: bool = False) -> bytes:
    """The byte trees' field of a CM payload (docs/FORMAT.md §7.2): a canonical varint whose bit t
    says that tree t is given, and bit CM_TREES_CANONICAL that the given trees' leaves are in
    canonical order, then each given tree's 16 leaf depths, two to a byte (the first in the low
    four bits); a tree not given is flat, and a flat tree is never given. Empty where every tree
    is flat (the payload then has no trees). *canonical* trees that all read the same in value
    order are written without the bit (each payload has one spelling)."""
    from . import _cm

    mask, body = 0, bytearray()
    for t, tree in enumerate(depths):
        if tuple(tree) != _cm.FLAT_DEPTHS:
            mask |= 1 << t
            body += bytes(tree[j] | tree[j + 1] << 4 for j in range(0, 16, 2))
    if mask and canonical and not all(_in_value_order(tuple(tree)) for tree in depths):
        mask |= CM_TREES_CANONICAL
    return encode_varint(mask) + bytes(body) if mask else b""


def read_trees(data: bytes, at: int) -> tuple[list[tuple[int, ...]], bool, Any, int]:
    """The 17 trees' leaf depths of a CM payload's tree field at *at*, whether their leaves are in
    canonical order, the kernel's table of them (:func:`sigmalang._cm.tree_table`) and where the
    field ends; :class:`BackendError` for a field that ends early, a mask that is not a canonical
    varint of at most 3 bytes, names no tree or a tree past the 17th, depths that make no tree or
    the flat one, or trees marked canonical that all read the same in value order."""
    from . import _cm

    mask, at = read_varint(data, at, 3, lambda _: BackendError("CM payload ends inside its byte trees"))
    canonical = bool(mask & CM_TREES_CANONICAL)
    given = mask & ~CM_TREES_CANONICAL
    if not 0 < given < 1 << _cm.N_TREES or mask >= CM_TREES_CANONICAL << 1:
        raise BackendError(f"CM byte trees out of range: mask {mask:#x}")
    depths: list[tuple[int, ...]] = []
    for t in range(_cm.N_TREES):
        if not given >> t & 1:
            depths.append(_cm.FLAT_DEPTHS)
            continue
        field = data[at : at + 8]
        if len(field) < 8:
            raise BackendError("CM payload ends inside its byte trees")
        at += 8
        tree = tuple(d for byte in field for d in (byte & 15, byte >> 4))
        if tree == _cm.FLAT_DEPTHS:
            raise BackendError(f"CM byte tree {t} is given flat")
        depths.append(tree)
    if canonical and all(map(_in_value_order, depths)):
        raise BackendError("CM byte trees marked canonical read the same in value order")
    try:
        return depths, canonical, _cm.tree_table(depths, canonical), at
    except ValueError as exc:
        raise BackendError(f"CM {exc}") from None


def _kept_primer(book: bytes, size: int, components: int, hash_bits: int, version: int) -> Any:
    """The model primed with *book* for a payload of these parameters that reads *size* bytes in
    all, from this thread's one kept model, or None: the payload then reads the book itself. Either
    way the payload's bytes are the same (CM_KEEP_PRIMER_SHARE and the lines above it)."""
    if not book:
        return None
    if len(book) * CM_KEEP_PRIMER_SHARE < size or hash_bits > CM_KEEP_MAX_BITS:
        _local.primed = None
        return None
    from . import _cm

    key = (book, components, hash_bits, version)
    kept = getattr(_local, "primed", None)
    if kept is not None and (kept.primer, kept.components, kept.hash_bits, kept.version) == key:
        return kept
    seen, count = getattr(_local, "seen", (None, 0))
    count = count + 1 if seen == key else 1
    _local.seen = (key, count)
    if count <= CM_KEEP_AFTER:
        return None
    _local.primed = None  # the old one goes before the new one is made
    _local.primed = _cm.prime(book, components, hash_bits, version)
    return _local.primed


def _no_array() -> Any:
    import numpy as np

    return np.zeros(0, dtype=np.uint8)


BACKENDS = {STORE: "store", ZSTD: "zstd", PPMD: "ppmd", CM: "cm"}
# The shortest payload a backend ever writes: a chunk no longer than this is stored without trying.
MIN_PAYLOAD = {CM: 7}  # 3 bytes of parameters and the coder's 4 final bytes


_local = threading.local()


def get_backend(backend_id: int, level: int = 0, memory_mib: int = 0, *, verify: bool = False) -> Backend:
    """A backend instance, cached per thread (codec contexts are not thread-safe).

    *level* is the backend's own level (zstd level, PPMd model order) and *memory_mib* the PPMd
    model size; both only matter for encoding, since decoders read what they need from the
    payload. Raises ``KeyError`` for an unknown id.
    """
    cache: dict[tuple[int, int, int, bool], Backend] = _local.__dict__.setdefault("backends", {})
    key = (backend_id, level, memory_mib, verify)
    backend = cache.get(key)
    if backend is None:
        if backend_id == STORE:
            backend = StoreBackend()
        elif backend_id == ZSTD:
            backend = ZstdBackend(level or 3)
        elif backend_id == PPMD:
            backend = PpmdBackend(level or 6, memory_mib or 16, verify=verify)
        elif backend_id == CM:
            backend = CmBackend(level or CM_DEFAULT_COMPONENTS, memory_mib or CM_DEFAULT_HASH_BITS)
        else:
            raise KeyError(backend_id)
        cache[key] = backend
    return backend
