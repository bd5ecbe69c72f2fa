"""The text form of a ``sigmalang inspect`` report, for the command line (``--json`` prints the data)."""

from __future__ import annotations

from typing import Any

__all__ = ["format_report"]


_LEGEND = (
    "[w] 1-byte reference, {w} 2-byte, [Cap:w] [UP:w] case, [+n] number delta, \\xNN escape,"
    " [line -d] Σ-bank line, [time k] TEMPORAL"
)


def format_report(report: dict[str, Any], label: str, width: int = 120) -> list[str]:
    """The text form of one :meth:`StreamReport.as_dict`, as lines; example lines cut at *width*."""
    r = report
    out = [
        f"{label}: level {r['level']}, chunk size {r['chunk_size']:,}, {_plural(r['frames'], 'frame')}, "
        f"{r['original_size']:,} → {r['encoded_size']:,} bytes (ratio {r['ratio']:.3f})"
    ]
    payload = 0
    for g in r["by_backend"]:
        stored = g["backend"] == "store" and g["transform"] == "literal"
        name = f"{g['transform']}+{g['backend']}" + (" (stored)" if stored else "")
        out.append(f"  {name}: {_plural(g['frames'], 'frame')}, {g['original']:,} → {g['encoded']:,} bytes")
        payload += g["encoded"]
    out.append(f"  container (header, frame headers and CRCs, index, trailer): {r['encoded_size'] - payload:,} bytes")
    out += _format_glyphs(r)
    out += _format_codebook(r)
    out += _format_records(r, width)
    out += _format_lines(r, width)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _format_glyphs(r: dict[str, Any]) -> list[str]:
    n, semantic = r["inspected_frames"], r["semantic_frames"]
    out = [f"glyph code: {semantic:,} semantic of {_plural(n, 'frame')} read"]
    if n < r["frames"]:
        out[0] += f" (the first {n:,} of {r['frames']:,}: --frames)"
    if not semantic:
        return out
    out.append(f"  {'kind':<12} {'primitive':<17} {'glyphs':>10} {'code bytes':>11} {'text bytes':>11}")
    total = [0, 0, 0]
    for row in r["glyphs"]:
        figures = (row["glyphs"], row["code_bytes"], row["text_bytes"])
        total = [a + b for a, b in zip(total, figures, strict=True)]
        out.append(f"  {row['kind']:<12} {row['primitive']:<17} {figures[0]:>10,} {figures[1]:>11,} {figures[2]:>11,}")
    out.append(f"  {'total':<12} {'':<17} {total[0]:>10,} {total[1]:>11,} {total[2]:>11,}")
    b = r["bytes"]
    out.append(
        f"bytes: glyph code {b['glyph_code']:,} = codebook {b['codebook']:,} + body {b['body']:,}; "
        f"backend output {b['backend_output']:,}"
    )
    out.append("  (one backend stream per frame codes codebook and body together; its output has no split)")
    return out


def _format_codebook(r: dict[str, Any]) -> list[str]:
    c = r["codebook"]
    if c["frame"] is None:
        return []
    out = [
        f"codebook of frame {c['frame']} ({c['original_size']:,} bytes): {_plural(c['words'], 'word')}, "
        f"{min(c['one_byte_codes'], c['words'])} with 1-byte codes" + (f"; top {len(c['top'])}:" if c["top"] else ""),
    ]
    if c["top"]:
        out.append(f"  {'rank':>5}  {'code':<6} {'uses':>8}  word")
    out += [f"  {e['rank']:>5}  {e['code']:<6} {e['uses']:>8,}  {e['word']}" for e in c["top"]]
    return out


def _format_records(r: dict[str, Any], width: int) -> list[str]:
    rec = r.get("records")
    if not rec or not rec["frames"]:
        return []
    out = [
        f"records: {_plural(rec['frames'], 'frame')} coded as log records, {_plural(rec['templates'], 'template')}; "
        f"top {len(rec['top_templates'])} (<*> is a field):"
    ]
    out += [_cut(f"  {t['lines']:>8,}  {t['template']}", width) for t in rec["top_templates"]]
    columns = sorted(rec["columns"], key=lambda c: -c["code_bytes"])
    out.append(f"columns: {len(columns):,}, largest first (bytes in the record code, before the model):")
    out.append(f"  {'kind':<7} {'values':>8} {'bytes':>9}  column")
    out += [
        _cut(f"  {c['kind']:<7} {c['values']:>8,} {c['code_bytes']:>9,}  {c['column']}", width) for c in columns[:20]
    ]
    if len(columns) > 20:
        out.append(f"  ... {len(columns) - 20:,} more (--json lists them all)")
    return out


def _format_lines(r: dict[str, Any], width: int) -> list[str]:
    if not r["lines"]:
        return []
    f = r["lines_frame"]
    out = [f"first {_plural(len(r['lines']), 'line')} of frame {f['frame']} ({f['transform']}+{f['backend']}):"]
    if any(line["glyphs"] is not None for line in r["lines"]):
        out.append(f"  {_LEGEND}")
    for n, line in enumerate(r["lines"], 1):
        out.append(_cut(f"  {n:>3} text   {line['text']}", width))
        glyphs = "(no glyph code: literal frame)" if line["glyphs"] is None else line["glyphs"]
        out.append(_cut(f"      glyphs {glyphs}", width))
    return out


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
