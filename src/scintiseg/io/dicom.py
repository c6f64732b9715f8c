"""DICOM planar whole-body NM scans: a reader for what cameras export and a multi-frame writer.

Reading (:func:`read_dicom`) accepts

* single-frame images (the shipped NEMA NM1 file: Secondary Capture with Modality NM, one view),
* multi-frame NM Image objects whose frames are indexed by the Detector Vector (0054,0020), each
  detector carrying a View Code Sequence (0054,0220) in the Detector Information Sequence (0054,0022),

in every transfer syntax pydicom can decode (JPEG Lossless through GDCM in a child process,
:mod:`scintiseg.io.isolated_decode`). The view of each frame is found, in this order, from

1. the View Code Sequence of its detector (antero-posterior -> ``ANT``, postero-anterior -> ``POST``;
   SNOMED CT and old SNOMED-RT codes, or a code meaning naming the side); of a one-frame image also its own
   top-level View Code Sequence, as Secondary Capture and DX objects carry it (session 23),
2. GE's private dataset name (GEMS_GENIE_1 (0011,xx12) or Image ID (0054,0400)): GE Genie/Xeleris
   export a whole-body pair as ``<name>_E`` (anterior) and ``<name>_F`` (posterior),
3. of a one-frame image, its View Position (0018,5101) ``AP`` (anterior) or ``PA`` (posterior) (session 23),
4. of a one-frame image, the words of its Series Description (0008,103E), then of its Protocol Name (0018,1030):
   ``ANT`` / ``anterior`` or ``POST`` / ``posterior`` as whole words, by the rule file names are read with
   (:func:`scintiseg.io.view_names.view_from_text`; ``WB ANT``, ``Anterior Whole Body``; a text that names both
   views names neither) (session 24),
5. otherwise, for two frames with a Detector Vector, detector 1 is taken as anterior and detector 2 as
   posterior -- the usual dual-head convention, but a guess, so a warning says so.

A single frame without any of these is the unnamed view ``VIEW``.

**The patient's sides** (session 27). Each view's patient directions as stored, from the Image Orientation (Patient)
of its detector's Detector Information Sequence item, else (one view) the file's own Image Orientation (Patient) or
Patient Orientation, are recorded in ``metadata["patient_orientation"]`` (``{"ANT": "L\\F"}``); prediction's reading
mirrors back a view stored the other way round (:mod:`scintiseg.io.patient_sides`). An attribute that cannot be
read says nothing and never stops a read.

**Several energy windows** (session 23). An NM object may hold a frame per detector *and* energy window (the
Energy Window Vector (0054,0010) indexes them: a photopeak and a scatter window acquired together, as for
energy-window scatter correction). The reader keeps the frames of one window, the **photopeak**: the window whose
Energy Window Range (0054,0013) holds 99mTc's 140.5 keV (of several such, the narrowest), else, when no range says,
the window with the most counts (a 99mTc bone scan's photopeak holds most of them); the other windows are not read,
and ``metadata["energy_window_read"]`` says which was kept and why. More frames than that, or than the views we can
name (a dynamic study), is an error rather than a guess.

pydicom decodes some inconsistent files without complaint, so the reader checks what it got against the
header: ``Rows x Columns x frames x BitsAllocated`` against the length of native Pixel Data, the number
of decoded frames against NumberOfFrames and the Detector Vector, finite non-negative counts. A header
that claims more than two views of :data:`~scintiseg.io.images.MAX_VIEW_PIXELS` pixels is refused before
decoding, which would otherwise try to allocate it.

Every failure, whatever pydicom raised (RLE, JPEG-family and deflate decoders, wrong lengths, values
that fail lazily), becomes one :class:`~scintiseg.errors.ScintisegError` naming the file. What pydicom
warns or logs on the way (invalid UIDs, VR mismatches, a decoder's traceback) is folded by
:mod:`scintiseg.io.library_messages`: appended to that error, or summarised in one warning when the
file reads.

Writing (:func:`write_dicom`) produces an NM Image Storage object (multi-frame, Explicit VR Little
Endian): one frame per view, ANT then POST, Detector Vector ``[1, 2]`` and one Detector Information
Sequence item per detector with its View Code Sequence and Image Orientation (Patient) (the view's patient directions
where the scan knows them, ``metadata["patient_orientation"]``: a phantom's, in scintiseg's convention, or a DICOM
source's, turned and mirrored with its pixels; else empty), Image Type ``ORIGINAL\\PRIMARY\\WHOLE BODY\\EMISSION``, Body Part
Examined ``WHOLEBODY``, Counts Accumulated, Pixel Spacing, patient and study/series identity, the NM modules' Type 2
attributes the writer cannot know present and empty, and the whole-body timing (Actual Frame Duration, Scan Velocity,
Scan Length) where the scan's metadata gives it (a DICOM source's, read back); dciodvfy then finds no error, or,
without a source's timing, only the missing Actual Frame Duration (Type 1C), which is not made up. It is
byte-deterministic: UIDs missing from the scan are derived from a hash of its content (never from the clock or a random source), and no
date or time is written unless ``scan.metadata`` gives it (``study_date``, ``study_time``,
``acquisition_date``, ``acquisition_time`` as DICOM DA/TM strings). So the same scan always gives the
same bytes, which keeps ``same seed -> same files`` true for the phantom.

**An assumed pixel size stays assumed** (session 64): a scan whose pixel size was assumed
(``metadata["pixel_spacing_assumed"]``: a PNG imported by ``scintiseg dataset import`` without ``--pixel-spacing``, a
crop of one) is written with that Pixel Spacing, which a crop's size in mm needs, and the reason in a private element
(creator :data:`ASSUMED_SPACING_CREATOR`, group 0009, element 01, LT); reading such a file marks the spacing assumed
again, so ``predict`` warns and flags it (QC ``pixel_spacing_assumed``) and ``--pixel-spacing`` replaces it, as for a
file that records no spacing. Before, the written file gave the assumed size as a measured one.
"""

