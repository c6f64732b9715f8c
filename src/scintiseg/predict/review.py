"""A prediction whose outlines a reader corrected, read again: the report a physician signs.

``scintiseg predict`` writes per view ``V.labelme.json``: one ``lesion`` polygon per lesion found, and one
``left_out`` polygon per call a reading rule left out (:mod:`.rule_calls`). A physician opens it in LabelMe,
deletes the false calls, redraws an outline, draws a lesion the network missed, relabels a left-out call
``lesion``, and saves. Clinical BSI tools work the same way: the reader accepts or rejects each hotspot and the
index follows (EXINI aBSI, BONENAVI; ../shared/reference/landscape.md). ``scintiseg review PRED_DIR --out DIR``
(:mod:`scintiseg.cli.review`) then writes every output again from the reader's outlines: lesion records, skeletal
regions, BSI, Soloway grade, ANT-POST pairs, QC flags, HTML, DICOM SR and GSPS.

How (choices the papers leave open, all stated here):

- **The reader's outlines are the lesions.** Each view's mask is the union of the file's lesion shapes
  (:func:`scintiseg.io.predicted_labels.outline_mask`, as ``scintiseg dataset import`` reads a correction: labelled
  ``lesion``, ``Lesion``, ``metastasis``, ``mets``, ...; a ``left_out`` call or one a reader relabelled ``bladder``,
  ``degenerative``, ``artefact``, ... is not one, said in one warning per file; any other label is refused in one
  line naming the shape), rasterised as LabelMe does; its 8-connected components are the lesions, as a network's
  mask's are (two outlines drawn touching become one lesion). No threshold, minimum area or reading rule applies to
  them.
- **Everything else is computed again, not copied**: the scan is read again from the file the report names (the
  report's pixel spacing given to files without one), checked to be the scan predicted (views and shape), and
  predicted again with the report's settings (:func:`scintiseg.predict.pipeline.predict_scan` with
  ``reader_masks``): the region map, the normal-bone reference, the network's probabilities inside each outline
  (a lesion's ``probability_mean``/``probability_max``: what the network said of the reader's outline) and the
  triage score (the network's, not the reader's). The reading rules still run on the network's calls; a left-out
  call that touches a reader's outline is no longer listed as left out, and neither is one whose ``left_out`` shape
  the reader deleted or relabelled (:func:`as_the_reader_left_them`; session 65).
- **What changed** (:func:`review_record`, ``report.json`` ``review`` and each lesion's ``origin``): each lesion of
  the reviewed view is ``network`` (pixel for pixel one of the network's lesions; counted ``kept``), ``restored``
  (pixel for pixel a call a reading rule left out, relabelled ``lesion``), ``edited`` (overlapping a network lesion
  or a left-out call, but not equal to one) or ``reader`` (drawn where the network outlined nothing; counted
  ``drawn``); a network lesion no reviewed outline touches is counted ``deleted``, and the outlines a reader labelled
  as no lesion are listed by label (``not_lesions``: ``{"bladder": 1}``, a call relabelled rather than deleted;
  :mod:`scintiseg.report.review_folder`), and kept in the reviewed LabelMe file as the reader labelled them; each is
  also listed with its view, region and side (``not_lesion_findings``, :func:`not_lesion_findings`), which the words
  of the reviewed report name.
- **The network's own outlines** are what each origin is told against, never the reader's file
  (:func:`recorded_network`, :func:`network_run_again`; ``review.network_outlines`` names the source per view): in a
  prediction's folder its lesions are ``V_mask.png`` (else the contours ``report.json`` lists, a folder returned
  without its masks) and its left-out calls the contours ``report.json`` lists; in a reviewed folder, whose files are
  a reader's, both are the network's output on the scan predicted again. Session 62: before, the left-out calls came
  from the LabelMe file itself, where a call a reader relabelled ``lesion`` is no ``left_out`` shape any more (it was
  reported ``reader``, not ``restored``); a folder without its masks credited every network lesion to the reader
  (``network_lesions: 0``) without a word; and a review of a review took the earlier reader's outlines for the
  network's, so a lesion only a reader drew became ``network``.
- A reviewed folder may be edited and reviewed again: origins and counts stay against the network's own output
  (``review.compared_with``: ``"the network"``; ``"an earlier review"`` only in records written before session 62),
  a lesion only a reader drew stays ``reader`` through any number of reviews, and ``review.earlier_review`` records
  the review gone over (its source folder and signing reader); the source folder's own ``review`` is not carried over.
- The network run again must be the one that predicted (same weights, same settings): the model named in the
  report is checked by name and file (a different one is refused unless given with ``--model``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from scintiseg.errors import ScintisegError
from scintiseg.geometry import shapes_to_mask
from scintiseg.io import read_scan
from scintiseg.io.read import OVER_HEADER_KEY
from scintiseg.io.images import read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.io.not_scans import prediction_report
from scintiseg.io.predicted_labels import PREDICTED_MASK, outline_mask, unedited_prediction
from scintiseg.io.reader_labels import LEFT_OUT_LABEL, label_kind, normalised_label, not_counted
from scintiseg.io.view_pairs import join_views
from scintiseg.predict.bsi import REGION_TO_BONE
from scintiseg.predict.measurements import region_side
from scintiseg.predict.pipeline import PredictSettings, predict_view
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.qc import RULE_FLAGS
from scintiseg.scan import Annotation, Scan, Shape

#: A reviewed lesion's origin (module docstring).
ORIGINS: tuple[str, ...] = ("network", "restored", "edited", "reader")
#: The LabelMe file of a predicted view in a prediction's folder.
LABELME_NAME = "{view}.labelme.json"
_EIGHT = np.ones((3, 3), dtype=bool)


def scan_as_predicted(report: dict, folder: Path, scans: list[Path] | None = None, flag: str = "--scan") -> Scan:
    """The scan ``report`` (a prediction's ``report.json`` in ``folder``) was made from, read again as ``predict``
    read it: its file (``scans`` when given: one file, or a study's ANT and POST files), views named by file name,
    a page of two views split, the report's pixel spacing for files without one. A scan that does not match the
    report's views and shape is refused in one line; ``flag`` is the command's option that names the scan file."""
    facts = report.get("input") if isinstance(report.get("input"), dict) else {}
    spacing = facts.get("pixel_spacing_mm") or facts.get("pixel_spacing")
    kwargs = {"view": "name", "split_views": True}
    if isinstance(spacing, list) and len(spacing) == 2 and all(isinstance(v, (int, float)) for v in spacing):
        kwargs["pixel_spacing"] = (float(spacing[0]), float(spacing[1]))
        if facts.get(OVER_HEADER_KEY):  # predicted with a pixel size given over the file's own: read the same way
            kwargs["pixel_spacing_over_header"] = True
    sources = facts.get("view_sources") if isinstance(facts.get("view_sources"), dict) else None
    if scans:
        paths = [Path(p) for p in scans]
    elif sources and set(sources) == {"ANT", "POST"}:
        paths = [Path(sources["ANT"]), Path(sources["POST"])]
    elif isinstance(facts.get("source"), str):
        paths = [Path(facts["source"])]
    else:
        raise ScintisegError(f"the report names no scan file: give it with {flag}", path=folder / "report.json")
    if len(paths) > 2:
        raise ScintisegError(f"{len(paths)} scan files given: one scan file, or a study's ANT and POST files")
    for path in paths:
        if not path.is_file():
            raise ScintisegError(f"the scan this report was made from is not there (give it with {flag})", path=path)
    read = [read_scan(path, **kwargs) for path in paths]
    scan = read[0] if len(read) == 1 else join_views(*_ant_first(read))
    views, shape = facts.get("views"), facts.get("shape")
    if (isinstance(views, list) and list(scan.view_names) != views) or (
            isinstance(shape, list) and list(scan.shape) != shape):
        raise ScintisegError(
            f"is not the scan of {folder / 'report.json'}: views {', '.join(scan.view_names)}, {scan.shape[0]} x "
            f"{scan.shape[1]}, where the report has {', '.join(map(str, views or []))}, "
            f"{' x '.join(map(str, shape or []))}", path=", ".join(map(str, paths)))
    if isinstance(spacing, list) and len(spacing) == 2 and all(isinstance(v, (int, float)) for v in spacing) and not all(
            math.isclose(float(a), float(b), rel_tol=1e-3) for a, b in zip(spacing, scan.pixel_spacing)):
        raise ScintisegError(  # (a header read otherwise than predict read it: the outlines' mm and the BSI would move)
            f"is read at {scan.pixel_spacing[0]:g} x {scan.pixel_spacing[1]:g} mm where {folder / 'report.json'} has "
            f"{float(spacing[0]):g} x {float(spacing[1]):g} mm", path=", ".join(map(str, paths)))
    other = _another_study(report, scan)
    if other:  # same views and matrix, another patient's or day's scan (accepted before session 61)
        raise ScintisegError(f"is not the scan of {folder / 'report.json'}: {other}", path=", ".join(map(str, paths)))
    return scan


def _another_study(report: dict, scan: Scan) -> str:
    """What shows ``scan`` is not the one ``report`` was made from, or ``""``: another study UID (where both have
    one), or a view whose total counts differ from the report's (``input.counts``; read the same way, the same file
    gives the same sum)."""
    recorded = report.get("study_uid")
    if isinstance(recorded, str) and recorded and scan.study_uid and scan.study_uid != recorded:
        return f"study {scan.study_uid}, where the report's is {recorded}"
    counts = (report.get("input") or {}).get("counts") if isinstance(report.get("input"), dict) else None
    for view, facts in (counts.items() if isinstance(counts, dict) else ()):
        total = facts.get("total") if isinstance(facts, dict) else None
        if view in scan.view_names and isinstance(total, int | float) and not isinstance(total, bool):
            found = float(np.asarray(scan.view(view), dtype=np.float64).sum())
            if not math.isclose(found, float(total), rel_tol=1e-6, abs_tol=0.5):
                return f"{view} holds {found:.0f} counts, where the report's had {float(total):.0f}"
    return ""


def _ant_first(scans: list[Scan]) -> list[Scan]:
    """A study's two one-view scans, ANT first (each file's view as its name says)."""
    return sorted(scans, key=lambda scan: scan.view_names != ["ANT"])


@dataclass
class ReaderOutlines:
    """One predicted view's LabelMe file as a reader left it (:func:`view_outlines`).

    Attributes:
        lesions: the reader's lesion mask (module docstring).
        not_lesions: label -> how many outlines a reader gave a finding that is no lesion
            (:func:`scintiseg.io.reader_labels.not_counted`: a call relabelled ``bladder``).
        not_lesion_shapes: those outlines as drawn, kept in the reviewed LabelMe file (session 62).
        left_out: the pixels of the file's ``left_out`` shapes, the calls a reading rule left out that the reader
            left as they were (:func:`as_the_reader_left_them`; session 65); None where no file was read.
        path: the LabelMe file read (None: none), named by the warnings about it.
    """

    lesions: np.ndarray
    not_lesions: dict[str, int] = field(default_factory=dict)
    not_lesion_shapes: list[Shape] = field(default_factory=list)
    left_out: np.ndarray | None = None
    path: Path | None = None


def view_outlines(folder: Path, view: str, shape: tuple[int, int]) -> ReaderOutlines:
    """One predicted view's outlines in ``folder``, its LabelMe file read once: the reader's mask (module docstring)
    and the outlines a reader gave a finding that is no lesion, counted by label and as drawn.

    Session 62: the network's own outlines are no longer read here (:func:`recorded_network`): the left-out calls
    came from this file, where a call the reader relabelled ``lesion`` is no ``left_out`` shape any more. An
    ``imagePath`` that points outside the folder, or to nothing, is no error when the file embeds its image or declares
    its size (:func:`read_view_file`).

    Raises:
        ScintisegError: a missing or unreadable LabelMe file, a file of another size than the view, or a shape whose
            label says neither lesion nor not (:func:`scintiseg.io.reader_labels.reader_lesions`).
    """
    path = folder / LABELME_NAME.format(view=view)
    if not path.is_file():
        raise ScintisegError(f"no LabelMe file for the predicted view {view}", path=path)
    annotation = read_view_file(path)
    if tuple(annotation.image_shape) != tuple(shape):
        raise ScintisegError(f"drawn on a {annotation.image_shape[0]} x {annotation.image_shape[1]} image; the "
                             f"scan's {view} view is {shape[0]} x {shape[1]}", path=path)
    lesions = outline_mask(annotation, path)
    benign = not_counted(annotation)
    if benign:  # a call relabelled rather than deleted: said, so that a reader sees it was read as meant
        warnings.warn(f"{path}: outlines labelled as no lesion, not counted ({_named(benign)})", stacklevel=2)
    kept = [replace(one, group_id=None) for one in annotation.shapes  # its id was the network's lesion's, renumbered
            if label_kind(one.label) == "not_lesion" and normalised_label(one.label) != LEFT_OUT_LABEL]
    calls = [one for one in annotation.shapes if normalised_label(one.label) == LEFT_OUT_LABEL]
    left_out = (Annotation(shapes=calls, image_shape=tuple(shape), view=view).to_mask() if calls
                else np.zeros(tuple(shape), dtype=bool))
    return ReaderOutlines(lesions, benign, kept, left_out, path)


def as_the_reader_left_them(prediction: Prediction, outlines: dict[str, ReaderOutlines]
                            ) -> tuple[Prediction, dict[str, int]]:
    """``prediction`` (the scan predicted again with the reader's outlines) listing only the left-out calls the reader
    left in the LabelMe file, and per view how many calls the reader deleted.

    A call a reading rule left out is written to the LabelMe file as a ``left_out`` shape; a reader who agrees it is
    no lesion may delete it, relabel it for what it is (``bladder``, ``degenerative``: kept as drawn, counted in
    ``not_lesions``) or leave it. The network run again finds every such call anew, so before session 65 the reviewed
    report listed the deleted and the relabelled ones again (dashed, in its table, and back in its LabelMe file, the
    relabelled ones twice). A call is now listed when it touches one of the file's ``left_out`` shapes; one touching
    none is dropped, and counted ``dismissed`` when it touches no outline the reader labelled no lesion either (it
    was deleted). The remaining calls are numbered ``x1``, ``x2``, ... again across the scan's views, as a
    prediction numbers them. The views' per-rule counts (``spine_pattern_calls``, ...) count the calls listed, and a
    rule's QC flag (``spine_pattern_ANT``: calls left out, "listed after the lesions") goes with the last of its calls
    the reader deleted or relabelled. A ``left_out`` outline that touches no call (one a reader drew, meaning "not a
    lesion" or unsure) is read as no lesion, as any outline the reader does not label a lesion, and said in one warning
    naming the file (session 66: silent before). The triage score is unchanged: it is the network's, the calls the rules left out
    set aside whether or not a reader deleted them (module docstring).
    """
    views, dismissed, next_id = {}, {}, 1
    for name, result in prediction.views.items():
        read = outlines.get(name)
        if read is None or read.left_out is None:
            kept, gone = list(result.left_out), 0
        else:
            shape = result.labels.shape
            benign = (Annotation(shapes=list(read.not_lesion_shapes), image_shape=shape, view=name).to_mask()
                      if read.not_lesion_shapes else np.zeros(shape, dtype=bool))
            kept, gone = [], 0
            drawn, count = ndi.label(read.left_out)
            touched: set[int] = set()
            for call in result.left_out:
                pixels = call.contour.to_mask(shape)
                if (pixels & read.left_out).any():
                    kept.append(call)
                    touched.update(int(v) for v in np.unique(drawn[pixels]) if v)
                elif not (pixels & benign).any():
                    gone += 1
            if count > len(touched):
                warnings.warn(f"{read.path or name}: {count - len(touched)} left_out outline(s) touch no call a "
                              "reading rule left out: read as no lesion (label an outline `lesion` to count it)",
                              stacklevel=2)
        renumbered = [replace(call, measurement=replace(call.measurement, id=next_id + index))
                      for index, call in enumerate(kept)]
        next_id += len(renumbered)
        views[name] = replace(result, left_out=renumbered)
        dismissed[name] = gone
    gone_flags = {f"{flag}_{name}" for name, result in views.items() for rule, flag in RULE_FLAGS.items()
                  if not any(call.rule == rule for call in result.left_out)}
    return replace(prediction, views=views, qc_flags=[f for f in prediction.qc_flags if f not in gone_flags]), dismissed


def read_view_file(path: Path) -> Annotation:
    """A predicted view's LabelMe file (:func:`~scintiseg.io.labelme.read_labelme`, saved without its image data or
    not). The image is the scan, so the ``imagePath`` is not needed where the file embeds its image or declares its
    size: one that points outside the prediction's folder (LabelMe saved the file elsewhere, or an absolute path) is
    then passed over, the file read as if it named none (session 62: it was refused as pointing "outside the data set
    folder"). Without an embedded image or a declared size the path is needed, and one outside the folder is refused
    as such."""
    return read_labelme(path, image_optional=True, outside_image_path="pass_over")


def recorded_network(folder: Path, report: dict, view: str, shape: tuple[int, int]
                     ) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The network's own lesion mask and left-out calls of ``view`` as the prediction in ``folder`` recorded them, and
    where the lesions came from (module docstring, "The network's own outlines"; session 62); None for what must come
    from the network run again (:func:`network_run_again`): both in a reviewed folder (its files are a reader's), the
    lesions where neither ``V_mask.png`` nor usable contours are there, the calls where ``report.json`` lists none
    usable.

    Raises:
        ScintisegError: a ``V_mask.png`` of another size than the view.
    """
    if "review" in report:  # written again from a reader's outlines: nothing in it is the network's own
        return None, None, ""
    mask_path = folder / PREDICTED_MASK.format(view=view)
    if mask_path.is_file():
        found = read_mask_png(mask_path).astype(bool)
        if found.shape != tuple(shape):
            raise ScintisegError(f"{found.shape[0]} x {found.shape[1]}; the scan's {view} view is {shape[0]} x "
                                 f"{shape[1]}", path=mask_path)
        source = mask_path.name
    else:  # a folder returned without its masks: the contours the report lists are the same outlines
        found, source = _contours_mask(report.get("lesions"), view, shape), "report.json"
    return found, _contours_mask(report.get("left_out_calls"), view, shape), source if found is not None else ""


def _contours_mask(records: object, view: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The union of the ``contour`` of each record of ``view`` in ``records`` (``report.json``'s ``lesions`` or
    ``left_out_calls``), rasterised as LabelMe rasterises the polygons ``predict`` wrote from them; None where the
    list or a contour is not usable."""
    if not isinstance(records, list):
        return None
    shapes = []
    for record in records:
        if not isinstance(record, dict) or record.get("view") != view:
            continue
        try:
            points = np.asarray(record.get("contour"), dtype=np.float64).reshape(-1, 2)
        except (TypeError, ValueError, OverflowError):  # OverflowError: a coordinate beyond a float (session 66)
            return None
        if len(points) == 0 or not np.isfinite(points).all():
            return None
        shapes.append((points, "polygon"))
    return shapes_to_mask(shapes, shape) if shapes else np.zeros(shape, dtype=bool)


def network_run_again(prediction: Prediction, settings: PredictSettings, view: str) -> tuple[np.ndarray, np.ndarray]:
    """The network's own lesion mask and left-out calls of ``view``: ``prediction`` (the scan predicted again with the
    reader's outlines) post-processed again without them, from the same probabilities, coverage and regions
    (:func:`~scintiseg.predict.pipeline.predict_view`, a few tens of ms a view); the left-out calls rasterised as
    the LabelMe file ``predict`` writes them (session 62)."""
    result = prediction.views[view]
    own = predict_view(prediction.scan, view, result.probability, result.coverage, settings, 1, result.regions, 1)
    left_out = (own.annotation().to_mask([LEFT_OUT_LABEL]) if own.left_out
                else np.zeros(result.labels.shape, dtype=bool))
    return own.mask, left_out


def _named(counts: dict[str, int]) -> str:
    """``{"bladder": 1, "degenerative": 2}`` -> ``"1 'bladder', 2 'degenerative'"``."""
    return ", ".join(f"{count} {label!r}" for label, count in counts.items())


def review_record(prediction: Prediction, network: dict[str, tuple[np.ndarray, np.ndarray]], folder: Path,
                  earlier: dict | None = None) -> dict:
    """``report.json``'s ``review``: per view the network's lesions and what became of them, each lesion's origin
    (:data:`ORIGINS`, module docstring), keyed by lesion id, and the folder the reader's files came from.

    ``network``: view -> the network's own lesion mask and left-out calls (module docstring, "The network's own
    outlines"). ``earlier``: the ``review`` of the folder's report when the folder is itself a review (edited again),
    recorded as ``earlier_review`` (its source folder and reader). Session 62: the counts and origins stay against the
    network's own outlines (``compared_with`` ``"the network"``); before, they were against the earlier review's
    outlines, so a lesion only a reader drew was counted ``network`` once reviewed again."""
    views: dict[str, dict] = {}
    origin: dict[int, str] = {}
    deleted_bones: dict[str, set[str]] = {}  # view -> bones of the network's lesions there the reader deleted
    for name, result in prediction.views.items():
        found, left_out = network[name]
        components, count = ndi.label(found, structure=_EIGHT)
        calls, _ = ndi.label(left_out, structure=_EIGHT)
        drawn = result.labels > 0
        touched = set(np.unique(components[drawn & found]).tolist()) - {0}
        if len(prediction.views) > 1:  # (a kept lesion alone in its bone needs another view)
            deleted_bones[name] = {REGION_TO_BONE.get(region, region) for region in
                                   (result.regions.region_of(components == index)
                                    for index in range(1, count + 1) if index not in touched)}
        tally = dict.fromkeys(ORIGINS, 0)
        for index, lesion in enumerate(result.lesions, start=1):
            pixels = result.labels == index
            kind = ("network" if _is_component(components, pixels) else "restored" if _is_component(calls, pixels)
                    else "edited" if (found | left_out)[pixels].any() else "reader")
            origin[lesion.id] = kind
            tally[kind] += 1
        views[name] = {"network_lesions": int(count), "kept": tally["network"], "restored": tally["restored"],
                       "edited": tally["edited"], "drawn": tally["reader"], "deleted": int(count - len(touched))}
    record = {"reviewed": True, "source_folder": str(folder), "compared_with": "the network", "views": views,
              "origin": {str(key): value for key, value in origin.items()}}
    alone = _kept_alone(prediction, origin, deleted_bones)
    if alone:
        record["kept_alone"] = alone
    if earlier is not None:  # only its text fields: a damaged or hand-edited report's NaN or objects are not carried
        reader = earlier.get("reader")
        reader = ({key: value for key, value in reader.items() if value is None or isinstance(value, str)}
                  if isinstance(reader, dict) else None)
        folder_was = earlier.get("source_folder")
        record["earlier_review"] = {"source_folder": folder_was if isinstance(folder_was, str) else None,
                                    "reader": reader or None}
    return record


def not_lesion_findings(prediction: Prediction, shapes: dict[str, list[Shape]]) -> list[dict]:
    """What a reader decided is no lesion, one record per outline labelled so (``bladder``, ``degenerative``, ...; the
    shapes :class:`ReaderOutlines` keeps), in view order then as drawn: ``{"view", "label", "region", "laterality"}``,
    the label as the reader typed it (stripped; the key of ``not_lesions``), the region and side found as a lesion's
    are (the region holding most of its pixels, :meth:`~scintiseg.predict.regions.SkeletonRegions.region_of`; a paired
    bone's side, else the side of its centroid). Kept in ``review.not_lesion_findings`` so that the words of a reviewed
    report can say what the reader read each call as and where (audit 74, finding 3: the only call of NM1 relabelled
    ``degenerative`` was told nowhere but as a count in ``report.json``)."""
    found = []
    for name, result in prediction.views.items():
        for shape in shapes.get(name) or []:
            pixels = shape.to_mask(result.labels.shape)
            if not pixels.any():
                continue
            region = result.regions.region_of(pixels)
            column = float(np.nonzero(pixels)[1].mean())
            found.append({"view": name, "label": shape.label.strip(), "region": region,
                          "laterality": region_side(region) or result.regions.laterality(column)})
    return found


def _kept_alone(prediction: Prediction, origin: dict[int, str], deleted_bones: dict[str, set[str]]) -> list[str]:
    """The ids (text) of the network's lesions a reader kept as they were on one view while deleting every network
    lesion of their bone on the other views (none of the reviewed outlines there lies in that bone): the reader
    decided on that bone, one view's outline kept, the other's not, so the bone is read from the kept view
    (:func:`~scintiseg.predict.bsi.reader_bones`) rather than from a nearer view left empty by the deletion."""
    if len(prediction.views) < 2:
        return []
    bones_outlined = {name: {REGION_TO_BONE.get(str(lesion.region), str(lesion.region)) for lesion in result.lesions}
                      for name, result in prediction.views.items()}
    alone = []
    for name, result in prediction.views.items():
        others = [other for other in prediction.views if other != name]
        for lesion in result.lesions:
            bone = REGION_TO_BONE.get(str(lesion.region), str(lesion.region))
            if origin.get(lesion.id) == "network" and others and all(
                    bone in deleted_bones[other] and bone not in bones_outlined[other] for other in others):
                alone.append(str(lesion.id))
    return alone


def _is_component(components: np.ndarray, pixels: np.ndarray) -> bool:
    """Whether ``pixels`` are exactly one labelled component of ``components``."""
    under = np.unique(components[pixels])
    return len(under) == 1 and under[0] > 0 and int((components == under[0]).sum()) == int(pixels.sum())


def reviewed(prediction: Prediction, record: dict) -> Prediction:
    """``prediction`` carrying its :func:`review_record`."""
    return replace(prediction, review=record)


def review_line(record: dict) -> str:
    """One line: per view how many lesions now, and what became of the network's (the earlier review's in a record
    written before session 62)."""
    whose = "the earlier review's" if record.get("compared_with") == "an earlier review" else "the network's"
    parts = []
    for view, tally in record["views"].items():
        restored = tally.get("restored", 0)
        now = tally["kept"] + restored + tally["edited"] + tally["drawn"]
        again = f"{restored} left-out call{'s' if restored != 1 else ''} restored, " if restored else ""
        gone = f"{tally['deleted']} of {whose} {tally['network_lesions']} deleted"
        benign = f"; labelled no lesion: {_named(tally['not_lesions'])}" if tally.get("not_lesions") else ""
        dismissed = tally.get("left_out_dismissed", 0)
        benign += (f"; {dismissed} left-out call{'s' if dismissed != 1 else ''} deleted" if dismissed else "")
        parts.append(f"{view} {now} lesion{'s' if now != 1 else ''} ({tally['kept']} kept, {again}{tally['edited']} "
                     f"edited, {tally['drawn']} drawn; {gone}{benign})")
    return "; ".join(parts)


def is_edited(folder: Path) -> bool:
    """Whether a reader edited any predicted view's LabelMe file in ``folder``: its outline no longer the mask beside
    it (:func:`~scintiseg.io.predicted_labels.unedited_prediction`), or fewer ``left_out`` shapes than ``report.json``
    lists left-out calls of that view (a call deleted or relabelled: session 65, a batch review passed such a folder
    over as not edited); a file missing or unreadable counts as edited, so that its review says what is wrong."""
    report = prediction_report(folder) or {}
    calls = report.get("left_out_calls") if isinstance(report.get("left_out_calls"), list) else []
    for view in report.get("views") or {}:
        path = folder / LABELME_NAME.format(view=view)
        try:
            annotation = read_view_file(path)
            if not unedited_prediction(path, annotation):  # read as the review reads it
                return True
        except (ScintisegError, OSError):
            return True
        listed = sum(isinstance(call, dict) and call.get("view") == view for call in calls)
        if sum(normalised_label(shape.label) == LEFT_OUT_LABEL for shape in annotation.shapes) < listed:
            return True
    return False


