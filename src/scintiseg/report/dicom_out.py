"""DICOM output through highdicom: a Comprehensive SR (TID 1500 measurement report) with one planar ROI
per lesion of every view, and a Grayscale Softcopy Presentation State (GSPS) that draws the outlines of
every view on the source.

Both reference the *source* SOP instance and, for a multi-frame NM image, the frame of the lesion's view
(frames follow the view order the reader found: Detector Vector order; :mod:`scintiseg.io.dicom`), so an
ANT lesion points at the ANT frame and a POST lesion at the POST frame. A single-frame source has one
view and no frame number. A study whose two views were stored as two files and predicted as one scan
(:mod:`scintiseg.io.view_pairs`) references each view's own file: the SR's regions and the GSPS's annotations point
at the file of their view, and both list the two files as evidence / referenced images. highdicom's SEG is not used: it refuses a multi-frame source without a Frame of
Reference, which whole-body NM images lack (landscape.md).

SR content (PS3.16 TID 1500):

- a first, image-level group (TID 1501) with the scan summary: number of lesions (SCT 246206008; the distinct
  lesions, a pair once, :attr:`~scintiseg.predict.prediction.Prediction.distinct_lesion_count`; before session 62 the
  view with most lesions), BSI over the covered bones, the covered skeletal mass and the Soloway grade (none of the
  three for a partial or blank view), and each QC flag as a qualitative evaluation "Quality control flag" (so a scan
  without lesions still gives a valid report);
- a Qualitative Evaluations container (TID 1500, UMLS C0034375) of TEXT comments (DCM 121106): the model's disclaimer
  (what it was trained on, not a clinical device), the BSI's scope (:func:`~.report_json.bsi_scope`), as the page
  gives them (session 62), and the draft findings and impression in words (session 73, :mod:`.findings_text`);
- the SR Document General flags (PS3.3 C.17.2): a prediction's, or a review nobody signed, is Completion Flag
  ``PARTIAL``, Verification Flag ``UNVERIFIED`` and Preliminary Flag ``PRELIMINARY``; a review a reader signed
  (``scintiseg review --reader``) is ``COMPLETE``, ``VERIFIED`` (the reader the Verifying Observer) and ``FINAL``.
  Verification Flag VERIFIED means "attested to (signed) by a Verifying Observer ... who is accountable for its
  content", Preliminary Flag PRELIMINARY "the content is preliminary" and FINAL "the content is final" (Type 3): a
  document its accountable reader signed is no longer preliminary, and before, VERIFIED beside PRELIMINARY said both
  (audit 74, finding 5). FINAL states the document's status, not a diagnosis: the content is measurements of the
  reader's outlines, and the SR's own comments still carry the model's disclaimer (not a clinical device);
- a reviewed prediction (``scintiseg review``): each lesion's qualitative evaluation "Outline drawn by"
  (:data:`OUTLINE_ORIGINS`: kept, drawn, restored or edited by the reader), the series description ending
  "reviewed", and the Predecessor Documents Sequence naming the SR of the folder the outlines came from;
- one planar ROI group (TID 1410) per lesion of *every* view, in view order then lesion id: finding
  *Lesion* (SCT 52988006); finding site the SNOMED CT concept of the atlas region (:data:`FINDING_SITES`,
  :func:`finding_site`) with the patient's side as the *Laterality* modifier (CID 244) for a paired bone,
  or as a topographical modifier (CID 2) for a midline one; the image region as a closed ``POLYLINE`` in
  pixel coordinates (column, row) of the referenced frame;
- **ANT-POST pairs** (:mod:`scintiseg.predict.pairing`): the two groups of one lesion seen in both views
  carry the same Tracking Identifier (``lesion 1 (ANT) = lesion 3 (POST)``) and the same Tracking Unique
  Identifier. TID 1410 defines the tracking UID as the identity of a finding across measurement groups
  (the standard's own use is one lesion measured at two time points); one lesion outlined on two
  projections is the same finding, so it shares the UID. An unpaired lesion has its own
  (``lesion 2 (ANT)``);
- measurements (TID 1419, a concept plus a *derivation* modifier from CID 7464 where one exists): area
  (SCT 42798000 *Area*, ``mm2``); mean and maximum counts as *Nuclear Medicine Projection Activity*
  (DCM 110820, CID 7180, the concept of a planar NM pixel value) with derivation *Mean* (SCT 373098007)
  / *Maximum* (SCT 56851009), unit ``{counts}``; the mean lesion probability as *Probability*
  (DCM 122157) with derivation *Mean*, unit ``1``, and the model as its Algorithm Identification
  (TID 4019); the lesion-to-normal-bone ratio, which has no standard concept (DCM 126039 is a ratio of
  SUVs, a concentration; planar counts are a projection), keeps a code of the private scheme
  :data:`SCHEME`, as do the BSI and the covered skeletal mass. The private scheme is described in the
  Coding Scheme Identification Sequence (SOP Common module, PS3.3 C.12.1).

The GSPS draws, per view, one graphic annotation on that view's frame: each lesion's outline (a closed
polyline in DICOM's pixel coordinates, where the centre of the top left pixel is (0.5, 0.5); before session 21 the
GSPS drew them half a pixel right and down of the outline, the SR half a pixel left and up) and its id, with the partner's id for a pair (``1 (POST 3)``). It
states Body Part Examined ``WHOLEBODY`` (PS3.16 Annex L, an unpaired body part) and so carries no
Laterality: General Series Laterality is Type 2C, required only for a paired body part (PS3.3
C.7.3.1), and without a body part a validator cannot decide the condition (dciodvfy reported it missing).

Each object is a series of its own, numbered by the reading it holds and its kind (:data:`SERIES_NUMBERS`: a
prediction's 900-902, a review's 910-912, a comparison's 920-921), and described: the SR's Series Description says
what it measures ("..., reviewed" for a review), the GSPS's is its Content Description (audit 74, finding 4).

Both drop a Patient's Size or Weight of zero copied from the source (Type 3, PS3.3 C.7.2.2): cameras write
0 for "not entered", and a zero size is no measurement (dciodvfy warns on it).

Checked with dciodvfy (Debian's dicom3tools) in tests/report/test_dicom_out.py: no error; the warnings
left are the private codes (one per lesion with a ratio, two in the summary, one in the Coding Scheme
Identification Sequence) and whatever the source lacks (a phantom file has no Study Date/Time/ID).

Inputs that are not DICOM have no SOP instance to reference; for them no DICOM output is written and the
report says so. The outlines point into the source file's frame as stored: a body the reader stood, a view it
mirrored back and the views of a page it split are placed back on it (:mod:`scintiseg.io.stored_points`, exact, since
session 27; before, a DICOM body stored lying and a screen capture of a page got no SR or GSPS).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pydicom
from pydicom.multival import MultiValue

from scintiseg import __version__
from scintiseg.display import display_window
from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path
from scintiseg.io.stored_points import points_as_stored
from scintiseg.predict.bsi import soloway_grade
from scintiseg.predict.prediction import Prediction
from scintiseg.report.findings_text import findings_text
from scintiseg.report.report_json import bsi_scope, report_dict

#: Private coding scheme for the quantities that have no standard code: the lesion-to-normal-bone ratio,
#: the BSI and its covered skeletal mass (module docstring).
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

#: The General Equipment (PS3.3 C.7.5.1) every scintiseg DICOM object states: the software that made it, not the
#: camera (the source's equipment stays in the source; the SR, the GSPS and the encapsulated PDF, :mod:`.dicom_pdf`).
EQUIPMENT: dict[str, str] = {"Manufacturer": "scintiseg", "ManufacturerModelName": "scintiseg",
                             "SoftwareVersions": __version__, "DeviceSerialNumber": "0"}

#: Body Part Examined of the GSPS (PS3.16 Annex L): scintiseg reads whole-body scans only.
BODY_PART = "WHOLEBODY"

#: Who drew a lesion's outline in a reviewed prediction (``review.origin``, :mod:`scintiseg.predict.review`): the
#: code of the SR's qualitative evaluation "Outline drawn by" (private scheme) and its meaning (at most 64 characters,
#: LO).
OUTLINE_ORIGINS: dict[str, str] = {
    "network": "the network, kept by the reader",
    "reader": "the reader, where the network outlined nothing",
    "restored": "the network (a call its rules left out), restored by the reader",
    "edited": "the network, edited by the reader",
}

#: Series Number of each DICOM object scintiseg writes into a study, by the reading it holds, then by its kind: a
#: prediction's SR, GSPS and encapsulated PDF 900-902, a review's 910-912, a comparison's SR and GSPS 920-921. Each
#: object is a series of its own (its own Series Instance UID); the number is what a PACS series browser lists and
#: sorts by (PS3.3 C.7.3.1, General Series: "A number that identifies this Series", no uniqueness required), so three
#: readings of one study were three "900" series and three "901" (audit 74, finding 4). A tens digit per reading keeps
#: the kinds in one order and leaves room for more; a reading done again (a review of a review) takes its reading's
#: numbers again, its own series told apart by its UID and its date.
SERIES_NUMBERS: dict[str, dict[str, int]] = {
    "predicted": {"sr": 900, "gsps": 901, "pdf": 902},
    "reviewed": {"sr": 910, "gsps": 911, "pdf": 912},
    "compared": {"sr": 920, "gsps": 921},
}

_SIDES = {"left": "Left", "right": "Right"}


def series_number_of(prediction: Prediction, kind: str) -> int:
    """The Series Number (:data:`SERIES_NUMBERS`) of a prediction's ``kind`` of object (``sr``, ``gsps``, ``pdf``): a
    reviewed prediction's (``prediction.review`` set) or the network's own. A comparison's objects pass theirs
    (``SERIES_NUMBERS["compared"]``) to :func:`write_sr` and :func:`write_gsps`."""
    return SERIES_NUMBERS["reviewed" if prediction.review else "predicted"][kind]


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


def per_view_sources(prediction: Prediction, source) -> dict:
    """View -> the DICOM dataset holding it: ``source`` itself for every view (one file), or ``source`` when it is
    already such a mapping (a study's views stored as two files, :mod:`scintiseg.io.view_pairs`), in view order."""
    if isinstance(source, Mapping):
        return {view: source[view] for view in prediction.scan.view_names}
    return {view: source for view in prediction.scan.view_names}


def _frame_numbers(sources: dict) -> dict[str, int | None]:
    """View -> 1-based frame number in its multi-frame source (frames in view order), None in a single-frame one."""
    numbers: dict[str, int | None] = {}
    for view, ds in sources.items():
        sharing = [other for other, other_ds in sources.items() if other_ds is ds]
        numbers[view] = sharing.index(view) + 1 if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1 else None
    return numbers


def distinct_sources(sources: dict) -> list:
    """The source datasets, each once (a two-view file once, a study's two files both)."""
    return list({id(ds): ds for ds in sources.values()}.values())


def _polyline(points: np.ndarray) -> np.ndarray:
    """A contour (through pixel centres, 0-based (column, row)) as a closed polyline (first point repeated last)
    in DICOM's image-relative pixel coordinates: the top left corner of the top left pixel is (0, 0) and its
    centre (0.5, 0.5) (PS3.3 C.10.5.1.2 for the GSPS's PIXEL units, C.18.6.1.2 for the SR's SCOORD)."""
    pts = np.asarray(points, dtype=np.float32) + np.float32(0.5)
    return np.vstack([pts, pts[:1]])


def _stored_points(prediction: Prediction, view: str, points: np.ndarray) -> np.ndarray:
    """A contour of ``view`` as read, on the file as stored (the SR and GSPS point into it): a body the reader stood
    turned back, a view it mirrored back mirrored again (:func:`scintiseg.io.stored_points.points_as_stored`)."""
    return points_as_stored(points, view, prediction.scan.metadata, prediction.scan.shape)


def _lesion_views(prediction: Prediction) -> dict[int, str]:
    """Lesion id -> the view it was found on."""
    return {lesion.id: view for view, result in prediction.views.items() for lesion in result.lesions}


def tracking_identifiers(prediction: Prediction) -> dict[int, tuple[str, str]]:
    """Lesion id -> (Tracking Identifier, Tracking Unique Identifier) of its SR measurement group.

    The two lesions of an ANT-POST pair get the same text and the same UID (module docstring); every
    other lesion gets its own.

    Example::

        ids = tracking_identifiers(prediction)
        ids[1] == ids[3]   # True when ANT lesion 1 and POST lesion 3 are one lesion
    """
    import highdicom as hd  # lazy: start-up time

    views = _lesion_views(prediction)
    tracking: dict[int, tuple[str, str]] = {}
    for pair in prediction.pairs:
        text = f"lesion {pair.ant_id} ({views[pair.ant_id]}) = lesion {pair.post_id} ({views[pair.post_id]})"
        tracking[pair.ant_id] = tracking[pair.post_id] = (text, str(hd.UID()))
    for lesion_id, view in views.items():
        if lesion_id not in tracking:
            tracking[lesion_id] = (f"lesion {lesion_id} ({view})", str(hd.UID()))
    return tracking


def _without_zero_patient_measures(ds) -> None:
    """Drop Patient's Size / Weight of zero (module docstring: a camera's "not entered")."""
    for keyword in ("PatientSize", "PatientWeight"):
        value = ds.get(keyword)
        if value is not None and value != "" and float(value) == 0.0:
            del ds[keyword]


def _coding_scheme():
    """The Coding Scheme Identification item describing :data:`SCHEME`."""
    item = pydicom.Dataset()
    item.CodingSchemeDesignator = SCHEME
    item.CodingSchemeName = "scintiseg measurements"
    item.CodingSchemeResponsibleOrganization = "scintiseg"
    return item


def tracking_uids(path: str | Path) -> dict[int, str]:
    """Lesion id -> Tracking Unique Identifier of a scintiseg SR's measurement groups (:func:`write_sr`; the ids read
    from each group's Tracking Identifier, ``lesion 1 (ANT)`` or a pair's ``lesion 1 (ANT) = lesion 3 (POST)``);
    empty for a file that is not one."""
    try:
        ds = pydicom.dcmread(path)
    except Exception:  # noqa: BLE001 (pydicom raises many types for a bad file): no ids to read
        return {}
    found: dict[int, str] = {}

    def walk(items) -> None:
        for item in items or []:
            children = getattr(item, "ContentSequence", None) or []
            text = uid = None
            for child in children:
                code = getattr(child, "ConceptNameCodeSequence", [None])[0]
                value = getattr(code, "CodeValue", None)
                if value == "112039":  # Tracking Identifier
                    text = str(getattr(child, "TextValue", ""))
                elif value == "112040":  # Tracking Unique Identifier
                    uid = str(getattr(child, "UID", ""))
            if text and uid:
                found.update({int(n): uid for n in re.findall(r"lesion (\d+) \(", text)})
            walk(children)

    walk(getattr(ds, "ContentSequence", None))
    return found


def person_name(text: str) -> str:
    """A reader's name as typed, as a DICOM person name (PN): ``Doe^Jane`` as it is; a name of one component
    (``Smith``, ``Jane Smith``) with the trailing caret PS3.5 6.2.1.2 asks for, so that highdicom does not warn that
    it "is unlikely to represent the intended person name" (it did, twice, on ``scintiseg review --reader Smith``
    before session 52) and the SR says it is a family name as given."""
    text = str(text)
    return text if "^" in text or "=" in text else f"{text}^"


def write_sr(prediction: Prediction, source_ds, path: str | Path, *,
             tracking: dict[int, tuple[str, str]] | None = None, description: str | None = None,
             series_number: int | None = None) -> None:
    """Write the TID 1500 measurement report of ``prediction`` (every lesion of every view, pairs sharing
    their tracking identifiers) referencing ``source_ds`` to ``path``: one dataset holding every view, or a
    mapping view -> dataset (:func:`per_view_sources`).

    ``tracking``: lesion id -> (Tracking Identifier, Tracking UID) given instead of :func:`tracking_identifiers`'
    (a follow-up's lesions carrying the UIDs of the baseline lesions they continue: ``scintiseg compare``);
    ``description``: the series description (default: ``scintiseg lesion measurements``); ``series_number``: the
    Series Number (default: the prediction's or the review's, :func:`series_number_of`; ``scintiseg compare`` passes
    ``SERIES_NUMBERS["compared"]["sr"]``)."""
    import highdicom as hd  # lazy: start-up time
    from highdicom.sr import (  # lazy: start-up time
        AlgorithmIdentification,
        CodedConcept,
        ImageRegion,
        MeasurementReport,
        ObservationContext,
        PlanarROIMeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation,
        SourceImageForRegion,
        TrackingIdentifier,
    )
    from pydicom.sr.codedict import codes  # lazy: start-up time (0.13 s, needed only beside highdicom)

    sources = per_view_sources(prediction, source_ds)
    frames = _frame_numbers(sources)
    observer = hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="scintiseg", model_name=f"scintiseg {__version__}")
    reader = (prediction.review or {}).get("reader") or {}
    person = None
    if reader.get("name"):  # the outlines a named reader reviewed (scintiseg review --reader): a person observer too
        person = hd.sr.ObserverContext(observer_type=codes.DCM.Person,
                                       observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                                           name=person_name(reader["name"]), organization_name=reader.get("organization")))
    context = ObservationContext(
        observer_person_context=person,
        observer_device_context=hd.sr.ObserverContext(observer_type=codes.DCM.Device, observer_identifying_attributes=observer)
    )
    algorithm = AlgorithmIdentification(name=f"scintiseg {prediction.model_info.get('name', 'model')}".strip(), version=__version__)
    tracking = tracking or tracking_identifiers(prediction)
    origins = (prediction.review or {}).get("origin") or {}
    activity, counts = codes.DCM.NuclearMedicineProjectionActivity, codes.UCUM.Counts
    groups = []
    for view, result in prediction.views.items():
        for contour, lesion in zip(result.contours, result.lesions):
            frame = frames.get(view)
            source = SourceImageForRegion(
                referenced_sop_class_uid=sources[view].SOPClassUID,
                referenced_sop_instance_uid=sources[view].SOPInstanceUID,
                referenced_frame_numbers=None if frame is None else [frame],
            )
            region = ImageRegion(graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=_polyline(_stored_points(prediction, view, contour.points)), source_image=source)
            measurements = [
                hd.sr.Measurement(name=codes.SCT.Area, value=float(lesion.area_mm2), unit=codes.UCUM.SquareMillimeter),
                hd.sr.Measurement(name=activity, value=float(lesion.counts_mean), unit=counts, derivation=codes.SCT.Mean),
                hd.sr.Measurement(name=activity, value=float(lesion.counts_max), unit=counts, derivation=codes.SCT.Maximum),
                hd.sr.Measurement(
                    name=codes.DCM.Probability, value=float(lesion.probability_mean), unit=codes.UCUM.NoUnits, derivation=codes.SCT.Mean, algorithm_id=algorithm
                ),
            ]
            if lesion.lesion_to_normal_bone is not None:
                measurements.append(
                    hd.sr.Measurement(name=CodedConcept("LNBR", SCHEME, "Lesion to normal bone ratio"), value=float(lesion.lesion_to_normal_bone), unit=codes.UCUM.NoUnits)
                )
            site = finding_site(lesion.region, lesion.laterality)
            text, uid = tracking[lesion.id]
            origin = origins.get(str(lesion.id))
            groups.append(
                PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=TrackingIdentifier(uid=uid, identifier=text),
                    referenced_region=region,
                    finding_type=codes.SCT.Lesion,
                    finding_sites=None if site is None else [site],
                    measurements=measurements,
                    qualitative_evaluations=None if origin not in OUTLINE_ORIGINS else [QualitativeEvaluation(
                        CodedConcept("OUTLINEBY", SCHEME, "Outline drawn by"),
                        CodedConcept(origin.upper(), SCHEME, OUTLINE_ORIGINS[origin]))],
                )
            )
    summary = [
        hd.sr.Measurement(name=CodedConcept("246206008", "SCT", "Number of lesions"), value=float(prediction.distinct_lesion_count), unit=CodedConcept("{lesions}", "UCUM", "lesions")),
    ]
    if prediction.bsi_given:  # a partial view (a crop) or a blank one names no bone: no BSI or grade to report
        summary += [
            hd.sr.Measurement(name=CodedConcept("BSI", SCHEME, "Bone Scan Index over covered bones"), value=float(prediction.bsi_percent), unit=codes.UCUM.Percent),
            hd.sr.Measurement(name=CodedConcept("BSICOV", SCHEME, "Skeletal mass covered by the model"), value=float(prediction.covered_mass_percent), unit=codes.UCUM.Percent),
            hd.sr.Measurement(name=CodedConcept("SOLOWAY", SCHEME, "Soloway extent of disease grade"),
                              value=float(soloway_grade(prediction.lesion_count, prediction.superscan_pattern)),
                              unit=codes.UCUM.NoUnits),
        ]
    flags = [QualitativeEvaluation(CodedConcept("QCFLAG", SCHEME, "Quality control flag"),
                                   CodedConcept(flag, SCHEME, flag.replace("_", " ")[:64]))
             for flag in prediction.qc_flags]
    groups.insert(
        0,
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier="scan summary"),
            measurements=summary,
            qualitative_evaluations=flags or None,
        ),
    )
    procedure = CodedConcept("44136002", "SCT", "Bone scan")
    report = MeasurementReport(observation_context=context, procedure_reported=procedure, imaging_measurements=groups)
    # highdicom's SR constructor deep-copies its content, parses the copy back into content items and
    # searches it for image references (to check them against the evidence): per lesion, three passes over
    # a tree that highdicom's own templates have just built and checked. It is handed a report with the
    # summary group only and gets the full content tree afterwards: the evidence it records depends on the sources'
    # study alone, and every region references a source, which is the evidence. Written file unchanged (UIDs aside).
    header = MeasurementReport(observation_context=context, procedure_reported=procedure, imaging_measurements=groups[:1])
    sr = hd.sr.Comprehensive3DSR(
        evidence=distinct_sources(sources),
        content=header,
        series_instance_uid=hd.UID(),
        series_number=series_number_of(prediction, "sr") if series_number is None else series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=EQUIPMENT["Manufacturer"],
        series_description=description or ("scintiseg lesion measurements, reviewed" if prediction.review
                                            else "scintiseg lesion measurements"),
        previous_versions=_predecessor(prediction, distinct_sources(sources)[0]) or None,
        is_complete=bool(person),
        is_final=bool(person),  # FINAL only once the reader signed: see the module docstring (SR flags)
        is_verified=bool(person),  # VERIFIED by the reader who reviewed the outlines, with their organization
        verifying_observer_name=person_name(reader["name"]) if person else None,
        verifying_organization=(reader.get("organization") or "unknown") if person else None,
    )
    sr.ContentSequence = [*report[0].ContentSequence,  # a MeasurementReport is a sequence of its one root item
                          _comments(prediction)]
    sr.CodingSchemeIdentificationSequence = [_coding_scheme()]
    _without_zero_patient_measures(sr)
    declare_character_set(sr)
    with atomic_path(path) as tmp:
        sr.save_as(tmp)


