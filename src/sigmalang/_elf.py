"""Load a relocatable x86-64 ELF object (the CM kernel's cached machine code) into this process.

llvmlite's JIT linker can do this too, but loading its library costs about 50 MiB of memory in
every process that codes a CM frame. The kernel's object is simple: compiled for the large code
model, it refers to other places by absolute 64-bit addresses (``R_X86_64_64``) or 64-bit
distances (``R_X86_64_PC64``), and to outside symbols only on error paths it never takes. This
module copies its allocated sections into one block of executable memory, applies those
relocations (and places the few zero-filled variables it declares, "common" symbols) and returns
the address of the entry point. It returns None for anything it does not
handle (another machine, another relocation, a symbol it cannot find, memory that cannot be made
executable), and the caller then uses llvmlite; it raises ValueError for an object that is not
well formed (every offset and size is checked before it is used).
"""

from __future__ import annotations

import ctypes
import mmap
import platform
import struct
import sys
from collections.abc import Callable

__all__ = ["HERE", "load", "placement"]

HERE = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")  # where compiled objects are its kind

_SHF_ALLOC = 0x2
_SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS = 2, 4, 8
_SHT_X86_64_UNWIND = 0x70000001  # .eh_frame: unwind tables, not needed to run the code
_SHN_UNDEF, _SHN_LORESERVE, _SHN_ABS, _SHN_COMMON = 0, 0xFF00, 0xFFF1, 0xFFF2
_R_X86_64_64, _R_X86_64_PC64 = 1, 24
_EM_X86_64, _ET_REL = 62, 1
_MAX_IMAGE = 64 << 20  # far above the kernel's size (about 30 KB): an object claiming more is damaged
_blocks: list[mmap.mmap] = []  # the loaded code: kept for the life of the process


class _Section:
    __slots__ = ("flags", "index", "info", "kind", "link", "offset", "size", "align", "entsize")

    def __init__(self, index: int, fields: tuple[int, ...]) -> None:
        _, self.kind, self.flags, _, self.offset, self.size, self.link, self.info, self.align, self.entsize = fields
        self.index = index


def _sections(obj: bytes) -> list[_Section] | None:
    if len(obj) < 64 or obj[:4] != b"\x7fELF":
        raise ValueError("not an ELF object")
    if obj[4] != 2 or obj[5] != 1:  # 64-bit, little-endian
        return None
    e_type, machine = struct.unpack_from("<HH", obj, 16)
    if machine != _EM_X86_64 or e_type != _ET_REL:
        return None
    (shoff,) = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    if shentsize != 64 or shoff > len(obj) or shnum * 64 > len(obj) - shoff:
        raise ValueError("section table outside the object")
    sections = [_Section(i, struct.unpack_from("<IIQQQQIIQQ", obj, shoff + 64 * i)) for i in range(shnum)]
    for section in sections:
        if section.kind != _SHT_NOBITS and (section.offset > len(obj) or section.size > len(obj) - section.offset):
            raise ValueError("section outside the object")
        if section.align & (section.align - 1) or section.align > 4096:
            raise ValueError("bad section alignment")
    return sections


def load(obj: bytes, symbol: str, external: Callable[[str], int | None]) -> int | None:
    """The address of *symbol* once *obj* is loaded, or None if this loader cannot load it.
    *external* gives the address of a symbol the object refers to but does not define."""
    try:
        return _load(obj, symbol, external)
    except (struct.error, IndexError, KeyError) as exc:
        raise ValueError(f"malformed object: {exc}") from exc


def placement(sections: list[_Section]) -> tuple[dict[int, int], int]:
    """Where the loader lays out the allocated sections in one block, each at its alignment: each
    one's offset by section index, and the bytes they take."""
    placed: dict[int, int] = {}
    size = 0
    for section in sections:
        if section.flags & _SHF_ALLOC and section.kind != _SHT_X86_64_UNWIND and section.size:
            align = max(section.align, 1)
            size = (size + align - 1) // align * align
            placed[section.index] = size
            size += section.size
    return placed, size


def _load(obj: bytes, symbol: str, external: Callable[[str], int | None]) -> int | None:
    sections = _sections(obj)
    if sections is None:
        return None
    placed, size = placement(sections)
    if not placed:
        return None
    # Common symbols (zero-filled variables the object only declares) go after the sections.
    table = _symbol_table(obj, sections)
    if table is None:
        return None
    commons: dict[int, int] = {}
    for number, (_, _, shndx, value, length) in enumerate(_entries(obj, table)):
        if shndx == _SHN_COMMON:
            if value & (value - 1) or value > 4096 or length > 1 << 20:
                raise ValueError("bad common symbol")
            align = max(value, 1)
            size = (size + align - 1) // align * align
            commons[number] = size
            size += length
    if size > _MAX_IMAGE:
        raise ValueError(f"object needs {size:,} bytes of memory")
    try:
        block = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except (OSError, ValueError):  # executable memory refused (a hardened system)
        return None
    view = ctypes.c_char.from_buffer(block)
    base = ctypes.addressof(view)
    del view  # the block stays where it is; without a view of it, it can be closed on failure
    try:
        address = _place(obj, symbol, sections, table, placed, commons, base, external, block)
    except BaseException:
        block.close()
        raise
    if address is None:
        block.close()
        return None
    _blocks.append(block)
    return address


