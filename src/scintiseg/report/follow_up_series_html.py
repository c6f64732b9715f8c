"""``<patient>_series.html``: one patient's scans over time, from a folder of predictions compared scan after scan
(:mod:`.follow_up_batch`), one self-contained page.

Why. Clinical BSI software is used to follow a patient on treatment (EXINI aBSI's validated use is the index's change
between studies), and PCWG3 reads new lesions across successive scans (:mod:`scintiseg.predict.series`). Each
comparison's own page shows two scans; this page shows them all: the BSI against the study date (inline SVG, each
point labelled, a point red when its scan showed two or more new lesions against the one before, "2+2" above a scan
whose new lesions the next scan, six weeks or more later, followed with two or more further ones), a row per
scan: date, interval, BSI and the share of the skeleton it covers, lesions per view, new / persisting / not seen
against the scan before, what the next scan adds, flags, and a link to the comparison's page (the patient named as
the reports name them, :func:`~scintiseg.report.html.display_name`: "PH0002 Phantom", not the DICOM "Phantom^PH0002"); and each involved bone's
share of the BSI, a column per scan (where the disease grows). A BSI that a scan does
not give (a partial view) leaves its point out. Every text from a file is escaped.

The table fits a 1200 px window (session 74, a reading physician's audit, finding 7: its flags and links, each one long
word kept on one line, pushed the "Comparison" column out of view): the numbers stay on one line, the flags and the
link wrap, breaking after an underscore.
"""

from __future__ import annotations

import datetime as _dt
import html
import math

from scintiseg.predict.follow_up import PCWG3_RULE
from scintiseg.predict.series import CONFIRMATION_DAYS
from scintiseg.report.follow_up_html import STATUS_COLOURS
from scintiseg.report.html import display_name

