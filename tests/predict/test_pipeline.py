"""End to end from an injected probability map and from a tiny untrained model: every output present and
consistent (LabelMe polygons rasterise to the PNG mask, report.json agrees, DICOM reads back)."""

import json
import re

import numpy as np
import pydicom
import pytest

from support import blob_settings
from scintiseg.io.images import read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities, predict_scan
from scintiseg.prepare.views import mirror
from scintiseg.report.outputs import write_outputs
from scintiseg.scan import Scan



@pytest.fixture(scope="module")
def nm1_prediction(nm1_scan, make_blobs):
    prob = make_blobs(nm1_scan.shape, [(300, 100, 5), (330, 160, 3), (600, 110, 2), (250, 128, 0)])
    coverage = np.zeros(nm1_scan.shape, dtype=bool)
    coverage[200:456, :] = True  # a thoracic window: the knee blob at row 600 lies outside it
    return predict_from_probabilities(nm1_scan, {"ANT": prob}, {"ANT": coverage}, blob_settings(0.5, 4))


def test_lesions_from_injected_map(nm1_prediction, make_blobs):
    lesions = nm1_prediction.lesions
    assert [lesion.id for lesion in lesions] == [1, 2]  # the 1-px blob is too small, the knee is outside
    first, second = lesions
    assert first.area_px == np.count_nonzero(make_blobs((40, 40), [(20, 20, 5)]) > 0.5)
    assert first.area_mm2 == pytest.approx(first.area_px * 2.26 * 2.26, rel=1e-3)
    assert first.probability_mean == pytest.approx(0.9)
    assert (first.laterality, second.laterality) == ("right", "left")  # ANT: image left = patient right
    assert first.region in ("ribs_right", "humerus_right") and second.region in ("ribs_left", "humerus_left")
    assert first.lesion_to_normal_bone is not None and first.lesion_to_normal_bone > 0