def _place(
    obj: bytes,
    symbol: str,
    sections: list[_Section],
    table: _Section,
    placed: dict[int, int],
    commons: dict[int, int],
    base: int,
    external: Callable[[str], int | None],
    block: mmap.mmap,
) -> int | None:
    """Fill *block* (at address *base*) with the sections, relocated; the address of *symbol*."""
    image = bytearray(len(block))
    for index, at in placed.items():
        section = sections[index]
        if section.kind != _SHT_NOBITS:
            image[at : at + section.size] = obj[section.offset : section.offset + section.size]
    symbols = _symbols(obj, sections, table, placed, commons, base, external)
    if symbols is None or symbol not in symbols[1]:
        return None
    addresses, named = symbols
    if not _relocate(obj, sections, placed, base, addresses, image):
        return None
    block[:] = bytes(image)
    return named[symbol]


def _symbol_table(obj: bytes, sections: list[_Section]) -> _Section | None:
    tables = [s for s in sections if s.kind == _SHT_SYMTAB]
    if len(tables) != 1:
        return None
    if tables[0].entsize != 24 or tables[0].link >= len(sections):
        raise ValueError("bad symbol table")
    return tables[0]


def _entries(obj: bytes, table: _Section) -> list[tuple[int, int, int, int, int]]:
    """(name offset, info, section index, value, size) of each symbol."""
    out = []
    for at in range(table.offset, table.offset + table.size - 23, 24):
        name_at, info, _, shndx, value, size = struct.unpack_from("<IBBHQQ", obj, at)
        out.append((name_at, info, shndx, value, size))
    return out


def _symbols(
    obj: bytes,
    sections: list[_Section],
    table: _Section,
    placed: dict[int, int],
    commons: dict[int, int],
    base: int,
    external: Callable[[str], int | None],
) -> tuple[list[int | None], dict[str, int]] | None:
    """Each symbol's address (None for one in a section not loaded) and the defined ones by name."""
    names = sections[table.link]
    addresses: list[int | None] = []
    named: dict[str, int] = {}
    for number, (name_at, _, shndx, value, _) in enumerate(_entries(obj, table)):
        if name_at >= names.size:
            raise ValueError("symbol name outside the string table")
        start = names.offset + name_at
        name = obj[start : obj.index(b"\0", start)].decode("ascii", "replace") if name_at else ""
        address: int | None
        if shndx == _SHN_UNDEF:
            address = external(name) if name else 0
            if name and address is None:
                return None
        elif shndx == _SHN_ABS:
            address = value
        elif shndx == _SHN_COMMON:
            address = base + commons[number]
        elif shndx >= _SHN_LORESERVE:
            return None  # other special sections: not in a compiled kernel
        elif shndx in placed:
            address = base + placed[shndx] + value
        else:
            address = None
        addresses.append(address)
        if name and address is not None and shndx != _SHN_UNDEF:
            named[name] = address
    return addresses, named


def _relocate(
    obj: bytes,
    sections: list[_Section],
    placed: dict[int, int],
    base: int,
    addresses: list[int | None],
    image: bytearray,
) -> bool:
    """Apply the relocations of every loaded section to *image*; False if one is of a kind this
    loader does not handle."""
    for rela in sections:
        if rela.kind != _SHT_RELA or rela.info not in placed:
            continue
        if rela.entsize != 24:
            raise ValueError("bad relocation table")
        target = sections[rela.info]
        start = placed[rela.info]
        for at in range(rela.offset, rela.offset + rela.size - 23, 24):
            offset, info, addend = struct.unpack_from("<QQq", obj, at)
            kind, index = info & 0xFFFFFFFF, info >> 32
            if index >= len(addresses) or offset > target.size - 8:
                raise ValueError("relocation outside its section")
            value = addresses[index]
            if value is None:
                return False
            where = base + start + offset
            if kind == _R_X86_64_64:
                result = value + addend
            elif kind == _R_X86_64_PC64:
                result = value + addend - where
            else:
                return False
            struct.pack_into("<Q", image, start + offset, result & 0xFFFFFFFFFFFFFFFF)
    return True