#: Value representations of text a reader's or patient's name may bring letters beyond ASCII into.
TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UT", "UC"})


def declare_character_set(ds) -> None:
    """Give ``ds`` Specific Character Set ``ISO_IR 192`` (UTF-8) when one of its text values (nested ones too) holds a
    letter beyond ASCII and it declares no character set (or only the default repertoire, ``ISO_IR 6``).

    Session 74 (the session's review, R1): a review signed by "Müller^Jürgen" of a source that declares none (NM1,
    as many camera exports) wrote the name into the SR's Verifying Observer Name, the GSPS's Content Creator's Name
    and the Encapsulated PDF's Document Title in the default repertoire, which cannot hold it (dciodvfy: "Character
    invalid for character repertoire"). A set the source declares is kept (its letters are the name's, as read)."""
    declared = ds.get("SpecificCharacterSet")
    declared = [declared] if isinstance(declared, str) else list(declared or [])
    if any(str(value).strip() not in ("", "ISO_IR 6") for value in declared):
        return

    def beyond_ascii(dataset) -> bool:
        for element in dataset:
            if element.VR == "SQ":
                if any(beyond_ascii(item) for item in element.value):
                    return True
            elif element.VR in TEXT_VRS and element.value is not None:
                values = element.value if isinstance(element.value, (list, tuple, MultiValue)) else [element.value]
                if any(not str(value).isascii() for value in values):
                    return True
        return False

    if beyond_ascii(ds):
        ds.SpecificCharacterSet = "ISO_IR 192"