def test_every_output_present_and_consistent(nm1_prediction, tmp_path):
    report = write_outputs(nm1_prediction, tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report.json", "report.html", "ANT.labelme.json", "ANT_mask.png", "ANT_overlay.png", "sr.dcm", "gsps.dcm"} <= names
    assert not [n for n in names if n.endswith(".part")]
    mask = read_mask_png(tmp_path / "ANT_mask.png")
    annotation = read_labelme(tmp_path / "ANT.labelme.json")
    assert annotation.view == "ANT" and len(annotation.shapes) == 2
    assert np.array_equal(annotation.to_mask(), mask)  # LabelMe's rasterisation gives the PNG mask back
    document = json.loads((tmp_path / "ANT.labelme.json").read_text())
    assert document["imageData"] and document["imageHeight"] == 1024 and document["imageWidth"] == 256
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["summary"]["lesion_count"] == 2 and on_disk["summary"]["soloway_grade"] == 1
    assert sum(lesion["area_px"] for lesion in on_disk["lesions"]) == int(mask.sum())
    assert 0 < on_disk["summary"]["bsi_covered_mass_percent"] < 60  # a thoracic window, not the skeleton
    assert on_disk["patient"]["name"] == "CompressedSamples^NM1"
    assert report["dicom"] == {"sr": "sr.dcm", "gsps": "gsps.dcm"}


def test_dicom_outputs_read_back(nm1_prediction, nm1_scan, tmp_path):
    write_outputs(nm1_prediction, tmp_path)
    source = pydicom.dcmread(nm1_scan.source, stop_before_pixels=True)
    sr = pydicom.dcmread(tmp_path / "sr.dcm")
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID

    def find(items, meaning):
        for item in items:
            if "ConceptNameCodeSequence" in item and item.ConceptNameCodeSequence[0].CodeMeaning == meaning:
                yield item
            yield from find(item.get("ContentSequence", []), meaning)

    groups = list(find(sr.ContentSequence, "Measurement Group"))
    assert len(groups) == 3  # the scan summary and one group per lesion
    counts = [float(m.MeasuredValueSequence[0].NumericValue) for m in find(sr.ContentSequence, "Number of lesions")]
    assert counts == [2.0]
    areas = sorted(float(m.MeasuredValueSequence[0].NumericValue) for m in find(sr.ContentSequence, "Area"))
    assert areas == pytest.approx(sorted(l.area_mm2 for l in nm1_prediction.lesions), rel=1e-3)
    gsps = pydicom.dcmread(tmp_path / "gsps.dcm")
    objects = gsps.GraphicAnnotationSequence[0].GraphicObjectSequence
    assert len(objects) == 2 and all(o.GraphicType == "POLYLINE" for o in objects)
    assert gsps.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID


def test_tiny_model_end_to_end_on_nm1(nm1_scan, make_tiny_network, tmp_path):
    from scintiseg.predict.loader import model_from_network

    model = model_from_network(make_tiny_network())
    # An untrained network: pick the threshold so some pixels pass, which exercises every stage.
    probe = predict_scan(nm1_scan, model, PredictSettings(threshold=1.0, min_area_px=1))
    probability = probe.views["ANT"].probability[probe.views["ANT"].coverage]
    threshold = float(np.quantile(probability, 0.995))
    prediction = predict_scan(nm1_scan, model, PredictSettings(threshold=threshold, min_area_px=2))
    result = prediction.views["ANT"]
    assert result.coverage.sum() == 256 * 256
    assert prediction.lesion_count >= 1
    assert not (result.mask & ~result.coverage).any()
    assert "engine" in prediction.model_info and prediction.timings["model_s"] > 0
    write_outputs(prediction, tmp_path, dicom=False)
    # The LabelMe file's lesion shapes give the PNG mask back (a call left out by a reading rule is a left_out shape).
    lesions = read_labelme(tmp_path / "ANT.labelme.json").to_mask(["lesion"])
    assert np.array_equal(lesions, read_mask_png(tmp_path / "ANT_mask.png"))


def test_gsps_on_a_multiframe_nm_source_draws_each_view_on_its_frame(nm1_scan, make_blobs, tmp_path):
    """A classic multi-frame NM file (ANT frame 1, POST frame 2) gets a GSPS whose annotations name their frame."""
    from scintiseg.io import read_scan
    from scintiseg.io.dicom import write_dicom

    ant = nm1_scan.view("ANT")
    write_dicom(Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=nm1_scan.pixel_spacing, patient_id="MF"),
                tmp_path / "mf.dcm")
    scan = read_scan(tmp_path / "mf.dcm")
    ant_prob = make_blobs(scan.shape, [(300, 100, 5)])
    post_prob = make_blobs(scan.shape, [(310, 60, 4), (350, 150, 4)])
    full = np.ones(scan.shape, dtype=bool)
    prediction = predict_from_probabilities(scan, {"ANT": ant_prob, "POST": post_prob}, {"ANT": full, "POST": full},
                                            blob_settings(0.5, 4))
    report = write_outputs(prediction, tmp_path / "out")
    assert report["dicom"] == {"sr": "sr.dcm", "gsps": "gsps.dcm"}
    gsps = pydicom.dcmread(tmp_path / "out" / "gsps.dcm")
    drawn = {int(a.ReferencedImageSequence[0].ReferencedFrameNumber): len(a.GraphicObjectSequence)
             for a in gsps.GraphicAnnotationSequence}
    assert drawn == {1: 1, 2: 2}  # one contour on ANT (frame 1), two on POST (frame 2)


def test_triage_score_is_the_largest_probability_inside_the_coverage(nm1_scan, make_blobs):
    prob = make_blobs(nm1_scan.shape, [(300, 100, 5)])
    prob[301, 101] = 0.93  # the peak inside the window
    prob[700, 100] = 0.99  # higher, but outside what the model saw: it must not count
    coverage = np.zeros(nm1_scan.shape, dtype=bool)
    coverage[200:456, :] = True
    prediction = predict_from_probabilities(nm1_scan, {"ANT": prob}, {"ANT": coverage}, blob_settings(0.5, 4))
    assert prediction.views["ANT"].max_probability == pytest.approx(0.93)
    assert prediction.triage_score == pytest.approx(0.93)


def test_scan_triage_score_is_the_largest_over_views(nm1_scan, make_blobs):
    ant = nm1_scan.view("ANT")
    scan = Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=nm1_scan.pixel_spacing)
    prob_ant = np.full(scan.shape, 0.2, dtype=np.float32)
    prob_post = make_blobs(scan.shape, [(300, 100, 5)])
    prob_post[300, 100] = 0.97
    prediction = predict_from_probabilities(scan, {"ANT": prob_ant, "POST": prob_post}, settings=blob_settings(0.5, 4))
    assert prediction.views["ANT"].max_probability == pytest.approx(0.2)
    assert prediction.views["POST"].max_probability == pytest.approx(0.97)
    assert prediction.triage_score == pytest.approx(0.97)
    assert predict_from_probabilities(scan, {}, settings=blob_settings(0.5, 4)).triage_score == 0.0


