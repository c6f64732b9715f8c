"""QC flags of a predicted scan: what the reader should check before trusting the lesions, regions and BSI.

:func:`scan_qc_flags` raises these, from the scan as read and its predicted views (``<VIEW>``: the view's name;
what each means and how it was measured: docs/predict.md, "QC flags"):

- From what the reader did to the file (``scan.metadata``): ``inverted_export`` (``display_inverted``: an 8-bit
  export shown hot as black, turned back), ``colour_annotations_removed`` (``colour_painted``: annotations drawn in
  colour painted over), ``colour_table_read`` (``colour_table``: a picture through a display colour table read back
  to grey levels), ``panels_blanked`` (``panels_blanked``: a screen capture's flat panels set to the background),
  ``frame_lines_blanked`` (``frame_lines_blanked``: its frame or separator lines set to the background),
  ``display_curve_undone`` (``display_gamma``: a display gamma undone), ``pixel_spacing_assumed``
  (``pixel_spacing_assumed``: the file gives no pixel size), ``views_split`` (``views_split``: one image held ANT and
  POST side by side), ``turned_upright`` (``turned_upright``: a body lying on its side stood up), ``read_mirrored``
  (:data:`~scintiseg.io.patient_sides.MIRRORED_FLAG`, ``mirrored``: a view stored mirrored read mirrored back).
- ``view_unnamed`` (:data:`VIEW_UNNAMED_FLAG`): the file does not name its view (``VIEW``), read as ANT.
- Per view of the scan: ``export_8bit_<VIEW>`` (an 8-bit view: grey levels, not counts), else ``low_counts_<VIEW>``
  (fewer than :data:`LOW_COUNTS` counts in a view that can hold counts, :func:`holds_counts`); and
  ``low_counts_estimated_<VIEW>`` (an export whose counts, read from its histogram's comb by
  :func:`~scintiseg.prepare.export_gain.export_gains`, fall under :data:`LOW_COUNTS`; not judged where a display
  window clipped :data:`CLIPPED_BODY_SHARE` or more of its body or of its non-zero pixels, whose counts it hides, nor
  on a view already ``low_counts``).
- Per predicted view: ``clipped_export_<VIEW>`` (at least :data:`CLIPPED_BODY_SHARE` of an 8-bit view's body at its
  top grey level, :func:`clipped_share`); the region fit's own ``no_body_<VIEW>``, ``body_truncated_<VIEW>``,
  ``partial_view_<VIEW>`` (:class:`~.regions.SkeletonRegions` ``flags``); ``pixel_spacing_doubtful_<VIEW>``
  (:data:`SIZE_DOUBTFUL_FLAG`: a field or body no whole-body view has at the pixel size read, :func:`doubtful_size`);
  ``no_bone_found_<VIEW>`` (the region map names no bone); ``lesion_beside_bladder_<VIEW>`` and
  ``lesion_at_forearm_or_hand_<VIEW>`` (a lesion marked beside the bladder's activity, :mod:`.bladder`, or at an
  elbow, forearm or hand, :mod:`.distal_arm`); ``spine_pattern_<VIEW>``, ``symmetric_<VIEW>``,
  ``bladder_activity_<VIEW>``, ``distal_arm_<VIEW>``, ``off_skeleton_<VIEW>`` (calls a reading rule left out,
  :mod:`.rule_calls`); ``lesion_at_window_edge_<VIEW>`` (a lesion touches the border of what the model saw, on a
  view it did not see whole).
- ``superscan_pattern`` (:data:`~.superscan.SUPERSCAN_FLAG`: the axial skeleton far brighter than the lower legs,
  :mod:`.superscan`).
- ``views_swapped`` (:data:`~.view_labels.VIEWS_SWAPPED_FLAG`: ANT and POST look named the other way round,
  :mod:`.view_labels`), judged on the body head-up (a scan read turned, ``head_down``, has its counts and regions
  turned for it) and not judged when a view shows no upright head while the other does (``no_upright_head``).

Raised elsewhere, before these (:func:`~.pipeline.predict_scan`, the ``qc_flags`` it hands on): ``crop_uncertain``,
``views_misaligned`` and ``polygon_crop_<VIEW>`` (the model's windows, :mod:`.windows`, :mod:`.crop_level`; the
ANT-POST pairing also raises ``views_misaligned``), ``head_down`` and ``no_upright_head_<VIEW>``
(:mod:`.orientation`), ``burned_in_removed_<VIEW>`` (:mod:`scintiseg.prepare.burned_in`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.io.patient_sides import MIRRORED_FLAG, MIRRORED_KEY
from scintiseg.predict.bladder import BESIDE_BLADDER
from scintiseg.predict.distal_arm import BESIDE_DISTAL_ARM
from scintiseg.predict.orientation import turned_regions
from scintiseg.predict.prediction import ViewPrediction
from scintiseg.predict.superscan import SUPERSCAN_FLAG, superscan_pattern
from scintiseg.predict.view_labels import VIEWS_SWAPPED_FLAG, views_swapped
from scintiseg.prepare.export_gain import export_gains
from scintiseg.scan import Scan

#: Below this many counts in a view the scan is flagged ``low_counts`` (physics.md: sites acquire
#: 0.8-4 M counts per view; fewer than 0.8 M makes faint lesions unreliable).
LOW_COUNTS = 800_000
#: QC flag of an export whose counts, estimated from its grey levels' comb (:mod:`scintiseg.prepare.export_gain`), fall
#: under :data:`LOW_COUNTS`: the grey levels of an 8-bit export are not counts, so ``low_counts`` never judges it.
LOW_COUNTS_ESTIMATED_FLAG = "low_counts_estimated"
#: A reading rule (:data:`~scintiseg.predict.rule_calls.RULE_TEXT`'s keys) -> the QC flag a view gets, ``<flag>_<VIEW>``,
#: while calls that rule left out are listed.
RULE_FLAGS: dict[str, str] = {"spine_pattern": "spine_pattern", "symmetric": "symmetric", "bladder": "bladder_activity",
                              "distal_arm": "distal_arm", "off_skeleton": "off_skeleton"}
#: Share of a view's body at its top value from which the export counts as clipped by a display window
#: (``clipped_export``): NM1 windowed so that 3.4 % of its body saturates still shows its lumbar lesion, at 6.1 %
#: the model no longer finds it (session 23, docs/predict.md "QC flags"); counts and an unclipped export put a
#: handful of pixels at their maximum.
CLIPPED_BODY_SHARE = 0.01


def clipped_share(image: np.ndarray, body: np.ndarray) -> float:
    """The share of ``body``'s pixels at an 8-bit view's top grey level: what a display window saturated (a plateau
    that counts do not make; 0 for a view of counts, where a noise-free phantom's uniform bladder may be the plateau,
    and for an empty view or body)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or not body.any() or image.size == 0:  # a display window clips exports, not counts
        return 0.0
    top = image.max()
    if top <= 0:
        return 0.0
    return float(np.count_nonzero((image == top) & body)) / float(np.count_nonzero(body))


