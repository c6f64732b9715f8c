"""DICOM SR and GSPS (scintiseg.report.dicom_out): finding sites coded in SNOMED CT with the patient's side,
every lesion of both views in the SR and the GSPS on its view's frame, ANT-POST pairs sharing their tracking
identifiers, a GSPS whose General Series a validator accepts, Debian's dciodvfy (dicom3tools) on both files, and the
outlines of a view read mirrored back placed on the file as stored."""

import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from support import blob_settings
from scintiseg.io import read_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.predict.loader import SYNTHETIC_DISCLAIMER
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.regions import REGION_NAMES
from scintiseg.prepare.views import mirror
from scintiseg.report.dicom_out import BODY_PART, FINDING_SITES, SCHEME, finding_site, tracking_identifiers, write_gsps, write_sr
from scintiseg.report.outputs import write_outputs
from scintiseg.scan import Scan

LEFT, RIGHT = "7771000", "24028007"  # SCT Left / Right
FINDING_SITE, LATERALITY, TOPOGRAPHICAL = "363698007", "272741003", "106233006"
#: SNOMED CT ids of the regions the test prediction hits, written out rather than read from FINDING_SITES.
SNOMED = {"skull": "89546000", "ribs": "113197003", "lumbar_spine": "122496007", "forearm": "14975008", "tibia_fibula": "110536004"}

#: dciodvfy warnings on the SR of :func:`prediction` (6 lesions on NM1), measured with dicom3tools 1.00 (Debian 12):
#: 35 before issue 15 (one private-code warning per finding site), 29 with SNOMED finding sites (27 private
#: measurement names, the source's zero size and weight), 9 now: the private codes left (BSI and covered mass
#: in the summary, one lesion-to-normal-bone ratio per lesion) and the Coding Scheme Identification item; 10 since
#: session 62 (the Soloway grade in the summary), and two per QC flag.
SR_WARNINGS = 10
TRACKING_ID, TRACKING_UID, IMAGE_REGION = "112039", "112040", "111030"


@pytest.fixture(scope="module")
def prediction(nm1_scan, make_blobs):
    """Six lesions on NM1 (ANT): a midline region off the midline (skull, right), paired regions on both
    sides (ribs, forearm, tibia/fibula) and a midline one on the midline (lumbar spine)."""
    blobs = [(300, 100, 5), (330, 160, 3), (380, 128, 3), (130, 120, 4), (700, 110, 4), (420, 60, 4)]
    prob = make_blobs(nm1_scan.shape, blobs)
    coverage = np.ones(nm1_scan.shape, dtype=bool)
    # The atlas names these blobs (placed on its boxes); the SR encoding, not the naming, is under test here.
    # Blobs in the map only (not in NM1's counts): every one kept, the count-based rules off.
    return predict_from_probabilities(nm1_scan, {"ANT": prob}, {"ANT": coverage},
                                      blob_settings(0.5, 4, regions="atlas"))