from __future__ import annotations

import hashlib
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path
from scintiseg.io.images import MAX_VIEW_PIXELS, assumed_pixel_spacing, grey_from_channels
from scintiseg.io.isolated_decode import decode_in_child, in_process_plugin
from scintiseg.io.library_messages import ReaderWarning, library_messages
from scintiseg.io.not_scans import not_planar
from scintiseg.io.patient_sides import ORIENTATION_KEY, cosines_from_letters, letters_from_codes, letters_from_cosines
from scintiseg.io.view_names import view_from_text
from scintiseg.scan import Scan

#: NM Image Storage SOP class.
NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
#: View Code Sequence codes written for each view: (value, scheme, meaning), SNOMED CT (DICOM CID 26).
VIEW_CODES: dict[str, tuple[str, str, str]] = {
    "ANT": ("399348003", "SCT", "antero-posterior"),
    "POST": ("272479007", "SCT", "postero-anterior"),
}
# Codes read as a side: SNOMED CT and their SNOMED-RT (SRT) equivalents found in older files.
_ANTERIOR_CODES = {"399348003", "R-10206", "399321004", "G-5215", "255549009"}
_POSTERIOR_CODES = {"272479007", "R-10214", "399001007", "G-5216", "255551008"}
_GE_PRIVATE_CREATOR = "GEMS_GENIE_1"
#: Private creator of the element that says the Pixel Spacing was assumed, not measured (group 0009, element 01).
ASSUMED_SPACING_CREATOR = "SCINTISEG ASSUMED PIXEL SPACING"
_ASSUMED_SPACING_GROUP = 0x0009
_DICOM_MAGIC_OFFSET = 128
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
#: Photometric interpretations of 3-sample pixel data read as grey when the channels agree (screen captures).
_COLOUR_PHOTOMETRICS = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")
_HEADER_VALUE_ERRORS = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, UnicodeError, struct.error,
    NotImplementedError, EOFError,
    # A sequence is parsed from the bytes already read when it is first used; a corrupt one raises
    # OSError ("No tag to read at file position ...") there, long after dcmread returned.
    OSError,
)


