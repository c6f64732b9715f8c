"""The read dispatcher: any supported scan file, recognised by its content, read into a :class:`~scintiseg.scan.Scan`.

``read_scan(path)`` reads any supported scan file (DICOM of any transfer syntax pydicom decodes,
Interfile (a ``!INTERFILE`` header beside its data file), MetaImage (``.mhd`` + data file, or ``.mha``), NIfTI
(``.nii``, ``.nii.gz``), NumPy ``.npy`` and ``.npz`` (views named ``ant`` / ``post``), PNG, JPEG, TIFF, BMP, GIF or
WebP, raw matrices with an explicit shape) into a :class:`~scintiseg.scan.Scan`.

Pixel spacing: a DICOM file carries its own; ``.npy``, PNG, JPEG, TIFF and raw files carry none and take
``pixel_spacing`` when given (``scintiseg predict --pixel-spacing``), else one assumed from the image
(:func:`~scintiseg.io.images.assumed_pixel_spacing`: a whole-body view's 2.3 m field over its rows, so 1024
rows -> 2.26 mm, 2048 -> 1.13 mm, 512 -> 4.52 mm; any other image 2.26 mm), marked
``scan.metadata["pixel_spacing_assumed"]`` (the reason, a string) so that the stages where it matters
(prediction: the resampling to the model's pixel size, every size in mm) warn once per file. The reader itself
does not warn: data sets of ``.npy`` cases would warn once per case read. A ``pixel_spacing`` given for a DICOM
file that has its own is not used (the file's header describes its pixels; a spacing typed for a whole
folder does not), with a warning when the two differ; a DICOM file without one that ``read_dicom``
marks ``pixel_spacing_assumed`` takes the given one.

The image repairs the dispatcher applies live beside the array-level checks they call: a body stored lying stood and
a page of two views split (:func:`~scintiseg.io.layout.stood_scan`, :func:`~scintiseg.io.layout.split_page`), a
screen capture's viewer furniture blanked (:func:`~scintiseg.io.panels.blank_viewer_furniture`,
:func:`~scintiseg.io.panels.blank_capture_panels`), an inverted display and a display gamma read back
(:func:`~scintiseg.io.images.undo_inverted_captures`, :func:`~scintiseg.io.display_curve.undo_scan_display_curve`).
This module decides which apply to which file, and in which order.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io import interfile, metaimage
from scintiseg.io.dicom import is_dicom, read_dicom
from scintiseg.io.display_curve import LOSSLESS_SYNTAXES, undo_scan_display_curve
from scintiseg.io.file_keys import scan_stem
from scintiseg.io.images import (
    assumed_pixel_spacing,
    cameras_field,
    check_view_field,
    lossy_picture,
    parse_pixel_spacing,
    read_image,
    reading_notes,
    undo_display_inversion,
    undo_inverted_captures,
)
from scintiseg.io.interfile import is_interfile, read_interfile
from scintiseg.io.layout import (
    QUARTER_CLOCKWISE,
    SPLIT_COLUMN,
    STOOD_KEY,
    STORED_SHAPE_KEY,
    refuse_many_bodies,
    split_note,
    split_page,
    split_side_by_side,
    stand_lying_body,
    stood_scan,
    turned_note,
)
from scintiseg.io.metaimage import is_metaimage, read_metaimage
from scintiseg.io.nifti import SNIFF_BYTES, is_nifti
from scintiseg.io.npz import is_npz, read_npz
from scintiseg.io.panels import blank_capture_panels, blank_viewer_furniture, inside_panels
from scintiseg.io.library_messages import ReaderWarning
from scintiseg.io.patient_sides import ORIENTATION_KEY, mirrored_back
from scintiseg.io.view_names import view_from_path
from scintiseg.io.view_pairs import find_view_pairs, join_views
from scintiseg.scan import Scan

#: What ``read_scan(view=...)`` accepts: a view to name a one-view image by, or ``"name"`` (from the file name).
VIEW_CHOICES = ("ANT", "POST", "name")
#: ``scan.metadata`` key (and report.json ``input`` key) of a file's own pixel spacing that a given one replaced
#: (``read_scan(pixel_spacing_over_header=True)``, ``predict --pixel-spacing-over-header``): [row, col] mm.
OVER_HEADER_KEY = "pixel_spacing_over_header"

#: How ``scintiseg predict`` reads every file unless told otherwise (``--no-split-views``, ``--view``), and so
#: :func:`read_for_prediction`: a page of two views split, a body stored lying stood, a DICOM view stored mirrored
#: read back with its sides as named (``split_views``), a one-view image named by its file or folder name (``view``).
PREDICTION_READING: dict = {"split_views": True, "view": "name"}

__all__ = [
    "OVER_HEADER_KEY", "PREDICTION_READING", "VIEW_CHOICES", "header_data_files", "prediction_read_kwargs",
    "read_for_prediction", "read_scan",
]


def _over_header(scan: Scan, given: tuple[float, float] | None, over: bool, path: Path) -> Scan | None:
    """``scan`` with the ``given`` pixel spacing over the file's own (``over``: the user says the header is wrong, e.g.
    a resampled image that kept the old one, whose body still reads as a possible height), recorded under
    :data:`OVER_HEADER_KEY` and said in a warning; None when not asked, or when the two agree."""
    if not over or given is None or all(math.isclose(a, b, rel_tol=1e-3) for a, b in zip(given, scan.pixel_spacing)):
        return None
    own = scan.pixel_spacing
    fixed = scan.with_views(scan.views, pixel_spacing=given)
    fixed.metadata.pop("pixel_spacing_assumed", None)
    fixed.metadata[OVER_HEADER_KEY] = [float(own[0]), float(own[1])]
    warnings.warn(f"{path}: pixel spacing {given[0]:g} x {given[1]:g} mm given over the file's own {own[0]:g} x "
                  f"{own[1]:g} mm (--pixel-spacing-over-header)", ReaderWarning, stacklevel=3)
    return fixed


def _name_the_view(scan: Scan, view: str | None, path: Path) -> Scan:
    """A one-view scan's unnamed ``VIEW`` named ``view`` (``ANT``/``POST``), or as its file name or its folder's
    says (``"name"``, :mod:`scintiseg.io.view_names`; then ``metadata["view_from_name"]`` says so); else as it is."""
    if view is None or scan.view_names != ["VIEW"]:
        return scan
    found = (view, "") if view in ("ANT", "POST") else view_from_path(path)
    if found is None:
        return scan
    named = scan.with_views({found[0]: scan.view("VIEW")})
    orientation = named.metadata.get(ORIENTATION_KEY)
    if isinstance(orientation, dict) and "VIEW" in orientation:  # the frame's directions are the named view's
        named.metadata[ORIENTATION_KEY] = {found[0]: orientation["VIEW"]}
    if view == "name":
        named.metadata["view_from_name"] = f"{found[0]}: {found[1]}"
    return named


def _split_unnamed_page(scan: Scan) -> Scan:
    """A DICOM file of one frame holding a body lying stood as plain images are, whether or not it names its view
    (session 27; before, only an unnamed one was, while ``dataset import`` stood both), and one whose frame names no
    view (a screen capture of a whole-body page) split (:mod:`scintiseg.io.layout`); a file that names its views is
    never split."""
    return stood_scan(scan) or split_page(scan) or scan


def _header_format(path: Path) -> str | None:
    """``"interfile"``, ``"metaimage"``, ``"nifti"`` or ``"npz"`` for a file of one of those formats (by content), else
    None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    return _format_of(head)


