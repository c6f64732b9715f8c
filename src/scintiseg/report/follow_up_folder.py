"""``scintiseg compare BASELINE FOLLOWUP --out DIR``: two predictions of one patient's scans compared
(:mod:`scintiseg.predict.follow_up` says how), written as ``comparison.json`` and ``comparison.html``, and for a
DICOM follow-up ``sr.dcm`` (its lesions tracked from the baseline's) and ``gsps.dcm`` (its outlines by status).

Each folder is read back as :mod:`.predicted_again` reads it (the scan read again, predicted again with its report's
settings and model, its lesions the outlines its LabelMe files hold): a folder a reader reviewed, or edited, is
compared with the reader's outlines. The model is loaded once for both.

Refused in one line, nothing written: a folder that is not a prediction's, the same folder twice, ``--out`` one of
the two or someone else's folder, two patients (both scans are DICOM files whose patient IDs differ; an image file's
ID is its name, which says nothing of the patient), a follow-up acquired before its baseline (both scans carry a study
date). ``--out`` is written into a hidden folder beside it and renamed
into place when complete (an earlier comparison there replaced only then).

Whose outlines (session 62). Each scan's record says whose outlines were compared, as its folder's ``report.json``
tells: ``outlines`` ``network`` (the network's own), ``review`` (``scintiseg review`` wrote them: ``reviewed``, and
``reader`` the reader as the report's page names them, None when unsigned) or ``edited`` (the LabelMe files no longer
give the lesions the report lists: edited in place, after the prediction or after a review). One side a reader's
(``review`` or ``edited``) and the other the network's own is flagged ``reader_outlines_baseline_only`` or
``reader_outlines_follow_up_only`` (:data:`READER_ONLY_FLAGS`): a lesion the network missed on the baseline and a
reader outlined on the follow-up then counts as new (an audit's unreviewed baseline against a reviewed follow-up read
6 new where 3 were). One study compared with itself (:func:`~scintiseg.predict.follow_up.same_study`) is flagged
``same_study`` and given no PCWG3 sentence. Each such finding is a sentence in ``summary.warnings``, on the page and
on stderr (:func:`~scintiseg.cli.compare.run`); before session 62 none was said.

What a reader relabelled (session 74, a reading physician's audit, finding 8). A baseline lesion not seen whose place
the follow-up's reader labelled as no lesion (``bladder``, ``degenerative``: the follow-up folder's outlines so
labelled) carries those labels (``relabelled_on_follow_up``; ``summary.not_seen_relabelled`` counts such lesions), and a
follow-up lesion persisting only through its pair's other outline names that outline (``persists_through``): before,
the first read as resolved and the second as persisting with no baseline lesion
(:mod:`scintiseg.predict.follow_up`).
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

from scintiseg import __version__
from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import staging_folder, write_text_atomic
from scintiseg.predict.follow_up import PCWG3_RULE, FollowUp, compare
from scintiseg.predict.loader import LoadedModel, load_model
from scintiseg.predict.prediction import Prediction
from scintiseg.report.batch import publish_folder
from scintiseg.report.dicom_out import (
    SERIES_NUMBERS,
    read_source_dataset,
    tracking_identifiers,
    tracking_uids,
    write_gsps,
    write_sr,
)
from scintiseg.report.follow_up_html import STATUS_COLOURS, comparison_html, outlines_words
from scintiseg.report.html import reader_name
from scintiseg.report.outputs import is_dicom_source, source_files
from scintiseg.report.predicted_again import PredictedAgain, lists_same_lesions, predict_again, report_of

COMPARISON_JSON = "comparison.json"
COMPARISON_HTML = "comparison.html"
#: The follow-up's DICOM SR whose lesions carry the tracking UIDs of the baseline lesions they continue.
TRACKED_SR = "sr.dcm"
#: The follow-up's outlines on its own images, one layer per status, for a PACS (a DICOM follow-up).
COMPARISON_GSPS = "gsps.dcm"
#: The flag of a comparison whose one side's outlines are a reader's and the other's the network's own, by the side
#: that a reader outlined (module docstring; session 62).
READER_ONLY_FLAGS = {"baseline": "reader_outlines_baseline_only", "follow_up": "reader_outlines_follow_up_only"}
_SIDE = {"baseline": "baseline", "follow_up": "follow-up"}


def study_date(prediction: Prediction) -> _dt.date | None:
    """The scan's study (else acquisition) date, from its DICOM header; None when it has none."""
    for key in ("study_date", "acquisition_date"):
        text = str(prediction.scan.metadata.get(key) or "").strip()
        try:
            return _dt.datetime.strptime(text[:8], "%Y%m%d").date()
        except ValueError:
            continue
    return None