def is_dicom(path: str | Path) -> bool:
    """True when ``path`` has ``DICM`` at offset 128 (the Part 10 marker; the preamble may hold anything,
    e.g. a TIFF header in "dual-personality" files such as the NEMA NM1 sample)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_DICOM_MAGIC_OFFSET + 4)
    except OSError:
        return False
    return head[_DICOM_MAGIC_OFFSET:] == b"DICM"


def read_dicom(path: str | Path) -> Scan:
    """Read a planar NM scan (single- or multi-frame) into a :class:`Scan`.

    Args:
        path: a DICOM Part 10 file.

    Returns:
        The scan with views named as described in the module docstring; integer pixel data keep their
        stored dtype (a Rescale Slope/Intercept other than 1/0 yields float32 counts).

    Raises:
        ScintisegError: not a DICOM file, unreadable or truncated, no pixel data, pixel data inconsistent
            with the header, frames that cannot be assigned to views, NaN or negative counts.

    Example::

        scan = read_dicom("nema-wg04-nm1-wholebody.dcm")
        scan.view_names  # ['ANT']
    """
    path = Path(path)
    if not path.is_file():
        raise ScintisegError("no such file", path=path)
    if not is_dicom(path):
        raise ScintisegError("not a DICOM file (no 'DICM' marker at offset 128)", path=path)
    with library_messages("pydicom") as said:
        try:
            ds = pydicom.dcmread(path)
        except Exception as exc:  # pydicom raises many types on corrupt input; all mean the same to a user
            description = _describe(exc)
            raise ScintisegError(f"unreadable DICOM file ({description}){said.hint(description)}", path=path) from None
        try:
            scan = dataset_to_scan(ds, path)
        except ScintisegError as exc:
            raise ScintisegError(f"{exc.problem}{said.hint(exc.problem)}", path=path) from None
        except _HEADER_VALUE_ERRORS as exc:
            # pydicom converts element values lazily: a corrupt value surfaces only when it is used.
            description = _describe(exc)
            raise ScintisegError(
                f"invalid value in the DICOM header ({description}){said.hint(description)}", path=path
            ) from None
    said.warn_once(path)
    return scan


def one_view_header(path: str | Path) -> dict | None:
    """Study, patient and view of a one-frame DICOM file, from its header alone (no pixel data read).

    Returns ``{"study_uid", "patient_id", "view", "matrix"}`` (``view`` ``"ANT"``, ``"POST"`` or ``"VIEW"`` when the
    header names none; ``matrix`` (Rows, Columns)), or None for a file that is not DICOM, cannot be parsed, describes no image (no Rows/Columns) or
    holds more than one frame. Used to find
    a study's two views stored as two files (:mod:`scintiseg.io.view_pairs`); never raises and never warns: the
    full read (:func:`read_dicom`) reports what is wrong with a file.
    """
    if not is_dicom(path):
        return None
    # (pydicom's logger too, not only its warnings: a damaged header's "Invalid value for VR UI" printed 88 lines
    # with raw bytes before the full read's one-line error; session 61)
    with library_messages("pydicom"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the reader's own warnings too: the full read gives them)
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            if "Rows" not in ds or "Columns" not in ds or int(ds.get("NumberOfFrames", 1) or 1) != 1:
                return None  # no image (pydicom parses a corrupt file into an empty dataset), or several frames
            view = _view_names(ds, 1, path)[0]
            return {"study_uid": str(ds.get("StudyInstanceUID", "") or ""),
                    "patient_id": str(ds.get("PatientID", "") or ""), "view": view,
                    "matrix": (int(ds.Rows), int(ds.Columns))}
        except Exception:  # any parse failure: not pairable; the full read says why
            return None


def dataset_to_scan(ds: Dataset, path: str | Path | None = None) -> Scan:
    """Turn a decoded pydicom dataset into a :class:`Scan` (see :func:`read_dicom`)."""
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        raise ScintisegError("no pixel data in this DICOM file", path=path)
    other = not_planar(str(ds.get("SOPClassUID", "") or ""), ds.get("ImageType"))
    if other is not None:  # a CT slice of a SPECT/CT study, SPECT projections (io.not_scans)
        raise ScintisegError(other, path=path)
    rows, cols, frames = _geometry(ds, path)
    frames_array = _pixels(ds, rows, cols, frames, path)
    keep, window_note = _photopeak_frames(ds, frames, frames_array, path)
    names = _view_names(ds, frames, path, keep)
    views = {name: np.ascontiguousarray(frames_array[i]) for i, name in zip(keep, names)}
    spacing = _pixel_spacing(ds, path)
    metadata = _metadata(ds)
    if window_note:
        metadata["energy_window_read"] = window_note
    orientation = _orientations(ds, frames, keep, names)
    if orientation:
        metadata[ORIENTATION_KEY] = orientation
    if spacing is None:  # read_scan applies --pixel-spacing to such a file (io/read.py)
        spacing, metadata["pixel_spacing_assumed"] = assumed_pixel_spacing(*frames_array.shape[-2:])
    else:
        written = _assumed_spacing_note(ds)
        if written is not None:  # a size scintiseg assumed and wrote (the module docstring)
            metadata["pixel_spacing_assumed"] = written
    return Scan(
        views=views,
        pixel_spacing=spacing,
        patient_id=str(ds.get("PatientID", "") or ""),
        patient_name=str(ds.get("PatientName", "") or ""),
        study_uid=str(ds.get("StudyInstanceUID", "") or ""),
        series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        source=None if path is None else Path(path),
        metadata=metadata,
    )


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _int_tag(ds: Dataset, keyword: str, path, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    if value is None or value == "":
        if default is not None:
            return default
        raise ScintisegError(f"missing {keyword} in the DICOM header", path=path)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ScintisegError(f"invalid {keyword} {value!r} in the DICOM header", path=path) from None


def _geometry(ds: Dataset, path) -> tuple[int, int, int]:
    rows = _int_tag(ds, "Rows", path)
    cols = _int_tag(ds, "Columns", path)
    frames = _int_tag(ds, "NumberOfFrames", path, default=1)
    samples = _int_tag(ds, "SamplesPerPixel", path, default=1)
    if rows <= 0 or cols <= 0 or frames <= 0:
        raise ScintisegError(f"empty image in the header (Rows {rows}, Columns {cols}, frames {frames})", path=path)
    photometric = str(ds.get("PhotometricInterpretation", "") or "").upper()
    if samples != 1 and not (samples == 3 and photometric in _COLOUR_PHOTOMETRICS):
        raise ScintisegError(f"{samples} samples per pixel ({photometric or 'no Photometric Interpretation'}): a count "
                             "image has one", path=path)
    if rows * cols > MAX_VIEW_PIXELS or rows * cols * frames > 2 * MAX_VIEW_PIXELS:
        raise ScintisegError(
            f"{frames} frame(s) of {rows} x {cols} pixels is too large to be a planar bone scan "
            f"(at most 2 views of {MAX_VIEW_PIXELS:,} pixels)",
            path=path,
        )
    return rows, cols, frames


def _pixels(ds: Dataset, rows: int, cols: int, frames: int, path) -> np.ndarray:
    """Decoded pixel data as a (frames, rows, cols) array, checked against the header."""
    keyword = next(k for k in _PIXEL_KEYWORDS if k in ds)
    default_bits = {"FloatPixelData": 32, "DoubleFloatPixelData": 64}.get(keyword)
    bits = _int_tag(ds, "BitsAllocated", path, default=default_bits)
    if bits not in (8, 16, 32, 64):
        raise ScintisegError(f"unsupported Bits Allocated {bits}", path=path)
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    encapsulated = bool(syntax is not None and getattr(syntax, "is_encapsulated", False))
    samples = _int_tag(ds, "SamplesPerPixel", path, default=1)
    if not encapsulated:
        # Native pixel data: its length must match the header exactly (plus one pad byte at most).
        expected = rows * cols * frames * bits // 8 * samples
        actual = len(ds[keyword].value or b"")
        if actual not in (expected, expected + 1):
            what = "truncated pixel data" if actual < expected else "pixel data longer than the header says"
            raise ScintisegError(
                f"{what}: {actual} bytes, but Rows x Columns x frames x bits = "
                f"{rows} x {cols} x {frames} x {bits} needs {expected}",
                path=path,
            )
    plugin = in_process_plugin(syntax) if encapsulated else ""
    if plugin is None:  # only GDCM decodes it: in a child process, whose crash cannot take this one (.isolated_decode)
        array = decode_in_child(ds, path)
    else:
        try:
            if plugin:
                ds.pixel_array_options(decoding_plugin=plugin)
            array = ds.pixel_array
        except Exception as exc:  # decoder errors come in many types (ValueError, NotImplementedError, ...)
            raise ScintisegError(f"cannot decode pixel data ({_describe(exc)})", path=path) from None
    array = _grey_if_colour(ds, np.asarray(array), samples, frames, path)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.shape != (frames, rows, cols):
        raise ScintisegError(
            f"decoded pixel data has shape {array.shape}, header says {(frames, rows, cols)}", path=path
        )
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    if (slope, intercept) != (1.0, 0.0):
        array = (array.astype(np.float64) * slope + intercept).astype(np.float32)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ScintisegError("pixel data holds NaN or infinite counts", path=path)
    if array.dtype.kind in "fi" and array.min() < 0:
        raise ScintisegError(f"pixel data holds negative counts (min {array.min()})", path=path)
    return array


def _grey_if_colour(ds: Dataset, array: np.ndarray, samples: int, frames: int, path) -> np.ndarray:
    """A screen capture stored in colour (RGB or YBR, decoded to RGB by pydicom; or a palette) as its grey levels
    when its channels agree (:func:`~scintiseg.io.images.grey_from_channels`, as for PNG and JPEG exports); a
    colour picture is one error. Monochrome pixel data comes back as it is."""
    photometric = str(ds.get("PhotometricInterpretation", "") or "").upper()
    if samples == 3:
        if array.dtype != np.uint8:
            raise ScintisegError(f"{photometric} pixel data of {array.dtype}: only 8-bit colour captures are read as grey",
                                 path=path)
        return grey_from_channels(array, f"{photometric} DICOM image", path)
    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(array, ds)
        except Exception as exc:  # a broken or missing palette: many exception types, one meaning
            raise ScintisegError(f"cannot apply the PALETTE COLOR table ({_describe(exc)})", path=path) from None
        rgb = np.asarray(rgb)
        if rgb.max(initial=0) > 255:  # 16-bit table entries
            rgb = np.rint(rgb / 257.0)
        return grey_from_channels(rgb.astype(np.uint8), "PALETTE COLOR DICOM image", path)
    return array


def _side_from_code_sequence(item: Dataset) -> str | None:
    for code in item.get("ViewCodeSequence", []) or []:
        value = str(code.get("CodeValue", "") or "")
        meaning = str(code.get("CodeMeaning", "") or "").lower()
        if value in _ANTERIOR_CODES or meaning.startswith("anter"):
            return "ANT"
        if value in _POSTERIOR_CODES or meaning.startswith("poster"):
            return "POST"
    return None


def _side_from_view_position(ds: Dataset) -> str | None:
    """View Position (0018,5101) of a one-frame image: ``AP`` (antero-posterior) is ANT, ``PA`` is POST."""
    return {"AP": "ANT", "PA": "POST"}.get(str(ds.get("ViewPosition", "") or "").strip().upper())


def _side_from_description(ds: Dataset) -> str | None:
    """The view a one-frame image's Series Description, else its Protocol Name, names (module docstring, step 4)."""
    for keyword in ("SeriesDescription", "ProtocolName"):
        side = view_from_text(str(ds.get(keyword, "") or ""))
        if side is not None:
            return side
    return None


