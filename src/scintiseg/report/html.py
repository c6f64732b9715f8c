"""``report.html``: a self-contained page a physician opens in any browser.

One file, no external resources (no scripts, fonts or style sheets fetched; images embedded as
``data:image/png;base64`` URIs), so it can be mailed or archived. Every text that comes from the input
(patient name and id, UIDs, file names, region names, flags, the model's provenance) is escaped with
:func:`html.escape` (quotes included): a DICOM patient name is attacker-controlled text. The lesion table
has ``id="lesions"`` and one ``<tr>`` per lesion in its ``<tbody>`` (the browser test counts them); its
"Paired with" column names the same lesion's id in the other view (ANT-POST pairing). The summary's
``id="triage"`` row gives the triage score (the largest covered lesion probability, per scan and per view).
"""

from __future__ import annotations

import base64
import html


_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
.warn{background:#fff3cd;border:1px solid #d9a400;padding:.5em .8em;margin:.8em 0}
.flags span{display:inline-block;background:#fde2e1;border:1px solid #d33;margin:2px;padding:1px 6px}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #999;padding:3px 7px;text-align:right}
th{background:#e8eef7} td.t{text-align:left}
.views{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start}
figure{margin:0} figcaption{font-size:.9em;text-align:center}
dl{font-size:.85em} dt{font-weight:bold} dd{margin:0 0 .4em 1em}
"""

_COLUMNS = (
    ("id", "Id"),
    ("view", "View"),
    ("paired_with", "Paired with"),
    ("region", "Region"),
    ("laterality", "Side"),
    ("area_px", "Area (px)"),
    ("area_mm2", "Area (mm²)"),
    ("counts_total", "Total counts"),
    ("counts_max", "Max counts"),
    ("counts_mean", "Mean counts"),
    ("lesion_to_normal_bone", "Lesion / normal bone"),
    ("probability_mean", "Mean probability"),
    ("bsi_contribution_percent", "BSI contribution (%)"),
)
_TEXT_COLUMNS = {"view", "region", "laterality"}


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(key: str, value) -> str:
    if value is None:
        text = "–"
    elif isinstance(value, float):
        text = f"{value:.3g}" if key in ("lesion_to_normal_bone", "probability_mean", "bsi_contribution_percent") else f"{value:.1f}"
    else:
        text = str(value)
    css = ' class="t"' if key in _TEXT_COLUMNS else ""
    return f"<td{css}>{_e(text)}</td>"


def _triage(summary: dict, views: dict) -> str:
    """The triage score of the scan, and of each view in brackets (escaped)."""
    score = summary.get("triage_score")
    if score is None:
        return "–"
    per_view = ", ".join(f"{name} {float(v['max_probability']):.3g}" for name, v in views.items() if "max_probability" in v)
    return _e(f"{float(score):.3g}" + (f" ({per_view})" if per_view else ""))


def report_html(report: dict, images: dict[str, bytes]) -> str:
    """The HTML page of a report dict (:func:`.report_json.report_dict`) with overlay PNGs per view.

    Args:
        report: the report dict.
        images: view -> overlay PNG bytes, embedded in the page.
    """
    summary = report["summary"]
    patient = report["patient"]
    model = report.get("model", {})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">',
        f"<title>scintiseg report – {_e(patient.get('id'))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Bone scan lesion report</h1>",
        "<table class=\"meta\"><tbody>",
        f"<tr><th>Patient name</th><td class=\"t\" id=\"patient-name\">{_e(patient.get('name'))}</td></tr>",
        f"<tr><th>Patient id</th><td class=\"t\">{_e(patient.get('id'))}</td></tr>",
        f"<tr><th>Source</th><td class=\"t\">{_e(report['input'].get('source'))}</td></tr>",
        f"<tr><th>Study UID</th><td class=\"t\">{_e(report.get('study_uid'))}</td></tr>",
        f"<tr><th>Views</th><td class=\"t\">{_e(', '.join(report['input'].get('views', [])))}</td></tr>",
        f"<tr><th>Model</th><td class=\"t\">{_e(model.get('name'))} ({_e(model.get('engine'))}, "
        f"input {_e(model.get('input_mode'))}); trained on {_e(model.get('trained_on'))}</td></tr>",
        f"<tr><th>Created</th><td class=\"t\">{_e(report.get('created'))} by scintiseg {_e(report.get('scintiseg_version'))}</td></tr>",
        "</tbody></table>",
    ]
    if model.get("disclaimer"):
        parts.append(f'<p class="warn"><strong>Not a clinical device.</strong> {_e(model["disclaimer"])}</p>')
    parts += [
        "<h2>Summary</h2>",
        '<table id="summary"><tbody>',
        f"<tr><th>Lesions</th><td>{_e(summary['lesion_count'])}</td></tr>",
        f"<tr><th>Lesions seen in both views (pairs)</th><td>{_e(summary.get('pair_count', 0))}</td></tr>",
        f'<tr id="triage"><th>Triage score (largest lesion probability; a ranking, not calibrated)</th>'
        f"<td>{_triage(summary, report.get('views', {}))}</td></tr>",
        f"<tr><th>Soloway grade</th><td>{_e(summary['soloway_grade'])}</td></tr>",
        f"<tr><th>Bone Scan Index (%)</th><td>{float(summary['bsi_percent']):.3f}</td></tr>",
        f"<tr><th>Skeletal mass seen (%)</th><td>{float(summary['bsi_covered_mass_percent']):.1f}</td></tr>",
        "</tbody></table>",
        f"<p>{_e(summary['bsi_scope'])}</p>",
    ]
    flags = summary.get("qc_flags") or []
    parts.append(
        '<p class="flags">QC flags: ' + ("".join(f"<span>{_e(f)}</span>" for f in flags) if flags else "none") + "</p>"
    )
    parts.append('<h2>Lesions</h2><table id="lesions"><thead><tr>')
    parts += [f"<th>{_e(title)}</th>" for _, title in _COLUMNS]
    parts.append("</tr></thead><tbody>")
    for lesion in report["lesions"]:
        parts.append("<tr>" + "".join(_cell(key, lesion.get(key)) for key, _ in _COLUMNS) + "</tr>")
    parts.append("</tbody></table>")
    if not report["lesions"]:
        parts.append("<p>No lesion found above the threshold.</p>")
    parts.append('<h2>Images</h2><div class="views">')
    for view, png in images.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img alt="{_e(view)} overlay" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(view)}: lesion contours (red), model window (blue)</figcaption></figure>"
        )
    parts.append("</div><h2>Definitions</h2><dl>")
    for key, text in report.get("definitions", {}).items():
        parts.append(f"<dt>{_e(key)}</dt><dd>{_e(text)}</dd>")
    parts.append("</dl></body></html>")
    return "\n".join(parts) + "\n"
