"""A LabelMe file that ``scintiseg predict`` wrote, read back as labels: unedited or corrected, confident or not.

``scintiseg predict`` writes per view ``<VIEW>.labelme.json`` and ``<VIEW>_mask.png`` (the same outline
rasterised; :mod:`scintiseg.report.outputs`) beside the scan's ``report.json``. ``scintiseg dataset import``
(:mod:`scintiseg.io.importer`) asks two things of such a file: did a person edit it (:func:`unedited_prediction`:
an outline still equal to the mask beside it is the model's, never imported as labels), and, for opt-in
pseudo-labels, was the model confident on the whole view (:func:`pseudo_label_doubt`, judged from the report;
the importer's docstring, "Pseudo-labels", states the rule and the choices behind it).

What a reader's label in such a file means (a lesion, a finding that is none, or neither) is
:mod:`scintiseg.io.reader_labels`'s.
"""

from __future__ import annotations

import re
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.images import read_mask_png
from scintiseg.io.not_scans import REPORT_NAME, prediction_report
from scintiseg.io.reader_labels import LEFT_OUT_LABEL, reader_lesions
from scintiseg.scan import Annotation

#: The LabelMe file ``scintiseg predict`` writes per view (:mod:`scintiseg.report.outputs`) and its mask beside it.
_PREDICTED_LABELME = re.compile(r"^(?P<view>ANT|POST|VIEW)\.labelme\.json$")
PREDICTED_MASK = "{view}_mask.png"
#: The range of the pseudo-label confidence ``P`` (:mod:`scintiseg.io.importer`, "Pseudo-labels").
PSEUDO_RANGE = (0.5, 1.0)


def outline_mask(annotation: Annotation, path: str | Path | None = None):
    """The mask of ``annotation``'s lesion shapes (:func:`~scintiseg.io.reader_labels.reader_lesions`): what a person drew or kept, the lesions of
    a prediction; compared so, a prediction's left-out calls and a reader's benign findings neither make nor hide an
    edit. Raises :class:`ScintisegError` for a shape of an unknown label."""
    return reader_lesions(annotation, path).to_mask()


def drawn_mask(annotation: Annotation):
    """The mask of every shape but :data:`~scintiseg.io.reader_labels.LEFT_OUT_LABEL` ones, whatever its label: a LabelMe file of any origin
    compared with another (has an outline changed?), never refused."""
    return annotation.to_mask([label for label in annotation.labels if label != LEFT_OUT_LABEL])


def predicted_view(path: Path) -> str | None:
    """The view of a LabelMe file ``scintiseg predict`` wrote (``ANT.labelme.json``), else None."""
    match = _PREDICTED_LABELME.match(path.name)
    return match["view"] if match else None


def unedited_prediction(path: Path, annotation: Annotation) -> str:
    """The mask file a predicted LabelMe file still equals (nobody corrected it), else ``""``.

    ``scintiseg predict`` writes ``V_mask.png`` beside ``V.labelme.json``: the same polygons rasterised. A file
    whose outline (:func:`outline_mask`: its lesion shapes) still rasterises to that mask is the model's output, not a
    person's (a prediction confirmed as it stands is indistinguishable from one nobody opened; to keep it, save it
    under another name); a left-out call relabelled ``lesion``, or a call relabelled ``bladder``, is an edit.
    Without the mask beside it the file counts as corrected, and so does a reviewed report's (``scintiseg review``
    writes the reader's outlines and their mask: its ``report.json`` has ``review``).

    Raises:
        ScintisegError: a predicted file (its mask beside it) with a shape of a label that is neither a lesion's
            nor a benign finding's (:func:`reader_lesions`).
    """
    view = predicted_view(path)
    mask_path = path.parent / PREDICTED_MASK.format(view=view) if view else None
    if mask_path is None or not mask_path.is_file():
        return ""
    if "review" in (prediction_report(path.parent) or {}):  # written again from a reader's outlines (scintiseg review)
        return ""
    try:
        predicted = read_mask_png(mask_path)
    except (ScintisegError, OSError):
        return ""
    mask = outline_mask(annotation, path)  # the calls left out by a reading rule (label left_out) are in no mask
    return mask_path.name if predicted.shape == mask.shape and bool((predicted == mask).all()) else ""