def _side_from_ge_name(ds: Dataset) -> str | None:
    """GE Genie/Xeleris dataset names: ``..._E`` anterior, ``..._F`` posterior."""
    names = [str(ds.get("ImageID", "") or "")]
    try:
        block = ds.private_block(0x0011, _GE_PRIVATE_CREATOR)
        if 0x12 in block:
            names.insert(0, str(block[0x12].value or ""))
    except (KeyError, ValueError):
        pass
    for name in names:
        name = name.strip().upper()
        if name.endswith("_E"):
            return "ANT"
        if name.endswith("_F"):
            return "POST"
    return None


#: The photon energy of 99mTc (keV): the photopeak window's range holds it.
TC99M_KEV = 140.5


def _vector(ds: Dataset, keyword: str, frames: int, path) -> list[int] | None:
    """A frame-index vector (Detector or Energy Window Vector) as ints, one per frame; None when absent."""
    vector = ds.get(keyword)
    if vector is None:
        return None
    if not isinstance(vector, (list, tuple, MultiValue)):
        vector = [vector]
    vector = [int(v) for v in vector]
    if len(vector) != frames:
        name = "Detector Vector" if keyword == "DetectorVector" else "Energy Window Vector"
        raise ScintisegError(f"{name} has {len(vector)} entries for {frames} frames", path=path)
    return vector


