"""``report.json``: the machine-readable report of one scan.

Layout (``format: scintiseg-report``, ``version: 1``)::

    {"format", "version", "scintiseg_version", "created",
     "input": {"source", "views", "shape", "pixel_spacing_mm", "counts",
               "stood", "split_column", "stored_shape",  # (a file read turned or split)
               "mirrored", "patient_orientation",  # (a DICOM file's sides: scintiseg.io.patient_sides)
               "colour_table",  # (a picture shown through a colour table: scintiseg.io.colour_tables)
               "panels_blanked", "frame_lines_blanked",  # (a screen capture's panels and lines: scintiseg.io.panels)
               "display_gamma",  # (an export's display curve read back: scintiseg.io.display_curve)
               "export_gain",  # (an export's grey levels per count and counts: scintiseg.prepare.export_gain)
               "pixel_spacing_assumed"},  # (the reason a pixel size was assumed: the file gives none)
     "patient": {"id", "name", ["birth_date", "sex"]}, "study": {["study_date", "study_time", "accession_number",
     "study_description"]}, "study_uid", "series_uid",
     "model": {"name", "source", "trained_on", "synthetic", "disclaimer", "engine", "input_mode", ...},
     "settings": {"threshold", "min_area_px", "window"},
     "summary": {"lesion_count", "lesion_count_by_view", "distinct_lesion_count", "soloway_grade", "bsi_percent",
                 "bsi_covered_mass_percent", "bsi_scope", "triage_score", "pair_count", "pairing_shift_px",
                 "qc_flags", "findings_text": {"note", "findings", "impression"}},
     "views": {VIEW: {"lesion_count", "max_probability", "triage_score", "spine_pattern_calls", "symmetric_calls",
                      "bladder_calls",
                      "distal_arm_calls", "off_skeleton_calls", "reference_counts", "axial_to_distal", "bsi": {...},
                      "window_pixels", "region_estimate": {...},
                      "files": {"labelme", "mask", "overlay", "regions"}}},
     "region_ids": {"0": "other", "1": "skull", ...},  # (the pixel values of views.V.files.regions)
     "lesions": [{id, view, region, laterality, area_px, area_mm2, counts_total, counts_max,
                  counts_mean, lesion_to_normal_bone, probability_mean, probability_max, centroid_row,
                  centroid_col, bbox, equivalent_diameter_mm, eccentricity, bsi_contribution_percent,
                  beside, paired_with, [region_alternative], contour: [[x, y], ...]}],
     "left_out_calls": [{id, view, rule, region, laterality, area_px, ..., bsi_contribution_percent,
                         contour: [[x, y], ...]}],
     "pairs": [{"ant_id", "post_id", "overlap", "distance_mm"}],
     "definitions": {...}, "timings_s": {...},
     "review": {"reviewed", "source_folder", "compared_with", "reader": {"name", "organization"},
                "earlier_review": {...}, "network_outlines": {VIEW: source},  # (session 62)
                "views": {VIEW: {"network_lesions", "kept", "restored", "edited", "drawn", "deleted",
                                 "not_lesions": {LABEL: n}, "left_out_dismissed"}},  # (the last two when any;
                                                                               # left_out_dismissed: session 65)
                "not_lesion_findings": [{"view", "label", "region", "laterality"}]}}  # (when any; session 74)
                # (only a reviewed report, scintiseg review; each lesion then has "origin")

**Version**: ``version`` counts changes a reader of an older report would misread: a key removed or
renamed, or a value whose meaning or unit changed. Keys added (issue 15 added ``summary.triage_score``,
``summary.pair_count``, ``summary.pairing_shift_px``, ``views.V.max_probability``, ``lesions[].paired_with``
and ``pairs``; session 21 ``lesions[].beside``; session 26 ``input.stood``, ``input.split_column`` and
``input.stored_shape``, present for a file whose body the reader stood (one of
:data:`scintiseg.io.layout.STOOD_TURNS`) or whose page of two views it split, with the file's rows and columns, so
that what was drawn on the file as stored can be placed on the views; session 27 ``input.patient_orientation``, each
view's patient directions from its DICOM header, as the view was read (turned and mirrored with it), and ``input.mirrored``, the views read with their columns
reversed because the header said they were stored mirrored; session 28 ``input.read_apart``, ``{"other_file",
"why"}`` for a study's file predicted apart from its other view's file; session 29 ``views.V.spine_pattern_calls``, the
network's calls on the spine left out as its normal segmental pattern, :mod:`scintiseg.predict.spine_pattern`;
session 30 ``views.V.symmetric_calls``, the calls in a paired bone left out because their mirror image matches them,
:mod:`scintiseg.predict.symmetry`; session 31 ``input.colour_table``, the display colour table a picture was read back
through, :mod:`scintiseg.io.colour_tables`, and ``input.panels_blanked``, a screen capture's flat panels set to the
background, :mod:`scintiseg.io.panels`; session 32 ``input.frame_lines_blanked``, a capture's thin frame and separator
lines set to the background, the same module, and ``input.display_gamma``, the display gamma an 8-bit export was read
back from, :mod:`scintiseg.io.display_curve`; session 34 ``views.V.axial_to_distal``, the superscan pattern's measure,
:mod:`scintiseg.predict.superscan`, whose flag ``superscan_pattern`` gives ``summary.soloway_grade`` 4, a grade
never given before; session 35 ``left_out_calls``, the calls the reading rules left out, each measured as a lesion
with the ``rule`` that left it out and its outline, :class:`scintiseg.predict.rule_calls.LeftOutCall`; their ids
number them apart from the lesions', and ``views.V.bladder_calls``, the calls left out because they cover much of the
bladder's hot spot, :func:`scintiseg.predict.bladder.bladder_calls`; session 37 ``views.V.off_skeleton_calls``, the
calls left out because they lie off the skeleton, :mod:`scintiseg.predict.off_skeleton`, and ``views.V.distal_arm_calls``,
those at an elbow, forearm or hand, :mod:`scintiseg.predict.distal_arm`, which until then were lesions marked
``beside: "forearm_or_hand"``; session 43 ``views.V.triage_score``, each view's triage score, the largest
probability outside the calls the reading rules left out and the network's response around them
(:mod:`scintiseg.predict.triage`), which ``summary.triage_score`` has since been the largest of, where it was the
largest ``views.V.max_probability``, which stays the network's own largest probability: a ranking score either
way; session 44 ``review`` and ``lesions[].origin``, only in a report written again from a reader's corrected
outlines, :mod:`scintiseg.predict.review`; session 46 ``lesions[].region_alternative``, on a scan with one view
the bone a lesion may lie in behind the one named, :func:`scintiseg.predict.pair_names.one_view_alternative`; session
65 ``review.views.V.left_out_dismissed``, the left-out calls a reader deleted, where a reviewed report's
``left_out_calls``, per-rule counts and rule flags now hold only the calls the reader left,
:func:`scintiseg.predict.review.as_the_reader_left_them`; session 73 ``input.pixel_spacing_over_header``, the file's
own pixel spacing [row, col] mm where ``predict --pixel-spacing-over-header`` replaced it,
:data:`scintiseg.io.read.OVER_HEADER_KEY`, ``views.V.files.regions``, the view's skeleton-region map written as
``V_regions.png`` (:func:`scintiseg.report.outputs.write_region_png`), ``region_ids``, the table of its pixel
values, id -> name of :data:`scintiseg.predict.regions.REGION_NAMES`, and ``input.export_gain``, for a scan with an
8-bit view or a view whose histogram shows the comb of counts times a gain, each such view's
``{"grey_levels_per_count", "counts_total", "lower_bound", "clipped_share"}`` read from that comb, or null where it
shows none, :mod:`scintiseg.prepare.export_gain`, and the QC flag ``low_counts_estimated_<VIEW>`` it raises, and
``review.kept_alone``, the ids of the network's lesions a reader kept on one view while deleting its bone's calls on
the other, read from the kept view, :func:`scintiseg.predict.bsi.reader_bones`, and ``summary.findings_text``, a
draft of the findings and impression in words, :mod:`scintiseg.report.findings_text`, and session 74
``review.not_lesion_findings``, each outline a reader labelled no lesion with its view, region and side,
:func:`scintiseg.predict.review.not_lesion_findings`) keep the version, and a reader
ignores keys it does not know.

Every number a reader needs to interpret the others is defined in ``definitions`` in plain words.
"""