_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.15em;margin:1em 0 .4em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #999;padding:3px 7px;text-align:right} th{background:#e8eef7} td.t,th.t{text-align:left}
td{white-space:nowrap} td.wrap{white-space:normal;min-width:8em} td.link{overflow-wrap:anywhere}
tr.pattern td{background:#fde2e1}
.warn{background:#fff3cd;border:1px solid #d9a400;padding:.5em .8em;margin:.8em 0}
svg.chart{width:100%;max-width:720px;height:auto;border:1px solid #ccc}
svg.chart text{font-family:sans-serif;font-size:11px}
.note{font-size:.85em;color:#333}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;font-size:9pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 table{font-size:7.5pt} tr{break-inside:avoid}}
"""
#: The chart's size and margins (SVG user units), and the room kept between the axes and the first and last scans.
_WIDTH, _HEIGHT, _LEFT, _RIGHT, _TOP, _BOTTOM, _INSET = 720.0, 260.0, 60.0, 24.0, 28.0, 44.0, 40.0


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _breakable(text: str) -> str:
    """``text`` escaped, a line allowed to break after each ``_`` (``<wbr>``): a flag (``reader_outlines_follow_up_only``)
    or a comparison's folder name is one word, which held the table wider than a 1200 px window (audit 74, finding 7)."""
    return _e(text).replace("_", "_<wbr>")


def _blank(value) -> str:
    return "–" if value is None else _e(value)


def scans_of(comparisons: list[dict]) -> list[dict]:
    """The scans of a patient's comparisons in date order (``comparisons[i]["record"]`` a ``comparison.json``), each
    ``{"scan": the record's scan dict, "before": the comparison into it or None, "after": the step that reads it with the
    next or None, "bones": bone group -> its share of the scan's BSI (points; the bones either scan of a comparison
    found involved)}``; a comparison whose baseline is not the scan before it (the series broken by a failed
    comparison) adds its baseline as a scan of its own."""
    scans: list[dict] = []
    for item in comparisons:
        record = item["record"]
        bones = record.get("bones") or {}
        if not scans or scans[-1]["scan"]["folder"] != record["baseline"]["folder"]:
            scans.append({"scan": record["baseline"], "before": None, "after": None,
                          "bones": {bone: values["baseline"] for bone, values in bones.items()}})
        scans.append({"scan": record["follow_up"], "before": item, "after": item.get("step"),
                      "bones": {bone: values["follow_up"] for bone, values in bones.items()}})
    return scans


def _nice_step(top: float) -> float:
    """The grid step of an axis from 0 to ``top``: a 1-2-5 value giving at most six lines."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0):
        if top / step <= 6:
            return step
    return 50.0


def _chart(scans: list[dict]) -> str:
    """The BSI against the study date as inline SVG (x in days from the first scan; by order where a date is missing)."""
    dates = [_dt.date.fromisoformat(s["scan"]["study_date"]) if s["scan"]["study_date"] else None for s in scans]
    if all(dates):
        xs = [float((d - dates[0]).days) for d in dates]
    else:
        xs = [float(i) for i in range(len(scans))]
    values = [s["scan"]["bsi_percent"] for s in scans]
    highest = max(max((v for v in values if v is not None), default=0.0) * 1.15, 0.05)  # room for the labels
    step = _nice_step(highest)
    top = step * math.ceil(highest / step)
    span = (max(xs) - min(xs)) or 1.0

    def x(value: float) -> float:
        return _LEFT + _INSET + (value - min(xs)) / span * (_WIDTH - _LEFT - _RIGHT - 2 * _INSET)

    def y(value: float) -> float:
        return _HEIGHT - _BOTTOM - value / top * (_HEIGHT - _TOP - _BOTTOM)

    parts = [f'<svg class="chart" id="bsi-chart" viewBox="0 0 {_WIDTH:.0f} {_HEIGHT:.0f}" role="img" '
             'aria-label="BSI against the study date">']
    tick = 0.0
    while tick <= top + 1e-9:
        parts.append(f'<line x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     'stroke="#ddd"/>'
                     f'<text x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
        tick += step
    parts.append(f'<text x="14" y="{(_TOP + _HEIGHT - _BOTTOM) / 2:.0f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(_TOP + _HEIGHT - _BOTTOM) / 2:.0f})">BSI (% of skeleton)</text>')
    points = [(x(px), y(v)) for px, v in zip(xs, values) if v is not None]
    if len(points) > 1:
        parts.append('<polyline fill="none" stroke="#1d3f8a" stroke-width="1.5" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in points) + '"/>')
    for index, (scan, px, value) in enumerate(zip(scans, xs, values)):
        label = scan["scan"]["study_date"] or f"scan {index + 1}"
        parts.append(f'<text x="{x(px):.1f}" y="{_HEIGHT - _BOTTOM + 16:.0f}" text-anchor="middle">{_e(label)}</text>')
        if value is None:
            continue
        before = scan["before"]
        two_new = bool(before and before["record"]["summary"]["two_or_more_new"])
        colour = STATUS_COLOURS["new"] if two_new else "#1d3f8a"
        parts.append(f'<circle cx="{x(px):.1f}" cy="{y(value):.1f}" r="4.5" fill="{colour}" '
                     f'data-two-or-more-new="{str(two_new).lower()}"><title>{_e(label)}: BSI {value:.3g} %</title>'
                     f'</circle><text x="{x(px):.1f}" y="{y(value) - 8:.1f}" text-anchor="middle">{value:.3g}</text>')
        if scan["after"] and scan["after"].get("two_plus_two"):
            parts.append(f'<text class="pattern" x="{x(px):.1f}" y="{y(value) - 21:.1f}" text-anchor="middle" '
                         f'fill="{STATUS_COLOURS["new"]}" font-weight="bold">2+2</text>')
    parts.append(f'<text x="{(_LEFT + _WIDTH - _RIGHT) / 2:.0f}" y="{_HEIGHT - 6:.0f}" text-anchor="middle">'
                 "study date</text></svg>")
    return "".join(parts)


def _row(index: int, scan: dict) -> str:
    """One scan's row: what its comparison with the scan before found, and what the next adds."""
    record, before, after = scan["scan"], scan["before"], scan["after"] or {}
    s = before["record"]["summary"] if before else {}
    bsi = ("–" if record["bsi_percent"] is None
           else f"{record['bsi_percent']:.3g} ({record['bsi_covered_mass_percent']:.0f} % seen)")
    change = s.get("bsi_change_points")
    lesions = ", ".join(f"{view} {count}" for view, count in record["lesion_count_by_view"].items())
    link = f'<a href="{_e(before["output"])}/comparison.html">{_breakable(before["output"])}</a>' if before else ""
    pattern = after.get("two_plus_two")
    cells = [
        f'<td class="t">{index + 1}</td>', f'<td class="t">{_blank(record["study_date"])}</td>',
        f"<td>{_blank(before['record']['interval_days'] if before else None)}</td>", f"<td>{_e(bsi)}</td>",
        f"<td>{'–' if change is None else format(change, '+.2f')}</td>", f'<td class="t">{_e(lesions)}</td>',
        f"<td>{_blank(s.get('new_lesions'))}</td>", f"<td>{_blank(s.get('persisting_lesions'))}</td>",
        f"<td>{_blank(s.get('lesions_not_seen'))}</td>", f"<td>{_blank(after.get('next_new_lesions'))}</td>",
        f"<td>{_blank(after.get('seen_again_next'))}</td>",
        f"<td>{'–' if pattern is None else ('yes' if pattern else 'no')}</td>",
        f'<td class="t wrap">{_breakable(", ".join(s.get("flags", [])))}</td>', f'<td class="t wrap link">{link}</td>',
    ]
    marked = ' class="pattern"' if pattern else ""
    return f"<tr{marked}>" + "".join(cells) + "</tr>"


def _bone_rows(scans: list[dict]) -> list[str]:
    """The BSI share of each bone involved on any scan, a column per scan (largest on the last scan first)."""
    bones = sorted({bone for scan in scans for bone, value in scan["bones"].items() if value > 0},
                   key=lambda bone: (-scans[-1]["bones"].get(bone, 0.0), bone))
    if not bones:
        return ["<p>No bone involved on any scan.</p>"]
    head = "".join(f"<th>{i + 1}: {_e(scan['scan']['study_date'] or 'undated')}</th>" for i, scan in enumerate(scans))
    rows = [f'<table id="bones"><thead><tr><th class="t">Bone</th>{head}</tr></thead><tbody>']
    for bone in bones:
        cells = "".join(f"<td>{scan['bones'].get(bone, 0.0):.3f}</td>" for scan in scans)
        rows.append(f'<tr><td class="t">{_e(bone.replace("_", " "))}</td>{cells}</tr>')
    return rows + ["</tbody></table>"]


_HEADER = ("<tr><th class=\"t\">Scan</th><th class=\"t\">Study date</th><th>Days since the scan before</th>"
           "<th>BSI (%)</th><th>BSI change (points)</th><th class=\"t\">Lesions per view</th><th>New</th>"
           "<th>Persisting</th><th>Not seen</th><th>New on the next scan</th><th>Of the new, seen again on the next"
           "</th><th>2+2 pattern</th><th class=\"t\">Flags</th><th class=\"t\">Comparison</th></tr>")


def series_html(patient: dict, comparisons: list[dict], disclaimer: str | None = None) -> str:
    """The page of one patient's comparisons (module docstring).

    Args:
        patient: ``{"id": ..., "name": ...}`` (a comparison record's ``patient``).
        comparisons: the patient's comparisons in date order, each ``{"record": comparison.json, "output": its
            folder's name beside this page, "step": its :class:`~scintiseg.predict.series.SeriesStep` record, or None}``.
        disclaimer: the model's "not a clinical device" text (its ``model_info``), shown first as the reports show it.
    """
    scans = scans_of(comparisons)
    who = display_name(patient.get("name")) or patient.get("id") or "patient"  # as the reports name the patient
    first, last = scans[0]["scan"]["study_date"], scans[-1]["scan"]["study_date"]
    span = f", {first} to {last}" if first and last else ""
    patterns = [(i, scan) for i, scan in enumerate(scans) if (scan["after"] or {}).get("two_plus_two")]
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>scintiseg: a patient's scans"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>Bone scans over time: {_e(who)}</h1>",
             f'<p class="warn"><strong>Not a clinical device.</strong> {_e(disclaimer)}</p>' if disclaimer else "",
             f'<p id="scope">Patient ID {_e(patient.get("id") or "unknown")}: {len(scans)} scans{_e(span)}, each '
             "compared with the one before (a lesion outlined on both views counted once).</p>",
             "<h2>Bone Scan Index</h2>", _chart(scans),
             '<p class="note">A red point: two or more new lesions against the scan before. "2+2": two or more new '
             f"lesions, and two or more further ones on the next scan at least {CONFIRMATION_DAYS} days later.</p>",
             "<h2>Scans</h2>", f'<table id="series"><thead>{_HEADER}</thead><tbody>',
             *[_row(i, scan) for i, scan in enumerate(scans)], "</tbody></table>"]
    if patterns:
        parts.append('<p id="pcwg3"><b>PCWG3\'s 2+2 pattern</b> after scan '
                     + ", ".join(f"{i + 1} ({_e(scan['scan']['study_date'] or 'undated')})" for i, scan in patterns)
                     + ": the rule for the first scan after treatment starts; which scan that was is not in the scans, "
                     "so a reader confirms.</p>")
    elif not all(scan["scan"]["study_date"] for scan in scans):
        parts.append('<p id="pcwg3">The 2+2 pattern is not judged: a scan here has no study date, and the pattern\'s '
                     "six weeks need them.</p>")
    else:
        parts.append('<p id="pcwg3">No 2+2 pattern: no scan with two or more new lesions was followed by two or more '
                     "further ones six weeks or more later.</p>")
    parts += ["<h2>BSI by bone (points of the scan's BSI)</h2>", *_bone_rows(scans)]
    parts.append(f'<p class="note">{_e(PCWG3_RULE)}. Each comparison\'s page shows its two scans, the lesions by '
                 "status and the registration.</p></body></html>")
    return "\n".join(parts)