def test_one_pass_tiling_runs_each_whole_view_once_and_is_recorded(nm1_scan, make_tiny_network):
    """``tiling="one-pass"``: one engine call of the whole view (padded to the network's 2**depth), a map over
    every pixel, and the tiling in the report's settings; the default runs the overlapping windows."""
    from scintiseg.predict.loader import model_from_network

    model = model_from_network(make_tiny_network(), pixel_mm=2.26, window="whole")
    shapes = []
    engine = model.engine

    def counting(batch):
        shapes.append(batch.shape)
        return engine(batch)

    model.engine = counting
    one_pass = predict_scan(nm1_scan, model, PredictSettings(tiling="one-pass"))
    assert len(shapes) == 1 and shapes[0][0] == 1 and all(n % 16 == 0 and n > 256 or n == 256 for n in shapes[0][2:])
    assert one_pass.settings["tiling"] == "one-pass" and one_pass.views["ANT"].coverage.all()
    shapes.clear()
    windows = predict_scan(nm1_scan, model, PredictSettings())
    assert windows.settings["tiling"] == "windows" and all(s[2:] == (256, 256) for s in shapes)
    assert one_pass.views["ANT"].probability.shape == windows.views["ANT"].probability.shape == nm1_scan.shape
    # The windows cover NM1's body rows (about 70-874 of 1024): 4 windows, not 5; beyond them nothing.
    assert sum(s[0] for s in shapes) == 4
    probability = windows.views["ANT"].probability
    assert windows.views["ANT"].coverage.all() and not probability[:60].any() and not probability[890:].any()
    assert probability[100:850].min() > 0


def test_a_hot_bladder_does_not_blind_the_shipped_networks(nm1_scan):
    """NM1 with a 13.5 cm bladder at 10 times its brightest pixel: the scan is still read whole (the region map
    covers the skeleton, NM1's own lumbar focus is still found), not normalised to an empty image (prepare/body.py,
    "A hot spot that takes the level")."""
    from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model

    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("no shipped weights")
    ant = nm1_scan.view("ANT").astype(np.float32)
    rows, cols = np.mgrid[: ant.shape[0], : ant.shape[1]]
    bladder = ((rows - 505) ** 2 + (cols - 128) ** 2) <= 30**2
    ant[bladder] = ant.max() * 10
    scan = Scan({"ANT": ant}, nm1_scan.pixel_spacing, source=None)
    prediction = predict_scan(scan, load_model(), PredictSettings())
    view = prediction.views["ANT"]
    assert prediction.covered_mass_percent > 99.0 and view.regions.bone.mean() > 0.05
    assert any(lesion.region == "lumbar_spine" for lesion in view.lesions)


def test_text_and_a_bar_burned_into_an_export_change_nothing_but_a_flag(nm1_scan):
    """NM1 exported in 8 bits with ``ANT``, ``R``, ``L``, a line of text and a grey bar drawn in: the shipped model
    gave three calls on them (session 23); painted over, the prediction is the clean export's, flagged."""
    from PIL import Image, ImageDraw, ImageFont

    from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model

    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("no shipped weights")
    counts = nm1_scan.view("ANT").astype(np.float64)
    grey = np.clip(counts / counts.max() * 255, 0, 255).round().astype(np.uint8)
    image = Image.fromarray(grey)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    for where, text in (((8, 8), "ANT"), ((230, 8), "R"), ((8, 990), "Tc-99m MDP 3h"), ((200, 500), "L")):
        draw.text(where, text, fill=255, font=font)
    for i in range(100):
        draw.line([(250, 300 + i), (255, 300 + i)], fill=int(255 * (1 - i / 100)))
    model = load_model()
    clean = predict_scan(Scan({"ANT": grey}, nm1_scan.pixel_spacing), model, PredictSettings())
    drawn = predict_scan(Scan({"ANT": np.asarray(image)}, nm1_scan.pixel_spacing), model, PredictSettings())
    assert "burned_in_removed_ANT" in drawn.qc_flags and "burned_in_removed_ANT" not in clean.qc_flags
    assert [lesion.region for lesion in drawn.lesions] == [lesion.region for lesion in clean.lesions] == ["lumbar_spine"]
    assert drawn.bsi_percent == pytest.approx(clean.bsi_percent, rel=0.05)