from __future__ import annotations

import datetime as _dt
import json
import math

from scintiseg import __version__
from scintiseg.io import SPLIT_COLUMN
from scintiseg.io.layout import STOOD_KEY, STORED_SHAPE_KEY
from scintiseg.io.patient_sides import MIRRORED_KEY, ORIENTATION_KEY
from scintiseg.io.read import OVER_HEADER_KEY
from scintiseg.io.view_pairs import READ_APART_KEY
from scintiseg.predict.bsi import bsi_view_weights, soloway_grade
from scintiseg.predict.measurements import REFERENCE_MARGIN_PX
from scintiseg.predict.pair_names import one_view_alternative
from scintiseg.predict.pairing import MIN_OVERLAP, PAIR_RADIUS_MM
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.regions import REGION_NAMES
from scintiseg.predict.rule_calls import RULE_TEXT
from scintiseg.predict.qc import LOW_COUNTS
from scintiseg.predict.triage import BASIN_PROBABILITY
from scintiseg.predict.superscan import AXIAL_TO_DISTAL_CUT
from scintiseg.prepare.export_gain import export_gains
from scintiseg.report.findings_text import findings_text
from scintiseg.scan import Scan

#: The reader's records of a file read turned, split (:mod:`scintiseg.io.layout`) or mirrored back, the patient
#: directions its DICOM header gave (:mod:`scintiseg.io.patient_sides`), and a study's file read apart from its other
#: view's file (:data:`scintiseg.io.view_pairs.READ_APART_KEY`), and the display colour table a picture was read
#: back through (:mod:`scintiseg.io.colour_tables`), copied into ``input``.
READ_AS: tuple[str, ...] = (STOOD_KEY, SPLIT_COLUMN, STORED_SHAPE_KEY, MIRRORED_KEY, ORIENTATION_KEY, READ_APART_KEY,
                            "colour_table", "panels_blanked", "frame_lines_blanked", "display_gamma",
                            "pixel_spacing_assumed", OVER_HEADER_KEY)