def holds_counts(image: np.ndarray) -> bool:
    """Whether a view's values can be counts: any integer array, a float one only of whole numbers (a float view of
    other values, a normalised export or a noise-free simulation, is in a unit of its own: its sum says nothing of its
    noise, and it is not flagged ``low_counts``)."""
    image = np.asarray(image)
    return image.dtype.kind != "f" or bool(np.array_equal(image, np.rint(image)))


#: QC flag of a view wider, or whose body is taller, than a whole-body view can be at the pixel size read
#: (:func:`doubtful_size`).
SIZE_DOUBTFUL_FLAG = "pixel_spacing_doubtful"
#: The widest field a whole-body view has (m): detectors are 0.5-0.65 m wide (NM1: 256 columns of 2.26 mm, 0.58 m).
MAX_FIELD_WIDTH_M = 0.8
#: The tallest body a whole-body view shows (m): the tallest patients stand about 2.1 m.
MAX_BODY_HEIGHT_M = 2.3
#: QC flag of a view the file does not name (read as the anterior view: sides as for ANT).
VIEW_UNNAMED_FLAG = "view_unnamed"


def doubtful_size(image_shape: tuple[int, int], regions, pixel_spacing: tuple[float, float]) -> str:
    """Why a view's pixel size looks wrong, in words, or ``""``: a field wider than :data:`MAX_FIELD_WIDTH_M`, or a
    body taller than :data:`MAX_BODY_HEIGHT_M`, at the size read (session 62: a resampled image whose header kept the
    old pixel size, or two views side by side in one image named as one, was read without a word, its BSI 57 % off
    or its sides crossed)."""
    row_mm, col_mm = (float(s) for s in pixel_spacing)
    width = image_shape[1] * col_mm / 1000.0
    if width > MAX_FIELD_WIDTH_M:
        return f"a field {width:.2f} m wide"
    if "no_body" not in regions.flags and "body_truncated" not in regions.flags:
        height = regions.height * row_mm / 1000.0
        if height > MAX_BODY_HEIGHT_M:
            return f"a body {height:.2f} m tall"
    return ""