def test_a_region_crop_gets_its_lesions_but_no_bone_names_and_no_bsi(nm1_scan, make_blobs, tmp_path):
    """A 60 x 200 half-chest crop (BS-80K's kind): the whole-body region map cannot name its bones (the learned
    map called most such lesions "femur_left"), so they are 'unnamed', the side unknown, no BSI, flag raised."""
    crop = Scan({"VIEW": nm1_scan.view("ANT")[230:430, 65:125]}, pixel_spacing=nm1_scan.pixel_spacing)
    prob = make_blobs(crop.shape, [(100, 30, 4)])
    prediction = predict_from_probabilities(crop, {"VIEW": prob}, settings=blob_settings(0.5, 4))
    (lesion,) = prediction.lesions
    assert (lesion.region, lesion.laterality) == ("unnamed", "unknown")
    assert lesion.lesion_to_normal_bone is not None  # the bone mask is kept for the ratio
    assert prediction.bsi_percent == 0 and prediction.covered_mass_percent == 0
    assert "partial_view_VIEW" in prediction.qc_flags
    write_outputs(prediction, tmp_path)  # every output, the HTML's lesion table and body diagram included
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["bsi_scope"].startswith("No BSI: less than a whole body")
    assert report["summary"]["bsi_percent"] is None and not prediction.bsi_given
    assert report["summary"]["soloway_grade"] is None  # an extent over the whole skeleton, as the BSI
    page = (tmp_path / "report.html").read_text()
    assert report["lesions"][0]["region"] == "unnamed" and "Unnamed" in page
    assert "not given: a partial view" in page and 'id="bsi-covered"' not in page  # no "BSI 0.000"
    whole = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(300, 100, 5)])},
                                       settings=blob_settings(0.5, 4))
    assert "partial_view_ANT" not in whole.qc_flags and whole.lesions[0].region != "unnamed"


def test_a_blank_image_gets_no_bsi_and_no_grade_rather_than_a_normal_skeleton(nm1_scan, make_blobs, tmp_path):
    """An image holding no body (a failed acquisition, an all-zero export) was reported as "BSI 0.0, Soloway 0": a
    normal scan. Now neither is given, the scope says why, and so does the page; a scan whose other view is blank
    too (a two-view file with one frame empty: a mean of a real view and a blank one would halve the BSI)."""
    blank = Scan({"VIEW": np.zeros((40, 30), np.uint16)}, pixel_spacing=(2.26, 2.26))
    prediction = predict_from_probabilities(blank, {"VIEW": np.zeros((40, 30), np.float32)},
                                            settings=blob_settings(0.5, 4))
    assert prediction.views_without_skeleton == ["VIEW"] and not prediction.bsi_given
    write_outputs(prediction, tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["bsi_percent"] is None and report["summary"]["soloway_grade"] is None
    assert report["summary"]["bsi_scope"].startswith("No BSI: no skeleton found in VIEW")
    assert "not given: no skeleton found" in (tmp_path / "report.html").read_text()
    ant = nm1_scan.view("ANT")
    half_blank = Scan({"ANT": ant, "POST": np.zeros_like(ant)}, pixel_spacing=nm1_scan.pixel_spacing)
    probability = make_blobs(ant.shape, [(300, 100, 5)])
    prediction = predict_from_probabilities(half_blank, {"ANT": probability, "POST": np.zeros_like(probability)},
                                            settings=blob_settings(0.5, 4))
    assert prediction.views_without_skeleton == ["POST"] and not prediction.bsi_given
    whole = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=blob_settings(0.5, 4))
    assert whole.views_without_skeleton == [] and whole.bsi_given and whole.bsi_percent > 0


def test_a_model_of_thoracic_crops_reads_a_crop_as_its_own_window(nm1_scan, make_tiny_network):
    """No thorax can be found in a region crop: a thoracic-window model (the papers' kind) reads the crop itself,
    padded to its window, where it refused every crop ("the body is only 362 mm long ...")."""
    from scintiseg.predict.loader import model_from_network

    model = model_from_network(make_tiny_network())
    assert model.window == "thoracic"
    crop = Scan({"VIEW": nm1_scan.view("ANT")[194:354, 142:210]}, pixel_spacing=nm1_scan.pixel_spacing)
    prediction = predict_scan(crop, model, PredictSettings(threshold=0.5, min_area_px=4))
    view = prediction.views["VIEW"]
    assert view.coverage.all() and view.probability.shape == (160, 68) and prediction.settings["window"] == "thoracic"
    assert "partial_view_VIEW" in prediction.qc_flags
    whole = predict_scan(nm1_scan, model, PredictSettings(threshold=0.5, min_area_px=4))
    assert whole.views["ANT"].coverage.sum() == 256 * 256  # a whole body: still the thoracic crop of paper B