def _predecessor(prediction: Prediction, source) -> list:
    """The SR a reviewed prediction replaces, for the Predecessor Documents Sequence (PS3.3 C.17.2; session 62:
    before, a corrected SR could not be told from the one it corrects in a PACS): the ``sr.dcm`` of the folder the
    reader's outlines came from (``review.source_folder``) when it is an SR of the same study; none otherwise."""
    folder = (prediction.review or {}).get("source_folder")
    path = Path(folder) / "sr.dcm" if folder else None
    if path is None or not path.is_file():
        return []
    try:
        earlier = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 (pydicom raises many types for a bad file): nothing to point at
        return []
    same = str(earlier.get("StudyInstanceUID", "")) == str(source.get("StudyInstanceUID", "")) != ""
    return [earlier] if same and earlier.get("Modality") == "SR" and "SOPInstanceUID" in earlier else []


def _comments(prediction: Prediction):
    """TID 1500's Qualitative Evaluations container (UMLS C0034375) of TEXT comments (DCM 121106) a reader of the
    SR alone needs (session 62; before, only the page said them): what the model was trained on and that it is no
    clinical device, what the BSI covers and how to read it (a superscan's understated BSI, a partial view's none), and
    (session 73) the draft findings and impression in words (:mod:`.findings_text`), headed as a machine draft."""
    import highdicom as hd  # lazy: start-up time
    from pydicom.sr.codedict import codes  # lazy: start-up time

    draft = findings_text(report_dict(prediction))  # (3 ms on a two-view scan of 7 lesions)
    words = f"{draft['note']} Findings: {' '.join(draft['findings']) or 'none.'} Impression: {draft['impression']}"
    # the SR's default character repertoire is ASCII (dciodvfy: "Value invalid for this VR" on mm²)
    words = words.replace("²", "2").encode("ascii", "replace").decode("ascii")
    texts = [prediction.model_info.get("disclaimer"), f"BSI scope: {bsi_scope(prediction)}", words]
    items = [hd.sr.TextContentItem(name=codes.DCM.Comment, value=str(text),
                                   relationship_type=hd.sr.RelationshipTypeValues.CONTAINS) for text in texts if text]
    container = hd.sr.ContainerContentItem(name=hd.sr.CodedConcept("C0034375", "UMLS", "Qualitative Evaluations"),
                                           relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
    container.ContentSequence = items
    return container


def _cielab(colour: str):
    """A ``#rrggbb`` colour as a GSPS display colour (CIE L*a*b*, scikit-image's D65 conversion)."""
    import highdicom as hd  # lazy: start-up time
    from skimage.color import rgb2lab  # lazy: start-up time

    rgb = np.array([[[int(colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5)]]])
    lab = rgb2lab(rgb)[0, 0]
    return hd.color.CIELabColor(float(np.clip(lab[0], 0, 100)), *(float(np.clip(v, -128, 127)) for v in lab[1:]))


def write_gsps(prediction: Prediction, source_ds, path: str | Path, *,
               layer_of: Callable[[str, int], str] | None = None, layer_colours: Mapping[str, str] | None = None,
               label: str = "LESIONS", description: str = "scintiseg lesion contours",
               series_number: int | None = None) -> None:
    """Write a GSPS drawing every lesion outline of every view (and its id) on that view's frame of the source
    (``source_ds``: one dataset holding every view, or a mapping view -> dataset, :func:`per_view_sources`).

    By default one graphic layer, ``LESIONS``. With ``layer_of`` (view, lesion id -> a name, e.g. a follow-up lesion's
    status) each outline goes to the layer of its name, upper case, coloured by ``layer_colours`` (name ->
    ``#rrggbb``), and its text names it too; ``label`` and ``description`` are the presentation state's Content
    Label and Content Description, the description its Series Description too (audit 74, finding 4: a GSPS series had
    none, nameless in a PACS series browser); ``series_number``: the Series Number (default: the prediction's or the
    review's, :func:`series_number_of`; ``scintiseg compare`` passes ``SERIES_NUMBERS["compared"]["gsps"]``).

    A reviewed prediction (``scintiseg review``; session 62: its GSPS could not be told from the network's) draws
    the outlines only its reader drew on a layer of their own, ``READER`` (orange, as on the page), the others on
    ``LESIONS``, says "reviewed" in its Content Description, and names a signing reader as its Content Creator."""
    import highdicom as hd  # lazy: start-up time
    from highdicom.pr import (  # lazy: start-up time
        AnnotationUnitsValues,
        GraphicAnnotation,
        GraphicLayer,
        GraphicObject,
        GraphicTypeValues,
        TextObject,
    )

    sources = per_view_sources(prediction, source_ds)
    frames = _frame_numbers(sources)
    views = _lesion_views(prediction)
    partners = prediction.paired_with
    window = max(display_window(np.concatenate([np.ravel(v) for v in prediction.scan.views.values()])), 1.0)
    review = prediction.review or {}
    origins = review.get("origin") or {}
    if layer_of is None and "reader" in origins.values():
        layer_of, layer_colours = (lambda view, lesion_id: "reader" if origins.get(str(lesion_id)) == "reader"
                                   else "lesions"), {"lesions": "#ff0000", "reader": "#e07000"}
    if review and description == "scintiseg lesion contours":
        description = "scintiseg lesion contours, reviewed"
    signer = (review.get("reader") or {}).get("name")
    colours = {"lesions": "#ff0000", **(layer_colours or {})}
    if layer_of is None:
        names = ["lesions"]
    else:  # the layers drawn, in the order of layer_colours, then by name
        present = {layer_of(view, lesion.id) for view, result in prediction.views.items() for lesion in result.lesions}
        names = [name for name in colours if name in present] + sorted(present - colours.keys())
    layers = {name: GraphicLayer(layer_name=name.upper(), order=order,
                                 description=f"scintiseg {name} contours" if layer_of else "scintiseg lesion contours",
                                 display_color=_cielab(colours.get(name, "#ff0000")))
              for order, name in enumerate(names, start=1)}
    annotations = []
    for view, result in prediction.views.items():
        drawn: dict[str, tuple[list, list]] = {}
        for contour, lesion in zip(result.contours, result.lesions):
            name = layer_of(view, lesion.id) if layer_of is not None else "lesions"
            objects, texts = drawn.setdefault(name, ([], []))
            outline = _polyline(_stored_points(prediction, view, contour.points))
            objects.append(GraphicObject(graphic_type=GraphicTypeValues.POLYLINE, graphic_data=outline, units=AnnotationUnitsValues.PIXEL, is_filled=False))
            x0, y0 = outline.min(axis=0) - 0.5  # the top left corner of the lesion's top left pixel
            partner = partners.get(lesion.id)
            text = str(lesion.id) if partner is None else f"{lesion.id} ({views[partner]} {partner})"
            text = text if layer_of is None or name == "lesions" else f"{text} {name}"
            texts.append(TextObject(text_value=text, units=AnnotationUnitsValues.PIXEL, anchor_point=(float(x0), float(max(y0 - 2.0, 0.0)))))
        annotations += [GraphicAnnotation(referenced_images=[sources[view]], graphic_layer=layers[name],
                                          graphic_objects=objects, text_objects=texts,
                                          referenced_frame_number=frames.get(view))
                        for name, (objects, texts) in drawn.items()]
    gsps = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=distinct_sources(sources),
        series_instance_uid=hd.UID(),
        series_number=series_number_of(prediction, "gsps") if series_number is None else series_number,
        series_description=description,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=EQUIPMENT["Manufacturer"],
        manufacturer_model_name=EQUIPMENT["ManufacturerModelName"],
        software_versions=EQUIPMENT["SoftwareVersions"],
        device_serial_number=EQUIPMENT["DeviceSerialNumber"],
        content_label=label,
        content_description=description,
        content_creator_name=person_name(signer) if signer else None,
        graphic_layers=list(layers.values()) if annotations else None,
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
    _without_zero_patient_measures(gsps)
    declare_character_set(gsps)
    with atomic_path(path) as tmp:
        gsps.save_as(tmp)


#: Type 2 attributes of the Patient and General Study modules (PS3.3 C.7.1.1, C.7.2.1) that the SR and the GSPS
#: copy from their source: present in every conformant image, yet an anonymised export often drops them.
TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                "ReferringPhysicianName", "StudyID", "AccessionNumber")
#: Type 1 attributes every reference needs: without them no SR or GSPS can point at the source.
TYPE1_REFERENCED = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")


def read_source_dataset(path: str | Path):
    """The source DICOM dataset (without pixel data) or a ScintisegError.

    A source without a Type 2 attribute the SR and GSPS copy (:data:`TYPE2_COPIED`) gets it empty in the copy read
    here (the file is not touched): Type 2 may be empty, and highdicom reads each one (before session 62 an
    anonymised export without a Patient ID got no SR and no GSPS, said only as "'FileDataset' object has no
    attribute 'PatientID'"). A source without a Type 1 UID the references need (:data:`TYPE1_REFERENCED`) is refused
    with a sentence naming it."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types for a bad file
        raise ScintisegError(f"cannot re-read the DICOM source for references ({exc})", path=path) from None
    missing = [keyword for keyword in TYPE1_REFERENCED if not str(ds.get(keyword, "") or "").strip()]
    if missing:
        raise ScintisegError(f"the DICOM source has no {', '.join(missing)}: an SR or GSPS cannot reference it",
                             path=path)
    for keyword in TYPE2_COPIED:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds
