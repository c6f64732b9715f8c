"""``comparison.html``: a follow-up scan read against its baseline (:mod:`scintiseg.predict.follow_up`), one
self-contained page (images inline).

Per view the baseline and the follow-up side by side, a row per view under a column per date (a 2 x 2 grid for ANT and
POST), head up (a view stored head-down turned, as the report's page turns it), marked R and L on the patient's sides
as the report's page marks them (:mod:`.image_sides`: POST shown as acquired, the patient's right on the image right),
each outline coloured by what became of it: on the
follow-up new lesions red and lesions that persist amber; on the baseline persisting lesions amber and those the
follow-up no longer shows dashed blue. Then the counts, the BSI of both and its change, the PCWG3 rule the count is
read against, the lesion tables, the change per bone and how each view was registered. Every text from a file (patient
name, paths, regions) is escaped.

Session 62: the "Outlines" row says for each scan whose outlines were compared (:func:`outlines_words`): the
network's own, a review (signed by whom, as the report's page names the reader, or unsigned) or a folder edited in
place; before, an unsigned review, an edited folder and the network's output all read "as in the folder", and a
signed one named the reader as the DICOM name ("Doe^Jane", where the report says "Jane Doe"); session 74 names the
patient in the heading as the report does too (:func:`~scintiseg.report.html.display_name`: "PH0002 Phantom", not
"Phantom^PH0002"). The comparison's
warnings (one side a reader's outlines and the other the network's; one study compared with itself) stand above the
counts, and a comparison of one study with itself gives no PCWG3 sentence.

Session 74 (a reading physician's audit, finding 8): a baseline lesion not seen says what is at its place on the
follow-up ("relabelled by the reader as bladder", or "not outlined"), so that a call the follow-up's reader relabelled
does not read as resolved; a follow-up lesion persisting through its pair's other outline names that outline and its
baseline lesions instead of "–".
"""

from __future__ import annotations

import base64
import html

from scintiseg.display import render_display
from scintiseg.predict.follow_up import FollowUp
from scintiseg.predict.prediction import ViewPrediction
from scintiseg.report.html import display_name, region_title
from scintiseg.report.image_sides import side_marks_svg, side_note
from scintiseg.report.overlay import jpeg_bytes, overlay_image

#: Outline colour of each status.
STATUS_COLOURS = {"new": "#dc0000", "persisting": "#d08000", "not seen": "#1d5bd8", "outside field": "#707070"}

_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.15em;margin:1em 0 .4em}
.warn{background:#fff3cd;border:1px solid #d9a400;padding:.5em .8em;margin:.8em 0}
.flags span{display:inline-block;background:#fde2e1;border:1px solid #d33;margin:2px;padding:1px 6px}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #999;padding:3px 7px;text-align:right} th{background:#e8eef7} td.t,th.t{text-align:left}
.views{display:grid;grid-template-columns:repeat(2,max-content);gap:.6em 1.2em;align-items:start}
.views .date{font-weight:bold;text-align:center}
figure{margin:0} figcaption{font-size:.85em;text-align:center;max-width:22em;margin:.3em auto 0}
svg.scan{height:900px;width:auto;max-width:100%;border:1px solid #ccc;background:#fff}
svg.scan polygon{fill:none;stroke-width:1.8}
svg.scan polygon[data-status="not seen"],svg.scan polygon[data-status="outside field"]{stroke-dasharray:4 3}
svg.scan text{font-weight:bold;font-family:sans-serif;stroke:#fff;paint-order:stroke}
svg.scan text.side{fill:#222;stroke:none}
.status-new{color:#b00000;font-weight:bold} .status-persisting{color:#8a5500} .status-not-seen{color:#1d4fb0}
.status-outside-field{color:#555}
.note{font-size:.85em;color:#333}
@page{size:A4 portrait;margin:12mm}
@media print{body{margin:0;font-size:9pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .views{gap:2mm 6mm;break-inside:avoid} svg.scan{height:112mm;border:none} figcaption{max-width:60mm}
 table{font-size:7.5pt} tr{break-inside:avoid}}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def outlines_words(scan: dict) -> str:
    """Whose outlines a scan of the comparison holds, in words (its record's ``outlines``, ``reviewed`` and
    ``reader``; session 62): the network's own, a review (signed or not), or a folder edited in place."""
    review = (f"reviewed by {scan['reader']}" if scan.get("reader")
              else "reviewed, unsigned: no reader named" if scan.get("reviewed") else "")
    kind = scan.get("outlines")
    if kind == "review":
        return review
    if kind == "edited":
        if review:
            return f"{review}, then edited in place: its LabelMe files no longer give the review's lesions"
        return "edited in place, without scintiseg review: no reader named"
    return "the network's own, not reviewed"


def _number(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _figure(title: str, counts, view: ViewPrediction, spacing, statuses: dict[int, str], head_down: bool) -> str:
    """One view as inline SVG in mm: the scan (as the report draws it), each lesion's outline and id in its status's
    colour, and the R/L marks of the patient's sides (:mod:`.image_sides`, as the report's page marks them); a view
    stored head-down (QC flag ``head_down``) drawn turned head-up, as the report's page draws it."""
    rows, cols = view.labels.shape
    dr, dc = float(spacing[0]), float(spacing[1])
    width, height = cols * dc, rows * dr
    body_rows = view.regions.top, view.regions.bottom
    first, last = (body_rows if body_rows[1] > body_rows[0] else (0, rows - 1))
    if head_down:
        first, last = rows - 1 - last, rows - 1 - first
    y0, y1 = max(first - 8, 0) * dr, min(last + 9, rows) * dr
    font = (y1 - y0) / 70.0
    picture = jpeg_bytes(overlay_image(counts, view, scale=2, outlines=False, display=render_display(counts)))
    uri = "data:image/jpeg;base64," + base64.b64encode(picture).decode("ascii")
    flip = f' transform="matrix(1 0 0 -1 0 {height:.1f})"' if head_down else ""
    parts = [f'<figure><svg class="scan" xmlns="http://www.w3.org/2000/svg" viewBox="0 {y0:.1f} {width:.1f} '
             f'{y1 - y0:.1f}" role="img" aria-label="{_e(title)}"><image href="{uri}" x="0" y="0" width="{width:.1f}" '
             f'height="{height:.1f}" preserveAspectRatio="none"{flip}/>']
    for contour, lesion in zip(view.contours, view.lesions):
        status = statuses.get(lesion.id, "persisting")
        colour = STATUS_COLOURS[status]
        points = [((float(x) + 0.5) * dc, (rows - 0.5 - float(y) if head_down else float(y) + 0.5) * dr)
                  for x, y in contour.points]
        parts.append(f'<polygon data-id="{lesion.id}" data-status="{_e(status)}" stroke="{colour}" '
                     'vector-effect="non-scaling-stroke" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        right, top = max(p[0] for p in points), min(p[1] for p in points)
        parts.append(f'<text x="{right + 0.3 * font:.1f}" y="{max(top + 0.7 * font, y0 + font):.1f}" fill="{colour}" '
                     f'font-size="{font:.1f}" stroke-width="{font * 0.22:.1f}">{lesion.id}</text>')
    parts.append(side_marks_svg(view.view, width, y0, font))
    parts.append(f"</svg><figcaption>{_e(title)}</figcaption></figure>")
    return "".join(parts)


def _status_cell(status: str) -> str:
    return f'<td class="t status-{_e(status.replace(" ", "-"))}">{_e(status)}</td>'


def _baseline_lesions(lesion: dict) -> str:
    """The "Baseline lesion(s)" cell of a follow-up lesion: the ids it matches; for one persisting only through its
    pair's other outline, that outline's matches and the outline (``POST 1, through its POST outline 4``; audit 74,
    finding 8: before, "–" beside "persisting")."""
    matched = ", ".join(map(str, lesion["matches_baseline"]))
    through = lesion.get("persists_through")
    if matched or not through:
        return matched or "–"
    return (f"{through['view']} {', '.join(map(str, through['matches_baseline']))}, through its {through['view']} "
            f"outline {through['id']}")


def _follow_up_place(lesion: dict) -> str:
    """The "On the follow-up" cell of a baseline lesion not seen: what a reader of the follow-up labelled its place,
    or that nothing is outlined there (audit 74, finding 8: a relabelled call read as resolved)."""
    labels = lesion.get("relabelled_on_follow_up") or []
    if labels:
        return "relabelled by the reader as " + " and ".join(label.replace("_", " ") for label in labels) + \
            " (a finding that is no lesion)"
    return "not outlined"


def _late_table(record: dict) -> list[str]:
    rows = ['<table id="follow-up-lesions"><thead><tr><th>Lesion</th><th class="t">View</th><th class="t">Region</th>'
            '<th class="t">Side</th><th class="t">Status</th><th class="t">Baseline lesion(s)</th>'
            "<th>Area mm² (baseline)</th><th>Area mm²</th><th>x normal bone (baseline)</th><th>x normal bone</th>"
            "</tr></thead><tbody>"]
    for view in record["views"].values():
        for lesion in view["follow_up_lesions"]:
            rows.append(f"<tr><td>{lesion['id']}</td><td class=\"t\">{_e(lesion['view'])}</td>"
                        f"<td class=\"t\">{_e(region_title(lesion['region']))}</td>"
                        f"<td class=\"t\">{_e(lesion['laterality'])}</td>{_status_cell(lesion['status'])}"
                        f"<td class=\"t\">{_e(_baseline_lesions(lesion))}</td>"
                        f"<td>{_number(lesion['area_mm2_baseline'], 4)}</td><td>{_number(lesion['area_mm2'], 4)}</td>"
                        f"<td>{_number(lesion['lesion_to_normal_bone_baseline'])}</td>"
                        f"<td>{_number(lesion['lesion_to_normal_bone'])}</td></tr>")
    return rows + ["</tbody></table>"]


def _gone_table(record: dict) -> list[str]:
    gone = [lesion for view in record["views"].values() for lesion in view["baseline_lesions"]
            if lesion["status"] == "not seen"]
    if not gone:
        return ["<p>Every baseline lesion is matched on the follow-up.</p>"]
    relabelled = [lesion for lesion in gone if lesion.get("relabelled_on_follow_up")]
    rows = []
    if relabelled:
        rows.append(f'<p class="note" id="relabelled">{len(relabelled)} of these outline(s): the follow-up\'s reader '
                    "labelled their place as a finding that is no lesion (not a resolution: the baseline's call may "
                    "have been that finding too).</p>")
    rows += ['<table id="baseline-not-seen"><thead><tr><th>Baseline lesion</th><th class="t">View</th>'
             '<th class="t">Region</th><th class="t">Side</th><th>Area mm²</th><th>x normal bone</th>'
             '<th class="t">On the follow-up</th></tr></thead><tbody>']
    rows += [f"<tr><td>{lesion['id']}</td><td class=\"t\">{_e(lesion['view'])}</td>"
             f"<td class=\"t\">{_e(region_title(lesion['region']))}</td><td class=\"t\">{_e(lesion['laterality'])}</td>"
             f"<td>{_number(lesion['area_mm2'], 4)}</td><td>{_number(lesion['lesion_to_normal_bone'])}</td>"
             f"<td class=\"t\">{_e(_follow_up_place(lesion))}</td></tr>"
             for lesion in gone]
    return rows + ["</tbody></table>"]


def _bone_table(record: dict) -> list[str]:
    if not record["bones"]:
        return []
    rows = ['<table id="bones"><thead><tr><th class="t">Bone</th><th>Baseline BSI share</th><th>Follow-up</th>'
            "<th>Change (points)</th></tr></thead><tbody>"]
    rows += [f"<tr><td class=\"t\">{_e(bone.replace('_', ' '))}</td><td>{values['baseline']:.3f}</td>"
             f"<td>{values['follow_up']:.3f}</td><td>{values['change']:+.3f}</td></tr>"
             for bone, values in sorted(record["bones"].items(), key=lambda kv: -abs(kv[1]["change"]))]
    return rows + ["</tbody></table>"]


def _registration(record: dict) -> list[str]:
    rows = ['<table id="registration"><thead><tr><th class="t">View</th><th class="t">From</th><th>Regions kept</th>'
            '<th class="t">Set aside</th><th>RMS mm</th><th>Scale</th><th>Rotation °</th></tr></thead><tbody>']
    for name, view in record["views"].items():
        reg = view["registration"]
        method = "the skeleton-region maps" if reg["method"] == "regions" else "the counts (translation)"
        rows.append(f"<tr><td class=\"t\">{_e(name)}</td><td class=\"t\">{method}"
                    f"{' <b>(uncertain)</b>' if reg['uncertain'] else ''}</td><td>{len(reg['regions_used'])}</td>"
                    f"<td class=\"t\">{_e(', '.join(r.replace('_', ' ') for r in reg['regions_set_aside']) or '–')}</td>"
                    f"<td>{reg['rms_mm']:.1f}</td><td>{reg['scale']:.3f}</td><td>{reg['rotation_deg']:.1f}</td></tr>")
    return rows + ["</tbody></table>"]


def comparison_html(record: dict, result: FollowUp) -> str:
    """The page of a comparison (its :func:`~scintiseg.report.follow_up_folder.comparison_record` and the
    :class:`~scintiseg.predict.follow_up.FollowUp` it was made from)."""
    s, early, late = record["summary"], record["baseline"], record["follow_up"]
    patient = record["patient"]
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>scintiseg follow-up comparison"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>Follow-up comparison: {_e(display_name(patient.get('name')) or patient.get('id') or 'patient')}</h1>"]
    disclaimer = result.follow_up.model_info.get("disclaimer")
    if disclaimer:
        parts.append(f'<p class="warn"><strong>Not a clinical device.</strong> {_e(disclaimer)}</p>')

    def pair(label: str, a, b) -> str:
        return f"<tr><th class=\"t\">{label}</th><td class=\"t\">{a}</td><td class=\"t\">{b}</td></tr>"

    def bsi(scan: dict) -> str:
        if scan["bsi_percent"] is None:
            return "– (a partial view)"
        return f"{scan['bsi_percent']:.3g} % (of {scan['bsi_covered_mass_percent']:.0f} % of the skeleton seen)"

    change = s["bsi_change_points"]
    parts += ['<table id="scans"><thead><tr><th></th><th class="t">Baseline</th><th class="t">Follow-up</th></tr>'
              "</thead><tbody>",
              pair("Study date", _e(early["study_date"] or "unknown"), _e(late["study_date"] or "unknown")),
              pair("Scan", _e(early["source"]), _e(late["source"])),
              pair("Report folder", _e(early["folder"]), _e(late["folder"])),
              pair("Outlines", _e(outlines_words(early)), _e(outlines_words(late))),
              pair("Lesions per view", _e(", ".join(f"{v} {n}" for v, n in early["lesion_count_by_view"].items())),
                   _e(", ".join(f"{v} {n}" for v, n in late["lesion_count_by_view"].items()))),
              pair("BSI", _e(bsi(early)), _e(bsi(late))), "</tbody></table>"]
    interval = f" over {record['interval_days']} days" if record["interval_days"] is not None else ""
    outside = s["outside_field"]["follow_up"] + s["outside_field"]["baseline"]
    parts.append(f"<h2>What changed{_e(interval)}</h2><p id=\"counts\"><span class=\"status-new\">{s['new_lesions']} "
                 f"new</span>, <span class=\"status-persisting\">{s['persisting_lesions']} persisting</span>, "
                 f"<span class=\"status-not-seen\">{s['lesions_not_seen']} not seen</span>"
                 + (f" ({s['not_seen_relabelled']} of them relabelled by the follow-up's reader as no lesion)"
                    if s.get("not_seen_relabelled") else "")
                 + (f", <span class=\"status-outside-field\">{outside} outside the other scan's field</span> (neither "
                    "new nor gone: dashed grey)" if outside else "") + " (a lesion outlined on both views counted once)"
                 + ("" if change is None else f"; BSI change <b>{change:+.2f} points</b>") + ".</p>")
    for number, warning in enumerate(s.get("warnings") or []):
        parts.append(f'<p class="warn" id="warning-{number + 1}"><b>Warning.</b> {_e(warning)}</p>')
    if s.get("same_study"):  # a scan against itself or its own review: no later scan, no PCWG3 (session 62)
        parts.append('<p class="note" id="pcwg3">One study compared with itself: no PCWG3 reading (the rule counts '
                     "lesions new on a later scan).</p>")
    else:
        parts.append(f"<p class=\"{'warn' if s['two_or_more_new'] else 'note'}\" id=\"pcwg3\">"
                     + ("<b>Two or more new lesions.</b> " if s["two_or_more_new"] else "Fewer than two new lesions. ")
                     + f"{_e(s['pcwg3'])}.</p>")
    if s["flags"]:
        parts.append('<p class="flags">' + "".join(f"<span>{_e(flag)}</span>" for flag in s["flags"]) + "</p>")
    dicom = record.get("dicom") or {}
    if dicom.get("sr"):
        parts.append(f'<p class="note" id="dicom">DICOM SR <code>{_e(dicom["sr"])}</code>: the follow-up\'s '
                     f"measurements, {dicom.get('outlines_tracked', 0)} outline(s) carrying the tracking UID of the "
                     "baseline lesion they continue (TID 1410), so a viewer that follows findings links the two "
                     "studies.</p>")
    elif dicom.get("note"):
        parts.append(f'<p class="note" id="dicom">{_e(dicom["note"])}.</p>')
    if dicom.get("gsps"):
        parts.append(f'<p class="note" id="gsps">DICOM GSPS <code>{_e(dicom["gsps"])}</code>: the follow-up\'s '
                     "outlines on its own images, one layer per status (new, persisting, outside field), for a "
                     "PACS viewer.</p>")
    early_date, late_date = early["study_date"] or "date unknown", late["study_date"] or "date unknown"
    parts.append('<h2>Images</h2><div class="views" id="images">'
                 f'<div class="date">Baseline ({_e(early_date)})</div><div class="date">Follow-up ({_e(late_date)})</div>')
    for name in result.views:  # a row per view, the baseline left of the follow-up (audit 74, finding 7)
        early_view, late_view = result.baseline.views[name], result.follow_up.views[name]
        early_status = {lesion.id: result.status_of(name, lesion.id, follow_up=False) for lesion in early_view.lesions}
        late_status = {lesion.id: result.status_of(name, lesion.id) for lesion in late_view.lesions}
        parts.append(_figure(f"{name} baseline ({early_date}; {side_note(name)}): persisting amber, not seen dashed "
                             "blue", result.baseline.scan.view(name), early_view,
                             result.baseline.scan.pixel_spacing, early_status, "head_down" in result.baseline.qc_flags))
        parts.append(_figure(f"{name} follow-up ({late_date}; {side_note(name)}): new red, persisting amber",
                             result.follow_up.scan.view(name), late_view, result.follow_up.scan.pixel_spacing,
                             late_status, "head_down" in result.follow_up.qc_flags))
    parts.append("</div><h2>Follow-up lesions</h2>")
    parts += _late_table(record)
    parts.append("<h2>Baseline lesions not seen on the follow-up</h2>")
    parts += _gone_table(record)
    parts.append("<h2>BSI by bone</h2>")
    parts += _bone_table(record) or ["<p>No bone involved on either scan.</p>"]
    parts.append("<h2>Registration</h2>")
    parts += _registration(record)
    parts.append('<p class="note">' + " ".join(f"<b>{_e(k)}</b>: {_e(v)}." for k, v in record["definitions"].items())
                 + f" scintiseg {_e(record['scintiseg_version'])}, {_e(record['created'])}.</p></body></html>")
    return "\n".join(parts)
