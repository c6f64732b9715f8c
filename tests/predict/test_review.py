"""A reader's corrected outlines read as the lesions (scintiseg.predict.review): what each lesion's origin is, what
was deleted, and which left-out calls stop being listed; the network's own outlines taken from the prediction, never
from the reader's file, and a review of a review told against them (session 62)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.errors import ScintisegError
from scintiseg.predict.pipeline import PredictSettings, calls_apart_from, predict_from_probabilities
from scintiseg.predict.review import (ReaderOutlines, as_the_reader_left_them, network_run_again, recorded_network,
                                      review_line, review_record, view_outlines)
from scintiseg.report.outputs import write_outputs

#: Blobs on NM1's ANT: the first on its plain lower thoracic spine (the spine rule leaves it out), the second on its
#: lumbar focus (kept; tests/predict/test_rule_calls.py).
BLOBS = [(310, 141, 4), (364, 150, 4)]


def _disc(shape, row, col, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - row) ** 2 + (cols - col) ** 2 <= radius**2


def test_calls_apart_from_keeps_only_the_components_the_mask_does_not_touch():
    calls = np.zeros((20, 20), bool)
    calls[2:5, 2:5] = calls[10:14, 10:14] = True
    mask = np.zeros_like(calls)
    mask[13, 13] = True  # one pixel of the second call
    kept = calls_apart_from(calls, mask)
    assert kept[2:5, 2:5].all() and not kept[10:14, 10:14].any() and kept.sum() == 9
    assert (calls_apart_from(calls, np.zeros_like(mask)) == calls).all()


def test_the_readers_outlines_are_the_lesions_and_each_says_where_it_came_from(nm1_scan, make_blobs):
    probability = make_blobs(nm1_scan.shape, BLOBS)
    settings = PredictSettings(0.5, 4)
    network = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings)
    assert len(network.lesions) == 1 and len(network.views["ANT"].left_out) == 1
    found, left_out = network.views["ANT"].mask, network.views["ANT"].left_out[0].contour.to_mask(nm1_scan.shape)

    # The reader keeps the lumbar lesion as it is, restores the left-out call drawn larger, and draws one the
    # network did not see at all (on the left knee).
    reader = found | _disc(nm1_scan.shape, 310, 141, 7) | _disc(nm1_scan.shape, 624, 155, 5)
    review = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                        reader_masks={"ANT": reader})
    view = review.views["ANT"]
    assert (view.mask == reader).all() and len(view.lesions) == 3
    assert view.left_out == [] and view.spine_pattern_calls == 0  # the restored call is no longer left out
    assert review.bsi_percent > network.bsi_percent
    record = review_record(review, {"ANT": (found, left_out)}, Path("pred"))
    origins = {round(lesion.centroid_row): record["origin"][str(lesion.id)] for lesion in view.lesions}
    assert origins == {310: "edited", 364: "network", 624: "reader"}
    assert record["views"]["ANT"] == {"network_lesions": 1, "kept": 1, "restored": 0, "edited": 1, "drawn": 1,
                                        "deleted": 0}
    assert review_line(record).startswith("ANT 3 lesions (1 kept, 1 edited, 1 drawn; 0 of the network's 1 deleted)")

    # The reader relabels the left-out call 'lesion' as it stands: restored, not edited.
    restored = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                          reader_masks={"ANT": found | left_out})
    record = review_record(restored, {"ANT": (found, left_out)}, Path("pred"))
    assert sorted(record["origin"].values()) == ["network", "restored"] and restored.views["ANT"].left_out == []
    assert record["views"]["ANT"]["restored"] == 1 and "1 left-out call restored" in review_line(record)

    # The reader deletes the network's lesion and draws nothing: no lesion, no BSI, one deletion.
    empty = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                       reader_masks={"ANT": np.zeros_like(reader)})
    assert empty.lesions == [] and empty.bsi_percent == 0.0
    assert len(empty.views["ANT"].left_out) == 1  # the rule's call stays listed for the reader
    record = review_record(empty, {"ANT": (found, left_out)}, Path("pred"))
    assert record["views"]["ANT"] == {"network_lesions": 1, "kept": 0, "restored": 0, "edited": 0, "drawn": 0,
                                        "deleted": 1}
    # The triage score stays the network's: a ranking of what the network saw, whatever the reader drew.
    assert empty.triage_score == network.triage_score


def _relabel(path: Path, old: str, new: str) -> dict:
    """The LabelMe file ``path`` with its shapes labelled ``old`` relabelled ``new`` (a reader's edit); the shapes."""
    document = json.loads(path.read_text())
    for shape in document["shapes"]:
        if shape["label"] == old:
            shape["label"] = new
    path.write_text(json.dumps(document))
    return document


def test_the_networks_own_outlines_come_from_the_prediction_not_from_the_readers_file(nm1_scan, make_blobs, tmp_path):
    """Session 62: the left-out calls came from the edited LabelMe file, where a call relabelled ``lesion`` is no
    ``left_out`` shape any more (so it was reported ``reader``, not ``restored``), and a folder without its masks gave
    the network no lesion at all."""
    probability = make_blobs(nm1_scan.shape, BLOBS)
    settings = PredictSettings(0.5, 4)
    network = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings)
    found, left_out = network.views["ANT"].mask, network.views["ANT"].left_out[0].contour.to_mask(nm1_scan.shape)
    folder = tmp_path / "pred"
    write_outputs(network, folder, dicom=False)
    report = json.loads((folder / "report.json").read_text())
    _relabel(folder / "ANT.labelme.json", "left_out", "lesion")  # the reader restores the call as it stands

    read = view_outlines(folder, "ANT", nm1_scan.shape)
    assert (read.lesions == (found | left_out)).all() and read.not_lesions == {} and read.not_lesion_shapes == []
    recorded = recorded_network(folder, report, "ANT", nm1_scan.shape)
    assert (recorded[0] == found).all() and (recorded[1] == left_out).all() and recorded[2] == "ANT_mask.png"
    review = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                        reader_masks={"ANT": read.lesions})
    record = review_record(review, {"ANT": recorded[:2]}, folder)
    assert sorted(record["origin"].values()) == ["network", "restored"]

    # Returned without its masks: the contours report.json lists are the same outlines.
    (folder / "ANT_mask.png").unlink()
    recorded = recorded_network(folder, report, "ANT", nm1_scan.shape)
    assert (recorded[0] == found).all() and (recorded[1] == left_out).all() and recorded[2] == "report.json"
    # Without them either, or in a reviewed folder (a reader's files): the network's output run again.
    assert recorded_network(folder, {**report, "lesions": None}, "ANT", nm1_scan.shape)[0] is None
    assert recorded_network(folder, {**report, "review": {}}, "ANT", nm1_scan.shape) == (None, None, "")
    again_found, again_left_out = network_run_again(review, settings, "ANT")
    assert (again_found == found).all() and (again_left_out == left_out).all()