def _format_of(head: bytes) -> str | None:
    if is_interfile(head[:64]):
        return "interfile"
    if is_metaimage(head[:256]):
        return "metaimage"
    if is_npz(head):
        return "npz"
    return "nifti" if is_nifti(head) else None


def _header_format_scan(kind: str, path: Path, given: tuple[float, float] | None, patient_id: str | None) -> Scan:
    """An Interfile study (:mod:`scintiseg.io.interfile`), MetaImage (:mod:`scintiseg.io.metaimage`), NIfTI image
    (:mod:`scintiseg.io.nifti`) or NumPy archive (:mod:`scintiseg.io.npz`): its header's pixel size, else the given or
    an assumed one (as for images). ``metadata["interfile"]`` marks an Interfile study, ``metadata["data_file"]``
    names a MetaImage header's data file (both: a scan stored in two files), ``metadata["npz_arrays"]`` what was read
    from which of an archive's arrays."""
    if kind == "npz":
        views, spacing, facts = read_npz(path)
        metadata: dict = {"npz_arrays": facts["arrays"]}
    else:
        if kind == "interfile":
            array, spacing, facts = read_interfile(path)
            metadata = {"interfile": True}
        elif kind == "metaimage":
            array, spacing, facts = read_metaimage(path)
            metadata = {key: facts[key] for key in ("data_file",) if key in facts}
        else:
            from scintiseg.io.nifti import read_nifti  # lazy: nibabel only for a NIfTI file (start-up time)

            array, spacing, facts = read_nifti(path)
            metadata = {"nifti_axes": facts["nifti_axes"]}
        views = {"VIEW": array} if array.ndim == 2 else {"ANT": array[0], "POST": array[1]}
    if spacing is not None:
        spacing = _given_over_no_cameras(path, next(iter(views.values())).shape, spacing, given)
    if spacing is None:
        spacing = given
        if spacing is None:
            spacing, why = assumed_pixel_spacing(*next(iter(views.values())).shape)
            metadata["pixel_spacing_assumed"] = f"{facts['pixel_spacing_unset']}; {why}" if "pixel_spacing_unset" in facts else why
    return Scan(views=views, pixel_spacing=spacing, patient_id=patient_id or facts.get("patient_id") or scan_stem(path),
                patient_name=facts.get("patient_name", ""), source=path, metadata=metadata)


