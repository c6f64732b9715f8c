"""The patient's sides of a view, from a DICOM file's orientation attributes: a view stored mirrored is read mirrored back.

Why. A planar bone scan shows no anatomical cue of the patient's side reliable enough to tell a left-right mirrored
export from a true one (docs/predict.md, "Stored mirrored, as its DICOM header says"), and scintiseg takes every
view in one convention: ANT (and the unnamed ``VIEW``) seen from the front, the patient's right on the image left;
POST *as acquired*, seen from behind, the patient's left on the image left (:mod:`scintiseg.scan`). A view stored the
other way round (a POST exported mirrored to be read like ANT, a workstation's flipped export; realdata.md: "exports
may be flipped") then had every lesion named on the wrong side, silently, and its POST paired with ANT through the
wrong mirror. A DICOM
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
``H``/``F``); a file whose rows run along the body (a body stored lying) is judged after the reader stood it, its
letters turned with it (:func:`side_after_reading`: then a half turn when its head lands at the bottom). The side
the view should show on its image left is that of :data:`IMAGE_LEFT`. The letters are kept with the view
(:data:`ORIENTATION_KEY`) and follow every later turn or mirror of its pixels (:func:`with_letters_moved`), so that
what :func:`scintiseg.io.dicom.write_dicom` writes of them is true of the image it writes.

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
#: ``Scan.metadata`` key: each view's patient directions, ``{"ANT": "L\\F"}`` (where its columns, then its rows,
#: grow), where they are known: read from a DICOM file (as stored), then turned and mirrored with the view's pixels
#: (:func:`with_letters_moved`: the reader's stand, :func:`mirrored_back`, the prediction's half turn, a data set's
#: augmentation), or stated by the phantom (:data:`CONVENTION`). What :func:`scintiseg.io.dicom.write_dicom` writes.
ORIENTATION_KEY = "patient_orientation"
#: A view's letters in scintiseg's convention: ANT seen from the front, POST as acquired (the phantom's views).
CONVENTION: dict[str, str] = {"ANT": "L\\F", "POST": "R\\F"}

_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}
#: The patient's side a view shows on its image left in that convention (:mod:`scintiseg.scan`), the opposite of where
#: its columns grow: ANT and the unnamed ``VIEW`` (taken for anterior) the patient's right, POST the patient's left.
IMAGE_LEFT: dict[str, str] = {view: _OPPOSITE[CONVENTION["ANT" if view == "VIEW" else view][0]]
                              for view in ("ANT", "POST", "VIEW")}
#: Each letter's direction cosines in DICOM's patient coordinates (x to the left, y to the back, z to the head).
_COSINES = {"L": (1, 0, 0), "R": (-1, 0, 0), "P": (0, 1, 0), "A": (0, -1, 0), "H": (0, 0, 1), "F": (0, 0, -1)}
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


def cosines_from_letters(value) -> tuple[int, ...] | None:
    """The six direction cosines of Image Orientation (Patient) of two letters (``"L\\F"`` -> ``(1, 0, 0, 0, 0, -1)``),
    or None for a value :func:`letters_from_codes` does not read."""
    letters = letters_from_codes(value)
    return None if letters is None else _COSINES[letters[0]] + _COSINES[letters[1]]


def turned_letters(value, k: int) -> str | None:
    """The letters of a view after :func:`numpy.rot90` by ``k`` quarters (counter-clockwise for positive ``k``); None
    for letters :func:`letters_from_codes` does not read."""
    letters = letters_from_codes(value)
    if letters is None:
        return None
    for _ in range(k % 4):  # a quarter counter-clockwise: the new columns grow as the old rows, the rows against the columns
        letters = (letters[1], _OPPOSITE[letters[0]])
    return "\\".join(letters)


def mirrored_letters(value) -> str | None:
    """The letters of a view after its columns are reversed; None for letters :func:`letters_from_codes` does not read."""
    letters = letters_from_codes(value)
    return None if letters is None else f"{_OPPOSITE[letters[0]]}\\{letters[1]}"


def with_letters_moved(metadata: Mapping, move) -> dict:
    """``metadata`` (a scan's) with each view's letters (:data:`ORIENTATION_KEY`) passed through ``move`` (letters ->
    letters or None), so that they keep describing the view's pixels after the same change; a view whose letters
    ``move`` cannot carry loses them."""
    fixed = dict(metadata)
    orientation = metadata.get(ORIENTATION_KEY)
    if isinstance(orientation, Mapping):
        moved = {view: move(letters) for view, letters in orientation.items()}
        fixed[ORIENTATION_KEY] = {view: letters for view, letters in moved.items() if letters is not None}
        if not fixed[ORIENTATION_KEY]:
            del fixed[ORIENTATION_KEY]
    return fixed


def coronal(letters: tuple[str, str] | None) -> bool:
    """Whether the two letters describe a planar view's plane: one of them ``L``/``R``, the other ``H``/``F``."""
    return letters is not None and {letters[0] in "LR", letters[1] in "LR"} == {True, False} \
        and all(letter in "LRHF" for letter in letters)


def side_after_reading(letters: tuple[str, str] | None, stood: bool) -> str | None:
    """The patient's side on the image left of a view once read upright, from the letters of the view as the reader
    gave it (a body stored lying already stood: ``stood``, :func:`scintiseg.io.stood_scan`, which turns its letters
    with it). Its head at the bottom, a stood view is turned half a turn more by the prediction
    (:func:`scintiseg.predict.pipeline.stood_the_other_way`), which swaps its sides on the image, and a view stored
    standing has its rows reversed (:mod:`scintiseg.predict.orientation`), which keeps them. None where the letters say
    nothing of the sides (absent, or not a coronal view) or describe a body still lying."""
    if not coronal(letters) or letters[0] in "HF":
        return None
    if stood and letters[1] == "H":  # half a turn more: the columns then grow the other way
        return letters[0]
    return _OPPOSITE[letters[0]]  # the first letter is where the columns grow: the image right


def mirrored_views(scan: Scan) -> list[str]:
    """The views of ``scan`` whose letters (``scan.metadata[ORIENTATION_KEY]``) put the patient's other side on the
    image left than :data:`IMAGE_LEFT` says (:func:`side_after_reading`). A page split into two views is not judged
    (module docstring)."""
    orientation = scan.metadata.get(ORIENTATION_KEY)
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
    orientation = dict(fixed.metadata[ORIENTATION_KEY])
    fixed.metadata[ORIENTATION_KEY] = {view: mirrored_letters(letters) if view in views else letters
                                       for view, letters in orientation.items()}  # they describe the view as read
    fixed.metadata[MIRRORED_KEY] = views
    return fixed


__all__ = [
    "CONVENTION", "IMAGE_LEFT", "MIRRORED_FLAG", "MIRRORED_KEY", "ORIENTATION_KEY", "coronal", "cosines_from_letters",
    "letters_from_codes", "letters_from_cosines", "mirrored_back", "mirrored_letters", "mirrored_views",
    "side_after_reading", "turned_letters", "with_letters_moved",
]