def _outlines(again: PredictedAgain, review: dict | None) -> str:
    """Whose outlines the folder holds, as its ``report.json`` tells (module docstring): ``review``, ``edited`` (its
    LabelMe files no longer give the lesions the report lists) or ``network``. A report that lists no lesions (a
    record made in memory) tells no edit."""
    report = again.report
    if isinstance(report.get("lesions"), list) and not lists_same_lesions(report, again.prediction):
        return "edited"
    return "review" if review is not None else "network"


def _scan_record(folder: Path, again: PredictedAgain) -> dict:
    prediction, report = again.prediction, again.report
    date = study_date(prediction)
    review = report.get("review") if isinstance(report.get("review"), dict) else None
    return {
        "folder": str(folder.resolve()),
        "source": str(prediction.scan.source) if prediction.scan.source else _input_source(report),
        "study_uid": prediction.scan.study_uid,
        "study_date": date.isoformat() if date else None,
        "pixel_spacing_mm": [float(v) for v in prediction.scan.pixel_spacing],
        "shape": [int(v) for v in prediction.scan.shape],
        "reviewed_by": ((review or {}).get("reader") or {}).get("name") if review else None,
        "outlines": _outlines(again, review), "reviewed": review is not None,
        "reader": reader_name(review.get("reader")) if review else None,
        "lesion_count_by_view": {name: len(view.lesions) for name, view in prediction.views.items()},
        "bsi_percent": round(prediction.bsi_percent, 4) if prediction.bsi_given else None,
        "bsi_covered_mass_percent": round(prediction.covered_mass_percent, 2) if prediction.bsi_given else None,
    }


def _input_source(report: dict) -> str | None:
    """The scan file report.json's ``input`` names (None where ``input`` is no object or names none)."""
    record = report.get("input")
    source = record.get("source") if isinstance(record, dict) else None
    return source if isinstance(source, str) else None


def _lesion_rows(result: FollowUp, name: str) -> tuple[list[dict], list[dict]]:
    """One view's follow-up lesions (status, the baseline lesions they match) and baseline lesions (status, seen as)."""
    change = result.views[name]
    early = {lesion.id: lesion for lesion in result.baseline.views[name].lesions}
    late_rows = []
    for lesion in result.follow_up.views[name].lesions:
        matched = [early[i] for i in change.matches[lesion.id]]
        before_area = sum(m.area_mm2 for m in matched)
        ratios = [m.lesion_to_normal_bone for m in matched if m.lesion_to_normal_bone is not None]
        late_rows.append({
            "id": lesion.id, "view": name, "region": lesion.region, "laterality": lesion.laterality,
            "status": result.status_of(name, lesion.id), "matches_baseline": change.matches[lesion.id],
            "persists_through": _through(result.persists_through(name, lesion.id)),
            "area_mm2": round(lesion.area_mm2, 1), "area_mm2_baseline": round(before_area, 1) if matched else None,
            "lesion_to_normal_bone": lesion.lesion_to_normal_bone,
            "lesion_to_normal_bone_baseline": round(max(ratios), 3) if ratios else None,
            "centroid_row": round(lesion.centroid_row, 2), "centroid_col": round(lesion.centroid_col, 2),
        })
    early_rows = [{
        "id": lesion.id, "view": name, "region": lesion.region, "laterality": lesion.laterality,
        "status": result.status_of(name, lesion.id, follow_up=False), "seen_as": change.seen_again[lesion.id],
        "relabelled_on_follow_up": result.relabelled.get(name, {}).get(lesion.id, []),
        "area_mm2": round(lesion.area_mm2, 1), "lesion_to_normal_bone": lesion.lesion_to_normal_bone,
        "centroid_row": round(lesion.centroid_row, 2), "centroid_col": round(lesion.centroid_col, 2),
    } for lesion in result.baseline.views[name].lesions]
    return late_rows, early_rows


def _through(found: tuple[str, int, list[int]] | None) -> dict | None:
    """:meth:`~scintiseg.predict.follow_up.FollowUp.persists_through` as ``comparison.json`` writes it."""
    if found is None:
        return None
    view, lesion_id, matched = found
    return {"view": view, "id": lesion_id, "matches_baseline": matched}


