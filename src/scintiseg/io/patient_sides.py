"""The patient's sides of a view, from a DICOM file's orientation attributes: a view stored mirrored is read mirrored back.

Why. A planar bone scan shows no anatomical cue of the patient's side reliable enough to tell a left-right mirrored
export from a true one (docs/predict.md, "Stored mirrored, as its DICOM header says"), and scintiseg takes every
view in one convention: ANT (and the unnamed ``VIEW``) seen from the front, the patient's right on the image left;
POST *as acquired*, seen from behind, the patient's left on the image left (:mod:`scintiseg.scan`). A view stored the other way round (a POST
exported mirrored to be read like ANT, a workstation's flipped export; realdata.md: "exports may be flipped") then
had every lesion named on the wrong side, silently, and its POST paired with ANT through the wrong mirror. A DICOM
file can say which way its pixels run: the direction cosines of a detector's rows and columns, Image Orientation
(Patient) (0020,0037) in the Detector Information Sequence (0054,0022) item of the frame's detector (NM Detector
module, Type 2), or, for a file of one frame, Patient Orientation (0020,0020) (General Image module: the patient
direction of the rows and of the columns, ``L\\F`` for an anterior view seen from the front). Where one of them says
so, the reader reverses the view's columns (:func:`mirrored_back`), ``metadata[MIRRORED_KEY]`` lists the views so
read, and every output is given on the view as read, as for a body the reader stood (:mod:`scintiseg.io.layout`);
the DICOM SR and GSPS, which point into the file as stored, carry their outlines mirrored back onto it.

How. Each attribute is turned into two letters (:func:`letters_from_cosines`, :func:`letters_from_codes`): the
patient direction in which the column index grows (along a row) and the one in which the row index grows, each
the dominant one of ``L R A P H F`` (DICOM's patient coordinates: x to the patient's left, y to the back, z to the
head). A view's sides are judged only where the two letters lie in the coronal plane (one of ``L``/``R``, one of
``H``/``F``); a file whose rows run along the body (a body stored lying) is judged after the reader stood it
(:func:`side_after_reading`: a quarter turn, then a half turn when its head lands at the bottom, each turning the
letters with the image). The side the view should show on its image left is that of :data:`IMAGE_LEFT`.

Stated choices: Image Orientation (Patient) of the frame's detector is preferred to Patient Orientation (it says each
view's own directions); one Patient Orientation in a file of two views is not used (one pair of letters cannot hold
both an anterior and a posterior view as acquired); an attribute that is empty, malformed or out of the coronal plane
says nothing (the view is read as stored, as before); a page split into two views (:mod:`scintiseg.io.layout`) and
a head-down view, whose rows the prediction reverses (:mod:`scintiseg.predict.orientation`), keep their sides as
the letters of their columns say. Only DICOM files carry the attributes: a plain image mirrored is still read as
stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from scintiseg.scan import Scan

#: ``Scan.metadata`` (and data-set ``meta``) key: the views whose columns the reader reversed, as the file's
#: orientation attributes said they were stored mirrored (sorted view names).
MIRRORED_KEY = "mirrored"
#: QC flag of a scan with a view read mirrored back (docs/predict.md, "QC flags").
MIRRORED_FLAG = "read_mirrored"
#: ``Scan.metadata`` key: each view's patient directions as stored, ``{"ANT": "R\\F"}`` (rows then columns), where
#: the file said them.
ORIENTATION_KEY = "patient_orientation"
#: The patient's side a view shows on its image left, in scintiseg's convention (:mod:`scintiseg.scan`): ANT and
#: the unnamed ``VIEW`` seen from the front (the patient's right, ``R``), POST as acquired (the patient's left).
IMAGE_LEFT: dict[str, str] = {"ANT": "R", "VIEW": "R", "POST": "L"}

_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}
#: DICOM patient axes (x, y, z) and the letter of each one's positive direction.
_AXIS_LETTERS = (("L", "R"), ("P", "A"), ("H", "F"))


def letters_from_cosines(cosines: Sequence[float]) -> tuple[str, str] | None:
    """The dominant patient direction of the rows and of the columns of Image Orientation (Patient): the six direction
    cosines of the first row (the column index growing) and the first column (the row index growing). None for a
    value that is not six finite numbers, or whose two directions share an axis."""
    try:
        values = np.asarray([float(v) for v in cosines], dtype=float)
    except (TypeError, ValueError):
        return None
    if values.shape != (6,) or not np.isfinite(values).all():
        return None
    letters = []
    for vector in (values[:3], values[3:]):
        axis = int(np.argmax(np.abs(vector)))
        if abs(vector[axis]) < 1e-6:
            return None
        letters.append(_AXIS_LETTERS[axis][0 if vector[axis] > 0 else 1])
    return (letters[0], letters[1]) if _OPPOSITE[letters[0]] != letters[1] and letters[0] != letters[1] else None


def letters_from_codes(value) -> tuple[str, str] | None:
    """The dominant patient direction of the rows and of the columns of Patient Orientation (0020,0020): two values
    of the letters ``L R A P H F`` (``["L", "F"]``, or ``"L\\F"`` as one string), the first letter of each the
    dominant one (an oblique ``LF`` counts as ``L``). None for anything else, an empty value among it."""
    if value is None:
        return None
    values = str(value).split("\\") if isinstance(value, str) else [str(v) for v in value]
    if len(values) != 2:
        return None
    letters = [v.strip().upper()[:1] for v in values]
    if not all(letter in _OPPOSITE for letter in letters):
        return None
    if letters[0] == letters[1] or _OPPOSITE[letters[0]] == letters[1]:
        return None
    return letters[0], letters[1]


def coronal(letters: tuple[str, str] | None) -> bool:
    """Whether the two letters describe a planar view's plane: one of them ``L``/``R``, the other ``H``/``F``."""
    return letters is not None and {letters[0] in "LR", letters[1] in "LR"} == {True, False} \
        and all(letter in "LRHF" for letter in letters)