def header_data_files(paths: list[Path]) -> set[Path]:
    """The data files (resolved) that the Interfile and MetaImage headers among ``paths`` name: read with their
    header, never as scans of their own (a folder of ``.h00`` + ``.a00`` or ``.mhd`` + ``.raw`` pairs is one scan
    per header)."""
    named: set[Path] = set()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                kind = _format_of(handle.read(SNIFF_BYTES))
            if kind == "interfile":
                source = interfile.data_file(path)
            elif kind == "metaimage":
                source = metaimage.data_file(path)
            else:
                continue
            if source is not None:
                named.add(source.resolve())
        except (OSError, ValueError, ScintisegError):  # unreadable, or a name with a NUL byte: read_scan says why
            continue
    return named


def read_scan(
    path: str | Path,
    *,
    shape=None,
    dtype: str | None = None,
    byteorder: str = "<",
    pixel_spacing: tuple[float, float] | None = None,
    patient_id: str | None = None,
    split_views: bool = False,
    view: str | None = None,
    pixel_spacing_over_header: bool = False,
) -> Scan:
    """Read any supported scan file, recognised by its content (never by its name).

    The checks run in this order: an explicit ``shape`` means a raw matrix; ``DICM`` at offset 128 means
    DICOM (checked first because some DICOM files carry a TIFF header in their preamble); then the
    ``.npy``, PNG, JPEG and TIFF signatures (8-bit exports stored as colour or with a palette: read as grey,
    :mod:`scintiseg.io.images`).

    Args:
        path: the file.
        shape: ``"ROWSxCOLS"`` (or a tuple) of a headerless raw matrix.
        dtype: element type of a raw matrix (default uint16).
        byteorder: ``"<"`` (default) or ``">"`` for raw matrices.
        pixel_spacing: (row, col) mm (or one number, or ``"ROWxCOL"``) for formats without a header
            (default: :func:`~scintiseg.io.images.assumed_pixel_spacing`, marked as assumed); a DICOM
            file keeps its own, with a :class:`~scintiseg.io.library_messages.ReaderWarning` when
            they differ (module docstring), unless its own makes no camera's field
            (:func:`~scintiseg.io.images.check_view_field`): then the one given is used, with a warning.
        pixel_spacing_over_header: the ``pixel_spacing`` given replaces a DICOM, Interfile, MetaImage, NIfTI or
            ``.npz`` file's own too (a header that kept a resampled image's old pixel size, which still gives a
            possible body: a 512-row whole body at the 1024-row 2.26 mm reads as a 1.16 m "partial" view), with a
            warning, the file's own kept in ``scan.metadata["pixel_spacing_over_header"]``.
        patient_id: patient id for formats without a header (default: the file name without suffix).
        split_views: a plain image about twice as tall as wide is ANT and POST side by side: read it as the
            two views (:mod:`scintiseg.io.layout`; ``scan.metadata["views_split"]`` says where it was cut); so is
            a DICOM file whose one frame names no view (a screen capture of a whole-body page); and an image at least
            three times as wide as tall, a body stored lying, is first turned a quarter to stand
            (``scan.metadata["turned_upright"]``, :func:`~scintiseg.io.layout.stand_lying_body`).
            Off by default (a data set's outlines were drawn on the image as it is); prediction turns it on.
        view: what a one-view image (or a DICOM frame that names no view) holds: ``"ANT"`` or ``"POST"``, or
            ``"name"`` for what its file name says (:func:`~scintiseg.io.view_names.view_from_path`: a word ``ant``,
            ``anterior``, ``post`` or ``posterior``; else its folder's, beside a folder named for the other view:
            ``wholeBodyANT/`` and ``wholeBodyPOST/``); None (default, data sets): the unnamed ``VIEW``, which
            prediction takes for anterior. Prediction passes ``"name"`` unless told the view.

    Returns:
        The scan. Plain images give one view ``VIEW`` (or the one ``view`` names), or ``ANT``/``POST`` for a
        ``(2, rows, cols)`` array.

    Raises:
        ScintisegError: a file that is missing, unrecognised, corrupt or inconsistent, or whose pixel spacing
            makes no camera's field of view (:func:`~scintiseg.io.images.check_view_field`).

    Example::

        scan = read_scan("../shared/data/real/nema-wg04-nm1-wholebody.dcm")
        scan.summary()["counts"]["ANT"]["total"]  # 3596452
    """
    with reading_notes() as notes:
        scan = _read_scan(Path(path), shape=shape, dtype=dtype, byteorder=byteorder, pixel_spacing=pixel_spacing,
                          patient_id=patient_id, split_views=split_views, view=view,
                          over_header=pixel_spacing_over_header)
    check_view_field(scan.shape, scan.pixel_spacing, path)
    if notes.get("colour_painted"):
        scan.metadata["colour_painted"] = int(notes["colour_painted"])
    if notes.get("colour_table"):
        scan.metadata["colour_table"] = str(notes["colour_table"])
        scan.metadata["colour_table_off"] = int(notes.get("colour_table_off", 0))
    return scan


