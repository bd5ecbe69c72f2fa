"""The text form of a ``sigmalang inspect`` report, for the command line (``--json`` prints the data)."""

from __future__ import annotations

from typing import Any

from ._words import plural

__all__ = ["format_report"]


_LEGEND = (
    "[w] codebook word (1-byte code), {w} (2-byte code), [Cap:w] [UP:w] the word in its case, \\xNN a byte,",
    "[+n] number, change from the line before, [line -d] the line d lines up, [time +n] timestamp, change in its"
    " last digit",
)


def format_report(report: dict[str, Any], label: str, width: int = 120) -> list[str]:
    """The text form of one :meth:`StreamReport.as_dict`, as lines; example lines cut at *width*."""
    r = report
    out = [
        f"{label}: level {r['level']}, chunk size {r['chunk_size']:,}, {plural(r['frames'], 'frame')}, "
        f"{r['original_size']:,} → {r['encoded_size']:,} bytes (ratio {r['ratio']:.3f})"
    ]
    payload = 0
    for g in r["by_backend"]:
        stored = g["backend"] == "store" and g["transform"] == "literal"
        name = f"{g['transform']}+{g['backend']}" + (" (stored)" if stored else "")
        out.append(f"  {name}: {plural(g['frames'], 'frame')}, {g['original']:,} → {g['encoded']:,} bytes")
        payload += g["encoded"]
    out.append(f"  container (header, frame headers and CRCs, index, trailer): {r['encoded_size'] - payload:,} bytes")
    out += _format_stages(r)
    out += _format_glyphs(r)
    out += _format_codebook(r)
    out += _format_records(r, width)
    out += _format_lines(r, width)
    return out


def _format_stages(r: dict[str, Any]) -> list[str]:
    """The bytes after each stage and what each saves, the transform's part measured by coding the
    text without it too: does the transform pay on this text?"""
    s = r["stages"]
    if not s["frames"]:
        return []
    scope = "" if s["frames"] == r["frames"] else f", the first {s['frames']:,} of {r['frames']:,} (--frames)"
    transforms = ", ".join(sorted({g["transform"] for g in r["by_backend"]} - {"literal"}))
    models = ", ".join(sorted({g["backend"] for g in r["by_backend"]}))
    original, encoded, without = s["original"], s["encoded"], s["encoded_without_transform"]
    out = [f"stages ({plural(s['frames'], 'frame')}{scope}):", f"  {'text':<44} {original:>13,} bytes"]
    if not transforms:
        out.append(_stage(f"the model ({models})", encoded, original, original))
        out.append("  no transform: the frames code the text itself")
        return out
    if without is None:
        out.append(_stage(f"the transform ({transforms}), then the model", encoded, original, original))
        out.append("  the model alone: not measured (shared-context frames are coded with the frames before them)")
    else:
        out.append(_stage(f"the model alone ({models}), measured", without, original, original))
        out.append(_stage(f"the transform ({transforms}), then the model", encoded, without, original, "more"))
    out.append(f"  (the transform's output, before the model: {s['transform_output']:,} bytes)")
    return out


def _stage(name: str, size: int, before: int, original: int, more: str = "") -> str:
    """One stage: its output, its ratio, and the share of the text it saves (or costs) over *before*."""
    change = before - size
    what = f"{'saves' if change >= 0 else 'costs'} {100 * abs(change) / original:.1f}% of the text" if original else ""
    ratio = f"ratio {original / size:.3f}" if size else ""
    return f"  {name:<44} {size:>13,} bytes  {ratio}  {what}{' ' + more if more and change else ''}"


