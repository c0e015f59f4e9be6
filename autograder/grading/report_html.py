"""The class report as one self-contained HTML page: no script at all, plots as embedded PNG images (matplotlib's
Agg backend), every text from a record or a student escaped, and a Content-Security-Policy that lets the page load
nothing but its own inline images and styles."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from autograder.grading.report import ClassReport
from autograder.grading.similarity import SimilarPair

POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 110em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.n { text-align: right; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.85em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.pair pre { border: 1px solid #ccc; padding: 0.5em; }
mark { background: #ffe08a; }
"""


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def plots(data: dict) -> dict[str, str]:
    """The score histogram and the pass rate per check, as PNG data URLs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3))
    scores = data["scores"]["graded"]
    top = max(data["max_points"], max(scores, default=0.0), 1.0)
    axes.hist(scores, bins=min(20, max(5, len(scores))), range=(0, top), color="#4c72b0", edgecolor="white")
    axes.set(xlabel="points", ylabel="students", title=f"scores of the {len(scores)} graded submissions")
    histogram = _png(figure)
    checks = data["checks"]
    figure, axes = plt.subplots(figsize=(6, 0.3 * len(checks) + 1))
    axes.barh([c["check"] for c in checks][::-1], [100 * c["pass_rate"] for c in checks][::-1], color="#55a868")
    axes.set(xlim=(0, 100), xlabel="% of graded submissions with full points", title="pass rate per check")
    return {"histogram": histogram, "pass_rate": _png(figure)}


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def marked(code: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``code`` escaped, with the matching spans in ``<mark>``."""
    out, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(code))
        if start >= end:
            continue
        out += [html.escape(code[position:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        position = end
    out.append(html.escape(code[position:]))
    return "".join(out)


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(value, numeric: bool = False) -> str:
    return f'<td class="n">{value}</td>' if numeric else f"<td>{value}</td>"


def _failures(check: dict) -> str:
    items = []
    for f in check["failures"]:
        example = f["example"]
        items.append(f"<li><b>{f['count']}&times;</b> {_e(f['property'])} &mdash; {_e(', '.join(f['students']))}"
                     f"<pre>input: {_e(example['input'])}\nexpected: {_e(example['expected'])}\n"
                     f"got: {_e(example['got'])}</pre></li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _pair(pair: SimilarPair) -> str:
    return (f'<h3>{_e(pair.first)} ~ {_e(pair.second)}: {pair.similarity:.0%} '
            f'({pair.share_first:.0%} / {pair.share_second:.0%} of their own code matches)</h3>'
            f'<div class="pair"><div><b>{_e(pair.first)}</b><pre>{marked(pair.code_first, pair.spans_first)}</pre>'
            f'</div><div><b>{_e(pair.second)}</b><pre>{marked(pair.code_second, pair.spans_second)}</pre></div></div>')


def render(report: ClassReport) -> str:
    """The page (see the module docstring)."""
    data = report.data
    images = plots(data)
    counts = data["counts"]
    students = _table(["student", "points", "max", "status", "late", "seconds"],
                      [[_td(_e(s["student"])), _td(_number(s["points"], 1), True),
                        _td(_number(s["max_points"], 0), True), _td(_e(s["status"])),
                        _td("late" if s["late"] else ""), _td(_number(s["seconds"], 1), True)]
                       for s in data["students"]], "students")
    checks = _table(["check", "max points", "pass rate", "mean points", "discrimination", "failures by property"],
                    [[_td(_e(c["check"])), _td(_number(c["max_points"], 1), True),
                      _td(f"{100 * c['pass_rate']:.0f}%", True), _td(_number(c["mean_points"]), True),
                      _td(_number(c["discrimination"]), True), _td(_failures(c))] for c in data["checks"]], "checks")
    not_graded = _table(["student", "status", "why"], [[_td(_e(n["student"])), _td(_e(n["status"])),
                                                         _td(_e(n["reason"]))] for n in data["not_graded"]],
                        "not-graded")
    mismatches = "".join(f"<li>{_e(m['student'])} {_e(m['check'])}: gradebook {_e(m['gradebook'])}, record "
                         f"{_e(m['record'])}</li>" for m in data["gradebook_vs_records"])
    pairs = "".join(_pair(p) for p in report.pairs) or "<p>No pair of students wrote near-identical code.</p>"
    sec = data["seconds"]
    title = f"{data['folder']}: class report"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>{_e(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>
<p>{counts['submissions']} submissions: {counts['graded']} graded, {counts['not_graded']} not graded
({counts['stale']} with a stale record), {counts['late']} late. Mean score of the graded:
{_number(data['scores']['mean'], 1)} / {data['max_points']:g}. Grading time per submission: mean
{_number(sec['mean'], 1)} s, max {_number(sec['max'], 1)} s.</p>
<img id="histogram" alt="score histogram" src="{images['histogram']}">
<img id="pass-rate" alt="pass rate per check" src="{images['pass_rate']}">
<h2>Checks</h2>
<p>Pass rate: share of graded submissions with full points on the check; discrimination: point-biserial
correlation of passing it with the rest of the score.</p>
{checks}
<h2>Students</h2>
{students}
<h2>Not graded</h2>
{not_graded}
{f'<h2>Gradebook and records disagree</h2><ul>{mismatches}</ul>' if mismatches else ''}
<h2>Similar code</h2>
<p>Pairs whose own code (answer cells and added cells, the release's template subtracted) matches at
{data['similarity']['threshold']:.0%} or more on both sides (copydetect); matching code is highlighted.</p>
{pairs}
</body></html>
"""


def write(report: ClassReport, out: Path) -> tuple[Path, Path]:
    """``out/report.json`` and ``out/report.html``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(json.dumps(report.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render(report), encoding="utf-8")
    return json_path, html_path
