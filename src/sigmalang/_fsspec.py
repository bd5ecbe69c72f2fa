"""fsspec: URLs as inputs and outputs, and ΣLANG in fsspec's compression registry.

fsspec finds filesystems through the ``fsspec.specs`` entry point, but has no entry point for
compressions: a codec is added by calling ``fsspec.compression.register_compression``. Importing
fsspec costs about a third of a second, which ``import sigmalang`` should not pay (each worker
process imports it), so :func:`install` registers at once when fsspec is already imported, and
otherwise right after ``fsspec.compression`` is first imported, through a one-shot import hook.
After ``import sigmalang``, ``fsspec.open("x.log.sgl", "rt", compression="infer")`` reads ΣLANG.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import re
import sys
import uuid
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import IO, Any

from ._extras import require

__all__ = ["EXTENSION", "NAME", "atomic_url_output", "install", "is_url", "open_url", "register"]

NAME = "sigmalang"
EXTENSION = "sgl"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]+://")


def is_url(path: object) -> bool:
    """Whether *path* is an fsspec URL (``memory://x``, ``s3://b/k``), not a local path."""
    return isinstance(path, str) and _URL.match(path) is not None


def _wrap(infile: IO[bytes], mode: str = "rb", **kwargs: Any) -> IO[bytes]:
    from ._file import SigmaFile

    return SigmaFile(infile, mode, **kwargs)  # type: ignore[return-value]


def register(compression: ModuleType) -> None:
    """Add ΣLANG to *compression* (``fsspec.compression``) as ``sigmalang``, inferred from ``.sgl``."""
    compression.register_compression(NAME, _wrap, EXTENSION, force=True)


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Registers ΣLANG once ``fsspec.compression`` has been executed, then leaves ``sys.meta_path``."""

    TARGET = "fsspec.compression"

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.TARGET:
            return None
        for finder in list(sys.meta_path):  # the spec the other finders give, with this loader around theirs
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    self._loader = spec.loader
                    spec.loader = self
                return spec
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # one-shot
        self._loader.exec_module(module)
        with contextlib.suppress(Exception):  # a changed fsspec must not break its own import
            register(module)


def install() -> None:
    """Register with fsspec now if it is imported, else when it is (called by ``import sigmalang``)."""
    compression = sys.modules.get(_AfterImport.TARGET)
    if compression is not None:
        with contextlib.suppress(Exception):
            register(compression)
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


def open_url(url: str, mode: str = "rb") -> Any:
    """An fsspec file for *url*, opened for streaming (``with open_url(u) as f``)."""
    fsspec = require("fsspec", f"the URL {url}")
    return fsspec.open(url, mode)


@contextlib.contextmanager
def atomic_url_output(url: str, *, overwrite: bool = False) -> Iterator[IO[bytes]]:
    """Write to a temporary name beside *url*; move it to *url* only when everything was written.

    On error the temporary object is removed, so a reader never sees a partial *url*.
    """
    fsspec = require("fsspec", f"the URL {url}")
    fs, path = fsspec.core.url_to_fs(url)
    if not overwrite and fs.exists(path):
        raise FileExistsError(17, "output file exists (use -f to overwrite)", url)
    head, _, name = path.rpartition("/")
    tmp = f"{head}/.{name}.{uuid.uuid4().hex[:12]}.tmp" if head else f".{name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with fs.open(tmp, "wb") as out:
            yield out
        if overwrite and fs.exists(path):
            fs.rm(path)
        fs.mv(tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            if fs.exists(tmp):
                fs.rm(tmp)
        raise