def _format_glyphs(r: dict[str, Any]) -> list[str]:
    n, semantic = r["inspected_frames"], r["semantic_frames"]
    if not semantic:  # no frame read is a glyph code: nothing to count
        return []
    out = [f"glyph code: {semantic:,} semantic of {plural(n, 'frame')} read"]
    if n < r["frames"]:
        out[0] += f" (the first {n:,} of {r['frames']:,}: --frames)"
    out.append(f"  {'glyphs of the code':<46} {'glyphs':>10} {'code bytes':>11} {'text bytes':>11}")
    total = [0, 0, 0]
    for row in r["glyphs"]:
        figures = (row["glyphs"], row["code_bytes"], row["text_bytes"])
        total = [a + b for a, b in zip(total, figures, strict=True)]
        if any(figures):  # a kind this text never uses is no row
            out.append(f"  {row['meaning']:<46} {figures[0]:>10,} {figures[1]:>11,} {figures[2]:>11,}")
    out.append(f"  {'total':<46} {total[0]:>10,} {total[1]:>11,} {total[2]:>11,}")
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
        f"codebook of frame {c['frame']} ({c['original_size']:,} bytes): {plural(c['words'], 'word')}, "
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
        f"records: {plural(rec['frames'], 'frame')} coded as log records, {plural(rec['templates'], 'template')}; "
        f"top {len(rec['top_templates'])} (<*> is a field):"
    ]
    out += [_cut(f"  {t['lines']:>8,}  {t['template']}", width) for t in rec["top_templates"]]
    if rec.get("model_frames"):
        return out + _format_spending(rec, width)
    columns = sorted(rec["columns"], key=lambda c: -c["code_bytes"])
    out.append(f"columns: {len(columns):,}, largest first (bytes in the record code, before the model):")
    out.append(f"  {'kind':<7} {'values':>8} {'bytes':>9}  column")
    out += [
        _cut(f"  {c['kind']:<7} {c['values']:>8,} {c['code_bytes']:>9,}  {c['column']}", width) for c in columns[:20]
    ]
    if len(columns) > 20:
        out.append(f"  ... {len(columns) - 20:,} more (--json lists them all)")
    return out


def _format_spending(rec: dict[str, Any], width: int) -> list[str]:
    """Where a record code's bytes went: each section and each column, in the code and after the model."""
    frames = rec["model_frames"]
    some = "" if frames == rec["frames"] else f" (in the {plural(frames, 'frame')} coded by the CM alone)"
    out = [f"record code, bytes before and after the model{some}:"]
    out += [f"  {s['section']:<15} {s['code_bytes']:>11,} {s['model_bytes']:>11,.0f}" for s in rec["sections"]]
    columns = sorted(rec["columns"], key=lambda c: -c["model_bytes"])
    out.append(f"columns: {len(columns):,}, costliest first:")
    out.append(f"  {'kind':<7} {'values':>8} {'bytes':>9} {'model':>9} {'bits/value':>10}  column")
    for c in columns[:20]:
        bits = 8 * c["model_bytes"] / c["values"] if c["values"] else 0.0
        line = f"  {c['kind']:<7} {c['values']:>8,} {c['code_bytes']:>9,} {c['model_bytes']:>9,.0f} {bits:>10.2f}"
        out.append(_cut(f"{line}  {c['column']}", width))
    if len(columns) > 20:
        out.append(f"  ... {len(columns) - 20:,} more (--json lists them all)")
    return out


def _format_lines(r: dict[str, Any], width: int) -> list[str]:
    if not r["lines"]:
        return []
    f = r["lines_frame"]
    out = [f"first {plural(len(r['lines']), 'line')} of frame {f['frame']} ({f['transform']}+{f['backend']}):"]
    glyph_code = any(line["glyphs"] is not None for line in r["lines"])
    if glyph_code:
        out += [f"  {line}" for line in _LEGEND]
    else:  # said once, not under every line
        out.append(f"  (no glyph code: a {f['transform']} frame)")
    for n, line in enumerate(r["lines"], 1):
        out.append(_cut(f"  {n:>3} text   {line['text']}", width))
        if glyph_code:
            out.append(_cut(f"      glyphs {line['glyphs']}", width))
    return out


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