@pytest.fixture(scope="module")
def written(prediction, nm1_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dicom")
    source = pydicom.dcmread(nm1_path, stop_before_pixels=True)
    write_sr(prediction, source, folder / "sr.dcm")
    write_gsps(prediction, source, folder / "gsps.dcm")
    return folder


def _items(items):
    for item in items:
        yield item
        yield from _items(item.get("ContentSequence", []))


def _code(item, attribute):
    return (item[attribute][0].CodeValue, item[attribute][0].CodingSchemeDesignator)


def _side(site) -> tuple[str | None, str | None]:
    """(laterality, topographical modifier) code values of a finding-site item."""
    found = {_code(i, "ConceptNameCodeSequence")[0]: i.ConceptCodeSequence[0].CodeValue for i in site.get("ContentSequence", [])}
    return found.get(LATERALITY), found.get(TOPOGRAPHICAL)


@pytest.mark.parametrize("region", REGION_NAMES)
def test_every_atlas_region_has_a_snomed_finding_site(region):
    site = finding_site(region, "left")
    if region == "other":  # soft tissue / outside the atlas: no anatomy to name, no private code either
        assert site is None
        return
    location = site.value
    assert location.scheme_designator == "SCT" and location.value.isdigit()
    if region.endswith(("_left", "_right")):  # the side is the region's, whatever the centroid says
        assert site.laterality.value == (LEFT if region.endswith("_left") else RIGHT)
        assert finding_site(region, "midline").laterality.value == site.laterality.value
        assert site.topographical_modifier is None
    else:
        assert site.laterality is None and site.topographical_modifier.value == LEFT
        assert finding_site(region, "midline").topographical_modifier is None


def test_distinct_regions_have_distinct_concepts():
    bases = {name.removesuffix("_left").removesuffix("_right") for name in REGION_NAMES} - {"other"}
    assert bases == set(FINDING_SITES)  # every atlas region is mapped, nothing else
    values = [finding_site(base, "midline").value.value for base in sorted(bases)]
    assert len(set(values)) == len(values)


def test_sr_finding_sites_are_snomed_with_the_lesions_side(prediction, written):
    sr = pydicom.dcmread(written / "sr.dcm")
    sites = [i for i in _items(sr.ContentSequence) if "ConceptNameCodeSequence" in i and _code(i, "ConceptNameCodeSequence")[0] == FINDING_SITE]
    lesions = prediction.lesions
    assert len(sites) == len(lesions) and {lesion.region for lesion in lesions} >= {"skull", "ribs_left", "ribs_right", "lumbar_spine"}
    assert all(_code(site, "ConceptCodeSequence")[1] == "SCT" for site in sites)
    for lesion, site in zip(lesions, sites):  # groups are written in lesion order
        assert site.ConceptCodeSequence[0].CodeValue == SNOMED[lesion.region.removesuffix("_left").removesuffix("_right")]
        laterality, modifier = _side(site)
        expected = {"left": LEFT, "right": RIGHT}.get(lesion.laterality)
        if lesion.region.endswith(("_left", "_right")):
            assert laterality == (LEFT if lesion.region.endswith("_left") else RIGHT) and modifier is None
        else:
            assert laterality is None and modifier == expected
    assert "99SCINTISEG" not in {_code(site, "ConceptCodeSequence")[1] for site in sites}


def test_gsps_names_an_unpaired_body_part_and_no_laterality(written):
    gsps = pydicom.dcmread(written / "gsps.dcm")
    assert gsps.BodyPartExamined == BODY_PART == "WHOLEBODY"
    assert "Laterality" not in gsps  # Type 2C: present only for a paired body part (PS3.3 C.7.3.1)


def _dciodvfy(path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return (result.stdout + result.stderr).splitlines()


def test_dciodvfy_finds_no_error(written, prediction):
    if not shutil.which("dciodvfy"):
        pytest.skip("dciodvfy not installed (Debian: apt-get install dicom3tools; .ci/run does it as root)")
    gsps, sr = _dciodvfy(written / "gsps.dcm"), _dciodvfy(written / "sr.dcm")
    assert gsps[0] == "GrayscaleSoftcopyPresentationState" and sr[0] == "Comprehensive3DSR"
    assert [line for line in gsps + sr if line.startswith("Error")] == []
    assert not [line for line in gsps if "Laterality" in line]
    warnings = [line for line in sr if line.startswith("Warning")]
    private = [line for line in warnings if SCHEME in line]
    ratios = sum(lesion.lesion_to_normal_bone is not None for lesion in prediction.lesions)
    # BSI, covered mass, Soloway grade, the ratios, each QC flag's name and value, the scheme's description only
    assert len(private) == 3 + ratios + 2 * len(prediction.qc_flags) + 1
    assert not [line for line in gsps + sr if "Patient's Size" in line or "Patient's Weight" in line]
    assert len(warnings) <= SR_WARNINGS + 2 * len(prediction.qc_flags)  # (and a QC flag's name and value)


# --- both views: a two-frame NM source (ANT, POST = NM1 mirrored), lesions paired and unpaired ---------------

#: (row, col, radius) on ANT; POST holds the first three mirrored (the same lesions seen from behind: pairs)
#: and one of its own; the last ANT blob has no POST partner.
ANT_BLOBS = [(300, 100, 5), (420, 60, 4), (700, 110, 4), (130, 120, 4)]
POST_ONLY = [(560, 200, 4)]


@pytest.fixture(scope="module")
def two_views(nm1_scan, make_blobs, tmp_path_factory):
    """(prediction, source path, folder with sr.dcm and gsps.dcm) of a two-view scan, by a model whose
    ``model_info`` has the phantom-trained model's disclaimer (as :mod:`scintiseg.predict.loader` gives it)."""
    folder = tmp_path_factory.mktemp("two_views")
    ant = np.asarray(nm1_scan.view("ANT"), dtype=np.uint16)
    write_dicom(Scan({"ANT": ant, "POST": mirror(ant)}, nm1_scan.pixel_spacing, patient_id="TWO"), folder / "scan.dcm")
    scan = read_scan(folder / "scan.dcm")
    width = scan.shape[1]
    post_blobs = [(r, width - 1 - c, radius) for r, c, radius in ANT_BLOBS[:3]] + POST_ONLY
    probabilities = {"ANT": make_blobs(scan.shape, ANT_BLOBS), "POST": make_blobs(scan.shape, post_blobs)}
    prediction = predict_from_probabilities(scan, probabilities, settings=blob_settings(0.5, 4),
                                            model_info={"name": "test", "disclaimer": SYNTHETIC_DISCLAIMER})
    source = pydicom.dcmread(folder / "scan.dcm", stop_before_pixels=True)
    write_sr(prediction, source, folder / "sr.dcm")
    write_gsps(prediction, source, folder / "gsps.dcm")
    return prediction, source, folder


def _lesion_groups(sr) -> list:
    """The SR's planar ROI groups (those with an image region), in document order."""
    container = next(i for i in sr.ContentSequence if i.ValueType == "CONTAINER")
    groups = [g for g in container.ContentSequence if g.ValueType == "CONTAINER"]
    return [g for g in groups if any(_code(i, "ConceptNameCodeSequence")[0] == IMAGE_REGION for i in g.ContentSequence)]


def _group_tracking(group) -> tuple[str, str]:
    items = {_code(i, "ConceptNameCodeSequence")[0]: i for i in group.ContentSequence}
    return items[TRACKING_ID].TextValue, items[TRACKING_UID].UID


def _group_region(group):
    region = next(i for i in group.ContentSequence if _code(i, "ConceptNameCodeSequence")[0] == IMAGE_REGION)
    return np.asarray(region.GraphicData, dtype=np.float64).reshape(-1, 2), region.ContentSequence[0].ReferencedSOPSequence[0]


def _assert_on_the_lesion(points: np.ndarray, labels: np.ndarray, label: int) -> None:
    """Every vertex, read as DICOM reads it (pixel (row r, column c) spans [c, c+1) x [r, r+1)), lies in a pixel
    of the lesion (``label`` in the view's lesion map): the outline runs through its boundary pixels' centres, not
    half a pixel beside them."""
    cols, rows = np.floor(points[:, 0]).astype(int), np.floor(points[:, 1]).astype(int)
    assert (labels[rows, cols] == label).all()
    assert np.allclose(points % 1.0, 0.5)  # pixel centres


def test_two_view_case_has_lesions_on_both_views_and_pairs(two_views):
    prediction = two_views[0]
    assert {view: len(result.lesions) for view, result in prediction.views.items()} == {"ANT": 4, "POST": 4}
    assert len(prediction.pairs) == 3  # the mirrored blobs; the ANT-only and POST-only ones stay alone


def test_sr_carries_every_lesion_of_both_views_on_its_frame(two_views):
    prediction, source, folder = two_views
    groups = _lesion_groups(pydicom.dcmread(folder / "sr.dcm"))
    assert len(groups) == len(prediction.lesions) == 8
    frame = {"ANT": 1, "POST": 2}  # write_dicom: ANT then POST, Detector Vector [1, 2]
    written = [(view, contour, lesion) for view, result in prediction.views.items() for contour, lesion in zip(result.contours, result.lesions)]
    for group, (view, contour, lesion) in zip(groups, written):  # lesion order, view by view
        points, reference = _group_region(group)
        assert reference.ReferencedSOPInstanceUID == source.SOPInstanceUID
        assert [int(f) for f in np.atleast_1d(reference.ReferencedFrameNumber)] == [frame[view]]
        np.testing.assert_allclose(points[:-1] - 0.5, contour.points, atol=1e-3)  # the outline, DICOM pixel coordinates
        assert (points[0] == points[-1]).all()
        _assert_on_the_lesion(points, prediction.views[view].labels, prediction.views[view].lesions.index(lesion) + 1)
        assert f"lesion {lesion.id} ({view})" in _group_tracking(group)[0]


def test_sr_pairs_share_tracking_identifier_and_uid(two_views):
    prediction, _, folder = two_views
    groups = _lesion_groups(pydicom.dcmread(folder / "sr.dcm"))
    by_id = dict(zip([lesion.id for lesion in prediction.lesions], map(_group_tracking, groups)))
    assert {k: text for k, (text, _) in by_id.items()} == {k: text for k, (text, _) in tracking_identifiers(prediction).items()}
    for pair in prediction.pairs:
        assert by_id[pair.ant_id] == by_id[pair.post_id]
        assert by_id[pair.ant_id][0] == f"lesion {pair.ant_id} (ANT) = lesion {pair.post_id} (POST)"
    paired = set(prediction.paired_with)
    alone = [by_id[lesion.id] for lesion in prediction.lesions if lesion.id not in paired]
    assert len(alone) == 2 and all(text.endswith(("(ANT)", "(POST)")) and "=" not in text for text, _ in alone)
    uids = [uid for _, uid in by_id.values()]
    assert len(set(uids)) == len(prediction.lesions) - len(prediction.pairs)  # one finding per pair, one per lone lesion


def _summary_group(sr):
    container = next(i for i in sr.ContentSequence if i.ValueType == "CONTAINER")
    return next(g for g in container.ContentSequence if g.ValueType == "CONTAINER"
                and _group_tracking_text(g) == "scan summary")


def _group_tracking_text(group) -> str:
    return next((i.TextValue for i in group.ContentSequence if _code(i, "ConceptNameCodeSequence")[0] == TRACKING_ID), "")


def _numbers(group) -> dict[str, float]:
    return {i.ConceptNameCodeSequence[0].CodeMeaning: float(i.MeasuredValueSequence[0].NumericValue)
            for i in group.ContentSequence if i.ValueType == "NUM"}


def _codes(group, name: str) -> list[str]:
    """The values (code or long code) of the group's CODE items named ``name`` (code meaning)."""
    return [str(i.ConceptCodeSequence[0].get("CodeValue") or i.ConceptCodeSequence[0].get("LongCodeValue"))
            for i in group.ContentSequence if i.ValueType == "CODE" and i.ConceptNameCodeSequence[0].CodeMeaning == name]


def test_sr_summary_counts_each_pair_once_and_gives_the_grade_flags_and_comments(two_views):
    """The summary group's "Number of lesions" is the distinct lesions (4 + 4 outlines, 3 pairs: 5; it said 4, the
    view with most), the Soloway grade and every QC flag are there, and a Qualitative Evaluations container holds the
    model's disclaimer and the BSI's scope as the page gives them (session 62: the SR alone lacked them)."""
    from scintiseg.report.report_json import bsi_scope

    prediction, _, folder = two_views
    sr = pydicom.dcmread(folder / "sr.dcm")
    summary = _summary_group(sr)
    numbers = _numbers(summary)
    assert prediction.distinct_lesion_count == 5 and prediction.lesion_count == 4
    assert numbers["Number of lesions"] == 5 and numbers["Soloway extent of disease grade"] == 1
    from scintiseg.report.html import report_html
    from scintiseg.report.report_json import report_dict

    report = report_dict(prediction)
    assert report["summary"]["distinct_lesion_count"] == 5
    assert '<tr id="distinct-lesions"><th>Distinct lesions (each pair counted once)</th><td>5</td>' in \
        report_html(report, {})
    assert _codes(summary, "Quality control flag") == prediction.qc_flags
    comments = next(i for i in sr.ContentSequence if i.ValueType == "CONTAINER"
                    and i.ConceptNameCodeSequence[0].CodeValue == "C0034375")
    texts = [i.TextValue for i in comments.ContentSequence]
    assert prediction.model_info["disclaimer"] == SYNTHETIC_DISCLAIMER
    assert texts[:2] == [SYNTHETIC_DISCLAIMER, f"BSI scope: {bsi_scope(prediction)}"]
    draft = report["summary"]["findings_text"]  # session 73: the draft in words, as the page gives it
    said = f"{draft['note']} Findings: {' '.join(draft['findings'])} Impression: {draft['impression']}"
    assert texts[2] == said.replace("²", "2") and texts[2].isascii()  # (the SR's repertoire: ASCII)
    assert len(texts) == 3 and "5 distinct lesions" in texts[2]


def test_a_reviewed_sr_says_who_drew_each_outline_and_which_sr_it_replaces(two_views, tmp_path):
    """A review's SR: each lesion's "Outline drawn by" (the reader's own outlines told from the network's), the
    series description says reviewed, and the Predecessor Documents Sequence points at the SR of the folder the
    reader's outlines came from (session 62: a corrected SR could not be told from the original in a PACS)."""
    import dataclasses

    prediction, source, folder = two_views
    ids = [lesion.id for lesion in prediction.lesions]
    origin = {str(ids[0]): "reader", str(ids[1]): "restored"} | {str(i): "network" for i in ids[2:]}
    reviewed = dataclasses.replace(prediction, review={"reviewed": True, "source_folder": str(folder),
                                                       "origin": origin})
    write_sr(reviewed, source, tmp_path / "sr.dcm")
    sr = pydicom.dcmread(tmp_path / "sr.dcm")
    drawn = [_codes(group, "Outline drawn by") for group in _lesion_groups(sr)]
    assert drawn == [["READER"], ["RESTORED"]] + [["NETWORK"]] * (len(ids) - 2)
    assert sr.SeriesDescription.endswith("reviewed")
    (predecessor,) = sr.PredecessorDocumentsSequence
    earlier = pydicom.dcmread(folder / "sr.dcm")
    sop = predecessor.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert sop.ReferencedSOPInstanceUID == earlier.SOPInstanceUID
    assert not [_codes(group, "Outline drawn by") for group in _lesion_groups(pydicom.dcmread(folder / "sr.dcm"))
                if _codes(group, "Outline drawn by")]  # a prediction's SR has none
    if shutil.which("dciodvfy"):
        assert [line for line in _dciodvfy(tmp_path / "sr.dcm") if line.startswith("Error")] == []


def test_a_reviewed_gsps_draws_the_readers_own_outlines_on_a_layer_of_their_own(two_views, tmp_path):
    """A review's GSPS: the outlines only its reader drew on layer READER, the rest on LESIONS, "reviewed" in the
    Content Description, a signing reader as Content Creator (session 62: it could not be told from the network's)."""
    import dataclasses

    prediction, source, _ = two_views
    ids = [lesion.id for lesion in prediction.lesions]
    origin = {str(ids[0]): "reader"} | {str(i): "network" for i in ids[1:]}
    reviewed = dataclasses.replace(prediction, review={"reviewed": True, "origin": origin,
                                                       "reader": {"name": "Doe^Jane"}})
    write_gsps(reviewed, source, tmp_path / "gsps.dcm")
    gsps = pydicom.dcmread(tmp_path / "gsps.dcm")
    assert gsps.ContentDescription.endswith("reviewed") and str(gsps.ContentCreatorName) == "Doe^Jane"
    assert [layer.GraphicLayer for layer in gsps.GraphicLayerSequence] == ["LESIONS", "READER"]
    by_layer = {}
    for annotation in gsps.GraphicAnnotationSequence:
        by_layer[annotation.GraphicLayer] = by_layer.get(annotation.GraphicLayer, 0) + len(annotation.GraphicObjectSequence)
    assert by_layer == {"READER": 1, "LESIONS": len(ids) - 1}
    plain = pydicom.dcmread(_written_gsps(prediction, source, tmp_path / "plain.dcm"))
    assert [layer.GraphicLayer for layer in plain.GraphicLayerSequence] == ["LESIONS"]
    assert "ContentCreatorName" not in plain or not str(plain.ContentCreatorName)
    if shutil.which("dciodvfy"):
        assert [line for line in _dciodvfy(tmp_path / "gsps.dcm") if line.startswith("Error")] == []


def _written_gsps(prediction, source, path):
    write_gsps(prediction, source, path)
    return path


def test_gsps_draws_every_outline_of_both_views_on_its_frame(two_views):
    prediction, source, folder = two_views
    gsps = pydicom.dcmread(folder / "gsps.dcm")
    frame = {"1": "ANT", "2": "POST"}
    seen = {}
    for annotation in gsps.GraphicAnnotationSequence:
        (reference,) = annotation.ReferencedImageSequence
        assert reference.ReferencedSOPInstanceUID == source.SOPInstanceUID
        view = frame[str(reference.ReferencedFrameNumber)]
        result = prediction.views[view]
        objects = annotation.GraphicObjectSequence
        assert len(objects) == len(result.lesions) == len(annotation.TextObjectSequence)
        for obj, contour, lesion in zip(objects, result.contours, result.lesions):
            points = np.asarray(obj.GraphicData, dtype=np.float64).reshape(-1, 2)
            np.testing.assert_allclose(points[:-1] - 0.5, contour.points, atol=1e-3)  # (0.5, 0.5): top left pixel's centre
            _assert_on_the_lesion(points, result.labels, result.lesions.index(lesion) + 1)
        labels = [text.UnformattedTextValue for text in annotation.TextObjectSequence]
        partners = prediction.paired_with
        other = {"ANT": "POST", "POST": "ANT"}[view]
        assert labels == [f"{l.id} ({other} {partners[l.id]})" if l.id in partners else str(l.id) for l in result.lesions]
        seen[view] = len(objects)
    assert seen == {"ANT": 4, "POST": 4}


def test_dciodvfy_two_views_no_error(two_views):
    if not shutil.which("dciodvfy"):
        pytest.skip("dciodvfy not installed (Debian: apt-get install dicom3tools; .ci/run does it as root)")
    prediction, _, folder = two_views
    gsps, sr = _dciodvfy(folder / "gsps.dcm"), _dciodvfy(folder / "sr.dcm")
    assert [line for line in gsps + sr if line.startswith("Error")] == []
    # What is left: the private codes, and the DICOMDIR keys the written source itself lacks (no Study Date,
    # Time or ID: scintiseg.io.dicom.write_dicom), copied into both outputs.
    source_gaps = [line for line in gsps + sr if "needed to build DICOMDIR" in line]
    assert len(source_gaps) <= 6
    ratios = sum(lesion.lesion_to_normal_bone is not None for lesion in prediction.lesions)
    sr_other = [line for line in sr if line.startswith("Warning") and "DICOMDIR" not in line]
    private = 3 + ratios + 2 * len(prediction.qc_flags) + 1  # as test_dciodvfy_finds_no_error counts them
    assert len([line for line in sr_other if SCHEME in line]) == len(sr_other) == private
    assert [line for line in gsps if line.startswith("Warning") and "DICOMDIR" not in line] == []


def test_a_split_dicom_page_gets_its_sr_and_gsps_on_the_pages_frame(make_blobs, tmp_path):
    """A screen capture of a whole-body page is read as two views (scintiseg.io.layout), the narrower one padded on
    its outer side: each view's outlines are moved back to its side of the page (scintiseg.io.stored_points), every
    vertex on its lesion's pixels of the page, and dciodvfy finds no error."""
    page = np.ones((1024, 512), np.uint16)
    page[50:-50, 30:200] = page[50:-50, 222:480] = 40  # two bodies side by side, the left one narrower, cut off-centre
    page[50:140, 30:80] = page[50:140, 150:200] = page[50:140, 222:300] = page[50:140, 400:480] = 1  # under heads
    write_dicom(Scan({"VIEW": page}, pixel_spacing=(2.26, 2.26)), tmp_path / "capture.dcm")
    scan = read_scan(tmp_path / "capture.dcm", split_views=True)
    assert scan.view_names == ["ANT", "POST"]
    cut, width = scan.metadata["split_column"], scan.shape[1]
    assert width - cut > 0  # ANT is padded on its left: its points move
    blobs = {"ANT": [(300, width - cut + 60, 5)], "POST": [(500, 90, 5), (800, 150, 4)]}
    probability = {view: make_blobs(scan.shape, blobs[view]) for view in scan.view_names}
    prediction = predict_from_probabilities(scan, probability, settings=blob_settings(0.5, 4, regions="atlas"))
    report = write_outputs(prediction, tmp_path / "out")
    assert report["dicom"] == {"sr": "sr.dcm", "gsps": "gsps.dcm"}
    on_page = {}
    for view, result in prediction.views.items():  # each view's lesion map on the page, as split_at cut it
        labels = np.zeros(page.shape, dtype=result.labels.dtype)
        if view == "ANT":
            labels[:, :cut] = result.labels[:, width - cut:]
        else:
            labels[:, cut:] = result.labels[:, :page.shape[1] - cut]
        on_page[view] = labels
    annotations = pydicom.dcmread(tmp_path / "out" / "gsps.dcm").GraphicAnnotationSequence
    assert [len(a.GraphicObjectSequence) for a in annotations] == [1, 2]
    for annotation, view in zip(annotations, ("ANT", "POST")):
        for index, obj in enumerate(annotation.GraphicObjectSequence):
            _assert_on_the_lesion(np.asarray(obj.GraphicData, dtype=np.float64).reshape(-1, 2), on_page[view], index + 1)
    groups = _lesion_groups(pydicom.dcmread(tmp_path / "out" / "sr.dcm"))
    for group, (view, index) in zip(groups, [("ANT", 1), ("POST", 1), ("POST", 2)]):
        _assert_on_the_lesion(_group_region(group)[0], on_page[view], index)
    if shutil.which("dciodvfy"):
        errors = [line for name in ("gsps.dcm", "sr.dcm") for line in _dciodvfy(tmp_path / "out" / name)
                  if line.startswith("Error")]
        assert errors == []


def test_a_study_stored_as_two_files_gets_an_sr_and_gsps_referencing_each_views_file(nm1_scan, make_blobs, tmp_path):
    """ANT and POST written as two one-view files of one study and joined (scintiseg.io.view_pairs): every SR region
    and GSPS annotation references its own view's instance (no frame number: single-frame files), both instances
    are the SR's evidence and the GSPS's referenced images, and dciodvfy finds no error."""
    from scintiseg.io.view_pairs import join_views

    ant = np.asarray(nm1_scan.view("ANT"), dtype=np.uint16)
    study = "1.2.826.0.1.3680043.8.498.77"
    for view, array in (("ANT", ant), ("POST", mirror(ant))):
        write_dicom(Scan({view: array}, nm1_scan.pixel_spacing, patient_id="TWO", study_uid=study), tmp_path / f"{view}.dcm")
    scan = join_views(read_scan(tmp_path / "ANT.dcm"), read_scan(tmp_path / "POST.dcm"))
    width = scan.shape[1]
    post_blobs = [(r, width - 1 - c, radius) for r, c, radius in ANT_BLOBS[:3]] + POST_ONLY
    probabilities = {"ANT": make_blobs(scan.shape, ANT_BLOBS), "POST": make_blobs(scan.shape, post_blobs)}
    prediction = predict_from_probabilities(scan, probabilities, settings=blob_settings(0.5, 4))
    report = write_outputs(prediction, tmp_path / "out")
    assert (report["dicom"]["sr"], report["dicom"]["gsps"]) == ("sr.dcm", "gsps.dcm")
    instance = {view: pydicom.dcmread(tmp_path / f"{view}.dcm", stop_before_pixels=True).SOPInstanceUID for view in ("ANT", "POST")}
    sr = pydicom.dcmread(tmp_path / "out" / "sr.dcm")
    groups = _lesion_groups(sr)
    assert len(groups) == len(prediction.lesions) == 8
    for group, lesion in zip(groups, prediction.lesions):
        _, reference = _group_region(group)
        assert reference.ReferencedSOPInstanceUID == instance[lesion.view] and "ReferencedFrameNumber" not in reference
    evidence = {i.ReferencedSOPInstanceUID for s in sr.CurrentRequestedProcedureEvidenceSequence
                for series in s.ReferencedSeriesSequence for i in series.ReferencedSOPSequence}
    assert evidence == set(instance.values())
    gsps = pydicom.dcmread(tmp_path / "out" / "gsps.dcm")
    drawn = {a.ReferencedImageSequence[0].ReferencedSOPInstanceUID: len(a.GraphicObjectSequence) for a in gsps.GraphicAnnotationSequence}
    assert drawn == {instance["ANT"]: 4, instance["POST"]: 4}
    referenced = {i.ReferencedSOPInstanceUID for s in gsps.ReferencedSeriesSequence for i in s.ReferencedImageSequence}
    assert referenced == set(instance.values())
    if shutil.which("dciodvfy"):
        lines = _dciodvfy(tmp_path / "out" / "gsps.dcm") + _dciodvfy(tmp_path / "out" / "sr.dcm")
        assert [line for line in lines if line.startswith("Error")] == []


# --- a view its header says is stored mirrored (session 27): read mirrored back, outlines into the file as stored ---


def test_outlines_of_a_view_read_mirrored_back_lie_on_the_lesion_in_the_file_as_stored(nm1_path, make_blobs, tmp_path):
    """NM1 exported mirrored with Patient Orientation saying so: the reader mirrors it back, so regions and sides are
    those of NM1 as stored upright, and the SR and GSPS outlines lie on the lesions' pixels of the mirrored file."""
    ds = pydicom.dcmread(nm1_path)
    ds.PixelData = np.ascontiguousarray(ds.pixel_array[:, ::-1]).tobytes()
    ds.PatientOrientation = ["R", "F"]
    ds.save_as(tmp_path / "mirrored.dcm")
    upright, read = read_scan(nm1_path, split_views=True), read_scan(tmp_path / "mirrored.dcm", split_views=True)
    np.testing.assert_array_equal(read.view("ANT"), upright.view("ANT"))
    prob = make_blobs(upright.shape, [(300, 100, 5), (700, 60, 4), (420, 200, 4)])  # off the midline: sides matter
    settings = blob_settings(0.5, 4, regions="atlas")
    coverage = {"ANT": np.ones(upright.shape, dtype=bool)}
    plain = predict_from_probabilities(upright, {"ANT": prob}, coverage, settings)
    mirrored = predict_from_probabilities(read, {"ANT": prob}, coverage, settings)
    assert "read_mirrored" in mirrored.qc_flags and "read_mirrored" not in plain.qc_flags
    assert [(lesion.region, lesion.laterality) for lesion in mirrored.lesions] == \
        [(lesion.region, lesion.laterality) for lesion in plain.lesions]
    assert {lesion.laterality for lesion in plain.lesions} >= {"left", "right"}
    stored_labels = mirrored.views["ANT"].labels[:, ::-1]  # the lesion map on the file as stored
    source = pydicom.dcmread(tmp_path / "mirrored.dcm", stop_before_pixels=True)
    write_gsps(mirrored, source, tmp_path / "gsps.dcm")
    write_sr(mirrored, source, tmp_path / "sr.dcm")
    (annotation,) = pydicom.dcmread(tmp_path / "gsps.dcm").GraphicAnnotationSequence
    for index, obj in enumerate(annotation.GraphicObjectSequence):
        _assert_on_the_lesion(np.asarray(obj.GraphicData, dtype=np.float64).reshape(-1, 2), stored_labels, index + 1)
    groups = _lesion_groups(pydicom.dcmread(tmp_path / "sr.dcm"))
    assert len(groups) == len(mirrored.lesions) == 3
    for index, group in enumerate(groups):
        _assert_on_the_lesion(_group_region(group)[0], stored_labels, index + 1)


def test_a_dicom_body_stored_lying_gets_an_sr_and_gsps_on_its_lying_frame(nm1_scan, make_blobs, tmp_path):
    """A one-frame DICOM holding a body lying (stood by the reader, scintiseg.io.layout): the outlines of the
    standing view are turned back onto the file's frame, every vertex on the lesion's stored pixels."""
    upright = np.asarray(nm1_scan.view("ANT"), dtype=np.uint16)
    write_dicom(Scan({"VIEW": np.ascontiguousarray(np.rot90(upright, 1))}, pixel_spacing=(2.26, 2.26)), tmp_path / "lying.dcm")
    scan = read_scan(tmp_path / "lying.dcm", split_views=True)
    assert scan.metadata["stood"] == "quarter_clockwise" and scan.shape == upright.shape
    prob = make_blobs(scan.shape, [(300, 100, 5), (700, 60, 4)])
    prediction = predict_from_probabilities(scan, {"VIEW": prob}, {"VIEW": np.ones(scan.shape, dtype=bool)},
                                            blob_settings(0.5, 4, regions="atlas"))
    report = write_outputs(prediction, tmp_path / "out")
    assert report["dicom"] == {"sr": "sr.dcm", "gsps": "gsps.dcm"}
    stored_labels = np.rot90(prediction.views["VIEW"].labels, 1)  # the lesion map on the lying file
    (annotation,) = pydicom.dcmread(tmp_path / "out" / "gsps.dcm").GraphicAnnotationSequence
    assert len(annotation.GraphicObjectSequence) == len(prediction.lesions) == 2
    for index, obj in enumerate(annotation.GraphicObjectSequence):
        _assert_on_the_lesion(np.asarray(obj.GraphicData, dtype=np.float64).reshape(-1, 2), stored_labels, index + 1)
    for index, group in enumerate(_lesion_groups(pydicom.dcmread(tmp_path / "out" / "sr.dcm"))):
        _assert_on_the_lesion(_group_region(group)[0], stored_labels, index + 1)


def test_what_the_dicom_libraries_say_while_writing_is_one_warning_naming_the_scan(make_blobs, tmp_path, caplog):
    """A source whose patient name is longer than DICOM allows: the SR and GSPS are written, and pydicom's and
    highdicom's complaints come as one warning per output naming the scan, not as their own unprefixed lines
    (session 61: four such lines for one file)."""
    import logging
    import warnings

    from support import dicom_breaking_the_standard

    path = dicom_breaking_the_standard(Scan({"ANT": np.ones((512, 128), np.uint16) * 20}, pixel_spacing=(4.52, 4.52)),
                                       tmp_path / "long_name.dcm", PatientName="A" * 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = read_scan(path)
    prediction = predict_from_probabilities(scan, {"ANT": make_blobs(scan.shape, [(200, 60, 4)])},
                                            settings=blob_settings(0.5, 4, regions="atlas"))
    caplog.clear()
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        report = write_outputs(prediction, tmp_path / "out")
    assert report["dicom"] == {"sr": "sr.dcm", "gsps": "gsps.dcm"}
    assert not [r for r in caplog.records if r.name.split(".")[0] in ("pydicom", "highdicom")]
    messages = [str(w.message) for w in said]
    assert messages and all(m.startswith(f"{path}: ") for m in messages), messages
    assert any("sr.dcm written despite" in m and "PN component length (300)" in m for m in messages), messages


def test_an_anonymised_source_without_type_2_attributes_still_gets_its_sr_and_gsps(nm1_path, make_blobs, tmp_path):
    """An export that dropped the Patient and Study modules' Type 2 attributes (Patient ID, name, birth date, sex,
    study date, accession number, ...) gets both outputs, valid, with those attributes empty (before session 62:
    neither, with "'FileDataset' object has no attribute 'PatientID'" in report.json only); one without a Study
    Instance UID gets neither, said in one sentence on stderr, in report.json and on the page."""
    from scintiseg.report.dicom_out import TYPE2_COPIED

    anonymised = pydicom.dcmread(nm1_path)
    for keyword in TYPE2_COPIED:
        if keyword in anonymised:
            del anonymised[keyword]
    anonymised.save_as(tmp_path / "anonymised.dcm")
    scan = read_scan(tmp_path / "anonymised.dcm")
    prediction = predict_from_probabilities(scan, {"ANT": make_blobs(scan.shape, [(300, 100, 5)])},
                                            settings=blob_settings(0.5, 4, regions="atlas"))
    report = write_outputs(prediction, tmp_path / "out")
    assert report["dicom"] == {"sr": "sr.dcm", "gsps": "gsps.dcm"}
    for name in ("sr.dcm", "gsps.dcm"):
        written = pydicom.dcmread(tmp_path / "out" / name)
        assert all(keyword in written and not str(written[keyword].value) for keyword in TYPE2_COPIED)
        if shutil.which("dciodvfy"):
            assert [line for line in _dciodvfy(tmp_path / "out" / name) if line.startswith("Error")] == []
    assert 'id="dicom-outputs"' in (tmp_path / "out" / "report.html").read_text()

    del anonymised.StudyInstanceUID
    anonymised.save_as(tmp_path / "no_study.dcm")
    scan = read_scan(tmp_path / "no_study.dcm")
    prediction = predict_from_probabilities(scan, {"ANT": make_blobs(scan.shape, [(300, 100, 5)])},
                                            settings=blob_settings(0.5, 4, regions="atlas"))
    with pytest.warns(UserWarning, match="no StudyInstanceUID: an SR or GSPS cannot reference it"):
        report = write_outputs(prediction, tmp_path / "out2")
    assert set(report["dicom"]) == {"error"} and "StudyInstanceUID" in report["dicom"]["error"]
    assert not (tmp_path / "out2" / "sr.dcm").exists() and not (tmp_path / "out2" / "gsps.dcm").exists()
    page = (tmp_path / "out2" / "report.html").read_text()
    assert 'id="dicom-outputs"' in page and "warn-cell" in page and "no StudyInstanceUID" in page


def _measurements(group) -> dict[tuple[str, str | None], tuple[float, str]]:
    """(concept meaning, derivation meaning or None) -> (value, unit code) of a lesion group's measurements."""
    found = {}
    for item in group.ContentSequence:
        if item.ValueType != "NUM":
            continue
        derivation = next((i.ConceptCodeSequence[0].CodeMeaning for i in item.get("ContentSequence", [])
                           if i.ConceptNameCodeSequence[0].CodeMeaning == "Derivation"), None)
        value = item.MeasuredValueSequence[0]
        found[(item.ConceptNameCodeSequence[0].CodeMeaning, derivation)] = (
            float(value.NumericValue), value.MeasurementUnitsCodeSequence[0].CodeValue)
    return found


def test_sr_measurements_are_each_lesions_area_in_mm2_and_its_mean_and_maximum_counts(two_views):
    prediction, _, folder = two_views
    groups = _lesion_groups(pydicom.dcmread(folder / "sr.dcm"))
    lesions = [lesion for result in prediction.views.values() for lesion in result.lesions]
    assert prediction.scan.pixel_spacing[0] * prediction.scan.pixel_spacing[1] != 1.0
    assert len(groups) == len(lesions) > 0
    for group, lesion in zip(groups, lesions):
        numbers = _measurements(group)
        assert numbers[("Area", None)] == (pytest.approx(lesion.area_mm2, rel=1e-4), "mm2")
        activity = "Nuclear Medicine Projection Activity"
        assert numbers[(activity, "Mean")][0] == pytest.approx(lesion.counts_mean, rel=1e-4)
        assert numbers[(activity, "Maximum")][0] == pytest.approx(lesion.counts_max, rel=1e-4)
        assert lesion.counts_max > lesion.counts_mean


def test_each_reading_has_its_own_series_numbers_and_every_gsps_a_series_description(two_views, tmp_path):
    """Audit 74, finding 4: the predict, review and compare SRs of one study were all series 900, every GSPS 901 and
    no GSPS had a Series Description, so a PACS series browser showed three "900" and nameless "901" series."""
    import dataclasses

    from scintiseg.report.dicom_out import SERIES_NUMBERS

    prediction, source, folder = two_views
    sr, gsps = pydicom.dcmread(folder / "sr.dcm"), pydicom.dcmread(folder / "gsps.dcm")
    assert (sr.SeriesNumber, gsps.SeriesNumber) == (900, 901)
    assert gsps.SeriesDescription == gsps.ContentDescription == "scintiseg lesion contours"
    reviewed = dataclasses.replace(prediction, review={"reviewed": True, "origin": {}})
    write_sr(reviewed, source, tmp_path / "sr.dcm")
    write_gsps(reviewed, source, tmp_path / "gsps.dcm")
    sr, gsps = pydicom.dcmread(tmp_path / "sr.dcm"), pydicom.dcmread(tmp_path / "gsps.dcm")
    assert (sr.SeriesNumber, gsps.SeriesNumber) == (910, 911)
    assert gsps.SeriesDescription == "scintiseg lesion contours, reviewed"
    compared = SERIES_NUMBERS["compared"]
    write_sr(reviewed, source, tmp_path / "cmp_sr.dcm", series_number=compared["sr"])
    write_gsps(reviewed, source, tmp_path / "cmp_gsps.dcm", series_number=compared["gsps"], label="FOLLOW_UP",
               description="scintiseg follow-up against 2024-01-15")
    gsps = pydicom.dcmread(tmp_path / "cmp_gsps.dcm")
    assert (pydicom.dcmread(tmp_path / "cmp_sr.dcm").SeriesNumber, gsps.SeriesNumber) == (920, 921)
    assert gsps.SeriesDescription == "scintiseg follow-up against 2024-01-15"
    numbers = [number for kinds in SERIES_NUMBERS.values() for number in kinds.values()]
    assert len(numbers) == len(set(numbers))  # no two kinds of object share a number
    if shutil.which("dciodvfy"):
        for name in ("sr.dcm", "gsps.dcm", "cmp_sr.dcm", "cmp_gsps.dcm"):
            assert [line for line in _dciodvfy(tmp_path / name) if line.startswith("Error")] == [], name


def test_a_signed_review_is_a_final_sr_and_anything_else_preliminary(two_views, tmp_path):
    """Audit 74, finding 5: a signed review's SR was COMPLETE and VERIFIED yet PRELIMINARY. Preliminary Flag (PS3.3
    C.17.2) FINAL only where a reader signed; the prediction's and an unsigned review's stay PRELIMINARY."""
    import dataclasses

    prediction, source, folder = two_views
    flags = ("CompletionFlag", "VerificationFlag", "PreliminaryFlag")
    sr = pydicom.dcmread(folder / "sr.dcm")
    assert tuple(sr.get(key) for key in flags) == ("PARTIAL", "UNVERIFIED", "PRELIMINARY")
    for review, expected in (({"reviewed": True, "origin": {}}, ("PARTIAL", "UNVERIFIED", "PRELIMINARY")),
                             ({"reviewed": True, "origin": {}, "reader": {"name": "Doe^Jane"}},
                              ("COMPLETE", "VERIFIED", "FINAL"))):
        write_sr(dataclasses.replace(prediction, review=review), source, tmp_path / "sr.dcm")
        sr = pydicom.dcmread(tmp_path / "sr.dcm")
        assert tuple(sr.get(key) for key in flags) == expected
        if shutil.which("dciodvfy"):
            assert [line for line in _dciodvfy(tmp_path / "sr.dcm") if line.startswith("Error")] == []