def prediction_read_kwargs(
    *,
    pixel_spacing: tuple[float, float] | str | float | None = None,
    pixel_spacing_over_header: bool = False,
    shape=None,
    dtype: str | None = None,
    split_views: bool = PREDICTION_READING["split_views"],
    view: str | None = PREDICTION_READING["view"],
) -> dict:
    """The :func:`read_scan` keywords that read a file as ``scintiseg predict`` does: :data:`PREDICTION_READING`
    and the options given (the ``predict`` flags of the same names). ``scintiseg predict`` builds its reading
    with this function and :func:`read_for_prediction` reads with it, so the two cannot drift apart.

    Example::

        prediction_read_kwargs(pixel_spacing=2.26)
        # {'split_views': True, 'view': 'name', 'pixel_spacing': 2.26}
    """
    options = {"split_views": split_views, "view": view, "pixel_spacing": pixel_spacing, "shape": shape, "dtype": dtype}
    kwargs = {key: value for key, value in options.items() if value is not None or key == "view"}
    if pixel_spacing_over_header:
        kwargs["pixel_spacing_over_header"] = True
    return kwargs


def read_for_prediction(
    *paths: str | Path,
    pixel_spacing: tuple[float, float] | str | float | None = None,
    pixel_spacing_over_header: bool = False,
    shape=None,
    dtype: str | None = None,
    split_views: bool = PREDICTION_READING["split_views"],
    view: str | None = PREDICTION_READING["view"],
) -> Scan:
    """Read a file, or a study's anterior and posterior files, exactly as ``scintiseg predict`` reads them.

    :func:`read_scan`'s defaults are a data set's (the image as stored: outlines were drawn on it); prediction
    reads otherwise (:data:`PREDICTION_READING`): a side-by-side page (ANT left, POST right) is split into its two
    views, a body stored lying is stood, a DICOM view stored mirrored is read back, and a one-view image is named by
    its file name or folder (``0123_POST.png`` holds the posterior view; none said: anterior). Two files are joined
    into one two-view scan as ``scintiseg predict`` joins a study's files
    (:func:`~scintiseg.io.view_pairs.find_view_pairs`, then :func:`~scintiseg.io.view_pairs.join_views`), anterior
    first whatever the order given. (``predict`` then reads the two files apart when one view shows no upright
    head; here that prediction says ``no_upright_head_<VIEW>`` in its ``qc_flags``.)

    Args:
        paths: one scan file, or a study's two one-view files (ANT and POST, either order).
        pixel_spacing: (row, col) mm, one number or ``"ROWxCOL"`` for files without their own (``--pixel-spacing``;
            :func:`read_scan`).
        pixel_spacing_over_header: ``pixel_spacing`` replaces a file's own too (``--pixel-spacing-over-header``).
        shape: ``"ROWSxCOLS"`` of a raw matrix (``--shape``).
        dtype: element type of a raw matrix (``--dtype``; default uint16).
        split_views: False reads a page, a lying body and a mirrored DICOM view as stored (``--no-split-views``).
        view: ``"ANT"`` or ``"POST"`` names a one-view image's view (``--view``); ``"name"`` (default): its file
            name's.

    Returns:
        The scan ``scintiseg predict`` would predict.

    Raises:
        ScintisegError: what :func:`read_scan` refuses; no file or more than two; two files that are not one
            study's ANT and POST, or that cannot be one scan (each can be read alone).

    Example::

        scan = read_for_prediction("0123_ANT.png", "0123_POST.png", pixel_spacing=2.26)
        prediction = predict_scan(scan, load_model())
    """
    kwargs = prediction_read_kwargs(pixel_spacing=pixel_spacing, pixel_spacing_over_header=pixel_spacing_over_header,
                                    shape=shape, dtype=dtype, split_views=split_views, view=view)
    if len(paths) == 1:
        return read_scan(paths[0], **kwargs)
    if len(paths) != 2:
        raise ScintisegError(f"read_for_prediction reads one file, or a study's ANT and POST files: got {len(paths)} paths")
    if view not in (None, "name"):
        raise ScintisegError(f"two files are joined by the views their names say: view={view!r} names one view; read "
                             "each file alone")
    pairs = find_view_pairs(paths)
    if len(pairs) != 1:
        raise ScintisegError(f"{Path(paths[0]).name} and {Path(paths[1]).name} are not one study's ANT and POST files "
                             "(docs/io.md: the same names besides the view word, or one DICOM study); read each alone")
    ant, post = (read_scan(path, **(kwargs | {"view": "name"})) for path in pairs[0])
    return join_views(ant, post)


