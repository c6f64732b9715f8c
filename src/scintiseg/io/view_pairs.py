"""A study's two views stored as two files: found among a batch's inputs and joined into one two-view scan.

Archives often export a whole-body study's anterior and posterior views as separate files: GE's workstations
write one Secondary Capture per view (the NM1 file is the anterior one, private name ``WHOLE BODY_E``; its
posterior would be ``..._F``), and picture exports keep one image per view (BS-80K's ANT and POST JPEGs,
IICS-UNA's 16-bit PNGs; realdata.md). Predicted file by file, such a study gives two reports with half the
evidence each: no ANT-POST pairing of a lesion seen in both views (:mod:`scintiseg.predict.pairing`), a BSI of
one view where the two views' mean is the measure, a head-down check on one view. A physician reads a patient's
two views together, so batch prediction joins them (:func:`find_view_pairs`, then :func:`join_views` once read;
``scintiseg predict --no-join-views`` predicts every file alone).

Two files are taken for one study's two views when (stated choices; anything less certain stays separate):

- **DICOM**: both are one-frame files of the same, non-empty Study Instance UID and the same Patient ID and
  matrix, one naming the anterior view and one the posterior (by the header: View Code Sequence or GE's ``_E`` /
  ``_F`` name; else by the file name, :mod:`scintiseg.io.view_names`), and no other one-frame file of that study
  and matrix among the inputs names a view: a repeated acquisition gives two ANT, and which goes with which POST
  is not said, so none is joined; spot views of the study (another matrix, 256 x 256 beside a 1024 x 256 whole
  body) are a group of their own;
- **any other file** (PNG, JPEG, TIFF, BMP, ``.npy``, Interfile, raw; and DICOM without a study UID): in the same
  folder, with the same suffix, whose names say ANT and POST and are otherwise the same words
  (:func:`~scintiseg.io.view_names.words_besides_view`: ``0123_ANT.jpg`` + ``0123_POST.jpg``, ``ANT.png`` +
  ``POST.png`` in a patient's folder, ``wb ant.tif`` + ``WB-Posterior.tif``), exactly one of each; or, where the
  view is said by the folder (:func:`~scintiseg.io.view_names.view_from_path`: BS-80K's ``wholeBodyANT/`` beside
  ``wholeBodyPOST/``), files of the same name and suffix in the two sibling folders (``wholeBodyANT/0001.jpg`` +
  ``wholeBodyPOST/0001.jpg``);
- and, once read (:func:`join_views`), each holds one view named as above, and the two have the same matrix,
  the same pixel size (to 1 %) and the same pixel type, and hold the body alike: both standing, or both lying on
  their side and stood by the reader (:func:`scintiseg.io.stood_scan`; session 28: a study whose one file only was
  stored lying was joined with that file's turn recorded for both views, and the view the reader's quarter left
  head-down stayed so, its lesions named on the wrong bones). Two files that pass the first test and fail this one
  are predicted (and imported) separately, with a one-line note saying why.

The joined scan keeps the anterior file as its ``source``; ``metadata["view_sources"]`` names each view's file
(report.json ``input.view_sources``; the DICOM SR and GSPS reference each view's own SOP instance).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from scintiseg.errors import ScintisegError
from scintiseg.io.dicom import is_dicom, one_view_header
from scintiseg.io.layout import STOOD_KEY, STORED_SHAPE_KEY
from scintiseg.io.patient_sides import MIRRORED_KEY, ORIENTATION_KEY
from scintiseg.io.view_names import (
    folder_words_besides_view,
    stem_without_view,
    view_from_name,
    view_from_path,
    words_besides_view,
)
from scintiseg.scan import Scan

#: Largest relative difference of the two views' pixel sizes that still joins them.
SPACING_TOLERANCE = 0.01
#: ``Scan.metadata`` key of a study's file read apart from its other view's file: ``{"other_file": path, "why":
#: the reason}`` (set by batch prediction; report.json ``input.read_apart``).
READ_APART_KEY = "read_apart"

__all__ = ["READ_APART_KEY", "SPACING_TOLERANCE", "find_view_pairs", "join_views", "joined_name", "study_patient"]


def _pair_key(path: Path) -> tuple[tuple, str] | None:
    """(what the two files of one study share, the view this file holds), or None for a file that pairs with none."""
    header = one_view_header(path)
    if header is None and is_dicom(path):
        return None  # a two-view or unreadable DICOM file is its own scan
    view = None if header is None or header["view"] == "VIEW" else header["view"]
    if view is None:
        found = view_from_path(path)
        if found is None:
            return None
        view = found[0]
    if header is not None and header["study_uid"]:
        return ("study", header["study_uid"], header["patient_id"], header["matrix"]), view
    if view_from_name(path) is None and (header is None or header["view"] == "VIEW"):  # the folder said it
        folder = path.absolute().parent
        return ("folder", str(folder.parent), folder_words_besides_view(path), path.suffix.lower(), words_besides_view(path)), view
    return ("name", str(path.absolute().parent), path.suffix.lower(), words_besides_view(path)), view


def find_view_pairs(files: Sequence[str | Path]) -> list[tuple[Path, ...]]:
    """The files grouped into scans: ``(ant, post)`` for a study's two views stored as two files (module
    docstring), ``(file,)`` for every other file; in the order of ``files``, a pair where its first file was.

    Reads DICOM headers (not pixel data) and file names only; never raises for a bad file (the file is then its
    own scan, and its read says what is wrong).

    Example::

        find_view_pairs(["p1_ANT.png", "p1_POST.png", "p2.png"])
        # [(Path("p1_ANT.png"), Path("p1_POST.png")), (Path("p2.png"),)]
    """
    paths = [Path(f) for f in files]
    studies: dict[tuple, list[tuple[str, Path]]] = {}
    for path in paths:
        found = _pair_key(path)
        if found is not None:
            studies.setdefault(found[0], []).append((found[1], path))
    partner: dict[Path, tuple[Path, Path]] = {}
    for members in studies.values():
        if sorted(view for view, _ in members) == ["ANT", "POST"]:
            pair = tuple(path for _, path in sorted(members))  # ANT before POST
            partner[pair[0]] = partner[pair[1]] = pair
    groups: list[tuple[Path, ...]] = []
    placed: set[Path] = set()
    for path in paths:
        if path not in placed:
            group = partner.get(path, (path,))
            placed.update(group)
            groups.append(group)
    return groups


def joined_name(ant: str | Path, post: str | Path) -> str:
    """A name for the scan joined from two files: their shared name without the view word (``0123_ANT.jpg`` ->
    ``0123``), else the folder's name when the names hold nothing else (``p7/ANT.png`` -> ``p7``), else both
    names (``IM0001+IM0002``: two DICOM files paired by their study)."""
    ant, post = Path(ant), Path(post)
    if words_besides_view(ant) == words_besides_view(post):
        return stem_without_view(ant) or ant.parent.name or "scan"
    return f"{ant.stem}+{post.stem}"


def study_patient(ant: Scan, post: Scan) -> str | None:
    """The patient a study's two files name together when their headers give no study: what the two file names
    share (:func:`joined_name`); None when both headers give a study (each file's Patient ID stands) or a scan has
    no file. :func:`join_views` names the joined scan's patient so, and batch prediction the two scans of files it
    reads apart."""
    if (ant.study_uid and post.study_uid) or not (ant.source and post.source):
        return None
    return joined_name(ant.source, post.source)


def _how_held(scan: Scan) -> str:
    """How a one-view file held the body, in words: standing, or lying on its side (stood by the reader,
    :func:`scintiseg.io.stood_scan`, its file's rows and columns recorded)."""
    if scan.metadata.get(STOOD_KEY) is None:
        return "standing"
    rows, cols = scan.metadata.get(STORED_SHAPE_KEY) or scan.shape[::-1]
    return f"lying on its side ({rows} x {cols} as stored)"


def join_views(ant: Scan, post: Scan) -> Scan:
    """One two-view scan from a study's anterior and posterior views read from two files.

    Args:
        ant: a scan holding the one view ``ANT``.
        post: a scan holding the one view ``POST``.

    Returns:
        ``ANT`` and ``POST`` with the anterior scan's pixel size, ids and source; ``metadata["view_sources"]``
        maps each view to its file; metadata flags of either file are kept (the anterior's value where both have
        one, ``view_from_name`` saying both; each view's patient directions and mirroring its own file's).

    Raises:
        ScintisegError: the two cannot be one scan (naming the anterior file): other views, matrices, pixel
            sizes, pixel types or patients, or one file holding the body lying on its side and the other standing
            (stated choice: the two are then read apart, each stood on its own, its outputs placed back on its own
            file; a joined scan records one way of holding the body for both views, and the head-down check of
            the other quarter judges both views together).
    """
    where = ant.source
    if ant.view_names != ["ANT"] or post.view_names != ["POST"]:
        raise ScintisegError(f"not one anterior and one posterior view (read {ant.view_names} and {post.view_names})", path=where)
    if ant.shape != post.shape:
        raise ScintisegError(f"the two views differ in matrix ({ant.shape[0]} x {ant.shape[1]} and {post.shape[0]} x {post.shape[1]})", path=where)
    if not all(math.isclose(a, b, rel_tol=SPACING_TOLERANCE) for a, b in zip(ant.pixel_spacing, post.pixel_spacing)):
        raise ScintisegError(
            f"the two views differ in pixel size ({ant.pixel_spacing[0]:g} x {ant.pixel_spacing[1]:g} and "
            f"{post.pixel_spacing[0]:g} x {post.pixel_spacing[1]:g} mm)", path=where)
    a, p = ant.view("ANT"), post.view("POST")
    if a.dtype != p.dtype:
        raise ScintisegError(f"the two views differ in pixel type ({a.dtype} and {p.dtype})", path=where)
    held = [_how_held(scan) for scan in (ant, post)]
    if held[0] != held[1]:
        names = [Path(str(scan.source)).name if scan.source else view for scan, view in ((ant, "ANT"), (post, "POST"))]
        raise ScintisegError(f"the two files hold the body differently ({names[0]} {held[0]}, {names[1]} {held[1]}); "
                             "each view is read on its own", path=where)
    header_ids = ant.study_uid and post.study_uid
    if header_ids and ant.patient_id != post.patient_id:
        raise ScintisegError(f"the two files name other patients ({ant.patient_id!r} and {post.patient_id!r})", path=where)
    metadata = {**post.metadata, **ant.metadata}
    if post.metadata.get("display_inverted"):
        metadata["display_inverted"] = True
    named = [scan.metadata["view_from_name"] for scan in (ant, post) if "view_from_name" in scan.metadata]
    if named:
        metadata["view_from_name"] = "; ".join(named)
    metadata["view_sources"] = {"ANT": str(ant.source), "POST": str(post.source)}
    for key in (ORIENTATION_KEY, MIRRORED_KEY):  # per view: each file's own (scintiseg.io.patient_sides)
        metadata.pop(key, None)
    orientation = {view: one.metadata[ORIENTATION_KEY][view] for view, one in (("ANT", ant), ("POST", post))
                   if isinstance(one.metadata.get(ORIENTATION_KEY), dict) and view in one.metadata[ORIENTATION_KEY]}
    if orientation:
        metadata[ORIENTATION_KEY] = orientation
    mirrored = [view for view, one in (("ANT", ant), ("POST", post)) if view in (one.metadata.get(MIRRORED_KEY) or [])]
    if mirrored:
        metadata[MIRRORED_KEY] = mirrored
    patient_id = study_patient(ant, post) or ant.patient_id
    return Scan(views={"ANT": a, "POST": p}, pixel_spacing=ant.pixel_spacing, patient_id=patient_id,
                patient_name=ant.patient_name or post.patient_name, study_uid=ant.study_uid or post.study_uid,
                series_uid=ant.series_uid, source=ant.source, metadata=metadata)