DEFINITIONS = {
    "findings_text": ("summary.findings_text: a machine-written draft of the findings (one sentence per involved "
                      "region: each distinct lesion's shape, intensity by its lesion-to-normal-bone ratio: mild < 1.5, "
                      "moderate 1.5-2.5, intense > 2.5, size, the views that show it) and an impression (count, "
                      "regions, BSI, Soloway grade, cautions from the QC flags), for the reader to edit; not a "
                      "diagnosis (scintiseg.report.findings_text)."),
    "coordinates": ("pixel (row, col) of the view as read (POST as acquired, not mirrored to ANT; a file stood, split "
                    "or mirrored back as input.stood, input.split_column and input.mirrored say); contour points are "
                    "(x=col, y=row)."),
    "area_mm2": "lesion pixels x row spacing x column spacing.",
    "counts": "raw counts of the view under the lesion (total, max, mean).",
    "lesion_to_normal_bone": (
        "mean lesion counts / median counts of normal bone: the view's bone-mask pixels inside the model's window, "
        f"excluding every lesion dilated by {REFERENCE_MARGIN_PX} px."
    ),
    "region": (
        "the bone group under most of the lesion's pixels in the view's skeleton-region map: the learned region "
        "network (scintiseg.predict.region_model, trained on phantom region maps) or, when it is not installed or "
        "--regions atlas is given, a proportional atlas fitted to the body outline (scintiseg.predict.regions); "
        "'other' = no bone under the lesion. model.regions says which."
    ),
    "beside": (
        "'bladder' for a lesion within 10 mm of the bladder's activity (the pelvis's midline hot spot above 2.5 x "
        "normal bone): urine can mimic a lesion or hide one there; 'forearm_or_hand' for one within 20 mm of a "
        "forearm or hand of the region map: more often the injection site or a joint than a metastasis (since session "
        "37 such a call on an arm's bone or on none is left out, left_out_calls' rule 'distal_arm', so the mark "
        "falls on calls named another bone, a pelvis beside a hand, or on every such call with that rule off); "
        "null otherwise. A mark for the reader: the lesion counts as every other."
    ),
    "region_ids": (
        "the pixel values of each view's skeleton-region map, views.V.files.regions (V_regions.png: 8-bit grey, the "
        "grid of V_mask.png), id -> region name; 0 'other' is soft tissue and background. The map that names every "
        "lesion's region and weights the BSI (a partial view's is all 0: no bone named)."
    ),
    "laterality": "the patient's side (ANT view: patient right on the image left; POST as acquired: the reverse).",
    "bsi_percent": (
        "Bone Scan Index: sum over bones of (involved fraction of the bone's pixels) x (Spiers skeletal-mass "
        "share), over the bones inside the model's window; unseen parts count as uninvolved, so with less than the "
        "whole skeleton in view it is a lower bound; with both views, each bone from the view nearer to it (spine, "
        "sacrum, scapulae: POST; sternum, clavicles: ANT), every other bone the mean of the views (views.V.bsi gives "
        "each view's own). null for a partial view (a crop or spot view: flag partial_view), whose bones are not named."
    ),
    "bsi_covered_mass_percent": "share of skeletal mass (Spiers) the model saw.",
    "bsi_view_weights": (
        "bone -> view -> the weight of that view's contribution (views.V.bsi.bones) in the scan's BSI: 1 for the view "
        "a bone is read from (the nearer one, or the one view a reader's own outline involves), 0.5 each for the mean "
        "of two views; every bone some view saw (since session 64; the HTML report groups the views by it)."
    ),
    "triage_score": (
        "largest lesion probability over the pixels the model saw, the calls a reading rule left out "
        f"(left_out_calls) and the network's response around them (down to probability {BASIN_PROBABILITY:g}) set "
        "aside, per view (views.V.triage_score; views.V.max_probability is the network's own largest probability) "
        "and per scan (the largest over views): sort a worklist by it to read first the scans the model is surest hold "
        "a lesion. A ranking score, not a calibrated probability that the scan holds a lesion."
    ),
    "paired_with": (
        "the id of the same lesion in the other view: POST mirrored and shifted onto ANT (pairing_shift_px, "
        "rows and columns), two outlines pair when they overlap by at least "
        f"{MIN_OVERLAP:g} of the smaller one or their centroids lie within {PAIR_RADIUS_MM:g} mm, one to one "
        "(Hungarian assignment); null when unpaired. No pairs on a one-view scan or with views_misaligned. An "
        "unpaired lesion on a bone the other view sees better (spine, sacrum, scapulae: POST; sternum, clavicles: "
        "ANT) is shown in report.html as not seen on the nearer view: more often a false positive, and not in the BSI."
    ),
    "region_alternative": (
        "on a scan with one view only: another bone the lesion may lie in, behind the bone named (on ANT the "
        "thoracic spine behind the sternum; one view cannot tell them apart). The region, its BSI and the SR's "
        "finding site stay the named bone's; absent otherwise."
    ),
    "soloway_grade": ("extent of disease: 0 none, 1 fewer than 6 lesions, 2 6-20, 3 more than 20 (the lesions of the "
                      "view with most), 4 superscan: the scan flagged superscan_pattern (views.V.axial_to_distal); "
                      "null for a partial view (a crop), as the BSI."),
    "axial_to_distal": (
        "the median counts (Gaussian sigma 1 px) of the view's axial bones (thoracic and lumbar spine, sacrum, pelvis, "
        "ribs) over those of its lower legs, on the learned region map: a metastatic superscan raises the first and "
        f"spares the second. The scan is flagged superscan_pattern when POST's reaches {AXIAL_TO_DISTAL_CUT['POST']:g} "
        f"(ANT's {AXIAL_TO_DISTAL_CUT['ANT']:g} on a scan without POST); null where not measured (a crop, the lower "
        "legs out of the field, bones named by the atlas: --regions atlas). Normal phantom scans stand at about 1.4 on POST and 1.1 on ANT."
    ),
    "export_gain": (
        "per view of an 8-bit export (input.export_gain): grey_levels_per_count, the export's gain read from the comb "
        "of its grey-level histogram (counts are whole numbers, so only every gain-th level is occupied); "
        "counts_total, the view's grey levels summed and divided by it: the counts of the acquisition, which an 8-bit "
        "export's grey levels are not (input.counts holds the grey levels' sum); lower_bound true when the image "
        "reaches its format's top level (255), where a display window may have clipped the hottest pixels, counted at "
        "the top level, so the counts are at least counts_total; clipped_share the share of non-zero pixels there. "
        "null where the histogram shows no such comb (a JPEG below quality 100, a gain under 1.1, a display curve, "
        f"too few counts to tell). Under {LOW_COUNTS:,} counts the view is flagged low_counts_estimated: faint lesions "
        "are found less often at low counts (not judged with clipped_share at 0.01 or more)."
    ),
    "left_out_calls": (
        "the network's calls that a reading rule left out, measured as lesions are and shown apart from them (report.html: "
        "dashed, x1, x2, ...; the LabelMe files: label 'left_out'). rule: " + "; ".join(
            f"'{name}', {text}" for name, text in RULE_TEXT.items()) + ". They count in no lesion count, BSI, Soloway "
        "grade or DICOM SR / GSPS; bsi_contribution_percent is what one would add to its view's BSI were it restored. "
        "To restore one, relabel its shape 'lesion' in the LabelMe file. A reviewed report (scintiseg review) lists "
        "only the calls whose 'left_out' shape the reader left in the file (review.views.V.left_out_dismissed counts "
        "those deleted)."
    ),
}