def _given_over_no_cameras(path: Path, shape: tuple[int, int], own: tuple[float, float],
                           given: tuple[float, float] | None) -> tuple[float, float]:
    """A file's own pixel spacing, or the one given (with a warning) when its own is no camera's: ``--pixel-spacing``
    mends a header in the wrong unit. A header's spacing is otherwise kept (:func:`read_scan`)."""
    if given is None or cameras_field(shape, own):
        return own
    warnings.warn(f"{path}: the file's pixel spacing {own[0]:g} x {own[1]:g} mm is no camera's; "
                  f"{given[0]:g} x {given[1]:g} mm given, used", ReaderWarning, stacklevel=3)
    return given


def _read_scan(path: Path, *, shape, dtype, byteorder, pixel_spacing, patient_id, split_views, view,
               over_header: bool = False) -> Scan:
    """:func:`read_scan`'s reading, without the notes the readers leave."""
    if view is not None and view not in VIEW_CHOICES:
        raise ScintisegError(f"view must be one of {', '.join(VIEW_CHOICES)} or None, got {view!r}")
    if not path.exists():
        raise ScintisegError("no such file", path=path)
    if not path.is_file():
        raise ScintisegError("not a file", path=path)
    given = None if pixel_spacing is None else parse_pixel_spacing(pixel_spacing)
    if shape is None and is_dicom(path):
        scan = blank_capture_panels(read_dicom(path))
        if split_views:
            scan = _split_unnamed_page(scan)
        within = inside_panels(scan.metadata, scan.view(scan.view_names[0]))  # a capture's display area
        scan = _name_the_view(undo_inverted_captures(scan, within), view, path)  # after the split (it judges whole views)
        scan = undo_scan_display_curve(scan, str(scan.metadata.get("transfer_syntax")) in LOSSLESS_SYNTAXES)
        if split_views:  # a view its orientation attributes say is stored mirrored, read with its sides as named
            scan = mirrored_back(scan)
        if given is not None and scan.metadata.get("turned_upright"):  # given for the frame as stored
            given = (given[1], given[0])
        if given is not None and scan.metadata.get("pixel_spacing_assumed"):  # a DICOM without Pixel Spacing
            fixed = scan.with_views(scan.views, pixel_spacing=given)
            fixed.metadata.pop("pixel_spacing_assumed")
            return fixed
        replaced = _over_header(scan, given, over_header, path)
        if replaced is not None:
            return replaced
        mended = _given_over_no_cameras(path, scan.shape, scan.pixel_spacing, given)
        if mended != scan.pixel_spacing:  # the file's own spacing is wrong: the one given
            return scan.with_views(scan.views, pixel_spacing=mended)
        if given is not None and not all(math.isclose(a, b, rel_tol=1e-3) for a, b in zip(given, scan.pixel_spacing)):
            warnings.warn(
                f"{path}: pixel spacing {given[0]:g} x {given[1]:g} mm given, the DICOM file's own "
                f"{scan.pixel_spacing[0]:g} x {scan.pixel_spacing[1]:g} mm kept",
                ReaderWarning,
                stacklevel=2,
            )
        return scan
    kind = None if shape is not None else _header_format(path)
    if kind is not None:
        scan = _header_format_scan(kind, path, given, patient_id)
        return _name_the_view(_over_header(scan, given, over_header, path) or scan, view, path)
    array = read_image(path, shape=shape, dtype=dtype, byteorder=byteorder)
    metadata: dict = {}
    if array.ndim == 2:  # a screen capture's toolbars, side panels and frames, before anything judges the image
        array = blank_viewer_furniture(array, metadata)
    standing = stand_lying_body(array, given) if split_views else None
    if standing is not None:  # before the split and the assumed spacing, which judge a standing image
        metadata["turned_upright"] = turned_note(array.shape)
        metadata[STOOD_KEY], metadata[STORED_SHAPE_KEY] = QUARTER_CLOCKWISE, list(array.shape)
        array, given = standing, None if given is None else (given[1], given[0])
    if split_views and array.ndim == 2:
        refuse_many_bodies(array, None if given is None else given[1], path)
    split = split_side_by_side(array, None if given is None else given[1]) if split_views and array.ndim == 2 else None
    if split is not None:  # before the inversion check, which judges whole-body views
        metadata.setdefault(STORED_SHAPE_KEY, list(array.shape))
        array, cut = split
        metadata["views_split"], metadata[SPLIT_COLUMN] = split_note(cut), cut
    array, inverted = undo_display_inversion(array, within=inside_panels(metadata, array))  # not judged on its panels
    if inverted:
        metadata["display_inverted"] = True
    views = {"VIEW": array} if array.ndim == 2 else {"ANT": array[0], "POST": array[1]}
    spacing = given
    if given is None:
        spacing, why = assumed_pixel_spacing(*array.shape[-2:])
        metadata["pixel_spacing_assumed"] = why
    scan = Scan(views=views, pixel_spacing=spacing, patient_id=path.stem if patient_id is None else patient_id,
                source=path, metadata=metadata)
    return _name_the_view(undo_scan_display_curve(scan, shape is not None or not lossy_picture(path)), view, path)