def _cautions(result: FollowUp, scans: dict[str, dict]) -> tuple[list[str], list[str]]:
    """The flags and warning sentences of whose outlines were compared and of one study compared with itself (module
    docstring; session 62). ``scans``: ``baseline`` and ``follow_up`` -> the scan's record."""
    flags, warnings = [], []
    if result.same_study:
        warnings.append(f"The baseline and the follow-up are one study ({result.same_study}): not a follow-up but "
                        "two readings of one scan (what differs is what was outlined), so the new lesions are no "
                        "PCWG3 count")
    network = [side for side, scan in scans.items() if scan["outlines"] == "network"]
    if len(network) == 1:
        other = "follow_up" if network[0] == "baseline" else "baseline"
        flags.append(READER_ONLY_FLAGS[other])
        effect = ("a lesion the network missed on the baseline and the reader outlined on the follow-up counts as new"
                  if other == "follow_up" else "a lesion the reader deleted on the baseline and the network outlines "
                  "on the follow-up counts as new, and one the reader added there as not seen")
        if not result.same_study:  # its advice is no use for one study: a scan against its own review
            warnings.append(f"The {_SIDE[other]}'s outlines are a reader's ({outlines_words(scans[other])}), the "
                            f"{_SIDE[network[0]]}'s the network's own: the comparison mixes two readers' criteria "
                            f"({effect}); review the {_SIDE[network[0]]} too (scintiseg review) and compare the two "
                            "reviews")
    return flags, warnings


def comparison_record(result: FollowUp, baseline: tuple[Path, PredictedAgain],
                      follow_up: tuple[Path, PredictedAgain]) -> dict:
    """``comparison.json``: both scans, the interval, what changed (per lesion, per view, per bone), the flags and
    the warnings (whose outlines, one study: module docstring; session 62)."""
    early, late = study_date(result.baseline), study_date(result.follow_up)
    change = result.bsi_change
    scans = {"baseline": _scan_record(*baseline), "follow_up": _scan_record(*follow_up)}
    flags, warnings = _cautions(result, scans)
    views = {}
    for name, view in result.views.items():
        late_rows, early_rows = _lesion_rows(result, name)
        views[name] = {"registration": view.registration.record(), "follow_up_lesions": late_rows,
                       "baseline_lesions": early_rows}
    scan = result.follow_up.scan
    return {
        "format": "scintiseg-comparison", "version": 1, "scintiseg_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "patient": {"id": scan.patient_id or result.baseline.scan.patient_id,
                    "name": scan.patient_name or result.baseline.scan.patient_name},
        **scans,
        "interval_days": (late - early).days if early and late else None,
        "summary": {
            "new_lesions": result.new_lesions, "persisting_lesions": result.persisting_lesions,
            "lesions_not_seen": result.lesions_not_seen, "not_seen_relabelled": result.not_seen_relabelled,
            "two_or_more_new": result.two_or_more_new,
            "outside_field": {"follow_up": result.outside_field[0], "baseline": result.outside_field[1]},
            "bsi_change_points": None if change is None else round(change, 4),
            "bsi_change_relative": (None if change is None or not result.baseline.bsi_percent
                                    else round(change / result.baseline.bsi_percent, 4)),
            "pcwg3": PCWG3_RULE, "flags": [*result.flags, *flags], "same_study": result.same_study,
            "warnings": warnings,
        },
        "bones": {bone: {"baseline": round(a, 4), "follow_up": round(b, 4), "change": round(b - a, 4)}
                  for bone, (a, b) in result.bone_changes().items()},
        "views": views,
        "definitions": {
            "new": "a follow-up lesion that no baseline lesion matches in any view that outlines it (an ANT-POST pair "
                   "once)",
            "persisting": "a follow-up lesion that touches, or lies within 20 mm of, a baseline lesion of the same view "
                          "once moved onto the baseline (grown, merged or split lesions persist)",
            "not seen": "a baseline lesion that no follow-up lesion matches (resolved, or no longer outlined; "
                        "relabelled_on_follow_up names what a reader of the follow-up labelled its place instead, "
                        "a finding that is no lesion such as bladder)",
            "persists_through": "a follow-up lesion matching no baseline lesion on its own view that persists through "
                                "the other outline of its ANT-POST pair: that outline and the baseline lesions it "
                                "matches",
            "outside field": "an unmatched lesion whose place the other scan's model did not see (its image or window): "
                             "neither new nor gone",
            "bsi_change_points": "follow-up BSI minus baseline BSI, % of the skeletal mass",
        },
    }