def _turned_quarter_clockwise(letters: tuple[str, str]) -> tuple[str, str]:
    # numpy.rot90(k=-1): the new columns grow as the old rows shrink, the new rows as the old columns grow.
    return _OPPOSITE[letters[1]], letters[0]


def side_after_reading(letters: tuple[str, str] | None, stood: bool) -> str | None:
    """The patient's side on the image left of a view once read upright, from its letters as stored: as they are for a
    view stored standing (the head-down check reverses rows, which keeps the columns); for a body stored lying and
    stood (``stood``: the reader's quarter clockwise, then half a turn more where that leaves the head at the bottom,
    :func:`scintiseg.io.stood_scan`, :func:`scintiseg.predict.pipeline.stood_the_other_way`), as the turns carry it.
    None where the letters say nothing of the sides (absent, or not a coronal view), or describe a lying body that
    was not stood, or a standing one that was."""
    if not coronal(letters):
        return None
    lying = letters[0] in "HF"
    if lying != stood:
        return None
    if not lying:
        return _OPPOSITE[letters[0]]  # the first letter is where the columns grow: the image right
    upright = _turned_quarter_clockwise(letters)
    if upright[1] == "H":  # head at the bottom: the prediction turns it half a turn more
        upright = (_OPPOSITE[upright[0]], _OPPOSITE[upright[1]])
    return _OPPOSITE[upright[0]]


def mirrored_views(scan: Scan, orientation: Mapping[str, str] | None = None) -> list[str]:
    """The views of ``scan`` whose letters (``orientation``, default ``scan.metadata[ORIENTATION_KEY]``) put the patient's
    other side on the image left than :data:`IMAGE_LEFT` says (:func:`side_after_reading`). A page split into two views
    is not judged (module docstring)."""
    orientation = scan.metadata.get(ORIENTATION_KEY) if orientation is None else orientation
    if not isinstance(orientation, Mapping) or scan.metadata.get("views_split"):
        return []
    stood = bool(scan.metadata.get("turned_upright"))
    found = []
    for view in scan.view_names:
        side = side_after_reading(letters_from_codes(orientation.get(view)), stood)
        if side is not None and side != IMAGE_LEFT.get(view, "R"):
            found.append(view)
    return sorted(found)


def mirrored_back(scan: Scan) -> Scan:
    """``scan`` with the columns of every view its orientation attributes say is stored mirrored reversed
    (:func:`mirrored_views`), ``metadata[MIRRORED_KEY]`` listing them; ``scan`` itself when there is none."""
    views = mirrored_views(scan)
    if not views:
        return scan
    fixed = scan.with_views({name: np.ascontiguousarray(image[:, ::-1]) if name in views else image
                             for name, image in scan.views.items()})
    fixed.metadata[MIRRORED_KEY] = views
    return fixed


__all__ = [
    "IMAGE_LEFT", "MIRRORED_FLAG", "MIRRORED_KEY", "ORIENTATION_KEY", "coronal", "letters_from_codes",
    "letters_from_cosines", "mirrored_back", "mirrored_views", "side_after_reading",
]
