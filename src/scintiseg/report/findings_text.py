"""A draft of the findings and the impression in words, for the reader to edit (report.json ``summary.findings_text``,
the page's "Draft findings").

Why. The EANM bone-scintigraphy guideline asks a report to give the location, size, shape, intensity and number of
the findings (``../shared/reference/landscape.md``); scintiseg's report gives them as numbers in a table, and
automatic reports are what groups building whole-body tools give (Liu et al. 2022, landscape.md). A physician
dictating the report starts from sentences; this module writes them from ``report.json`` alone (so a reviewed
report's draft follows the reader's outlines), one per involved region and one impression.

Choices [all choice, stated so a reader knows what a word means]:
- **One finding per distinct lesion**: a lesion seen on both views (``pairs``) is one finding, described by the view
  that shows it with the higher lesion-to-normal-bone ratio, "seen on ANT and POST"; one seen on one view of a
  two-view scan says which ("POST only").
- **Intensity** from the lesion-to-normal-bone count ratio: ``mild`` under 1.5, ``moderate`` 1.5 to 2.5, ``intense``
  above (the phantom's lesions span 1.3-6; physics.md), with the ratio given.
- **Shape** from the outline's eccentricity: ``elongated`` from 0.9 (a rib segment, a vertebral endplate), else
  ``focal``; **size** as the equivalent diameter (mm) and the area (mm²) of the outline.
- **Location**: the region as the report names it (its side for a paired bone), in anatomical order; a lesion beside
  the bladder or at a forearm or hand says so. A region named once that holds a pair of bones (the pelvis:
  :data:`~scintiseg.predict.regions.HALVED_REGIONS`) is told per side, from the lesion's ``laterality``: "Pelvis
  (right)", as "Ribs (right)" (audit 74, finding 11: "Pelvis: 1 lesion" where the table said right); a pelvic lesion on
  the midline is "Pelvis".
- **Impression**: the number of distinct lesions and the regions, the BSI with the share of the skeleton it covers
  and the Soloway grade; then a caution for each QC flag that changes how the findings read (a superscan pattern, a
  clipped export, a low-count acquisition, a partial view, views perhaps named the other way round, a call beside
  the bladder, an assumed pixel size); the calls the reading rules left out are counted, not described.
- **A reviewed report** (``scintiseg review``) speaks of the reader's outlines, to which no threshold applies: no
  lesion left is "No lesion after review", never "outlined by the model" (audit 74, finding 3); the outlines the reader
  labelled no lesion (``bladder``, ``degenerative``, ``injection site``, ...) are named with their place, one finding
  line "Read as no lesion by the reader: degenerative (lumbar spine, ANT)" and a clause of the impression
  (:func:`~.html.not_lesions_said`), so that the page, the PDF and the SR's text say what the reader decided.
- Always headed as a machine draft: it repeats the model's findings in words, it does not interpret them.
"""

from __future__ import annotations

import math

from scintiseg.report.html import not_lesions_said, place_groups, place_title, reader_not_lesions

#: The note every draft carries (a reviewed report's: :data:`REVIEWED_NOTE`).
DRAFT_NOTE = "Machine-written draft from the model's outlines, for the reader to edit; not a diagnosis."
#: The note of a reviewed report's draft, whose outlines are the reader's.
REVIEWED_NOTE = "Machine-written draft from the reviewed outlines, for the reader to edit; not a diagnosis."
#: Regions that name no bone: said as such and left out of the count of regions.
UNNAMED_REGIONS = {"unnamed": "Region not named (less than a whole body in the view)",
                   "other": "Outside the named bones"}
#: Intensity words by the lesion-to-normal-bone ratio (upper bounds, exclusive).
INTENSITY_WORDS: tuple[tuple[float, str], ...] = ((1.5, "mild"), (2.5, "moderate"), (math.inf, "intense"))
#: From this eccentricity an outline is called elongated.
ELONGATED_ECCENTRICITY = 0.9
#: QC flag (or its prefix before ``_<VIEW>``) -> the caution the impression adds.
CAUTIONS: dict[str, str] = {
    "superscan_pattern": "the superscan pattern (axial skeleton far brighter than the lower legs) is flagged: diffuse "
                         "involvement is not outlined, so the count and the BSI understate it",
    "views_swapped": "ANT and POST look named the other way round: check the view names, every side may be reversed",
    "clipped_export": "the image was exported cut off by a display window: outlines and the BSI are understated",
    "low_counts_estimated": "a low-count acquisition (estimated from the export): faint lesions may be missed",
    "low_counts": "a low-count acquisition: faint lesions may be missed",
    "partial_view": "less than a whole body in the view: bones are not named and no BSI is given",
    "lesion_beside_bladder": "a lesion lies beside the bladder: urine activity can mimic or hide one there",
    "pixel_spacing_assumed": "the pixel size was assumed: every size rests on it",
}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def intensity_word(ratio: float | None) -> str | None:
    """``mild`` / ``moderate`` / ``intense`` for a lesion-to-normal-bone ratio (module docstring); None without one."""
    if ratio is None:
        return None
    return next(word for bound, word in INTENSITY_WORDS if ratio < bound)