def _window_range(ds: Dataset, window: int) -> tuple[float, float] | None:
    """(lower, upper) keV of energy window ``window`` (1-based), or None when the header does not say."""
    try:
        info = list(ds.get("EnergyWindowInformationSequence", []) or [])
        ranges = list(info[window - 1].get("EnergyWindowRangeSequence", []) or []) if 1 <= window <= len(info) else []
        limits = [(float(r.EnergyWindowLowerLimit), float(r.EnergyWindowUpperLimit)) for r in ranges]
    except (AttributeError, TypeError, ValueError):
        return None
    limits = [(lo, hi) for lo, hi in limits if np.isfinite(lo) and np.isfinite(hi) and lo < hi]
    return (min(lo for lo, _ in limits), max(hi for _, hi in limits)) if limits else None


def _photopeak_frames(ds: Dataset, frames: int, array: np.ndarray, path) -> tuple[list[int], str]:
    """The indices of the frames to read (every frame, or those of the photopeak window: module docstring) and a
    note saying which window was kept and why ("" when the file holds one window)."""
    vector = _vector(ds, "EnergyWindowVector", frames, path)
    windows = sorted(set(vector)) if vector is not None else []
    if len(windows) < 2:
        return list(range(frames)), ""
    ranges = {w: _window_range(ds, w) for w in windows}
    holding = [w for w in windows if ranges[w] is not None and ranges[w][0] <= TC99M_KEV <= ranges[w][1]]
    if holding:
        chosen = min(holding, key=lambda w: ranges[w][1] - ranges[w][0])
        low, high = ranges[chosen]
        why = f"its range {low:g}-{high:g} keV holds 99mTc's {TC99M_KEV:g} keV"
    else:
        totals = {w: float(sum(array[i].sum(dtype=np.float64) for i, v in enumerate(vector) if v == w)) for w in windows}
        chosen = max(windows, key=lambda w: totals[w])
        why = "the most counts; no window's range holds 99mTc's 140.5 keV"
    return ([i for i, v in enumerate(vector) if v == chosen],
            f"energy window {chosen} of {len(windows)} ({why}); the other windows not read")


def _view_names(ds: Dataset, frames: int, path, keep: list[int] | None = None) -> list[str]:
    """The view of each frame of ``keep`` (default: every frame) of a file of ``frames`` frames."""
    detector_vector = _vector(ds, "DetectorVector", frames, path)
    if keep is not None:
        frames = len(keep)
        detector_vector = None if detector_vector is None else [detector_vector[i] for i in keep]
    info = list(ds.get("DetectorInformationSequence", []) or [])
    if frames == 1:
        side = None
        if detector_vector and 1 <= detector_vector[0] <= len(info):
            side = _side_from_code_sequence(info[detector_vector[0] - 1])
        if side is None and len(info) == 1:
            side = _side_from_code_sequence(info[0])
        return [side or _side_from_code_sequence(ds) or _side_from_ge_name(ds) or _side_from_view_position(ds)
                or _side_from_description(ds) or "VIEW"]
    if frames > 2:
        raise ScintisegError(
            f"{frames} frames of one energy window, but a planar scan has at most two views (ANT, POST); "
            "a dynamic study or several bed positions are not supported",
            path=path,
        )
    if detector_vector is None:
        raise ScintisegError(
            "2 frames without view information (no Detector Vector): cannot tell ANT from POST", path=path
        )
    names = []
    for detector in detector_vector:
        side = _side_from_code_sequence(info[detector - 1]) if 1 <= detector <= len(info) else None
        if side is None and 1 <= detector <= len(info):
            side = _side_from_ge_name(info[detector - 1])
        names.append(side)
    if None in names:
        if sorted(detector_vector) != [1, 2]:
            raise ScintisegError(
                f"2 frames from detectors {detector_vector} without view codes: cannot tell ANT from POST",
                path=path,
            )
        warnings.warn(
            f"{path}: no View Code Sequence for every detector; assuming detector 1 = ANT, detector 2 = POST",
            ReaderWarning,
            stacklevel=3,
        )
        names = ["ANT" if d == 1 else "POST" for d in detector_vector]
    if len(set(names)) != len(names):
        raise ScintisegError(f"two frames claim the same view {names}", path=path)
    return names


def _orientations(ds: Dataset, frames: int, keep: list[int], names: list[str]) -> dict[str, str]:
    """Each kept view's patient directions as stored (``"L\\F"``: where its columns, then its rows, grow), from the Image
    Orientation (Patient) of its detector's Detector Information Sequence item, else, in a file of one view, the
    file's own Image Orientation (Patient) or Patient Orientation (:mod:`scintiseg.io.patient_sides`). A view whose
    attributes are absent, empty or unreadable is left out: they say nothing, and never stop a read."""
    try:  # (the views were named from the same Detector Vector: it reads)
        detectors = _vector(ds, "DetectorVector", frames, None)
        info = list(ds.get("DetectorInformationSequence", []) or [])
    except (ScintisegError, *_HEADER_VALUE_ERRORS):
        return {}
    found: dict[str, str] = {}
    for index, name in zip(keep, names):
        try:
            item = None
            if detectors is not None and 1 <= detectors[index] <= len(info):
                item = info[detectors[index] - 1]
            elif len(info) == 1 and len(keep) == 1:
                item = info[0]
            letters = None if item is None else letters_from_cosines(item.get("ImageOrientationPatient") or [])
            if letters is None and len(keep) == 1:
                letters = letters_from_cosines(ds.get("ImageOrientationPatient") or []) \
                    or letters_from_codes(ds.get("PatientOrientation"))
        except _HEADER_VALUE_ERRORS:
            letters = None
        if letters is not None:
            found[name] = "\\".join(letters)
    return found


def _assumed_spacing_note(ds: Dataset) -> str | None:
    """The reason a writer recorded for an assumed Pixel Spacing (:data:`ASSUMED_SPACING_CREATOR`), or None."""
    try:
        block = ds.private_block(_ASSUMED_SPACING_GROUP, ASSUMED_SPACING_CREATOR)
        value = block[0x01].value if 0x01 in block else None
    except (KeyError, ValueError):
        return None
    return f"assumed when the file was written: {value or 'no reason recorded'}"


def _pixel_spacing(ds: Dataset, path) -> tuple[float, float] | None:
    """Pixel Spacing, Imager Pixel Spacing or the detector's; None when the file has none (the scan is then marked
    ``pixel_spacing_assumed``, as a picture without one is, and whoever reads it for a result says so once: prediction,
    ``dataset import``; session 73: a reader's warning here made prediction say it twice)."""
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if spacing is None:
        info = list(ds.get("DetectorInformationSequence", []) or [])
        spacing = info[0].get("PixelSpacing") if info else None
    if spacing is None or len(spacing) != 2:
        return None
    try:
        row, col = float(spacing[0]), float(spacing[1])
    except (TypeError, ValueError):
        raise ScintisegError(f"invalid Pixel Spacing {spacing!r}", path=path) from None
    return row, col