def scan_qc_flags(scan: Scan, views: dict[str, ViewPrediction], *, head_down: bool = False,
                  no_upright_head: bool = False) -> list[str]:
    """QC flags of the scan and its predicted views (module docstring; meanings in docs/predict.md); ``head_down``:
    the scan was read turned head-up (:data:`~.orientation.HEAD_DOWN_FLAG`), its views and regions as stored;
    ``no_upright_head``: a view shows no upright head while the other does (:data:`~.orientation.NO_UPRIGHT_HEAD_FLAG`),
    so the views are not judged for being named the other way round (session 62: a POST frame stored head-down was
    flagged ``views_swapped``, the wrong cause and the wrong cure)."""
    flags: list[str] = ["inverted_export"] if scan.metadata.get("display_inverted") else []
    if scan.metadata.get("colour_painted"):
        flags.append("colour_annotations_removed")
    if scan.metadata.get("colour_table"):
        flags.append("colour_table_read")
    if scan.metadata.get("panels_blanked"):
        flags.append("panels_blanked")
    if scan.metadata.get("frame_lines_blanked"):
        flags.append("frame_lines_blanked")
    if scan.metadata.get("display_gamma"):
        flags.append("display_curve_undone")
    if scan.metadata.get("pixel_spacing_assumed"):  # said on stderr only before session 62
        flags.append("pixel_spacing_assumed")
    if "VIEW" in scan.views:  # a view the file does not name: sides as for ANT (session 62: unflagged)
        flags.append(VIEW_UNNAMED_FLAG)
    if scan.metadata.get("views_split"):
        flags.append("views_split")
    if scan.metadata.get("turned_upright"):
        flags.append("turned_upright")
    if scan.metadata.get(MIRRORED_KEY):
        flags.append(MIRRORED_FLAG)
    for name, image in scan.views.items():
        if np.asarray(image).dtype == np.uint8:
            # An 8-bit export holds grey levels, not counts: "few counts" cannot be judged from it.
            flags.append(f"export_8bit_{name}")
        elif holds_counts(image) and float(np.asarray(image, dtype=np.float64).sum()) < LOW_COUNTS:
            flags.append(f"low_counts_{name}")
    clipped = {name for name, result in views.items()
               if clipped_share(scan.view(name), result.regions.body) >= CLIPPED_BODY_SHARE}
    for name, estimate in export_gains(scan).items():
        # A clipped total is a lower bound; past CLIPPED_BODY_SHARE of the body clipped (clipped_export, the same
        # share of the same pixels) it hides too much to tell. A view already low_counts is not said twice.
        if (estimate is not None and estimate.counts_total < LOW_COUNTS and name not in clipped
                and estimate.clipped_share < CLIPPED_BODY_SHARE and f"low_counts_{name}" not in flags):
            flags.append(f"{LOW_COUNTS_ESTIMATED_FLAG}_{name}")
    for name, result in views.items():
        if name in clipped:
            flags.append(f"clipped_export_{name}")
        flags += [f"{flag}_{name}" for flag in result.regions.flags]
        if doubtful_size(np.shape(scan.view(name)), result.regions, scan.pixel_spacing):
            flags.append(f"{SIZE_DOUBTFUL_FLAG}_{name}")
        if not result.regions.bone.any():
            flags.append(f"no_bone_found_{name}")
        if any(lesion.beside == BESIDE_BLADDER for lesion in result.lesions):
            flags.append(f"lesion_beside_bladder_{name}")
        if any(lesion.beside == BESIDE_DISTAL_ARM for lesion in result.lesions):
            flags.append(f"lesion_at_forearm_or_hand_{name}")
        listed = {call.rule for call in result.left_out}
        flags += [f"{flag}_{name}" for rule, flag in RULE_FLAGS.items() if rule in listed]
        inner = ndi.binary_erosion(result.coverage, border_value=1)
        edge = result.coverage & ~inner
        if (result.labels[edge] > 0).any() and not result.coverage.all():
            flags.append(f"lesion_at_window_edge_{name}")
    if superscan_pattern({name: result.axial_to_distal for name, result in views.items()}):
        flags.append(SUPERSCAN_FLAG)
    counts = {name: scan.view(name) for name in views}
    regions = {name: result.regions for name, result in views.items()}
    if head_down:  # judged on the body head-up (a head-down scan's regions are carried onto the views as stored)
        counts = {name: np.asarray(image)[::-1] for name, image in counts.items()}
        regions = {name: turned_regions(one) for name, one in regions.items()}
    if not no_upright_head and views_swapped(counts, regions):
        flags.append(VIEWS_SWAPPED_FLAG)
    return flags