def summary_line(record: dict) -> str:
    """One line: the counts, the BSI change, the interval and the flags."""
    s = record["summary"]
    relabelled = s.get("not_seen_relabelled") or 0
    parts = [f"{s['new_lesions']} new, {s['persisting_lesions']} persisting, {s['lesions_not_seen']} not seen"
             + (f" ({relabelled} of them relabelled by the follow-up's reader as no lesion)" if relabelled else "")]
    outside = s["outside_field"]["follow_up"] + s["outside_field"]["baseline"]
    if outside:
        parts.append(f"{outside} outside the other scan's field")
    early, late = record["baseline"]["bsi_percent"], record["follow_up"]["bsi_percent"]
    if s["bsi_change_points"] is not None:
        parts.append(f"BSI {early:.3g} % -> {late:.3g} % ({s['bsi_change_points']:+.2f} points)")
    if record["interval_days"] is not None:
        parts.append(f"{record['interval_days']} days apart")
    if s["two_or_more_new"]:
        parts.append("two or more new lesions (PCWG3: progression if confirmed on a later scan)")
    if s["flags"]:
        parts.append("flags: " + ", ".join(s["flags"]))
    return "; ".join(parts)


def check_pair(early: PredictedAgain, late: PredictedAgain, folders: tuple[Path, Path]) -> None:
    """Refuse two folders read back that are not one patient's scans in order (module docstring)."""
    a, b = early.prediction.scan, late.prediction.scan
    # A patient ID is a DICOM header's (a file with a Study Instance UID); an image file's is its name, two of which
    # differ for one patient's two exports.
    if a.study_uid and b.study_uid and a.patient_id and b.patient_id and a.patient_id != b.patient_id:
        raise ScintisegError(f"the baseline is patient {a.patient_id!r}, the follow-up patient {b.patient_id!r}: a "
                             "comparison needs two scans of one patient", path=folders[1])
    first, then = study_date(early.prediction), study_date(late.prediction)
    if first and then and then < first:
        raise ScintisegError(f"the follow-up ({then.isoformat()}) was acquired before the baseline "
                             f"({first.isoformat()}): give the earlier scan first", path=folders[1])


def compare_folders(baseline: str | Path, follow_up: str | Path, out: str | Path, *,
                    model: str | Path | LoadedModel | None = None, engine: str | None = None,
                    baseline_scans: list[str | Path] | None = None,
                    follow_up_scans: list[str | Path] | None = None) -> dict:
    """Compare two prediction folders of one patient into ``out`` (module docstring); returns the record written.

    Args:
        baseline, follow_up: the two scans' output folders of ``scintiseg predict`` (or ``review``), earlier first.
        out: the comparison's folder (``comparison.json``, ``comparison.html``).
        model: the model that predicted both (None: the shipped one, checked against each report's).
        engine: the inference engine (default: ONNX Runtime).
        baseline_scans, follow_up_scans: each scan's file(s), when no longer where its report says.

    Raises:
        ScintisegError: one line, nothing written (module docstring).
    """
    folders = (Path(baseline), Path(follow_up))
    out = Path(out)
    for folder in folders:
        report_of(folder)
    if folders[0].resolve() == folders[1].resolve():
        raise ScintisegError("the baseline and the follow-up are the same folder: give two scans' folders",
                             path=folders[0])
    if out.resolve() in {folder.resolve() for folder in folders}:
        raise ScintisegError("--out must be a new folder, not one of the two compared", path=out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / COMPARISON_JSON).is_file())):
        raise ScintisegError("exists and is not a scintiseg comparison folder: give a new --out", path=out)
    loaded = model if isinstance(model, LoadedModel) else load_model(model, engine=engine or "onnx")
    check = model is None
    early = predict_again(folders[0], model=loaded, scans=baseline_scans, check_model=check,
                          scan_flag="--baseline-scan")
    late = predict_again(folders[1], model=loaded, scans=follow_up_scans, check_model=check,
                         scan_flag="--follow-up-scan")
    return write_comparison((folders[0], early), (folders[1], late), out)[0]


