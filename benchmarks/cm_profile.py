"""Where the CM kernel's machine code spends its time: the instructions the CPU clock samples most.

    python benchmarks/cm_profile.py FILE [--size 1MB] [--components 0xFFFF] [--bits 22] [--top 30]

A child process encodes the first ``--size`` bytes of FILE with the CM backend alone under
``perf record -e cpu-clock`` (a software clock: it works in virtual machines without hardware
counters), after a warm-up call that loads the native kernel (docs/cm.md, "Start-up"). The kernel's
machine code is loaded by sigmalang itself (:mod:`sigmalang._elf`), so perf knows no symbol for it:
this script maps each sample's address onto the loaded block, and the block onto the cache file's
object, disassembled by ``objdump``. It prints the share of samples in the kernel and the
instructions with the most samples, each with the disassembly around it. Samples land on the
instruction *after* the one that stalled (skid): read a hot line with the one before it.

Needs ``perf`` and ``objdump`` (binutils), Linux on x86-64, and a native kernel in the cache (a
first run of sigmalang makes it). Used to find the requests for both values of a bit, and the jump
table, of docs/cm.md's fifth speed change.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cm_ab import parse_size  # the same size syntax (10**3 for KB, 2**10 for KiB)

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import ctypes, json, sys, time
sys.path.insert(0, sys.argv[1])
from sigmalang import _cm, _cm_native, _elf
from sigmalang._backends import CmBackend
data = open(sys.argv[2], "rb").read()[: int(sys.argv[3])]
components, bits = int(sys.argv[4], 0), int(sys.argv[5])
backend = CmBackend(components, bits)
backend.decode(backend.encode(data[:4096]), len(data[:4096]))  # warm-up: load the kernel
copy = _cm.full_copy(components, backend.version)
found = _cm_native._cached(_cm_native._name(copy))
if found is None or len(_elf._blocks) != 1:
    sys.exit("no native kernel loaded by sigmalang's own loader: nothing to map the samples onto")
open(sys.argv[6], "wb").write(found[1])
view = ctypes.c_char.from_buffer(_elf._blocks[0])
base = ctypes.addressof(view)
del view
start = time.process_time()
backend.encode(data)
print(json.dumps({"base": base, "seconds": time.process_time() - start}))
"""


def _sections(obj: bytes) -> list[tuple[str, int, int]]:
    """The executable sections of *obj* as the loader places them: (name, offset in the block, size)."""
    sys.path.insert(0, str(REPO / "src"))
    from sigmalang import _elf

    sections = _elf._sections(obj)
    if sections is None:
        raise SystemExit("the kernel's object is not an x86-64 ELF object")
    placed, _ = _elf.placement(sections)
    table = int.from_bytes(obj[0x28:0x30], "little")  # where the section headers start
    shstrtab = sections[int.from_bytes(obj[0x3E:0x40], "little")]
    names = obj[shstrtab.offset : shstrtab.offset + shstrtab.size]
    out = []
    for section in sections:
        if section.index in placed and section.flags & 0x4:  # SHF_EXECINSTR
            at = int.from_bytes(obj[table + 64 * section.index : table + 64 * section.index + 4], "little")
            out.append((names[at : names.index(b"\0", at)].decode(), placed[section.index], section.size))
    return out


def _disassembly(path: Path, section: str) -> dict[int, str]:
    """Each instruction of *section* by its offset in the section."""
    text = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "-j", section, str(path)], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in text.splitlines():
        match = re.match(r"\s+([0-9a-f]+):\s+(.*)", line)
        if match:
            found[int(match.group(1), 16)] = match.group(2).split(" <")[0][:60]
    return found


def kernel_arguments(
    doc: str, size: int, components: str, top: int, tools: tuple[str, ...], decode: bool = False
) -> argparse.Namespace:
    """The command line of a script that looks into the kernel's machine code (FILE, --size,
    --components, --bits, --top, with these defaults; with *decode*, --decode too), once the *tools*
    it runs are found."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--size", type=parse_size, default=size)
    parser.add_argument("--components", default=components)
    parser.add_argument("--bits", type=int, default=22)
    parser.add_argument("--top", type=int, default=top)
    if decode:
        parser.add_argument("--decode", action="store_true", help="count the decoder's instructions")
    args = parser.parse_args()
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: this script needs {' and '.join(tools)} (objdump: binutils)")
    return args


def main() -> None:
    args = kernel_arguments(__doc__ or "", 10**6, "0xFFFF", 30, ("perf", "objdump"))
    with tempfile.TemporaryDirectory() as tmp:
        obj, data = Path(tmp) / "kernel.o", Path(tmp) / "perf.data"
        command = [sys.executable, "-c", CHILD, str(REPO / "src"), str(args.file), str(args.size)]
        command += [args.components, str(args.bits), str(obj)]
        run = subprocess.run(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "5000", "-o", str(data), "--", *command],
            capture_output=True,
            text=True,
        )
        if run.returncode:
            raise SystemExit(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "perf record failed")
        child = json.loads(run.stdout.strip().splitlines()[-1])
        script = subprocess.run(["perf", "script", "-F", "ip", "-i", str(data)], capture_output=True, text=True)
        ips = [int(line, 16) for line in script.stdout.split()]
        sections = _sections(obj.read_bytes())
        print(f"{args.file.name}, first {args.size:,} bytes, components {args.components}, 2^{args.bits} slots:")
        print(f"encode {child['seconds']:.2f} s CPU; {len(ips):,} samples in the whole process")
        for name, offset, size in sections:
            start = child["base"] + offset
            counts = collections.Counter(ip - start for ip in ips if start <= ip < start + size)
            code = _disassembly(obj, name)
            order = sorted(code)
            share = sum(counts.values()) / max(len(ips), 1)
            print(f"\n{name}: {sum(counts.values()):,} samples ({share:.0%}); the {args.top} hottest instructions:")
            print("| samples | share | offset | instruction | the one before |")
            print("| ---: | ---: | ---: | --- | --- |")
            for at, n in counts.most_common(args.top):
                k = order.index(at) if at in code else -1
                before = code[order[k - 1]] if k > 0 else ""
                print(f"| {n} | {n / max(len(ips), 1):.1%} | {at:#x} | `{code.get(at, '?')}` | `{before}` |")


if __name__ == "__main__":
    main()