def test_a_view_in_any_unit_is_read_as_its_counts(nm1_scan):
    """NM1 stored as floats far below counts (a simulation's unit, 1e-12 of the counts): the same calls, bones and BSI.
    The reading rules' ratios and the body check had absolute floors (1e-9, 1e-6) that decided at such values."""
    from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model

    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("no shipped weights")
    model = load_model()
    counts = predict_scan(nm1_scan, model, PredictSettings())
    tiny = nm1_scan.with_views({"ANT": (nm1_scan.view("ANT") * 1e-12).astype(np.float32)})
    scaled = predict_scan(tiny, model, PredictSettings())
    assert len(counts.views["ANT"].lesions) >= 1
    np.testing.assert_array_equal(scaled.views["ANT"].mask, counts.views["ANT"].mask)
    np.testing.assert_array_equal(scaled.views["ANT"].regions.labels, counts.views["ANT"].regions.labels)
    assert scaled.bsi_percent == pytest.approx(counts.bsi_percent)
    assert [f for f in scaled.qc_flags if not f.startswith("low_counts")] == counts.qc_flags


def test_a_small_view_is_padded_centred_with_zero_counts():
    from scintiseg.predict.pipeline import pad_scan

    ant = np.arange(100 * 40, dtype=np.float32).reshape(100, 40) + 1
    padded, (top, left) = pad_scan(Scan({"ANT": ant}, pixel_spacing=(2.26, 2.26)), 128)
    assert padded.shape == (128, 128) and (top, left) == (14, 44)
    np.testing.assert_array_equal(padded.view("ANT")[14:114, 44:84], ant)
    assert padded.view("ANT").sum() == ant.sum()  # the rest is zero counts
    big = Scan({"ANT": np.ones((300, 200), np.float32)}, pixel_spacing=(2.26, 2.26))
    assert pad_scan(big, 128) == (big, (0, 0))


def test_a_whole_view_is_padded_to_the_networks_down_sampling_not_its_window():
    from types import SimpleNamespace

    from scintiseg.predict.loader import LoadedModel
    from scintiseg.predict.pipeline import input_multiple

    assert input_multiple(LoadedModel(engine=None, window_size=96, network=SimpleNamespace(depth=3))) == 8
    assert input_multiple(LoadedModel(engine=None, window_size=96, network=None)) == 96  # an ONNX file: no depth


def test_lesion_ids_run_on_from_one_view_to_the_next(nm1_scan, make_blobs):
    ant = nm1_scan.view("ANT")
    scan = Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=nm1_scan.pixel_spacing)
    prob = make_blobs(scan.shape, [(300, 60, 5), (500, 190, 5)])
    prediction = predict_from_probabilities(scan, {"ANT": prob, "POST": prob}, settings=blob_settings(0.5, 4))
    ids = [lesion.id for view in ("ANT", "POST") for lesion in prediction.views[view].lesions]
    assert len(ids) == 4 and sorted(ids) == [1, 2, 3, 4]


def test_the_region_labeller_names_nm1_s_bones_and_clears_its_bladder(nm1_scan):
    """``region_labeller`` (what ``scintiseg adapt --normals`` places inserted lesions by): the shipped region
    network's map of each view in :data:`REGION_IDS`' ids, except the bladder's hot spot, which the map names pelvis
    or sacrum and a known-normal scan's hot bone must not take for bone."""
    from scintiseg.predict.bladder import bladder_mask
    from scintiseg.predict.pipeline import region_labeller
    from scintiseg.predict.region_model import load_region_model, predict_region_maps
    from scintiseg.predict.regions import REGION_IDS, learned_regions

    labeller = region_labeller()
    if labeller is None:
        pytest.skip("no shipped region network")
    maps = labeller(nm1_scan)
    network = load_region_model()
    raw = predict_region_maps(network, nm1_scan)["ANT"]
    names = np.asarray(network.classes)[raw]
    spot = bladder_mask(nm1_scan.view("ANT"), learned_regions(nm1_scan.view("ANT"), "ANT", raw), nm1_scan.pixel_spacing)
    assert set(maps) == {"ANT"} and maps["ANT"].shape == nm1_scan.shape and spot is not None and spot.sum() > 100
    assert np.isin(names[spot], ["pelvis", "sacrum"]).mean() > 0.9  # the network names the urine bone ...
    assert not maps["ANT"][spot].any()  # ... the labeller does not
    kept = ~spot
    assert np.array_equal(maps["ANT"][kept], np.vectorize(lambda name: REGION_IDS.get(name, 0))(names[kept]))


