"""``report.html``: a self-contained page a physician opens in any browser, and prints.

One file, no external resources (no scripts at all, no fonts or style sheets fetched; images embedded as
``data:`` URIs, PNG or JPEG as given), so it can be mailed or archived. Every text that comes from the input
(patient name and id, UIDs, file names, view and region names, flags, the model's provenance) is escaped
with :func:`html.escape` (quotes included): a DICOM patient name is attacker-controlled text.

What the page shows (issue 15, "Report"), top to bottom:

- **Summary**: lesion count, ANT-POST pairs, the triage score (``id="triage"``: the largest covered lesion
  probability, per scan and per view), Soloway grade, the **BSI with its scope** (covered skeletal mass,
  per view, and what the BSI leaves out), the involved regions, and the **QC flags** with their meaning;
  beside it the **body diagram** of the involved regions (:mod:`.body_diagram`).
- **Images**: every view side by side as an inline SVG: the scan (the PNG given per view), each lesion's
  contour (vector, from ``report["lesions"][i]["contour"]``) and its id, the same id as in the table, and
  R/L marks of the patient's sides. The views are cropped to the rows of the body found on any view
  (the region estimate's ``body_top_row``/``body_bottom_row``; any lesion outside it widens the crop) and
  drawn in millimetres, so non-square pixels keep their shape. A scan stored head-down (QC flag ``head_down``)
  is drawn turned head-up, as a physician reads it (:func:`shown_head_up`; every other output stays on the image
  as stored). **Region map on demand**: a checkbox (pure
  CSS, no script) lays each view's skeleton-region map (:func:`.overlay.region_map_image`) over the scan
  and shows its colour legend. **Calls left out on demand** (session 35): when a reading rule left out calls of the
  network (report.json ``left_out_calls``: the spine's segmental pattern, a symmetric pattern), a second checkbox
  draws them dashed blue, numbered ``x1``, ``x2``, ..., so that a reader sees what was judged normal.
- **Lesions by region**: ``<table id="lesions">`` with one ``<tbody class="region-group">`` per region (in
  the order of :data:`~scintiseg.predict.regions.REGION_NAMES`; ``other`` and unknown names last), each
  opened by a ``<tr class="region-header">`` (lesions per view and the region's BSI contribution) and then
  one ``<tr class="lesion">`` per lesion. The "Paired with" column names the same lesion's id in the other
  view; a lesion without one on a bone the other view sees better (the spine, sacrum, scapulae on POST, the
  sternum and clavicles on ANT: :data:`~scintiseg.predict.bsi.NEARER_VIEW`) says "not seen on POST, the nearer
  view" (session 22: on 100 default phantom patients 10 of 12 such calls were false positives, against 4 of 34
  of those the nearer view shows too); it counts nothing in the BSI, which reads that bone from the nearer view.
  A region's BSI contribution is that of the view's bone group (``views.V.bsi.bones``), combined over the
  predicted views like the scan's BSI, so the region rows add up to the BSI.
- **Calls left out by a reading rule**: ``<table id="left-out">`` after the lesions (none when there are none):
  each call's id (``x1``), view, rule, region, side, area, counts, ratio to normal bone, largest probability and
  what it would add to its view's BSI were it restored; how to restore one (relabel it ``lesion`` in LabelMe).
- **Correcting this report** (session 48, on screen only): the view's LabelMe files, what deleting, relabelling and
  drawing mean, and the ``scintiseg review`` command that writes every output again from the reader's outlines.
- **Print** (``@media print``): A4 portrait, toggles hidden (a printed checkbox does nothing), the summary
  on page 1, the images sized to one page, the lesion table from a new page with its header repeated, and
  colours printed as shown.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from scintiseg.predict.bsi import NEARER_VIEW, REGION_TO_BONE, reader_bones, view_weights
from scintiseg.predict.regions import HALVED_REGIONS, REGION_NAMES
from scintiseg.predict.rule_calls import RULE_TEXT
from scintiseg.predict.spine_pattern import BROAD_CALL_RATIO, PATTERN_RATIO
from scintiseg.predict.superscan import AXIAL_TO_DISTAL_CUT, SUPERSCAN_FLAG
from scintiseg.predict.view_labels import VIEWS_SWAPPED_FLAG
from scintiseg.report.body_diagram import RegionFinding, body_diagram_svg, diagram_region
from scintiseg.report.image_sides import side_marks_svg, side_note
from scintiseg.report.overlay import REGION_COLOURS

_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.15em;margin:1em 0 .4em}
.warn{background:#fff3cd;border:1px solid #d9a400;padding:.5em .8em;margin:.8em 0}
.flags span{display:inline-block;background:#fde2e1;border:1px solid #d33;margin:2px;padding:1px 6px}
.flags ul{margin:.2em 0;padding-left:1.4em;font-size:.9em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #999;padding:3px 7px;text-align:right}
th{background:#e8eef7} td.t,th.t{text-align:left}
table.meta{max-width:100%} table.meta td{overflow-wrap:anywhere}
td.warn-cell{background:#fff3cd}
tr.region-header th{background:#d5dff0;text-align:left;font-weight:normal}
tr.region-header b{font-size:1.05em}
.top{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}
.top .summary{flex:1 1 28em;max-width:46em}
.body-diagram{height:560px;width:auto;max-width:100%}
#body-diagram{flex:0 0 auto}
.views{display:flex;gap:1.2em;flex-wrap:wrap;align-items:flex-start}
figure{margin:0} figcaption{font-size:.85em;text-align:center;max-width:26em;margin:.3em auto 0}
svg.scan{height:940px;width:auto;max-width:100%;border:1px solid #ccc;background:#fff}
svg.scan .lesion-outline{fill:none;stroke:#dc0000;stroke-width:1.6}
svg.scan .lesion-id{fill:#c00000;stroke:#fff;paint-order:stroke;font-weight:bold;font-family:sans-serif}
svg.scan .lesion-outline[data-origin="reader"]{stroke:#e07000;stroke-width:1.8}
svg.scan .lesion-id[data-origin="reader"]{fill:#b85c00}
svg.scan .side{fill:#222;font-weight:bold;font-family:sans-serif}
svg.scan .left-out{display:none}
svg.scan .left-out-outline{fill:none;stroke:#1d5bd8;stroke-width:1.4;stroke-dasharray:4 3}
svg.scan .left-out-id{fill:#1d4fb0;stroke:#fff;paint-order:stroke;font-weight:bold;font-style:italic;font-family:sans-serif}
#show-left-out{position:absolute;opacity:0}
#show-left-out:focus-visible + .toggle-label{outline:2px solid #336}
#show-left-out:checked ~ .views .left-out{display:inline}
#show-left-out:checked + .toggle-label{background:#cce}
#left-out td.t,#left-out th.t{text-align:left}
svg.scan .regionmap{display:none;mix-blend-mode:multiply;opacity:.9;image-rendering:pixelated}
.toggle-label{display:inline-block;margin:.2em 0 .6em;padding:.2em .6em;border:1px solid #88a;border-radius:4px;
 background:#eef;cursor:pointer;user-select:none}
.legend{display:none;flex-wrap:wrap;gap:.2em 1em;font-size:.8em;margin:.6em 0;max-width:70em}
.legend span{display:inline-flex;align-items:center;gap:.3em;min-width:11em}
.legend i{display:inline-block;width:1.1em;height:1.1em;border:1px solid #777}
#show-regions{position:absolute;opacity:0}
#show-regions:focus-visible + .toggle-label{outline:2px solid #336}
#show-regions:checked ~ .views .regionmap{display:inline}
#show-regions:checked ~ .legend{display:flex}
#show-regions:checked + .toggle-label{background:#cce}
.note{font-size:.85em;color:#333}
dl{font-size:.85em} dt{font-weight:bold} dd{margin:0 0 .4em 1em}
@page{size:A4 portrait;margin:12mm}
@media print{
 body{margin:0;font-size:9pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .toggle-label,#show-regions,#show-left-out,#correcting{display:none}
 .top{flex-wrap:nowrap;gap:5mm}
 .top .summary{flex:1 1 auto}
 #body-diagram{flex:0 0 78mm}
 .body-diagram{width:78mm;height:auto}
 #images{break-before:page}
 .views{flex-wrap:nowrap;gap:4mm;justify-content:center}
 svg.scan{height:228mm;width:auto;max-width:90mm;border:none}
 figcaption{max-width:80mm}
 #lesions-section{break-before:page}
 #lesions{font-size:7.5pt;width:100%}
 #lesions thead{display:table-header-group}
 #lesions tr{break-inside:avoid}
 #lesions tr.region-header{break-after:avoid}
 th,td{padding:1px 3px}
 #definitions{break-before:auto}
}
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
    ("beside", "Beside"),
)
_TEXT_COLUMNS = {"view", "region", "laterality", "beside", "origin"}

#: What each QC flag means (flags ending in ``_VIEW`` name their view); docs/predict.md has the full text.
QC_FLAG_MEANINGS: dict[str, str] = {
    # before "low_counts", which its name starts with
    "low_counts_estimated": "an 8-bit export of a low-count acquisition: its counts, read from the steps between its "
                            "grey levels (report.json, input.export_gain), are under 0.8 M: noisy, faint lesions are "
                            "found less often",
    "low_counts": "few counts in the view: noisy, lesions may be missed",
    "pixel_spacing_doubtful": "at the pixel size read, the view is wider than a whole-body camera's field (0.8 m) or "
                              "its body taller than a patient (2.3 m): the pixel size is probably wrong (an image "
                              "resampled whose header kept the old one), or two views lie side by side in one image "
                              "named as one; areas, the bones' names, sides and the BSI are unreliable: give the right "
                              "size with --pixel-spacing, or the views as two files",
    "view_unnamed": "the file does not say whether this is the anterior or the posterior view: it was read as the "
                    "anterior one (the patient's right on the image left); if it is the posterior view every side is "
                    "the wrong one",
    "pixel_spacing_assumed": "the file gives no pixel size, so one was assumed (report.json input.pixel_spacing_assumed "
                             "says which and why): every area, diameter and the bones' scale rest on it; give the right "
                             "one with --pixel-spacing",
    "export_8bit": "an 8-bit export (JPEG, 8-bit PNG or DICOM): its values are grey levels, not counts",
    "colour_annotations_removed": "annotations drawn in colour on the grey export (text, markers, a colour scale) were "
                                  "painted over with the grey view around them when the file was read",
    "colour_table_read": "a picture of the scan shown through a colour table (Hot Iron, PET, ...): its grey levels were "
                         "read back through that table (report.json, input.colour_table), the pixels off the table "
                         "(annotations, JPEG's colour rounding at sharp changes of hue) painted over with the view "
                         "around them; JPEG's colour rounding adds a few grey levels of error",
    "panels_blanked": "a screen capture's flat panels at the image's edges (a toolbar, a side panel) were set to the "
                      "scan's background when the file was read (report.json, input.panels_blanked: each side's depth "
                      "in pixels)",
    "frame_lines_blanked": "a screen capture's thin lines (a frame around the viewport, a separator between two "
                           "viewports) were set to the scan's background when the file was read (report.json, "
                           "input.frame_lines_blanked: each line's rows or columns)",
    "display_curve_undone": "the 8-bit export was shown through a non-linear display curve (a viewer's gamma, read "
                            "from how its noise grows with its grey level; report.json, input.display_gamma) and was "
                            "read back to linear grey levels; export the scan linearly where you can",
    "burned_in_removed": "text or a grey bar was drawn into the export (a view name, side markers, a scale): painted "
                         "over with the view around it before the networks read it, and shown painted",
    "clipped_export": "at least 1 % of the body sits at the image's top value: the export was cut off by a display "
                      "window, so hot spots above it are flattened: faint ones may be missed, outlines come out "
                      "smaller and the BSI lower (NM1 windowed to 30 %: its lesion's outline half its area, the BSI "
                      "0.05 for 0.09); export without windowing",
    "views_split": "one image held two views side by side, read as ANT (left) and POST (right, as displayed)",
    "turned_upright": "the image held the body lying on its side: it was turned a quarter to stand, and images and "
                      "outlines are shown turned",
    "read_mirrored": "the file's DICOM orientation attributes say a view is stored mirrored left-right: it was read "
                     "mirrored back, so the patient's sides are named as the file says; images, outlines and LabelMe "
                     "files show it so, the SR and GSPS point into the file as stored",
    "head_down": "the views are stored with the head at the bottom: the networks read them turned head-up, and "
                 "this page shows them so; the outputs (masks, LabelMe, GSPS, SR) stay on the image as stored. A half "
                 "turn cannot be told from an upside-down flip: if the file was flipped, not turned, left and right "
                 "are the wrong way round: check the sides",
    "no_upright_head": "this view shows no upright head while the other view does: if it is stored head-down, its "
                       "lesions' regions and sides are wrong and the views were not paired (a study's two files are "
                       "then read apart, each turned as it needs; views of one file are read as stored)",
    "inverted_export": "the export showed hot as dark (an inverted display); it was read inverted back: check the images",
    "body_truncated": "the body touches the top or bottom edge: region names and BSI are unreliable",
    "partial_view": "less than a whole body in the view (a crop or spot view; or, where the whole body is in the "
                    "image, a pixel size read too small: a resampled image whose header kept the old one; then predict "
                    "it again with --pixel-spacing MM --pixel-spacing-over-header): bones are not named and no BSI is "
                    "given",
    "polygon_crop": "a polygon crop (outside set to 0): its input was brought to the level of a whole view",
    "no_body": "no body found in the view",
    "no_bone_found": "no bone found in the view: BSI and lesion-to-bone ratios are missing",
    "lesion_at_window_edge": "a lesion touches the edge of the model's window: it may extend beyond what was seen",
    "lesion_beside_bladder": "a lesion lies within 10 mm of the bladder's activity (column Beside): urine can mimic a "
                             "lesion there or hide one; check a post-void image",
    "lesion_at_forearm_or_hand": "a lesion at an elbow, forearm or hand (column Beside): more often the injection "
                                 "site or a degenerative joint than a metastasis; check the injection arm",
    "spine_pattern": "calls on the spine not clearly hotter than the vertebrae above and below (peak under "
                     f"{PATTERN_RATIO:g} times theirs, {BROAD_CALL_RATIO:g} for a call over much of a vertebra) were "
                     "left out as the normal segmental pattern (listed after "
                     "the lesions, x1, ...): check the column if a whole segment looks involved",
    "symmetric": "calls in a paired bone matched by the same uptake at the mirror spot of the other side were left "
                 "out as a symmetric pattern (joints, anatomy; listed after the lesions, x1, ...): check both sides "
                 "if disease may be symmetric",
    "bladder_activity": "a call covering much of the bladder's hot spot was left out as the urine, not a lesion "
                        "(listed after the lesions, x1, ...): a lesion under the bladder is hidden by it; check a "
                        "post-void image",
    "distal_arm": "a call at an elbow, forearm or hand was left out as the injection site or a joint, which it is "
                  "far more often than a metastasis (listed after the lesions, x1, ...): check the injection arm; "
                  "restore it if it is an acral metastasis",
    "off_skeleton": "a call lying off the skeleton, in the soft tissue (mostly more than 10 mm from every bone the "
                    "region map names), was left out as not a bone lesion (listed after the lesions, x1, ...): urine "
                    "on the skin, an injection or a lymph node; check it on the images",
    "superscan_pattern": "the axial skeleton is far brighter than the lower legs (report.json, views.V.axial_to_distal; "
                         f"POST at least {AXIAL_TO_DISTAL_CUT['POST']:g} times, or ANT {AXIAL_TO_DISTAL_CUT['ANT']:g} "
                         "without POST): the pattern of a metastatic superscan, so the Soloway grade is 4 and the BSI "
                         "of outlined lesions understates the disease; confirm on the images (faint kidneys and soft "
                         "tissue, crisp bones)",
    "views_misaligned": "ANT and POST could not be aligned: lesions were not paired",
    VIEWS_SWAPPED_FLAG: "ANT and POST look named the other way round: the lumbar spine, which lies at the back, stands out "
                     "less on the view named POST than on the one named ANT; check the view names in the file (if "
                     "swapped, every side here is the wrong one, and each view read the bones the other sees better)",
    "crop_uncertain": "the model's window was placed by a fallback: check it covers the thorax",
}

#: Rows of margin kept above and below the body when the views are cropped to it.
CROP_MARGIN_PX: int = 12


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def display_name(text) -> str:
    """A DICOM person name (``Family^Given^Middle^Prefix^Suffix``) as a person reads it, ``Prefix Given Middle Family
    Suffix`` (``Doe^Jane`` -> ``Jane Doe``); a name without carets as it is (session 62: the patient's was shown raw)."""
    text = "" if text is None else str(text)
    if "^" not in text:
        return text
    family, given, middle, prefix, suffix = (text.split("=")[0].split("^") + [""] * 5)[:5]
    return " ".join(" ".join((prefix, given, middle, family, suffix)).split())


def display_date(value) -> str:
    """A DICOM date (DA, ``YYYYMMDD``) as ``YYYY-MM-DD``; anything else as it is."""
    text = "" if value is None else str(value).strip()
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 and text.isdigit() else text


def reader_name(reader: object) -> str | None:
    """A review's reader (``report.json``'s ``review.reader``) as the pages name it: the person name as a person reads
    it (:func:`display_name`), the organization in brackets; None for an unsigned review."""
    if not isinstance(reader, dict) or not reader.get("name"):
        return None
    where = f" ({reader['organization']})" if reader.get("organization") else ""
    return display_name(reader["name"]) + where


def _css_string(text: str) -> str:
    """``text`` as a CSS string's content: every character but plain printable ASCII letters, digits, spaces and a
    few marks escaped (``\\3c `` for ``<``), so that no name can close the string or the style element."""
    keep = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_()/#")
    return "".join(c if c in keep else f"\\{ord(c):x} " for c in text)


def _print_header(report: dict) -> str:
    """The printed page's running header (an ``@page`` margin box, on every page): the patient's name, id, birth
    date and the study's date, so that page 3 of a printout still says whose it is (session 62: only page 1 did)."""
    patient, study = report.get("patient") or {}, report.get("study") or {}
    parts = [display_name(patient.get("name")), f"id {patient.get('id')}" if patient.get("id") else "",
             f"born {display_date(patient['birth_date'])}" if patient.get("birth_date") else "",
             f"study {display_date(study['study_date'])}" if study.get("study_date") else ""]
    said = " \u00b7 ".join(part for part in parts if part)
    return ("@page{@top-left{content:\"" + _css_string(said) + "\";font:8pt sans-serif;color:#333}"
            "@bottom-right{content:\"page \" counter(page) \" of \" counter(pages);font:8pt sans-serif;color:#333}}")


def _patient_rows(report: dict) -> list[str]:
    """The header's patient and study rows: name as a person reads it, id (or that the file holds none), birth date
    and sex, and the study's date, accession number and description where the source gives them."""
    patient, study, source = report["patient"], report.get("study") or {}, report.get("input") or {}
    shown = display_name(patient.get("name"))
    raw = str(patient.get("name") or "")
    name = _e(shown) + (f' <small class="note">({_e(raw)})</small>' if raw and raw != shown else "")
    patient_id = _e(patient.get("id"))
    stem = Path(str(source.get("source") or "")).stem
    if not report.get("study_uid") and patient.get("id") and patient.get("id") == stem:
        patient_id += ' <small class="note">(the file\'s name: the file holds no patient id)</small>'
    rows = [f"<tr><th>Patient name</th><td class=\"t\" id=\"patient-name\">{name}</td></tr>",
            f"<tr><th>Patient id</th><td class=\"t\">{patient_id}</td></tr>"]
    born = "; ".join(x for x in (display_date(patient.get("birth_date")) and f"born {display_date(patient.get('birth_date'))}",
                                 patient.get("sex") and f"sex {patient.get('sex')}") if x)
    if born:
        rows.append(f'<tr><th>Patient</th><td class="t">{_e(born)}</td></tr>')
    told = "; ".join(x for x in (display_date(study.get("study_date")) and f"{display_date(study.get('study_date'))}",
                                 study.get("accession_number") and f"accession {study.get('accession_number')}",
                                 study.get("study_description")) if x)
    if told:
        rows.append(f'<tr id="study"><th>Study</th><td class="t">{_e(told)}</td></tr>')
    return rows


def _cell(key: str, value) -> str:
    if value is None:
        text = "–"
    elif isinstance(value, float):
        three = ("lesion_to_normal_bone", "probability_mean", "probability_max", "bsi_contribution_percent")
        text = f"{value:.3g}" if key in three else f"{value:.1f}"
    else:
        text = str(value)
    css = ' class="t"' if key in _TEXT_COLUMNS else ""
    return f"<td{css}>{_e(text)}</td>"


def score_text(value: float) -> str:
    """A probability to 3 significant digits, never rounded up to a certainty it is not (0.9997 -> ``0.999``)."""
    text = f"{value:.3g}"
    return "0.999" if text == "1" and value < 1.0 else text


def triage_text(summary: dict, views: dict) -> str:
    """The triage score of the scan, and of each view in brackets (plain text: the page escapes it, the PDF,
    :mod:`.report_pdf`, prints it)."""
    score = summary.get("triage_score")
    if score is None:
        return "–"
    per_view = ", ".join(f"{name} {score_text(float(v.get('triage_score', v.get('max_probability'))))}"
                         for name, v in views.items() if "triage_score" in v or "max_probability" in v)
    return score_text(float(score)) + (f" ({per_view})" if per_view else "")


def region_title(region: str) -> str:
    """A region name for people: ``tibia_fibula_left`` -> ``Tibia/fibula (left)``."""
    base, side = region, None
    for suffix in ("right", "left"):
        if region.endswith("_" + suffix):
            base, side = region[: -len(suffix) - 1], suffix
    text = base.replace("tibia_fibula", "tibia/fibula").replace("_", " ")
    text = text[:1].upper() + text[1:]
    return f"{text} ({side})" if side else text


def _region_order(region: str) -> tuple[int, int, str]:
    """Anatomical order (REGION_NAMES), then unknown names alphabetically, ``other`` last."""
    if region == REGION_NAMES[0]:
        return (2, 0, region)
    if region in REGION_NAMES:
        return (0, REGION_NAMES.index(region), region)
    return (1, 0, region)


def group_by_region(lesions: list[dict]) -> list[tuple[str, list[dict]]]:
    """The lesions grouped by their ``region``, groups in anatomical order, lesions by view then id, as numbers
    (:func:`id_order`: 2 before 10; they were sorted as text, 10 before 2, until the PDF report listed them)."""
    groups: dict[str, list[dict]] = {}
    for lesion in lesions:
        groups.setdefault(str(lesion.get("region")), []).append(lesion)
    return [(region, sorted(groups[region], key=lambda l: (str(l.get("view")), id_order(l.get("id")))))
            for region in sorted(groups, key=_region_order)]


def place_groups(lesions: list[dict]) -> list[tuple[str, str | None, list[dict]]]:
    """``(region, side, lesions)`` groups in anatomical order (:func:`group_by_region`): a region named once that holds
    a pair of bones (the pelvis, :data:`~scintiseg.predict.regions.HALVED_REGIONS`) split by its lesions'
    ``laterality``, right, left, then the midline (side None); any other region whole, side None (a paired bone's
    side is in its name). Audit 74, finding 11: the pelvis lost its side in words the table gave."""
    places: list[tuple[str, str | None, list[dict]]] = []
    for region, group in group_by_region(lesions):
        if region not in HALVED_REGIONS:
            places.append((region, None, group))
            continue
        for side in ("right", "left", None):
            members = [one for one in group
                       if (one.get("laterality") if one.get("laterality") in ("right", "left") else None) == side]
            if members:
                places.append((region, side, members))
    return places


def place_title(region: str, side: str | None = None) -> str:
    """A place for people: :func:`region_title`, with ``side`` where given (``pelvis``, ``right`` -> ``Pelvis
    (right)``)."""
    return f"{region_title(region)} ({side})" if side else region_title(region)


def id_order(value) -> tuple[int, int, str]:
    """A sort key of a lesion's or a left-out call's id: whole numbers in their order, anything else after them."""
    text = str(value)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def view_region_bsi(report: dict, view: str, region: str) -> float:
    """The BSI contribution (%) of ``region`` on ``view``, as ``report.json`` holds it: its bone group's
    (``views.V.bsi.bones``), else the sum over its lesions (``bsi_contribution_percent``)."""
    bones = report.get("views", {}).get(view, {}).get("bsi", {}).get("bones", {})
    if region in bones and "contribution_percent" in bones[region]:
        return float(bones[region]["contribution_percent"])
    return float(sum(l.get("bsi_contribution_percent") or 0.0 for l in report["lesions"]
                     if l.get("view") == view and l.get("region") == region))


def region_findings(report: dict) -> dict[str, dict[str, RegionFinding]]:
    """View -> region -> :class:`~.body_diagram.RegionFinding` (lesion count, BSI contribution) of that view.

    A pelvic lesion with a side is keyed by its hemipelvis (``pelvis_right``: :func:`~.body_diagram.diagram_region`).
    A halved region's BSI contribution (:func:`view_region_bsi`, the bone's, as the table's region row gives it) goes
    to its keys in proportion to their lesions' own contributions (``bsi_contribution_percent``; by lesion count where
    those add up to nothing): one side's lesions alone get the whole, the number the table shows."""
    grouped: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for lesion in report["lesions"]:
        view, region = str(lesion.get("view")), str(lesion.get("region"))
        key = diagram_region(region, lesion.get("laterality"))
        grouped.setdefault((view, region), {}).setdefault(key, []).append(lesion)
    found: dict[str, dict[str, RegionFinding]] = {}
    for (view, region), keys in grouped.items():
        bsi = view_region_bsi(report, view, region)
        weights = {key: sum(float(l.get("bsi_contribution_percent") or 0.0) for l in lesions)
                   for key, lesions in keys.items()}
        if sum(weights.values()) <= 0.0:
            weights = {key: float(len(lesions)) for key, lesions in keys.items()}
        total = sum(weights.values())
        for key, lesions in keys.items():
            found.setdefault(view, {})[key] = RegionFinding(len(lesions), bsi * weights[key] / total)
    return found


def _region_weights(report: dict, region: str) -> dict[str, float]:
    """View -> its weight in ``region``'s BSI contribution, as the prediction weighed it: ``summary.bsi_view_weights``
    (:func:`~scintiseg.predict.bsi.bsi_view_weights`). A bone it does not list no view saw, and a report written
    before session 64 lists none: both are weighed by :func:`~scintiseg.predict.bsi.view_weights` itself, the reader's
    own bones (:func:`~scintiseg.predict.bsi.reader_bones`) taken from the lesions' ``origin``."""
    views = list(report.get("views", {})) or sorted({str(l.get("view")) for l in report["lesions"]})
    if not views:
        return {}
    bone = REGION_TO_BONE.get(region, region)
    summary = report.get("summary") or {}
    stored = summary.get("bsi_view_weights")
    if stored is not None and bone in stored:
        return {view: float(weight) for view, weight in stored[bone].items()}
    tables = {view: report.get("views", {}).get(view, {}).get("bsi", {}).get("bones", {}) for view in views}
    review = report.get("review") if isinstance(report.get("review"), dict) else {}
    confirmed = stored is None and bone in reader_bones(
        [_LesionRecord(lesion) for lesion in report["lesions"]],
        {str(lesion.get("id")): lesion.get("origin") for lesion in report["lesions"]}, review.get("kept_alone") or ())
    return view_weights(bone, tables, confirmed)


class _LesionRecord:
    """A ``report.json`` lesion record as :func:`~scintiseg.predict.bsi.reader_bones` reads a lesion (``id``,
    ``region``)."""

    def __init__(self, record: dict):
        self.id, self.region = record.get("id"), record.get("region")


def region_bsi_percent(report: dict, region: str) -> float:
    """A region's BSI contribution (%): the views' contributions (:func:`view_region_bsi`) weighed as the prediction
    weighed them (:func:`_region_weights`). Report work, the one place the HTML report adds up a region: a grouping
    of figures ``report.json`` holds, no rule of the BSI applied again."""
    return sum(weight * view_region_bsi(report, view, region) for view, weight in _region_weights(report, region).items())


def views_read(report: dict, region: str) -> str:
    """How ``region``'s contribution combines the views, in words: "from POST, the nearer view", "mean of views",
    or "one view"."""
    weights = _region_weights(report, region)
    if len(weights) <= 1:
        return "one view"
    alone = [view for view, weight in weights.items() if weight == 1.0]
    if not alone:
        return "mean of views"
    nearer = NEARER_VIEW.get(REGION_TO_BONE.get(region, region))
    return f"from {alone[0]}, the nearer view" if alone[0] == nearer else f"from {alone[0]}, the one view it was outlined on"


def nearer_view_missing(report: dict, lesion: dict) -> str | None:
    """The other, predicted view that sees ``lesion``'s bone better when the lesion has no partner there (module
    docstring: "not seen on POST, the nearer view"), else None."""
    if lesion.get("paired_with") is not None:
        return None
    region = str(lesion.get("region"))
    nearer = NEARER_VIEW.get(REGION_TO_BONE.get(region, region))
    if nearer is None or nearer == lesion.get("view") or nearer not in report.get("views", {}):
        return None
    return str(nearer)


def _not_on_nearer_view(report: dict, lesion: dict) -> str | None:
    """The "Paired with" cell of a lesion with no partner on a bone the other, predicted view sees better
    (:func:`nearer_view_missing`), else None (the plain cell)."""
    nearer = nearer_view_missing(report, lesion)
    if nearer is None:
        return None
    return f'<td class="t far">{_e(f"– (not seen on {nearer}, the nearer view)")}</td>'


def _region_or_behind(lesion: dict) -> str | None:
    """The "Region" cell of a lesion on a one-view scan that may lie in the bone behind the one named
    (``region_alternative``), else None (the plain cell)."""
    behind = lesion.get("region_alternative")
    if not behind:
        return None
    return (f'<td class="t">{_e(lesion.get("region"))} <span class="behind">(or {_e(region_title(str(behind)).lower())} '
            f'behind it: one view cannot tell)</span></td>')


def _lesion_table(report: dict) -> list[str]:
    views = list(report.get("views", {}))
    columns = _COLUMNS + ((("origin", "Outline"),) if "review" in report else ())
    parts = ['<table id="lesions"><thead><tr>']
    parts += [f"<th>{_e(title)}</th>" for _, title in columns]
    parts.append("</tr></thead>")
    for region, lesions in group_by_region(report["lesions"]):
        per_view = {v: sum(1 for l in lesions if l.get("view") == v) for v in views or sorted({l.get("view") for l in lesions})}
        counts = ", ".join(f"{v} {n}" for v, n in per_view.items())
        view_bsi = ", ".join(f"{v} {view_region_bsi(report, v, region):.3g}" for v in per_view)
        bsi = region_bsi_percent(report, region)
        parts.append(
            f'<tbody class="region-group" data-region="{_e(region)}">'
            f'<tr class="region-header"><th colspan="{len(columns)}"><b>{_e(region_title(region))}</b> '
            f"({_e(region)}): {len(lesions)} lesion{'s' if len(lesions) != 1 else ''} ({_e(counts)}); "
            f'BSI contribution <span class="region-bsi">{bsi:.3g}</span> % ({views_read(report, region)}: {_e(view_bsi)})</th></tr>'
        )
        for lesion in lesions:
            cells = [_not_on_nearer_view(report, lesion) if key == "paired_with" else
                     _region_or_behind(lesion) if key == "region" else None for key, _ in columns]
            parts.append(f'<tr class="lesion" id="lesion-{_e(lesion.get("id"))}" data-region="{_e(region)}">'
                         + "".join(cell or _cell(key, lesion.get(key)) for cell, (key, _) in zip(cells, columns))
                         + "</tr>")
        parts.append("</tbody>")
    if not report["lesions"]:
        parts.append(f'<tbody><tr class="empty"><td class="t" colspan="{len(columns)}">{_e(no_lesion_text(report))}'
                     "</td></tr></tbody>")
    spilled = spilled_regions(report)
    if spilled:
        said = "; ".join(f"{region_title(region)} {bsi:.3g} %" for region, bsi in spilled.items())
        parts.append(f'<tbody><tr class="spilled" id="bsi-spilled"><td class="t" colspan="{len(columns)}">Also in the '
                     f"BSI, bones an outline named elsewhere reaches into: {_e(said)}</td></tr></tbody>")
    parts.append("</table>")
    return parts


def spilled_regions(report: dict) -> dict[str, float]:
    """Region -> BSI contribution (%) of the bones that hold lesion pixels but no lesion named there (an outline named
    by the bone under most of it, reaching into a neighbour: a rib lesion into the scapula), so that the table's
    region contributions add up to the BSI (session 62: the headers summed to 0.903 of a BSI of 0.915)."""
    named = {region for region, _ in group_by_region(report["lesions"])}
    found: set[str] = set()
    for view in (report.get("views") or {}).values():
        bones = ((view or {}).get("bsi") or {}).get("bones") or {}
        found |= {region for region, bone in bones.items()
                  if isinstance(bone, dict) and float(bone.get("contribution_percent") or 0.0) > 0.0}
    spilled = {region: region_bsi_percent(report, region) for region in sorted(found - named)}
    return {region: bsi for region, bsi in spilled.items() if bsi > 0.0}


_LEFT_OUT_COLUMNS = (
    ("id", "Id"),
    ("view", "View"),
    ("rule", "Left out as"),
    ("region", "Region"),
    ("laterality", "Side"),
    ("area_mm2", "Area (mm²)"),
    ("counts_max", "Max counts"),
    ("lesion_to_normal_bone", "Lesion / normal bone"),
    ("probability_max", "Max probability"),
    ("bsi_contribution_percent", "BSI if restored (%)"),
)


def _correcting(report: dict) -> list[str]:
    """How a reader corrects this report (on screen, not printed): the view's LabelMe files beside the page, what each
    edit means (:mod:`scintiseg.predict.review`, :mod:`scintiseg.io.predicted_labels`), and the command that writes every
    output again. None where the report names no LabelMe file."""
    files = [str(view.get("files", {}).get("labelme")) for view in (report.get("views") or {}).values()
             if isinstance(view, dict) and isinstance(view.get("files"), dict) and view["files"].get("labelme")]
    if not files:
        return []
    named = " and ".join(f"<code>{_e(name)}</code>" for name in files)
    return ['<section id="correcting"><h2>Correcting this report</h2><p class="note">Open ' + named + " (beside this "
            "page) in LabelMe. Delete a false call, or relabel it to say what it is (<code>bladder</code>, "
            "<code>kidney</code>, <code>injection site</code>, <code>degenerative</code>, <code>fracture</code>, "
            "<code>artefact</code>, <code>normal</code>): either way it is no lesion. Move or redraw an outline; draw a "
            "missed lesion labelled <code>lesion</code>; relabel a dashed <code>left_out</code> call <code>lesion</code> "
            "to count it. Any other label is refused, so that no outline is counted on a guess. Save, then run "
            "<code>scintiseg review &lt;this folder&gt; --out &lt;a new folder&gt;</code>: every output (lesions, "
            "regions, BSI, grade, this page, the DICOM SR and GSPS) is written again from your outlines, and the page "
            "says what you changed.</p></section>"]


def _left_out_table(report: dict) -> list[str]:
    """The calls the reading rules left out (:class:`~scintiseg.predict.rule_calls.LeftOutCall`): a short table after
    the lesions, none when there are none. Counted in nothing; a reader restores one in the LabelMe file."""
    calls = report.get("left_out_calls") or []
    if not calls:
        return []
    parts = ['<h3 id="left-out-title">Calls left out by a reading rule (not lesions; for review)</h3>',
             '<p class="note">The network called these, and a reading rule judged them normal; they count in no lesion '
             "count, BSI or grade. Shown dashed on the images with the toggle above. To restore one, relabel its "
             "shape <code>left_out</code> as <code>lesion</code> in the view's LabelMe file.</p>",
             '<table id="left-out"><thead><tr>', *(f"<th>{_e(title)}</th>" for _, title in _LEFT_OUT_COLUMNS),
             "</tr></thead><tbody>"]
    for call in sorted(calls, key=lambda c: (str(c.get("view")), int(c.get("id") or 0))):
        cells = []
        for key, _ in _LEFT_OUT_COLUMNS:
            if key == "id":
                cells.append(f'<td class="t">x{_e(call.get("id"))}</td>')
            elif key == "rule":
                cells.append(f'<td class="t">{_e(RULE_TEXT.get(str(call.get("rule")), call.get("rule")))}</td>')
            else:
                cells.append(_cell(key, call.get(key)))
        parts.append(f'<tr class="left-out-call" id="left-out-{_e(call.get("id"))}">' + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return parts


def _qc_flags(flags: list[str], read: dict | None = None) -> str:
    """The QC flags with their meanings; ``read`` (report.json's ``input``) says which way a lying body was turned and
    which views were read mirrored back."""
    if not flags:
        return '<div class="flags" id="qc-flags">QC flags: none</div>'
    items = []
    for flag in flags:
        meaning = qc_flag_meaning(flag, read)
        items.append(f"<li><span>{_e(flag)}</span>" + (f" {_e(meaning)}" if meaning else "") + "</li>")
    return '<div class="flags" id="qc-flags">QC flags:<ul>' + "".join(items) + "</ul></div>"


def qc_flag_meaning(flag: str, read: dict | None = None) -> str | None:
    """What ``flag`` means (:data:`QC_FLAG_MEANINGS`, a ``_VIEW`` suffix allowed), None for a flag it does not know;
    ``read`` (report.json's ``input``) says which way a lying body was turned and which views were read mirrored back."""
    meaning = next((text for key, text in QC_FLAG_MEANINGS.items() if flag == key or flag.startswith(key + "_")), None)
    way = {"quarter_clockwise": "clockwise", "quarter_counterclockwise": "counter-clockwise"}.get(str((read or {}).get("stood")))
    if flag == "turned_upright" and meaning and way:
        meaning = meaning.replace("turned a quarter", f"turned a quarter {way}")
    mirrored = [str(view) for view in ((read or {}).get("mirrored") or [])]
    if flag == "read_mirrored" and meaning and mirrored:
        meaning = meaning.replace("a view is", f"{' and '.join(mirrored)} {'is' if len(mirrored) == 1 else 'are'}")
    return meaning


def _draft_findings(draft) -> str:
    """The draft findings and impression in words (``summary.findings_text``, :mod:`.findings_text`), escaped; nothing
    for a report written before session 73."""
    if not isinstance(draft, dict) or not isinstance(draft.get("impression"), str):
        return ""
    items = "".join(f"<li>{_e(text)}</li>" for text in draft.get("findings") or [] if isinstance(text, str))
    return ('<section id="draft-findings"><h2>Draft findings (machine-written: edit before use)</h2>'
            f'<p class="note">{_e(draft.get("note"))}</p>' + (f"<ul>{items}</ul>" if items else "")
            + f'<p><b>Impression.</b> {_e(draft["impression"])}</p></section>')


def _review_row(report: dict) -> list[str]:
    """The summary's row saying the outlines are a reader's (a report of ``scintiseg review``), else none."""
    said = review_text(report)
    if said is None:
        return []
    return [f'<tr id="review"><th>Outlines</th><td class="t">{_e(said)}; the '
            "lesions, BSI and grade below are the reader's outlines measured</td></tr>"]


def review_text(report: dict) -> str | None:
    """Who reviewed the outlines and what they changed, per view (plain text), for a report of ``scintiseg review``;
    None for a prediction's."""
    review = report.get("review")
    if not isinstance(review, dict):
        return None
    whose = "the earlier review's" if review.get("compared_with") == "an earlier review" else "the network's"
    told = []
    for view, tally in (review.get("views") or {}).items():
        restored = f"{tally['restored']} left-out restored, " if tally.get("restored") else ""
        benign = tally.get("not_lesions") if isinstance(tally.get("not_lesions"), dict) else {}
        named = ", ".join(f"{count} {label}" for label, count in benign.items())
        told.append(f"{view}: {tally.get('kept', 0)} kept as found, {restored}{tally.get('edited', 0)} edited, "
                    f"{tally.get('drawn', 0)} drawn, {tally.get('deleted', 0)} deleted of {whose} "
                    f"{tally.get('network_lesions', 0)}" + (f", labelled no lesion: {named}" if named else "")
                    + (f", {tally['left_out_dismissed']} left-out call{'s' if tally['left_out_dismissed'] != 1 else ''} "
                       "deleted" if tally.get("left_out_dismissed") else ""))
    who = reader_name(review.get("reader")) or "a reader"
    return f"reviewed by {who} ({'; '.join(told)})"


#: A place no bone names, as a not-lesion finding's place is said mid-sentence.
_UNNAMED_PLACES = {"unnamed": "region not named", "other": "outside the named bones"}


def reader_not_lesions(report: dict) -> list[tuple[str, str]]:
    """``(label, where)`` per outline the reader of a reviewed report labelled no lesion, in the words a sentence
    takes: the label lower-case, ``_`` as spaces (``injection site``), and where it lies, ``lumbar spine, ANT`` or a
    hemipelvis's ``pelvis (right), POST`` (``review.not_lesion_findings``, :func:`place_title`); a review written
    before session 74, which counted them per view only (``review.views.V.not_lesions``), gives the view alone. Empty
    for a prediction's report (audit 74, finding 3: the reader's ``degenerative`` was in no text)."""
    review = report.get("review")
    if not isinstance(review, dict):
        return []

    def words(label) -> str:
        return " ".join(str(label).replace("_", " ").split()).lower()

    listed = review.get("not_lesion_findings")
    if isinstance(listed, list):
        said = []
        for item in listed:
            if not isinstance(item, dict) or not str(item.get("label") or "").strip():
                continue
            region, side = str(item.get("region") or "other"), item.get("laterality")
            place = _UNNAMED_PLACES.get(region) or place_title(
                region, side if region in HALVED_REGIONS and side in ("right", "left") else None)
            said.append((words(item["label"]), f"{place[:1].lower()}{place[1:]}, {item.get('view')}"))
        return said
    counted = []
    for view, tally in (review.get("views") or {}).items():
        benign = tally.get("not_lesions") if isinstance(tally, dict) else None
        for label, count in (benign.items() if isinstance(benign, dict) else ()):
            counted += [(words(label), str(view))] * (int(count) if isinstance(count, int) and count > 0 else 0)
    return counted


def not_lesions_said(report: dict) -> str | None:
    """One clause of :func:`reader_not_lesions`: ``1 finding read as degenerative by the reader (lumbar spine, ANT)``,
    or for several labels ``3 findings read as no lesion by the reader: bladder (pelvis (right), POST); ...``; None
    when there is none."""
    found = reader_not_lesions(report)
    if not found:
        return None
    count = f"{len(found)} finding{'s' if len(found) != 1 else ''}"
    labels = list(dict.fromkeys(label for label, _ in found))
    if len(labels) == 1:
        return f"{count} read as {labels[0]} by the reader ({'; '.join(where for _, where in found)})"
    return f"{count} read as no lesion by the reader: " + "; ".join(f"{label} ({where})" for label, where in found)


def no_lesion_text(report: dict) -> str:
    """What the lesion table says when it lists none: a prediction's "No lesion found above the threshold."; a reviewed
    report's, whose lesions are the reader's outlines with no threshold applied, "No lesion after review." and what the
    reader read as no lesion (:func:`not_lesions_said`; audit 74, finding 3)."""
    if not isinstance(report.get("review"), dict):
        return "No lesion found above the threshold."
    said = not_lesions_said(report)
    return "No lesion after review" + (f"; {said}." if said else ".")


def soloway_text(summary: dict) -> str:
    """The Soloway grade as the page shows it: grade 4 says why (the superscan pattern)."""
    grade = summary.get("soloway_grade")
    if grade is None:
        return f"not given: {no_bsi_reason(summary)}"
    return f"{grade} (superscan pattern)" if SUPERSCAN_FLAG in (summary.get("qc_flags") or []) else str(grade)


def no_bsi_reason(summary: dict) -> str:
    """Why a report has no BSI and no grade: a view without a skeleton (flags ``no_body_V`` / ``no_bone_found_V``),
    else a partial view."""
    flags = [str(flag) for flag in summary.get("qc_flags") or []]
    if any(flag.startswith(("no_body_", "no_bone_found_")) for flag in flags):
        return "no skeleton found"
    return "a partial view"


def _bsi_rows(report: dict) -> list[str]:
    summary = report["summary"]
    if summary.get("bsi_percent") is None:
        detail = " (bones not named)" if no_bsi_reason(summary) == "a partial view" else ""
        return [f'<tr id="bsi"><th>Bone Scan Index</th><td>not given: {no_bsi_reason(summary)}{detail}</td></tr>']
    rows = [
        '<tr id="bsi"><th>Bone Scan Index (% of skeletal mass; each bone from the nearer view or the mean of views)</th>'
        f'<td>{float(summary["bsi_percent"]):.3f}</td></tr>',
        '<tr id="bsi-covered"><th>Skeletal mass seen by the model (%)</th>'
        f'<td>{float(summary["bsi_covered_mass_percent"]):.1f}</td></tr>',
    ]
    for view, info in report.get("views", {}).items():
        bsi = info.get("bsi") or {}
        if "bsi_percent" not in bsi:
            continue
        seen = len(bsi.get("bones", {}))
        rows.append(f"<tr class=\"bsi-view\"><th>{_e(view)}: BSI / mass seen (%) / bones seen</th><td>"
                    f"{float(bsi['bsi_percent']):.3f} / {float(bsi.get('covered_mass_percent', 0.0)):.1f} / "
                    f"{seen} of {len(REGION_NAMES) - 1}</td></tr>")
    return rows


def _data_uri(image: bytes) -> str:
    """``data:`` URI of PNG or JPEG bytes (the type read from the signature, not assumed)."""
    mime = "image/jpeg" if image[:3] == b"\xff\xd8\xff" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def shown_head_up(report: dict) -> bool:
    """Whether the page shows the views turned head-up: they are stored head-down (QC flag ``head_down``). A
    physician reads a scan head-up; the outputs other than this page stay on the image as stored."""
    return "head_down" in (report.get("summary", {}).get("qc_flags") or [])


def _scan_figure(view: str, image: bytes, region_png: bytes | None, report: dict, shown_rows: tuple[int, int]) -> str:
    """One view as inline SVG (millimetre units): the scan, the region map layer, outlines, ids, R/L marks; a view
    stored head-down is drawn turned head-up (:func:`shown_head_up`: the pictures mirrored top to bottom, the
    outlines' rows reversed, the ids and R/L marks upright)."""
    rows, cols = (int(n) for n in report["input"]["shape"][-2:])
    dr, dc = (float(s) for s in report["input"].get("pixel_spacing_mm", (1.0, 1.0)))
    width, height = cols * dc, rows * dr
    head_up = shown_head_up(report)
    first, last = (rows - 1 - shown_rows[1], rows - 1 - shown_rows[0]) if head_up else shown_rows
    y0, y1 = first * dr, (last + 1) * dr
    font = (y1 - y0) / 70.0
    flip = f' transform="matrix(1 0 0 -1 0 {height:.2f})"' if head_up else ""
    parts = [
        f'<figure data-view="{_e(view)}"><svg class="scan" data-view="{_e(view)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 {y0:.2f} {width:.2f} {y1 - y0:.2f}" role="img" aria-label="{_e(view)} view with lesion outlines">',
        f'<g class="pictures"{flip}><image href="{_data_uri(image)}" x="0" y="0" width="{width:.2f}" height="{height:.2f}" '
        'preserveAspectRatio="none"/>',
    ]
    if region_png is not None:
        parts.append(f'<image class="regionmap" href="{_data_uri(region_png)}" '
                     f'x="0" y="0" width="{width:.2f}" height="{height:.2f}" preserveAspectRatio="none"/>')
    parts.append("</g>")
    ids = []
    # The lesions (red, their ids), then the calls a reading rule left out (dashed blue, x1, x2, ...: shown with the
    # toggle, :func:`_left_out_table`), each numbered beside its outline.
    marked = [(lesion, "lesion", str(lesion.get("id"))) for lesion in report["lesions"]]
    marked += [(call, "left-out", f"x{call.get('id')}") for call in report.get("left_out_calls") or []]
    for record, kind, label in marked:
        if record.get("view") != view:
            continue
        points = [((float(x) + 0.5) * dc, (rows - 0.5 - float(y) if head_up else float(y) + 0.5) * dr)
                  for x, y in record.get("contour") or []]
        group = '<g class="left-out">' if kind == "left-out" else ""
        # a lesion a reader drew where the network outlined nothing (scintiseg review) is drawn orange
        origin = f' data-origin="{_e(record["origin"])}"' if kind == "lesion" and record.get("origin") else ""
        if points:
            parts.append(f'{group}<polygon class="{kind}-outline" data-id="{_e(label)}"{origin} '
                         'vector-effect="non-scaling-stroke" '
                         'points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>' + ("</g>" if group else ""))
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            left, right, top = min(xs), max(xs), min(ys)
        else:  # no contour: number the centroid
            left = right = (float(record.get("centroid_col", 0.0)) + 0.5) * dc
            row = float(record.get("centroid_row", 0.0))
            top = (rows - 0.5 - row if head_up else row + 0.5) * dr
        room_right = width - right > font * (0.7 * len(label) + 0.4)
        x, anchor = (right + 0.25 * font, "start") if room_right else (left - 0.25 * font, "end")
        y = max(top + 0.7 * font, y0 + font)
        ids.append(f'{group}<text class="{kind}-id" data-id="{_e(label)}"{origin} x="{x:.1f}" y="{y:.1f}" '
                   f'text-anchor="{anchor}" font-size="{font:.1f}" stroke-width="{font * 0.22:.1f}">{_e(label)}</text>'
                   + ("</g>" if group else ""))
    parts += ids
    parts.append(side_marks_svg(view, width, y0, font))
    sides = side_note(view)
    turned = "; stored head-down, shown turned head-up" if head_up else ""
    shown_left_out = any(call.get("view") == view for call in report.get("left_out_calls") or [])
    drawn = any(lesion.get("view") == view and lesion.get("origin") == "reader" for lesion in report["lesions"])
    parts.append(f"</svg><figcaption><b>{_e(view)}</b> ({sides}{turned}): lesion outlines and ids (red) as in the "
                 "table" + ("; those a reader drew where the network outlined nothing orange" if drawn else "")
                 + ("; calls left out by a reading rule dashed blue (x), when shown" if shown_left_out else "")
                 + "</figcaption></figure>")
    return "".join(parts)


def rows_shown(report: dict) -> tuple[int, int]:
    """The rows of the body on any view and of every lesion, with a margin (all rows without a region estimate)."""
    rows = int(report["input"]["shape"][-2])
    estimates = [v.get("region_estimate") or {} for v in report.get("views", {}).values()]
    tops = [int(e["body_top_row"]) for e in estimates if e.get("body_top_row") is not None]
    bottoms = [int(e["body_bottom_row"]) for e in estimates if e.get("body_bottom_row") is not None]
    if not tops or not bottoms or min(tops) >= max(bottoms):
        return 0, rows - 1
    # Every lesion and left-out call stays in view, even one outside the body.
    outlined = [*report["lesions"], *(report.get("left_out_calls") or [])]
    tops += [int(float(y)) for l in outlined for _, y in l.get("contour") or []]
    bottoms += [int(float(y)) + 1 for l in outlined for _, y in l.get("contour") or []]
    return max(min(tops) - CROP_MARGIN_PX, 0), min(max(bottoms) + CROP_MARGIN_PX, rows - 1)


def _legend(report: dict) -> str:
    """The region map's colours, and which map named the bones: the learned region network's or the proportional
    atlas's (session 62: "atlas estimate" was said under the learned map too)."""
    items = "".join(f'<span><i style="background:{colour}"></i>{_e(region_title(name))}</span>'
                    for name, colour in REGION_COLOURS.items())
    learned = ((report.get("model") or {}).get("regions") or {}).get("method") == "learned"
    what = "the learned region network's map" if learned else "proportional atlas estimate"
    return (f'<div class="legend" id="region-legend"><span><b>Skeleton regions</b> ({what}, '
            f"not a bone segmentation):</span>{items}</div>")


def _body_diagram(report: dict) -> str:
    findings = region_findings(report)
    views = set(report.get("views", {})) | set(findings)
    front_view = "ANT" if "ANT" in views else ("VIEW" if "VIEW" in views else None)
    front = None if front_view is None else findings.get(front_view, {})
    back = findings.get("POST", {}) if "POST" in views else None
    return ('<figure id="body-diagram">' + body_diagram_svg(front, back)
            + "<figcaption>Involved regions per view (front: ANT, back: POST)</figcaption></figure>")


def _source_text(summary: dict) -> str:
    """The input file, or each view's file for a study stored as two files; for a study's file read apart from its
    other view's file, that file and why; for a file whose pixel size was given over its own, both sizes (escaped)."""
    named = summary.get("view_sources")
    apart = summary.get("read_apart")
    if isinstance(named, dict) and named:
        text = "; ".join(f"{_e(view)}: {_e(path)}" for view, path in named.items())
    elif isinstance(apart, dict) and apart.get("other_file"):
        text = (f"{_e(summary.get('source'))}<br><small>read apart from its study's other view, "
                f"{_e(apart['other_file'])}: {_e(apart.get('why', ''))}</small>")
    else:
        text = _e(summary.get("source"))
    own, given = summary.get("pixel_spacing_over_header"), summary.get("pixel_spacing_mm")
    if isinstance(own, list) and len(own) == 2 and isinstance(given, list) and len(given) == 2:
        text += (f"<br><small>pixel size {_e(' x '.join(f'{v:g}' for v in given))} mm given over the file's own "
                 f"{_e(' x '.join(f'{v:g}' for v in own))} mm</small>")
    return text


def _dicom_row(dicom) -> list[str]:
    """The header row saying which DICOM objects were written beside the page, and why one was not (report.json
    ``dicom``: ``sr`` / ``gsps`` / ``pdf`` the file names, ``error``, ``sr_error`` / ``gsps_error`` / ``pdf_error``,
    ``note``); none for a report without the block (before session 62 a failed SR showed nowhere but report.json and
    a line on stderr)."""
    if not isinstance(dicom, dict) or not dicom:
        return []
    said = [f"{_e(dicom[key])} ({label})" for key, label in (("sr", "structured report"), ("gsps", "presentation state"),
                                                             ("pdf", "report.pdf as an encapsulated PDF"))
            if dicom.get(key)]
    said += [f"no {label}: {_e(dicom[key])}" for key, label in (("sr_error", "SR"), ("gsps_error", "GSPS"),
                                                                ("pdf_error", "encapsulated PDF")) if dicom.get(key)]
    said += [f"none: {_e(dicom[key])}" for key in ("error", "note") if dicom.get(key)]
    if not said:
        return []
    warn = " warn-cell" if any(dicom.get(key) for key in ("error", "sr_error", "gsps_error", "pdf_error")) else ""
    return [f'<tr id="dicom-outputs"><th>DICOM outputs</th><td class="t{warn}">{"; ".join(said)}</td></tr>']


def report_html(report: dict, images: dict[str, bytes], region_maps: dict[str, bytes] | None = None) -> str:
    """The HTML page of a report dict (:func:`.report_json.report_dict`).

    Args:
        report: the report dict.
        images: view -> PNG or JPEG of the view drawn under the vector outlines (the scan without outlines:
            :func:`.overlay.overlay_image` with ``outlines=False``, :func:`.overlay.jpeg_bytes`; any image of
            the whole view fits, it is stretched to the view's size in mm).
        region_maps: view -> region-map PNG (:func:`.overlay.region_map_image`); without it the page has no
            region-map toggle.

    Returns:
        The page (a complete HTML document).
    """
    summary = report["summary"]
    patient = report["patient"]
    model = report.get("model", {})
    region_maps = region_maps or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">',
        f"<title>scintiseg report – {_e(patient.get('id'))}</title>",
        f"<style>{_STYLE}{_print_header(report)}</style></head><body>",
        "<h1>Bone scan lesion report</h1>",
        "<table class=\"meta\"><tbody>",
        *_patient_rows(report),
        f"<tr><th>Source</th><td class=\"t\">{_source_text(report['input'])}</td></tr>",
        f"<tr><th>Study UID</th><td class=\"t\">{_e(report.get('study_uid'))}</td></tr>",
        f"<tr><th>Views</th><td class=\"t\">{_e(', '.join(report['input'].get('views', [])))}</td></tr>",
        f"<tr><th>Model</th><td class=\"t\">{_e(model.get('name'))} ({_e(model.get('engine'))}, "
        f"input {_e(model.get('input_mode'))}); trained on {_e(model.get('trained_on'))}</td></tr>",
        f"<tr><th>Created</th><td class=\"t\">{_e(report.get('created'))} by scintiseg {_e(report.get('scintiseg_version'))}</td></tr>",
        *_dicom_row(report.get("dicom")),
        "</tbody></table>",
    ]
    if model.get("disclaimer"):
        parts.append(f'<p class="warn"><strong>Not a clinical device.</strong> {_e(model["disclaimer"])}</p>')
    if VIEWS_SWAPPED_FLAG in (summary.get("qc_flags") or []):  # every side on the page may be the wrong one: said first
        parts.append(f'<p class="warn" id="views-swapped"><strong>Check the view names.</strong> '
                     f'{_e(QC_FLAG_MEANINGS[VIEWS_SWAPPED_FLAG])}.</p>')
    involved = [place_title(region, side) for region, side, _ in place_groups(report["lesions"])]
    parts += [
        '<div class="top"><div class="summary"><h2>Summary</h2>',
        '<table id="summary"><tbody>',
        *_review_row(report),
        f"<tr><th>Lesions (view with most)</th><td>{_e(summary['lesion_count'])}</td></tr>",
        # (one view: no pair can be, so the count is no finding: n/a, as the PDF leaves it out; session 74)
        f"<tr><th>Lesions seen in both views (pairs)</th><td>"
        f"{_e(summary.get('pair_count', 0)) if len(report.get('views') or {}) > 1 else 'n/a (one view)'}</td></tr>",
        *([f'<tr id="distinct-lesions"><th>Distinct lesions (each pair counted once)</th>'
           f"<td>{_e(summary['distinct_lesion_count'])}</td></tr>"] if "distinct_lesion_count" in summary else []),
        '<tr id="triage"><th>Triage score (largest lesion probability, calls left out by a reading rule set aside; '
        'a ranking, not calibrated)</th>'
        f"<td>{_e(triage_text(summary, report.get('views', {})))}</td></tr>",
        f"<tr id=\"soloway\"><th>Soloway grade</th><td>{_e(soloway_text(summary))}</td></tr>",
        *_bsi_rows(report),
        f'<tr id="regions-involved"><th>Regions with lesions</th><td class="t">'
        f"{_e(', '.join(involved) or 'none')}</td></tr>",
        "</tbody></table>",
        f'<p id="bsi-scope"><b>BSI scope.</b> {_e(summary["bsi_scope"])}</p>',
        _qc_flags(summary.get("qc_flags") or [], report.get("input")),
        _draft_findings(summary.get("findings_text")),
        "</div>",
        _body_diagram(report),
        "</div>",
        '<section id="images"><h2>Images</h2>',
    ]
    left_out = report.get("left_out_calls") or []
    if left_out:
        parts += ['<input type="checkbox" id="show-left-out" class="toggle">',
                  f'<label for="show-left-out" class="toggle-label">Show the {len(left_out)} call'
                  f'{"s" if len(left_out) != 1 else ""} left out by a reading rule (dashed)</label>']
    if region_maps:
        parts += ['<input type="checkbox" id="show-regions" class="toggle">',
                  '<label for="show-regions" class="toggle-label">Show the skeleton-region map</label>']
    parts.append('<div class="views">')
    shown = rows_shown(report)
    for view, png in images.items():
        parts.append(_scan_figure(view, png, region_maps.get(view), report, shown))
    parts.append("</div>")
    if region_maps:
        parts.append(_legend(report))
    parts.append("</section>")
    parts += ['<section id="lesions-section"><h2>Lesions by region</h2>', *_lesion_table(report), *_left_out_table(report),
              "</section>"]
    parts += _correcting(report)
    parts.append('<section id="definitions"><h2>Definitions</h2><dl>')
    for key, text in report.get("definitions", {}).items():
        parts.append(f"<dt>{_e(key)}</dt><dd>{_e(text)}</dd>")
    parts.append("</dl></section></body></html>")
    return "\n".join(parts) + "\n"
