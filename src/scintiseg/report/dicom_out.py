"""DICOM output through highdicom: a Comprehensive SR (TID 1500 measurement report) with one planar ROI
per lesion, and a Grayscale Softcopy Presentation State (GSPS) that draws the contours on the source.

Both reference the *source* SOP instance and, for a multi-frame NM image, the frame of the lesion's view
(frames follow the view order the reader found: Detector Vector order; :mod:`scintiseg.io.dicom`).
highdicom's SEG is not used: it refuses a multi-frame source without a Frame of Reference, which whole-
body NM images lack (landscape.md).

SR content per lesion (TID 1410 planar ROI measurements):

- tracking identifier ``lesion <id>`` and a UID; finding *Lesion* (SCT 52988006); finding site the
  SNOMED CT concept of the atlas region (:data:`FINDING_SITES`, :func:`finding_site`) with the patient's
  side as the *Laterality* modifier (CID 244) for a paired bone, or as a topographical modifier (CID 2)
  for a midline one;
- the image region: the contour as a closed ``POLYLINE`` in pixel coordinates (column, row) of the
  referenced frame;
- a first, image-level group (TID 1501) with the scan summary: lesion count, BSI over the covered bones
  and the covered skeletal mass (so a scan without lesions still gives a valid report);
- measurements: area (mm^2, ``UCUM mm2``; SCT 42798000 *Area*), mean / maximum counts (``{counts}``),
  lesion-to-normal-bone ratio (``1``), mean probability (``1``); the last three with scintiseg codes.

The GSPS states Body Part Examined ``WHOLEBODY`` (PS3.16 Annex L, an unpaired body part) and so carries
no Laterality: General Series Laterality is Type 2C, required only for a paired body part (PS3.3
C.7.3.1), and without a body part a validator cannot decide the condition (dciodvfy reported it missing).

Checked with dciodvfy (Debian's dicom3tools) in tests/report/test_dicom_out.py; the warnings left are
the private measurement codes below and the source's zero Patient's Size/Weight, copied as read.

Inputs that are not DICOM have no SOP instance to reference; for them no DICOM output is written and the
report says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from scintiseg import __version__
from scintiseg.display import display_window
from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path
from scintiseg.predict.prediction import Prediction

#: Private coding scheme for the quantities that have no standard code (mean / maximum counts, mean
#: probability, lesion-to-normal-bone ratio, lesion count, BSI and its covered mass).
SCHEME = "99SCINTISEG"

#: SNOMED CT finding site of each atlas region (:data:`scintiseg.predict.regions.REGION_NAMES`, side
#: suffix removed), as the name of a concept in pydicom's code dictionary (``codes.SCT.<name>``).
#: A bone structure where the dictionary has one; the region itself where it has none: ``forearm``
#: (radius and ulna; *Forearm*, 14975008) and ``foot`` (*Foot*, 56459004). ``other`` (soft tissue or
#: outside the atlas) names no anatomy, so its lesions get no finding site (it is optional in TID 1419)
#: rather than a private code; no region needs one.
FINDING_SITES: dict[str, str] = {
    "skull": "Skull",  # 89546000
    "mandible": "Mandible",  # 91609006
    "cervical_spine": "CervicalSpine",  # 122494005
    "thoracic_spine": "ThoracicSpine",  # 122495006
    "lumbar_spine": "LumbarSpine",  # 122496007
    "sacrum": "Sacrum",  # 54735007
    "ribs": "Rib",  # 113197003 bone structure of rib
    "sternum": "Sternum",  # 56873002
    "clavicle": "Clavicle",  # 51299004
    "scapula": "Scapula",  # 79601000
    "humerus": "Humerus",  # 85050009
    "forearm": "Forearm",  # 14975008
    "hand": "HandBone",  # 24097009 bone structure of hand
    "pelvis": "BoneStructureOfPelvis",  # 118645006
    "femur": "Femur",  # 71341001
    "tibia_fibula": "TibiaAndFibula",  # 110536004
    "foot": "Foot",  # 56459004
}

#: Body Part Examined of the GSPS (PS3.16 Annex L): scintiseg reads whole-body scans only.
BODY_PART = "WHOLEBODY"

_SIDES = {"left": "Left", "right": "Right"}


def finding_site(region: str, laterality: str):
    """The TID 1419 finding site of an atlas region, or None for ``other``.

    Args:
        region: an atlas region name (``ribs_left``, ``sternum``, ...; :mod:`scintiseg.predict.regions`).
        laterality: the lesion's side (``left``, ``right`` or ``midline``), used for midline regions only.

    Returns:
        A ``highdicom.sr.FindingSite``: the SNOMED CT concept of :data:`FINDING_SITES`; for a region with a
        side suffix, that side as the Laterality modifier (SCT Left 7771000 / Right 24028007, CID 244); for
        a midline region, a lesion off the midline gets its side as a topographical modifier (CID 2).

    Example::

        finding_site("ribs_left", "left").laterality.value   # "7771000"
    """
    import highdicom as hd  # lazy: start-up time
    from pydicom.sr.codedict import codes  # lazy: start-up time (0.13 s, needed only beside highdicom)

    base, _, side = region.rpartition("_")
    if side not in _SIDES:
        base, side = region, ""
    if base not in FINDING_SITES:
        return None
    location = getattr(codes.SCT, FINDING_SITES[base])
    if side:
        return hd.sr.FindingSite(location, laterality=getattr(codes.SCT, _SIDES[side]))
    modifier = getattr(codes.SCT, _SIDES[laterality]) if laterality in _SIDES else None
    return hd.sr.FindingSite(location, topographical_modifier=modifier)


def _frame_numbers(source_ds, views: list[str]) -> dict[str, int | None]:
    """View -> 1-based frame number in a multi-frame source (None for a single-frame one)."""
    frames = int(getattr(source_ds, "NumberOfFrames", 1) or 1)
    if frames <= 1:
        return {view: None for view in views}
    return {view: index + 1 for index, view in enumerate(views)}


def _polyline(points: np.ndarray) -> np.ndarray:
    """Closed polyline (first point repeated last) in DICOM 2-D pixel coordinates (column, row)."""
    pts = np.asarray(points, dtype=np.float32)
    return np.vstack([pts, pts[:1]])


def write_sr(prediction: Prediction, source_ds, path: str | Path) -> None:
    """Write the TID 1500 measurement report of ``prediction`` referencing ``source_ds`` to ``path``."""
    import highdicom as hd  # lazy: start-up time
    from highdicom.sr import (  # lazy: start-up time
        CodedConcept,
        ImageRegion,
        MeasurementReport,
        ObservationContext,
        PlanarROIMeasurementsAndQualitativeEvaluations,
        SourceImageForRegion,
        TrackingIdentifier,
    )
    from pydicom.sr.codedict import codes  # lazy: start-up time (0.13 s, needed only beside highdicom)

    frames = _frame_numbers(source_ds, prediction.scan.view_names)
    observer = hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="scintiseg", model_name=f"scintiseg {__version__}")
    context = ObservationContext(
        observer_device_context=hd.sr.ObserverContext(observer_type=codes.DCM.Device, observer_identifying_attributes=observer)
    )
    groups = []
    area = CodedConcept("42798000", "SCT", "Area")
    for view, result in prediction.views.items():
        for contour, lesion in zip(result.contours, result.lesions):
            frame = frames.get(view)
            source = SourceImageForRegion(
                referenced_sop_class_uid=source_ds.SOPClassUID,
                referenced_sop_instance_uid=source_ds.SOPInstanceUID,
                referenced_frame_numbers=None if frame is None else [frame],
            )
            region = ImageRegion(graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=_polyline(contour.points), source_image=source)
            measurements = [
                hd.sr.Measurement(name=area, value=float(lesion.area_mm2), unit=codes.UCUM.SquareMillimeter),
                hd.sr.Measurement(name=CodedConcept("MEANCNT", SCHEME, "Mean counts"), value=float(lesion.counts_mean), unit=CodedConcept("{counts}", "UCUM", "counts")),
                hd.sr.Measurement(name=CodedConcept("MAXCNT", SCHEME, "Maximum counts"), value=float(lesion.counts_max), unit=CodedConcept("{counts}", "UCUM", "counts")),
                hd.sr.Measurement(name=CodedConcept("MEANPROB", SCHEME, "Mean lesion probability"), value=float(lesion.probability_mean), unit=CodedConcept("1", "UCUM", "no units")),
            ]
            if lesion.lesion_to_normal_bone is not None:
                measurements.append(
                    hd.sr.Measurement(name=CodedConcept("LNBR", SCHEME, "Lesion to normal bone ratio"), value=float(lesion.lesion_to_normal_bone), unit=CodedConcept("1", "UCUM", "no units"))
                )
            site = finding_site(lesion.region, lesion.laterality)
            groups.append(
                PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier=f"lesion {lesion.id}"),
                    referenced_region=region,
                    finding_type=CodedConcept("52988006", "SCT", "Lesion"),
                    finding_sites=None if site is None else [site],
                    measurements=measurements,
                )
            )
    summary = [
        hd.sr.Measurement(name=CodedConcept("LESCOUNT", SCHEME, "Number of lesions"), value=float(prediction.lesion_count), unit=CodedConcept("{lesions}", "UCUM", "lesions")),
        hd.sr.Measurement(name=CodedConcept("BSI", SCHEME, "Bone Scan Index over covered bones"), value=float(prediction.bsi_percent), unit=CodedConcept("%", "UCUM", "percent")),
        hd.sr.Measurement(name=CodedConcept("BSICOV", SCHEME, "Skeletal mass covered by the model"), value=float(prediction.covered_mass_percent), unit=CodedConcept("%", "UCUM", "percent")),
    ]
    groups.insert(
        0,
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier="scan summary"),
            measurements=summary,
        ),
    )
    report = MeasurementReport(
        observation_context=context,
        procedure_reported=CodedConcept("44136002", "SCT", "Bone scan"),
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source_ds],
        content=report,
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="scintiseg",
        series_description="scintiseg lesion measurements",
        is_complete=False,
        is_final=False,
        is_verified=False,
    )
    with atomic_path(path) as tmp:
        sr.save_as(tmp)


def write_gsps(prediction: Prediction, source_ds, path: str | Path) -> None:
    """Write a GSPS drawing every lesion contour (and its id) on the source image."""
    import highdicom as hd  # lazy: start-up time
    from highdicom.pr import (  # lazy: start-up time
        AnnotationUnitsValues,
        GraphicAnnotation,
        GraphicLayer,
        GraphicObject,
        GraphicTypeValues,
        TextObject,
    )

    frames = _frame_numbers(source_ds, prediction.scan.view_names)
    window = max(display_window(np.concatenate([np.ravel(v) for v in prediction.scan.views.values()])), 1.0)
    layer = GraphicLayer(layer_name="LESIONS", order=1, description="scintiseg lesion contours", display_color=hd.color.CIELabColor(50.0, 80.0, 60.0))
    annotations = []
    for view, result in prediction.views.items():
        objects, texts = [], []
        for contour, lesion in zip(result.contours, result.lesions):
            objects.append(GraphicObject(graphic_type=GraphicTypeValues.POLYLINE, graphic_data=_polyline(contour.points) + 1.0, units=AnnotationUnitsValues.PIXEL, is_filled=False))
            x0, y0 = contour.points.min(axis=0) + 1.0
            texts.append(TextObject(text_value=str(lesion.id), units=AnnotationUnitsValues.PIXEL, anchor_point=(float(x0), float(max(y0 - 2.0, 1.0)))))
        if not objects:
            continue
        frame = frames.get(view)
        annotations.append(
            GraphicAnnotation(
                referenced_images=[source_ds],
                graphic_layer=layer,
                graphic_objects=objects,
                text_objects=texts,
                referenced_frame_number=frame,
            )
        )
    gsps = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[source_ds],
        series_instance_uid=hd.UID(),
        series_number=901,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="scintiseg",
        manufacturer_model_name="scintiseg",
        software_versions=__version__,
        device_serial_number="0",
        content_label="LESIONS",
        content_description="scintiseg lesion contours",
        graphic_layers=[layer] if annotations else None,
        graphic_annotations=annotations or None,
        # An explicit VOI window: highdicom otherwise looks for one in the source's functional groups,
        # which a (non-enhanced) multi-frame NM image does not have. Window = 0..display_window (scintiseg.display).
        voi_lut_transformations=[hd.pr.SoftcopyVOILUTTransformation(window_center=window / 2.0, window_width=window)],
        # Likewise the modality LUT: NM pixel values are counts, stored without rescaling, so the
        # transformation is the identity (highdicom would read it from the functional groups).
        modality_lut_transformation=hd.ModalityLUTTransformation(rescale_intercept=0.0, rescale_slope=1.0, rescale_type="US"),
    )
    # A whole body is unpaired, so General Series Laterality (Type 2C) must be absent (module docstring).
    gsps.BodyPartExamined = BODY_PART
    with atomic_path(path) as tmp:
        gsps.save_as(tmp)


def read_source_dataset(path: str | Path):
    """The source DICOM dataset (without pixel data) or a ScintisegError."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types for a bad file
        raise ScintisegError(f"cannot re-read the DICOM source for references ({exc})", path=path) from None