def _metadata(ds: Dataset) -> dict:
    keywords = {
        "modality": "Modality",
        "manufacturer": "Manufacturer",
        "model": "ManufacturerModelName",
        "sop_class_uid": "SOPClassUID",
        "sop_instance_uid": "SOPInstanceUID",
        "study_date": "StudyDate",
        "study_time": "StudyTime",
        "accession_number": "AccessionNumber",  # (these three: the report's header, session 62)
        "patient_birth_date": "PatientBirthDate",
        "patient_sex": "PatientSex",
        "acquisition_date": "AcquisitionDate",
        "acquisition_time": "AcquisitionTime",
        "series_description": "SeriesDescription",
        "study_description": "StudyDescription",
        "actual_frame_duration": "ActualFrameDuration",
        "scan_velocity": "ScanVelocity",
        "scan_length": "ScanLength",
    }
    meta: dict = {}
    for key, keyword in keywords.items():
        value = ds.get(keyword)
        if value not in (None, ""):
            meta[key] = str(value)
    if "ImageType" in ds:
        image_type = ds.ImageType
        meta["image_type"] = [str(v) for v in (image_type if not isinstance(image_type, str) else [image_type])]
    if getattr(ds, "file_meta", None) is not None and "TransferSyntaxUID" in ds.file_meta:
        meta["transfer_syntax"] = str(ds.file_meta.TransferSyntaxUID)
    return meta


# --------------------------------------------------------------------------------------------- writer


def _deterministic_uid(*parts: str) -> str:
    """A UID from a hash of ``parts`` (pydicom's 2.25 / prefix scheme with fixed entropy sources)."""
    return generate_uid(entropy_srcs=[str(p) for p in parts])