def _tracked_sr(result: FollowUp, baseline: tuple[Path, PredictedAgain], headers: dict, against: str,
                path: Path) -> dict:
    """The follow-up's DICOM SR (TID 1500) whose persisting lesions carry the Tracking UIDs of the baseline lesions
    they continue, read from the baseline folder's own SR: TID 1410's tracking UID is the identity of a finding across
    time points, so a viewer that follows findings links the two studies' measurements. A new lesion (and one whose
    baseline UID cannot be read) gets its own. Written when the baseline folder holds its SR as written with its
    outlines; otherwise ``dicom`` says why not. A pair keeps one UID. ``headers``: the follow-up's source datasets."""
    folder, early = baseline
    if not (folder / TRACKED_SR).is_file() or not lists_same_lesions(early.report, early.prediction):
        why = ("the baseline folder has no SR" if not (folder / TRACKED_SR).is_file()
               else "the baseline's outlines were edited after its SR was written: review it first")
        return {"note": f"no tracked DICOM SR: {why}"}
    known = tracking_uids(folder / TRACKED_SR)
    tracking = tracking_identifiers(result.follow_up)
    linked: set[int] = set()
    for change in result.views.values():
        for lesion_id, matched in change.matches.items():
            continuing = [m for m in matched if m in known]
            if continuing:
                text, _ = tracking[lesion_id]
                tracking[lesion_id] = (f"{text}; baseline lesion {continuing[0]}", known[continuing[0]])
                linked.add(lesion_id)
    for pair in result.follow_up.pairs:  # one lesion, one UID: the ANT outline's link first, else the POST one's
        first, second = (pair.ant_id, pair.post_id) if pair.ant_id in linked or pair.post_id not in linked else (
            pair.post_id, pair.ant_id)
        tracking[second] = (tracking[second][0], tracking[first][1])
    try:
        write_sr(result.follow_up, headers, path, tracking=tracking, series_number=SERIES_NUMBERS["compared"]["sr"],
                 description=f"scintiseg lesions tracked from {against}")
    except (ScintisegError, ValueError, TypeError, AttributeError, KeyError) as exc:
        return {"note": f"no tracked DICOM SR ({type(exc).__name__}: {exc})"}
    return {"sr": TRACKED_SR, "outlines_tracked": len(linked)}


def _comparison_gsps(result: FollowUp, headers: dict, against: str, path: Path) -> dict:
    """A Grayscale Softcopy Presentation State on the follow-up's images drawing each of its outlines on the layer
    of its status (``NEW``, ``PERSISTING``, ``OUTSIDE FIELD``, coloured as on the page), its text the lesion's id and
    status: what a PACS shows of the comparison without reading the SR's tracking."""
    try:
        write_gsps(result.follow_up, headers, path, layer_of=result.status_of, layer_colours=STATUS_COLOURS,
                   label="FOLLOW_UP", description=f"scintiseg follow-up against {against}",
                   series_number=SERIES_NUMBERS["compared"]["gsps"])
    except (ScintisegError, ValueError, TypeError, AttributeError, KeyError) as exc:
        return {"gsps_note": f"no DICOM GSPS ({type(exc).__name__}: {exc})"}
    return {"gsps": COMPARISON_GSPS}


def _dicom_outputs(result: FollowUp, baseline: tuple[Path, PredictedAgain], folder: Path) -> dict:
    """The follow-up's DICOM outputs, the tracked SR and the GSPS, its source headers read once; what ``dicom`` in
    ``comparison.json`` records (a note for a follow-up that is not DICOM or whose headers cannot be read)."""
    sources = source_files(result.follow_up)
    if not is_dicom_source(sources):
        return {"note": "no DICOM SR: the follow-up is not a DICOM scan"}
    try:
        read = {path: read_source_dataset(path) for path in dict.fromkeys(sources.values())}
    except ScintisegError as exc:
        return {"note": f"no DICOM SR or GSPS ({exc})"}
    headers = {view: read[path] for view, path in sources.items()}
    date = study_date(baseline[1].prediction)
    against = date.isoformat() if date else "the baseline"
    return {**_tracked_sr(result, baseline, headers, against, folder / TRACKED_SR),
            **_comparison_gsps(result, headers, against, folder / COMPARISON_GSPS)}


def write_comparison(baseline: tuple[Path, PredictedAgain], follow_up: tuple[Path, PredictedAgain],
                     out: Path) -> tuple[dict, FollowUp]:
    """Compare two folders already read back (:func:`~.predicted_again.predict_again`) into ``out``, checked to be one
    patient's in order (hidden folder first, renamed into place when complete); returns the record written and the
    comparison (a batch reads a patient's comparisons together: :mod:`scintiseg.predict.series`)."""
    early, late = baseline[1], follow_up[1]
    check_pair(early, late, (baseline[0], follow_up[0]))
    result = compare(early.prediction, late.prediction, late.not_lesion_shapes)
    record = comparison_record(result, baseline, follow_up)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_folder(out.parent, out.name)
    try:
        record["dicom"] = _dicom_outputs(result, baseline, tmp)
        write_text_atomic(tmp / COMPARISON_JSON, json.dumps(record, indent=1))
        write_text_atomic(tmp / COMPARISON_HTML, comparison_html(record, result))
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record, result