def test_a_lesion_kept_on_one_view_whose_other_views_call_the_reader_deleted_counts_in_the_bsi(nm1_scan, make_blobs):
    """Session 73: the lumbar lesion kept on ANT, its POST call (POST reads the spine) deleted: the BSI was 0 while the
    lesion's row showed its contribution. Now the bone is read from the view the reader kept."""
    from dataclasses import replace

    from scintiseg.scan import Scan

    ant = np.asarray(nm1_scan.view("ANT"))
    scan = Scan({"ANT": ant, "POST": np.ascontiguousarray(ant[:, ::-1])}, nm1_scan.pixel_spacing)
    row, col, radius = BLOBS[1]
    probability = {"ANT": make_blobs(scan.shape, [BLOBS[1]]),
                   "POST": make_blobs(scan.shape, [(row, scan.shape[1] - 1 - col, radius)])}
    settings = PredictSettings(0.5, 4)
    network = predict_from_probabilities(scan, probability, settings=settings)
    assert [len(v.lesions) for v in network.views.values()] == [1, 1] and network.bsi_percent > 0
    own = {name: (view.mask, np.zeros_like(view.mask)) for name, view in network.views.items()}

    def review_of(ant_mask, post_mask):
        review = predict_from_probabilities(scan, probability, settings=settings,
                                            reader_masks={"ANT": ant_mask, "POST": post_mask})
        record = review_record(review, own, Path("pred"))
        return replace(review, review=record), record

    nothing = np.zeros_like(own["ANT"][0])
    kept, record = review_of(own["ANT"][0], nothing)
    lesion = kept.views["ANT"].lesions[0]
    assert lesion.region == "lumbar_spine" and record["kept_alone"] == [str(lesion.id)]
    assert kept.bsi_percent == pytest.approx(kept.views["ANT"].bsi["bones"]["lumbar_spine"]["contribution_percent"])
    assert kept.bsi_percent > 0 and "lumbar_spine" in kept.reader_bones
    both, record = review_of(own["ANT"][0], own["POST"][0])  # nothing deleted: the network's reading, no kept_alone
    assert "kept_alone" not in record and both.bsi_percent == pytest.approx(network.bsi_percent)
    neither, record = review_of(nothing, nothing)
    assert "kept_alone" not in record and neither.bsi_percent == 0.0