def check_pseudo_threshold(threshold: float) -> float:
    """``threshold`` when it lies in [0.5, 1) (:mod:`scintiseg.io.importer`, "Pseudo-labels"); else a ScintisegError."""
    low, high = PSEUDO_RANGE
    if not low <= float(threshold) < high:  # also refuses NaN
        raise ScintisegError(f"--pseudo-labels {threshold:g}: the confidence must lie in [{low:g}, {high:g}), e.g. 0.9")
    return float(threshold)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def pseudo_label_doubt(path: Path, annotation: Annotation, threshold: float) -> str:
    """Why the unedited prediction in ``path`` is no pseudo-label at confidence ``threshold``; ``""`` when it is one.

    Judged from the ``report.json`` of its folder (:mod:`scintiseg.io.importer`, "Pseudo-labels"): the model saw the
    whole view, every lesion of the view has ``probability_max >= threshold``, a view without lesions
    has ``max_probability <= 1 - threshold``, and no reading rule left out a call of the view (``left_out_calls``:
    the network called it, the rule did not). A report that cannot say (missing, older, inconsistent with
    the file) is a doubt too: a pseudo-label is taken only on evidence.

    Args:
        path: a ``<VIEW>.labelme.json`` that ``scintiseg predict`` wrote.
        annotation: its outline, as read.
        threshold: ``P`` in [0.5, 1).

    Example::

        pseudo_label_doubt(Path("pred/P12/ANT.labelme.json"), annotation, 0.9)
        # 'not confident: lesion 1 peak 0.8216 < 0.9'
    """
    view = predicted_view(path) or annotation.view
    report = prediction_report(path.parent)
    if report is None:
        return f"no scintiseg {REPORT_NAME} beside it to judge the model's confidence"
    views = report.get("views")
    record = views.get(view) if isinstance(views, dict) else None
    if not isinstance(record, dict):
        return f"{REPORT_NAME} has no view {view} to judge the model's confidence"
    seen, pixels = _number(record.get("window_pixels")), annotation.image_shape[0] * annotation.image_shape[1]
    if seen is None:
        return f"{REPORT_NAME} does not say which pixels of view {view} the model saw (views.{view}.window_pixels)"
    if seen < pixels:
        return (f"the model saw {100 * seen / pixels:.0f} % of view {view}: a pseudo-label must cover the whole view "
                "(predict with --window whole)")
    lesions = [item for item in report.get("lesions") or [] if isinstance(item, dict) and item.get("view") == view]
    outlines = sum(1 for shape in annotation.shapes if shape.label != LEFT_OUT_LABEL)
    if len(lesions) != outlines:
        return f"{REPORT_NAME} lists {len(lesions)} lesions on view {view}, the file has {outlines} lesion outlines"
    left_out = [item for item in report.get("left_out_calls") or [] if isinstance(item, dict) and item.get("view") == view]
    if left_out:  # the network called it, a reading rule did not: neither label is confident
        ids = ", ".join(f"x{item.get('id', '?')}" for item in left_out)
        return f"a reading rule left out the network's call {ids} on view {view}: not a confident label either way"
    if not lesions:
        peak = _number(record.get("max_probability"))
        if peak is None:
            return f"{REPORT_NAME} has no views.{view}.max_probability to judge the model's confidence"
        if 1.0 - peak < threshold:  # the hottest pixel's background probability; not peak > 1 - P (0.1 > 1 - 0.9)
            return f"not confident: no lesion, but the largest probability {peak:.4g} > {1.0 - threshold:.4g}"
        return ""
    doubts = []
    for lesion in lesions:
        peak = _number(lesion.get("probability_max"))
        if peak is None or peak < threshold:
            shown = "unknown" if peak is None else f"{peak:.4g}"
            doubts.append(f"lesion {lesion.get('id', '?')} peak {shown} < {threshold:g}")
    return f"not confident: {', '.join(doubts)}" if doubts else ""