def distinct_lesions(report: dict) -> list[dict]:
    """One record per distinct lesion: a pair's member with the higher lesion-to-normal-bone ratio (``seen_on``: both
    views), else the lesion itself (``seen_on``: its view)."""
    lesions = {str(lesion.get("id")): lesion for lesion in report.get("lesions") or [] if isinstance(lesion, dict)}
    used: set[str] = set()
    distinct = []
    for pair in report.get("pairs") or []:
        members = [lesions.get(str(pair.get(key))) for key in ("ant_id", "post_id")]
        if not all(members) or any(str(one.get("id")) in used for one in members):  # (a lesion told once)
            continue
        shown = max(members, key=lambda one: _number(one.get("lesion_to_normal_bone")) or 0.0)
        distinct.append(shown | {"seen_on": [str(one.get("view")) for one in members]})
        used.update(str(one.get("id")) for one in members)
    distinct += [lesion | {"seen_on": [str(lesion.get("view"))]} for key, lesion in lesions.items() if key not in used]
    return distinct


def _places(lesions: list[dict]) -> list[tuple[str, list[dict]]]:
    """The lesions grouped by place (:func:`~.html.place_groups`: a halved region per side), titled."""
    return [(UNNAMED_REGIONS.get(region) or place_title(region, side), group)
            for region, side, group in place_groups(lesions)]


def _clause(lesion: dict, views: list[str]) -> str:
    """``#3: focal, moderate uptake (2.0 x normal bone), about 27 mm (587 mm²), ANT and POST``."""
    eccentricity = _number(lesion.get("eccentricity"))
    shape = "elongated" if eccentricity is not None and eccentricity >= ELONGATED_ECCENTRICITY else "focal"
    ratio = _number(lesion.get("lesion_to_normal_bone"))
    word = intensity_word(ratio)
    parts = [shape + (f", {word} uptake ({ratio:.1f} x normal bone)" if word else "")]
    diameter, area = _number(lesion.get("equivalent_diameter_mm")), _number(lesion.get("area_mm2"))
    if diameter is not None:
        parts.append(f"about {diameter:.0f} mm" + (f" ({area:.0f} mm²)" if area is not None else ""))
    if len(views) > 1:
        seen = lesion["seen_on"]
        parts.append(" and ".join(seen) if len(seen) > 1 else f"{seen[0]} only")
    beside = lesion.get("beside")
    if beside:
        parts.append("beside the bladder" if beside == "bladder" else f"at the {str(beside).replace('_', ' ')}")
    return f"#{lesion.get('id')}: " + ", ".join(parts)


def _cautions(flags: list[str]) -> list[str]:
    said: list[str] = []
    for key, text in CAUTIONS.items():
        hit = any(flag == key or flag.startswith(key + "_") for flag in flags)
        if key == "low_counts":  # low_counts_estimated_<VIEW> starts with low_counts_ too: said under its own key
            hit = any(flag.startswith("low_counts_") and not flag.startswith("low_counts_estimated_") for flag in flags)
        if hit and text not in said:
            said.append(text)
    return said


def findings_text(report: dict) -> dict:
    """``{"note", "findings": [one sentence per involved region], "impression"}`` of a report dict (module
    docstring)."""
    summary = report.get("summary") or {}
    views = [str(view) for view in report.get("views") or {}]
    lesions = distinct_lesions(report)
    findings = []
    for title, group in _places(lesions):
        count = len(group)
        clauses = "; ".join(_clause(lesion, views) for lesion in group)
        findings.append(f"{title}: {count} lesion{'s' if count != 1 else ''} ({clauses}).")
    reviewed = isinstance(report.get("review"), dict)
    benign = reader_not_lesions(report)
    if benign:
        findings.append("Read as no lesion by the reader: "
                        + "; ".join(f"{label} ({where})" for label, where in benign) + ".")
    said = not_lesions_said(report)
    left_out = len(report.get("left_out_calls") or [])
    aside = (f" {left_out} call{'s' if left_out != 1 else ''} set aside by the reading rules "
             f"{'is' if left_out == 1 else 'are'} listed in the report, not counted." if left_out else "")
    if not lesions and reviewed:
        impression = "No lesion after review" + (f"; {said}." if said else ".") + aside
    elif not lesions:
        impression = "No focal area of increased uptake outlined by the model." + aside
    else:
        regions = [title for title, _ in _places(lesions) if title not in UNNAMED_REGIONS.values()]
        impression = f"{len(lesions)} distinct lesion{'s' if len(lesions) != 1 else ''}" + (
            f" in {len(regions)} region{'s' if len(regions) != 1 else ''} ({', '.join(regions)})" if regions else
            " in no named region")
        bsi, covered = _number(summary.get("bsi_percent")), _number(summary.get("bsi_covered_mass_percent"))
        if bsi is not None:
            impression += f"; Bone Scan Index {bsi:.2f} %"
            if covered is not None and covered < 99.0:
                impression += f" over the {covered:.0f} % of the skeleton seen (a lower bound)"
        if summary.get("soloway_grade") is not None:
            impression += f"; Soloway grade {summary['soloway_grade']}"
        impression += "." + (f" {said[:1].upper()}{said[1:]}, not counted." if said else "") + aside
    cautions = _cautions([str(flag) for flag in summary.get("qc_flags") or []])
    if cautions:
        impression += " Caution: " + "; ".join(cautions) + "."
    note = REVIEWED_NOTE if isinstance(report.get("review"), dict) else DRAFT_NOTE
    return {"note": note, "findings": findings, "impression": impression}


__all__ = ["CAUTIONS", "DRAFT_NOTE", "ELONGATED_ECCENTRICITY", "INTENSITY_WORDS", "REVIEWED_NOTE", "UNNAMED_REGIONS",
           "distinct_lesions", "findings_text", "intensity_word"]