def test_a_review_of_a_review_tells_origins_against_the_network(nm1_scan, make_blobs):
    """Session 62: a lesion only a reader drew became ``network`` once its review was reviewed again (the earlier
    review's outlines were taken for the network's)."""
    probability = make_blobs(nm1_scan.shape, BLOBS)
    settings = PredictSettings(0.5, 4)
    network = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings)
    found = network.views["ANT"].mask
    reader = found | _disc(nm1_scan.shape, 624, 155, 5)
    review = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                        reader_masks={"ANT": reader})
    own = {"ANT": network_run_again(review, settings, "ANT")}
    first = review_record(review, own, Path("pred"))
    again = review_record(review, own, Path("pred.rev"), earlier={**first, "reader": {"name": "Doe^Jane"}})
    assert sorted(again["origin"].values()) == sorted(first["origin"].values()) == ["network", "reader"]
    assert again["views"] == first["views"] and again["compared_with"] == "the network"
    assert again["earlier_review"] == {"source_folder": "pred", "reader": {"name": "Doe^Jane"}}
    # a hand-edited earlier report's reader of NaN (bench_fuzz review:11, seed 731) is not carried into report.json
    odd = review_record(review, own, Path("pred.rev"), earlier={**first, "reader": {"name": float("nan")},
                                                                 "source_folder": [1]})
    assert odd["earlier_review"] == {"source_folder": None, "reader": None}
    unsigned = review_record(review, own, Path("pred.rev"), earlier={**first, "reader": {"name": "A", "organization": None}})
    assert unsigned["earlier_review"]["reader"] == {"name": "A", "organization": None}  # (an empty field kept)


def test_an_image_path_outside_the_folder_is_passed_over_when_the_file_needs_none(nm1_scan, tmp_path):
    """Session 62: refused as pointing "outside the data set folder" although the image is embedded or its size
    declared (the scan is the image)."""
    network = predict_from_probabilities(nm1_scan, {"ANT": np.zeros(nm1_scan.shape, np.float32)},
                                         settings=PredictSettings(0.5, 4))
    folder = tmp_path / "pred"
    write_outputs(network, folder, dicom=False)
    path = folder / "ANT.labelme.json"
    document = json.loads(path.read_text())
    drawn = {"label": "lesion", "points": [[120.0, 420.0], [136.0, 418.0], [140.0, 434.0]], "group_id": None,
             "description": "", "shape_type": "polygon", "flags": {}}
    for changes in ({"imagePath": "../../elsewhere/ANT.png"},  # image embedded
                    {"imagePath": "/somewhere/else.png", "imageData": None}):  # its size declared
        path.write_text(json.dumps({**document, **changes, "shapes": [drawn]}))
        assert view_outlines(folder, "ANT", nm1_scan.shape).lesions.sum() > 0
    path.write_text(json.dumps({**document, "imagePath": "../x.png", "imageData": None, "imageHeight": None}))
    with pytest.raises(ScintisegError, match="points outside its folder .*, and the file neither embeds"):
        view_outlines(folder, "ANT", nm1_scan.shape)


def test_an_outline_labelled_no_lesion_is_kept_as_drawn(nm1_scan, make_blobs, tmp_path):
    probability = make_blobs(nm1_scan.shape, BLOBS)
    network = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=PredictSettings(0.5, 4))
    folder = tmp_path / "pred"
    write_outputs(network, folder, dicom=False)
    document = _relabel(folder / "ANT.labelme.json", "lesion", "Bladder")
    with pytest.warns(UserWarning, match="1 'Bladder'"):
        read = view_outlines(folder, "ANT", nm1_scan.shape)
    assert not read.lesions.any() and read.not_lesions == {"Bladder": 1}
    (kept,) = read.not_lesion_shapes
    (drawn,) = [shape for shape in document["shapes"] if shape["label"] == "Bladder"]
    assert kept.label == "Bladder" and kept.group_id is None and np.allclose(kept.points, drawn["points"])


def test_only_the_left_out_calls_the_reader_left_in_the_file_stay_listed(nm1_scan, make_blobs):
    """Session 65: a call whose ``left_out`` shape the reader deleted is dropped and counted, its rule's QC flag with
    it; one relabelled for what it is (its shape kept as a no-lesion outline) is dropped, not counted; one left as it
    was stays, numbered x1."""
    network = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, BLOBS)},
                                         settings=PredictSettings(0.5, 4))
    (call,) = network.views["ANT"].left_out
    pixels = call.contour.to_mask(nm1_scan.shape)
    none = np.zeros(nm1_scan.shape, dtype=bool)
    left, kept = as_the_reader_left_them(network, {"ANT": ReaderOutlines(none, left_out=pixels)})
    assert [c.contour for c in left.views["ANT"].left_out] == [call.contour] and kept == {"ANT": 0}
    assert left.views["ANT"].left_out[0].id == 1 and left.views["ANT"].spine_pattern_calls == 1
    deleted, dismissed = as_the_reader_left_them(network, {"ANT": ReaderOutlines(none, left_out=none)})
    assert deleted.views["ANT"].left_out == [] and dismissed == {"ANT": 1}
    assert deleted.triage_score == network.triage_score and left.qc_flags == network.qc_flags  # the network's
    assert "spine_pattern_ANT" in network.qc_flags  # the rule's flag goes with its last call
    assert deleted.qc_flags == [flag for flag in network.qc_flags if flag != "spine_pattern_ANT"]
    shape = call.contour.to_shape(label="degenerative")
    relabelled, dismissed = as_the_reader_left_them(
        network, {"ANT": ReaderOutlines(none, {"degenerative": 1}, [shape], left_out=none)})
    assert relabelled.views["ANT"].left_out == [] and dismissed == {"ANT": 0}
    unread, dismissed = as_the_reader_left_them(network, {})  # no file read for the view: every call kept
    assert len(unread.views["ANT"].left_out) == 1 and dismissed == {"ANT": 0}


def test_a_left_out_outline_the_reader_drew_is_no_lesion_and_said(nm1_scan, make_blobs, recwarn):
    """Session 66 (bench_fuzz.py --kinds review): an outline a reader draws and labels ``left_out`` touches no call a
    rule left out; it is read as no lesion, as before, but no longer silently: one warning names the file and how
    many; the network's call the file keeps is listed as before, and no warning comes without such an outline."""
    network = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, BLOBS)},
                                         settings=PredictSettings(0.5, 4))
    (call,) = network.views["ANT"].left_out
    pixels = call.contour.to_mask(nm1_scan.shape)
    none = np.zeros(nm1_scan.shape, dtype=bool)
    as_the_reader_left_them(network, {"ANT": ReaderOutlines(none, left_out=pixels, path=Path("f/ANT.labelme.json"))})
    assert not recwarn.list  # the file's left_out outlines are the network's calls
    drawn = pixels.copy()
    far = np.argwhere(~ndi.binary_dilation(pixels, iterations=20))[0]  # a pixel well away from the call
    drawn[far[0]:far[0] + 5, far[1]:far[1] + 5] = True
    with pytest.warns(UserWarning, match=r"^f/ANT.labelme.json: 1 left_out outline\(s\) touch no call a reading rule "
                      r"left out: read as no lesion"):
        left, dismissed = as_the_reader_left_them(
            network, {"ANT": ReaderOutlines(none, left_out=drawn, path=Path("f/ANT.labelme.json"))})
    assert [c.contour for c in left.views["ANT"].left_out] == [call.contour] and dismissed == {"ANT": 0}
    assert len(left.views["ANT"].lesions) == len(network.views["ANT"].lesions)  # the reader's outline adds none


@pytest.mark.parametrize("coordinate", [10**400, -(10**400)])
def test_a_contour_beyond_a_float_in_report_json_is_no_usable_contour(tmp_path, coordinate):
    """Session 66 (bench_fuzz.py, kind report-json): a report.json contour coordinate larger than a float (a valid JSON
    integer) was an OverflowError traceback in `review` / `compare`; it is a contour not usable, as a text one is."""
    good = {"view": "ANT", "contour": [[2.0, 2.0], [6.0, 2.0], [6.0, 6.0]]}
    bad = {"view": "ANT", "contour": [[2.0, 2.0], [coordinate, 2.0], [6.0, 6.0]]}
    report = {"lesions": [good], "left_out_calls": [bad]}
    found, left_out, source = recorded_network(tmp_path, report, "ANT", (8, 8))
    assert found.any() and source == "report.json"
    assert left_out is None  # the calls come from the network run again
    assert recorded_network(tmp_path, {"lesions": [bad]}, "ANT", (8, 8)) == (None, None, "")


def test_an_outline_shrunk_inside_a_network_lesion_is_edited_not_the_networks():
    """``network`` means pixel for pixel one of the network's lesions: a reader's outline drawn smaller inside it is
    ``edited``, and the same outline as the network's stays ``network``."""
    from types import SimpleNamespace

    shape = (60, 60)
    found, none = _disc(shape, 20, 20, 6) | _disc(shape, 40, 40, 6), np.zeros(shape, bool)
    labels = np.zeros(shape, np.int32)
    labels[_disc(shape, 20, 20, 3)] = 1  # shrunk
    labels[_disc(shape, 40, 40, 6)] = 2  # as the network drew it
    view = SimpleNamespace(labels=labels, lesions=[SimpleNamespace(id=7), SimpleNamespace(id=8)])
    record = review_record(SimpleNamespace(views={"ANT": view}), {"ANT": (found, none)}, Path("pred"))
    assert record["origin"] == {"7": "edited", "8": "network"}
    assert record["views"]["ANT"] == {"network_lesions": 2, "kept": 1, "restored": 0, "edited": 1, "drawn": 0,
                                        "deleted": 0}


def test_a_scan_read_at_another_pixel_size_than_its_report_is_refused(nm1_path, tmp_path):
    """Session 73's review: a header read otherwise than predict read it (a spacing given over it, a stood view's
    swapped) would move every outline's mm and the BSI without a word; the report's own size reads it back."""
    from scintiseg.predict.review import scan_as_predicted

    facts = {"source": str(nm1_path), "views": ["ANT"], "shape": [1024, 256]}
    assert scan_as_predicted({"input": facts | {"pixel_spacing_mm": [2.26, 2.26]}}, tmp_path).pixel_spacing == (2.26, 2.26)
    with pytest.raises(ScintisegError, match=r"is read at 2\.26 x 2\.26 mm where .* has 3 x 3 mm"):
        scan_as_predicted({"input": facts | {"pixel_spacing_mm": [3.0, 3.0]}}, tmp_path)
    over = facts | {"pixel_spacing_mm": [3.0, 3.0], "pixel_spacing_over_header": [2.26, 2.26]}
    assert scan_as_predicted({"input": over}, tmp_path).pixel_spacing == (3.0, 3.0)  # read as predict read it
