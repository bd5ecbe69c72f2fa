"""Optional packages: the core imports none of them, and a feature used without its extra is one
error naming the pip command (the import failure is simulated by hiding the package)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from sigmalang._extras import MissingExtraError, require
from sigmalang.cli import main

EXTRA_MODULES = ["dask", "distributed", "fsspec", "numcodecs", "zarr", "prometheus_client"]


def test_the_core_imports_no_extra():
    code = (
        "import sys, sigmalang, sigmalang._stream, sigmalang.cli, sigmalang._file, sigmalang._parallel\n"
        "sigmalang.compress(b'x'); sigmalang.StreamingEncoder\n"
        f"print([m for m in {EXTRA_MODULES!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "extra"),
    [("distributed", "dask"), ("prometheus_client", "metrics"), ("numcodecs.abc", "zarr"), ("fsspec", "fsspec")],
)
def test_a_missing_extra_names_the_pip_command(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module.partition(".")[0], None)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match=rf"pip install 'sigmalang\[{extra}\]'$"):
        require(module, "this feature")


@pytest.mark.parametrize(("module", "extra"), [("sigmalang.metrics", "metrics"), ("sigmalang.dask", "dask")])
def test_importing_an_extra_module_without_its_package_is_one_clear_error(monkeypatch, module, extra):
    hidden = "prometheus_client" if extra == "metrics" else "dask"
    monkeypatch.setitem(sys.modules, hidden, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.delitem(sys.modules, f"{hidden}.bag", raising=False)
    with pytest.raises(MissingExtraError, match=rf"pip install 'sigmalang\[{extra}\]'"):
        importlib.import_module(module)


def test_cli_scheduler_without_dask_is_one_line_and_exit_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello\n")
    assert main(["-1", "--scheduler", "local", str(src)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sigmalang: --scheduler needs the distributed package: pip install 'sigmalang[dask]'"]
    assert not (tmp_path / "a.txt.sgl").exists()


def test_cli_metrics_without_prometheus_client_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "sigmalang.metrics", raising=False)
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello\n")
    assert main(["-1", "--metrics-textfile", str(tmp_path / "m.prom"), str(src)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sigmalang: sigmalang.metrics needs the prometheus_client package: pip install 'sigmalang[metrics]'"]
