"""Optional packages: imported only where a feature needs them, with one clear error when missing.

The core never imports an extra at module level. A feature that needs one calls :func:`require`,
which imports it or raises :class:`MissingExtraError` naming the ``pip install`` that adds it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "require"]

# The extra that brings each optional top-level package.
EXTRAS = {
    "dask": "dask",
    "distributed": "dask",
    "fsspec": "fsspec",
    "numcodecs": "zarr",
    "zarr": "zarr",
    "prometheus_client": "metrics",
}


class MissingExtraError(ImportError):
    """An optional feature was used without the package it needs; the message says what to install."""


def require(module: str, feature: str) -> ModuleType:
    """Import *module* for *feature* (``"--scheduler"``), or raise one error naming the pip command."""
    top = module.partition(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.partition(".")[0] != top:
            raise  # the package is there but broken: its own error says more
        extra = EXTRAS.get(top, top)
        raise MissingExtraError(
            f"{feature} needs the {top} package: pip install 'sigmalang[{extra}]'", name=exc.name
        ) from None