def _significant(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits: a triage score near 0 still ranks (rounding to places would tie it)."""
    return float(f"{value:.{digits}g}")


def report_dict(prediction: Prediction, files: dict[str, dict[str, str]] | None = None) -> dict:
    """The report of ``prediction`` as a JSON-able dict (layout in the module docstring)."""
    scan = prediction.scan
    files = files or {}
    count = prediction.lesion_count
    shift = prediction.pairing_shift
    learned = (prediction.model_info.get("regions") or {}).get("method") == "learned"
    views = {}
    for name, result in prediction.views.items():
        regions = result.regions
        views[name] = {
            "lesion_count": len(result.lesions),
            "max_probability": _significant(result.max_probability),
            "triage_score": _significant(result.triage_score),
            "spine_pattern_calls": result.spine_pattern_calls,
            "symmetric_calls": result.symmetric_calls,
            "bladder_calls": result.bladder_calls,
            "distal_arm_calls": result.distal_arm_calls,
            "off_skeleton_calls": result.off_skeleton_calls,
            "reference_counts": result.reference_counts,
            "axial_to_distal": round(result.axial_to_distal, 3) if math.isfinite(result.axial_to_distal) else None,
            "bsi": result.bsi,
            "window_pixels": int(result.coverage.sum()),
            "region_estimate": {
                # the map that named the bones (session 62: "proportional atlas" was written for the learned map too)
                "method": "learned region map" if learned else "proportional atlas",
                "body_top_row": regions.top,
                "body_bottom_row": regions.bottom,
                "midline_col": round(regions.midline, 2),
                "flags": list(regions.flags),
            },
            "files": files.get(name, {}),
        }
    lesions = []
    partners = prediction.paired_with
    for name, result in prediction.views.items():
        for contour, lesion in zip(result.contours, result.lesions):
            record = lesion.to_dict()
            record["paired_with"] = partners.get(lesion.id)
            alternative = one_view_alternative(name, lesion.region, prediction.views)
            if alternative is not None:
                record["region_alternative"] = alternative
            if prediction.review is not None:  # a reader's outline, the network's, or one the reader edited
                record["origin"] = prediction.review["origin"].get(str(lesion.id))
            record["contour"] = contour.to_list()
            lesions.append(record)
    report = {
        "format": "scintiseg-report",
        "version": 1,
        "scintiseg_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "input": scan.summary() | {"pixel_spacing_mm": list(scan.pixel_spacing)} | {
            key: scan.metadata[key] for key in READ_AS if key in scan.metadata} | export_gain_record(scan),
        "patient": {"id": scan.patient_id, "name": scan.patient_name} | {
            key: scan.metadata[f"patient_{key}"] for key in ("birth_date", "sex") if scan.metadata.get(f"patient_{key}")},
        "study": {key: scan.metadata[key] for key in STUDY_KEYS if scan.metadata.get(key)},
        "study_uid": scan.study_uid,
        "series_uid": scan.series_uid,
        "model": prediction.model_info,
        "settings": prediction.settings,
        "summary": {
            "lesion_count": count,
            "lesion_count_by_view": {name: len(r.lesions) for name, r in prediction.views.items()},
            "distinct_lesion_count": prediction.distinct_lesion_count,
            "soloway_grade": soloway_grade(count, prediction.superscan_pattern) if prediction.bsi_given else None,
            "bsi_percent": round(prediction.bsi_percent, 4) if prediction.bsi_given else None,
            "bsi_covered_mass_percent": round(prediction.covered_mass_percent, 2),
            "bsi_scope": bsi_scope(prediction),
            "bsi_view_weights": bsi_view_weights({name: r.bsi["bones"] for name, r in prediction.views.items()},
                                                 prediction.reader_bones),
            "triage_score": _significant(prediction.triage_score),
            "pair_count": len(prediction.pairs),
            "pairing_shift_px": None if shift is None else [float(shift[0]), float(shift[1])],
            "qc_flags": list(prediction.qc_flags),
        },
        "views": views,
        "lesions": lesions,
        "left_out_calls": [call.to_dict() for result in prediction.views.values() for call in result.left_out],
        "pairs": [pair.to_dict() for pair in prediction.pairs],
        "region_ids": region_ids(),
        "definitions": DEFINITIONS,
        "timings_s": {k: round(v, 4) for k, v in prediction.timings.items()},
    }
    if prediction.review is not None:
        report["review"] = {key: value for key, value in prediction.review.items() if key != "origin"}
    report["summary"]["findings_text"] = findings_text(report)  # from the record itself: a review's outlines too
    return report


def region_ids() -> dict[str, str]:
    """``report.json``'s ``region_ids``: each region id (a JSON key, so a string) -> its name
    (:data:`scintiseg.predict.regions.REGION_NAMES`), the pixel values of ``V_regions.png``."""
    return {str(index): name for index, name in enumerate(REGION_NAMES)}


def export_gain_record(scan: Scan) -> dict:
    """``{"export_gain": {VIEW: estimate or None}}`` for a scan with an 8-bit view or an estimate
    (:func:`~scintiseg.prepare.export_gain.export_gains`), else ``{}``: a 16-bit count scan carries no such key."""
    gains = export_gains(scan)
    if not any(estimate is not None for estimate in gains.values()) and not any(
            scan.view(name).dtype.name == "uint8" for name in scan.view_names):
        return {}
    return {"export_gain": {name: None if estimate is None else estimate.to_dict() for name, estimate in gains.items()}}


#: What the report's ``study`` block carries of the scan's metadata (a DICOM source's; session 62: the page named the
#: study by its UID alone).
STUDY_KEYS: tuple[str, ...] = ("study_date", "study_time", "accession_number", "study_description")

#: Skeletal mass seen (%) from which the BSI is called a whole-skeleton BSI.
WHOLE_SKELETON_PERCENT = 99.0


def bsi_scope(prediction: Prediction) -> str:
    """One sentence: what the BSI covers (mass seen, window, how bones were named) and how to read it; one more
    when the scan shows the superscan pattern, which a BSI of outlined lesions understates, and one when a view was
    exported clipped by a display window (``clipped_export_<VIEW>``), which flattens hot spots and shrinks outlines."""
    covered = prediction.covered_mass_percent
    blank = prediction.views_without_skeleton
    if blank:
        return (f"No BSI: no skeleton found in {', '.join(blank)} (a blank, failed or non-bone image?); check the "
                "acquisition and the file before reading any result of this scan.")
    if not prediction.bsi_given:
        return ("No BSI: less than a whole body in the field of view (a crop or spot view), so its bones are not "
                "named (lesions' region 'unnamed'); the lesions and the triage score stand.")
    window = prediction.settings.get("window", "thoracic")
    method = (prediction.model_info.get("regions") or {}).get("method", "atlas")
    named = "the learned region map" if method == "learned" else "a proportional atlas"
    if covered >= WHOLE_SKELETON_PERCENT:
        scope = (f"Whole-skeleton BSI: {covered:.1f} % of the skeletal mass was seen ({window} window); "
                 f"bones named by {named}.")
    else:
        scope = (f"BSI over the {covered:.1f} % of skeletal mass seen ({window} window); bone not seen counts as "
                 f"uninvolved, so this is a lower bound, not a whole-skeleton BSI; bones named by {named}.")
    if prediction.superscan_pattern:
        scope += (" The scan shows the superscan pattern (axial skeleton far brighter than the lower legs): diffuse "
                  "involvement is not outlined, so this BSI understates it.")
    clipped = [flag.removeprefix("clipped_export_") for flag in prediction.qc_flags if flag.startswith("clipped_export_")]
    if clipped:  # session 73: NM1 windowed to 30 %, its lesion's outline 317 mm2 against 587, the BSI 0.051 for 0.093
        scope += (f" {' and '.join(clipped)} {'was' if len(clipped) == 1 else 'were'} exported cut off by a display "
                  "window: hot spots are flattened, so outlines are smaller and this BSI lower than the scan's own.")
    return scope


def report_json(report: dict) -> str:
    """The text of ``report.json`` (:func:`scintiseg.report.outputs.write_outputs` writes it): ``report``
    (:func:`report_dict`, with the outputs' ``dicom`` entry) as JSON indented by one space, ending in a newline.
    NaN and infinity, which JSON lacks, are refused (ValueError) rather than written as a file a reader rejects."""
    return json.dumps(report, indent=1, allow_nan=False) + "\n"