def _content_hash(scan: Scan) -> str:
    digest = hashlib.sha256()
    digest.update(scan.patient_id.encode())
    for name, image in scan.views.items():
        digest.update(name.encode())
        digest.update(str(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def _pixel_words(scan: Scan, path) -> tuple[np.ndarray, int]:
    """Views stacked as (frames, rows, cols) 16-bit words; returns the array and Pixel Representation."""
    stack = np.stack(list(scan.views.values()))
    if stack.dtype == np.int16:
        return stack, 1
    if stack.dtype.kind == "f":
        rounded = np.rint(stack)
        if np.abs(rounded - stack).max() > 1e-6:
            warnings.warn(f"{path}: non-integer counts rounded to integers for DICOM", stacklevel=3)
        stack = rounded
    if stack.max() > np.iinfo(np.uint16).max:
        raise ScintisegError(f"counts up to {stack.max()} do not fit 16-bit DICOM pixel data (max 65535)", path=path)
    return stack.astype(np.uint16), 0


def _timing_value(value, whole: bool) -> str:
    """A whole-body timing value read from a source (ms, cm/min, cm) as the writer's IS (``whole``) or DS text;
    ``""`` for a value that is absent or not a finite non-negative number (it is not written, not made up)."""
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(number) or number < 0 or (whole and number >= 2**31):
        return ""
    return str(int(round(number))) if whole else format_number_as_ds(number)


def scan_to_dataset(scan: Scan) -> Dataset:
    """The NM multi-frame dataset :func:`write_dicom` writes (see the module docstring)."""
    pixels, representation = _pixel_words(scan, scan.source)
    frames, rows, cols = pixels.shape
    content = _content_hash(scan)
    study_uid = scan.study_uid or _deterministic_uid("study", content)
    series_uid = scan.series_uid or _deterministic_uid("series", study_uid, content)
    sop_uid = _deterministic_uid("instance", study_uid, series_uid, content)
    meta_in = scan.metadata or {}

    file_meta = FileMetaDataset()
    file_meta.MediaStorageSOPClassUID = NM_IMAGE_STORAGE
    file_meta.MediaStorageSOPInstanceUID = sop_uid
    file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = file_meta
    ds.SOPClassUID = NM_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.Modality = "NM"
    ds.Manufacturer = str(meta_in.get("manufacturer", "scintiseg"))
    ds.PatientName = scan.patient_name
    ds.PatientID = scan.patient_id
    # The patient's sex and birth date where the scan knows them (a DICOM source's, read back; the phantom's sex), so
    # that two people sharing a Patient ID can be told apart on import (scintiseg.io.import_sources.shared_patient_ids;
    # session 74: both were written empty, and two phantom cohorts' PH0001, a woman and a man, could not be).
    sex = str(meta_in.get("patient_sex") or "").strip().upper()
    birth = str(meta_in.get("patient_birth_date") or "").strip()
    ds.PatientBirthDate = birth if re.fullmatch(r"\d{8}", birth) else ""
    ds.PatientSex = sex if sex in ("M", "F", "O") else ""
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = _deterministic_uid("frame-of-reference", study_uid, content)
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDate = str(meta_in.get("study_date", ""))
    ds.StudyTime = str(meta_in.get("study_time", ""))
    if meta_in.get("acquisition_date"):
        ds.AcquisitionDate = str(meta_in["acquisition_date"])
    if meta_in.get("acquisition_time"):
        ds.AcquisitionTime = str(meta_in["acquisition_time"])
    if meta_in.get("series_description"):
        ds.SeriesDescription = str(meta_in["series_description"])
    ds.BodyPartExamined = "WHOLEBODY"  # (CID 4031's term; not a paired part, so no General Series Laterality)
    ds.PatientOrientation = ""
    ds.PositionReferenceIndicator = ""
    # NM/PET Patient Orientation (Type 2): how the patient lay is not known to the writer.
    ds.PatientOrientationCodeSequence = Sequence([])
    ds.PatientGantryRelationshipCodeSequence = Sequence([])
    ds.RadiopharmaceuticalInformationSequence = Sequence([])

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.NumberOfFrames = frames
    ds.PixelSpacing = [format_number_as_ds(float(v)) for v in scan.pixel_spacing]
    assumed = scan.metadata.get("pixel_spacing_assumed")
    if assumed:  # said as assumed, not given as measured (the module docstring)
        why = str(assumed).removeprefix("assumed when the file was written: ")
        ds.private_block(_ASSUMED_SPACING_GROUP, ASSUMED_SPACING_CREATOR, create=True).add_new(0x01, "LT", why)
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = representation
    ds.CountsAccumulated = int(min(round(float(np.sum(pixels, dtype=np.float64))), 2**31 - 1))
    # Whole-body timing (NM Image module): the source's where it was read; else Scan Velocity and Length (Type 2C)
    # empty and Actual Frame Duration (Type 1C, no empty value allowed) left out rather than made up.
    for keyword, key, whole in (("ScanVelocity", "scan_velocity", False), ("ScanLength", "scan_length", True)):
        setattr(ds, keyword, _timing_value(meta_in.get(key), whole))
    duration = _timing_value(meta_in.get("actual_frame_duration"), whole=True)
    if duration:
        ds.ActualFrameDuration = duration

    # NM Multi-frame module: frames indexed by energy window and detector.
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]
    ds.EnergyWindowVector = [1] * frames
    ds.NumberOfEnergyWindows = 1
    ds.DetectorVector = list(range(1, frames + 1))
    ds.NumberOfDetectors = frames
    window = Dataset()
    window.EnergyWindowName = str(meta_in.get("energy_window", "Tc99m"))
    ds.EnergyWindowInformationSequence = Sequence([window])
    detectors = []
    orientation = meta_in.get(ORIENTATION_KEY) if isinstance(meta_in.get(ORIENTATION_KEY), dict) else {}
    for name in scan.views:
        item = Dataset()
        if name in VIEW_CODES:
            value, scheme, meaning = VIEW_CODES[name]
            code = Dataset()
            code.CodeValue = value
            code.CodingSchemeDesignator = scheme
            code.CodeMeaning = meaning
            item.ViewCodeSequence = Sequence([code])
        item.CollimatorType = ""
        item.ImagePositionPatient = ""
        # The view's patient directions where the scan knows them (a phantom's views, a DICOM source's, turned and
        # mirrored with its pixels: scintiseg.io.patient_sides), so a reader knows the patient's sides; else empty.
        item.ImageOrientationPatient = list(cosines_from_letters(orientation.get(name)) or ())
        detectors.append(item)
    ds.DetectorInformationSequence = Sequence(detectors)
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes()
    ds["PixelData"].VR = "OW"
    return ds


def write_dicom(scan: Scan, path: str | Path) -> None:
    """Write ``scan`` as a multi-frame NM whole-body DICOM file (atomically) that :func:`read_dicom` reads back.

    Args:
        scan: one or two views; counts must be integers in 0..65535 (float views are rounded, with a
            warning when that changes them). int16 views are written signed so they read back as int16,
            everything else as uint16.
        path: the output file.

    Raises:
        ScintisegError: counts that do not fit 16 bits.

    Example::

        write_dicom(Scan({"ANT": ant, "POST": post}, patient_id="P0001"), "P0001.dcm")
    """
    ds = scan_to_dataset(scan)
    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