def test_the_region_labeller_translates_a_networks_own_class_order(monkeypatch):
    """A region network whose classes come in another order (its own ``classes``) gives the table's ids, not its
    indices: a class the table lacks is 0."""
    from types import SimpleNamespace

    from scintiseg.predict import pipeline
    from scintiseg.predict.regions import REGION_IDS

    classes = ["sternum", "other", "pelvis", "cartilage"]
    network = SimpleNamespace(classes=classes)
    indices = np.zeros((64, 32), dtype=np.int64)
    indices[:16], indices[16:32], indices[32:48] = 0, 1, 2
    indices[48:] = 3
    monkeypatch.setattr(pipeline, "predict_region_maps", lambda net, scan: {"ANT": indices})
    labeller = pipeline.region_labeller(SimpleNamespace(region_network=lambda: network))
    scan = Scan({"ANT": np.full((64, 32), 5, np.uint16)}, pixel_spacing=(2.26, 2.26))
    labels = labeller(scan)["ANT"]
    assert (labels[:16] == REGION_IDS["sternum"]).all() and (labels[16:32] == 0).all()
    assert (labels[32:48] == REGION_IDS["pelvis"]).all() and (labels[48:] == 0).all()


def test_what_predict_scan_cannot_take_is_one_line_saying_what_to_pass(make_tiny_network, tmp_path):
    """API audit 74, finding 4: an array, a path, a bare network and a dict of settings each failed deep inside with
    an AttributeError ('numpy.ndarray' object has no attribute 'metadata', 'RDINet' object has no attribute 'window')."""
    from scintiseg.errors import ScintisegError
    from scintiseg.predict.loader import model_from_network

    counts = np.ones((64, 32), np.uint16)
    scan = Scan({"ANT": counts}, pixel_spacing=(2.26, 2.26))
    network = make_tiny_network()
    model = model_from_network(network)
    name = type(network).__name__
    for call, said in (
        (lambda: predict_scan(counts, model), "predict_scan takes a Scan, got numpy.ndarray: read a file with "
                                              "read_for_prediction(path), or make one with Scan("),
        (lambda: predict_scan(str(tmp_path / "scan.dcm"), model),
         f"predict_scan takes a Scan, not a path: read it with read_for_prediction('{tmp_path / 'scan.dcm'}')"),
        (lambda: predict_scan(tmp_path / "scan.dcm", model), "predict_scan takes a Scan, not a path"),
        (lambda: predict_scan(scan, network),
         f"predict_scan's model must be a LoadedModel, got {name}: wrap the network with model_from_network("),
        (lambda: predict_scan(scan, None),
         "predict_scan's model must be a LoadedModel, got NoneType: load one with load_model()"),
        (lambda: predict_scan(scan, model, {"threshold": 0.3}),
         "predict_scan's settings must be PredictSettings or None, got dict: PredictSettings.from_dict(settings)"),
    ):
        with pytest.raises(ScintisegError, match="^" + re.escape(said)):
            call()


def test_a_scan_made_in_code_without_a_pixel_size_is_predicted_with_one_warning_and_its_flag(nm1_scan, make_tiny_network):
    """API audit 74, finding 15: a Scan built without ``pixel_spacing`` (the notebook path) took 2.26 mm with no
    warning and no QC flag, while a file without one warned; the warning says how to give it in code."""
    import warnings

    from scintiseg.predict.loader import model_from_network

    model = model_from_network(make_tiny_network(), pixel_mm=2.26, window="whole")
    with pytest.warns(UserWarning) as caught:
        assumed = predict_scan(Scan({"ANT": nm1_scan.view("ANT")}), model, PredictSettings())
    said = [str(w.message) for w in caught if "pixel spacing" in str(w.message)]
    assert said == ["the scan has no measured pixel spacing; assuming 2.26 x 2.26 mm, no pixel_spacing given to Scan(); "
                    "2.26 mm, a 1024-row whole-body view's (give the right one: Scan(views, pixel_spacing=(row_mm, "
                    "col_mm)), or read_for_prediction(path, pixel_spacing=MM))"]
    assert "pixel_spacing_assumed" in assumed.qc_flags
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        given = predict_scan(Scan({"ANT": nm1_scan.view("ANT")}, nm1_scan.pixel_spacing), model, PredictSettings())
    assert "pixel_spacing_assumed" not in given.qc_flags
