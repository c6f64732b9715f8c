"""The independent-phantom benchmark's scoring (benchmarks/bench_independent.py), on hand-made cases.

The run and its numbers are in docs/robustness.md ("An independently built phantom"); here a case of two
lesions and a stand-in prediction that finds one, names it, and calls one false positive on soft tissue, so
every count the script reports is known.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.phantom.regions import REGION_IDS


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_independent") as module:
        yield module


def _case():
    shape = (60, 40)
    regions = np.zeros(shape, np.uint8)
    regions[5:55, 18:22] = REGION_IDS["thoracic_spine"]
    regions[20:40, 5:12] = REGION_IDS["femur_left"]
    lesions = np.zeros(shape, np.int32)
    lesions[10:14, 18:22] = 1  # on the spine
    lesions[25:29, 6:10] = 2  # on the left femur
    counts = np.where(regions > 0, 40.0, 5.0) + np.where(lesions > 0, 80.0, 0.0)
    info = [{"id": 1, "region": "thoracic_spine", "uptake_ratio": 3.0, "diameter_mm": 10.0},
            {"id": 2, "region": "femur_left", "uptake_ratio": 1.6, "diameter_mm": 10.0},
            {"id": 3, "region": "pelvis", "uptake_ratio": 2.5, "diameter_mm": 10.0}]  # empty on this view
    return SimpleNamespace(views={"ANT": counts}, lesions={"ANT": lesions}, regions={"ANT": regions},
                           lesion_info=info, involved={"thoracic_spine": 0.1, "femur_left": 0.0}, seed=7,
                           pixel_spacing=(2.0, 2.0))


def _prediction(named: str):
    labels = np.zeros((60, 40), np.int32)
    labels[11:13, 19:21] = 1  # on lesion 1
    labels[50:53, 30:33] = 2  # soft tissue, no lesion
    lesions = [SimpleNamespace(region=named), SimpleNamespace(region="other")]
    return SimpleNamespace(labels=labels, lesions=lesions)


def test_score_view_counts_found_missed_and_false_positives(bench):
    scored = bench.score_view(_case(), "ANT", _prediction("thoracic_spine"))
    found = {r["id"]: r["found"] for r in scored["records"]}
    assert found == {1: True, 2: False}  # lesion 3 has no mask on the view: not counted
    assert scored["false_positives"] == ["soft tissue"]
    assert scored["naming"] == [{"truth": "thoracic_spine", "named": "thoracic_spine"}]
    by_uptake = bench.sensitivity(scored["records"], "uptake_ratio", bench.UPTAKE_BINS)
    assert by_uptake == {"0.0-2.0": {"lesions": 1, "found": 0, "sensitivity": 0.0},
                         "3.0-5.0": {"lesions": 1, "found": 1, "sensitivity": 1.0}}


def test_a_false_positive_on_bone_is_named_by_the_truth_region(bench):
    prediction = _prediction("thoracic_spine")
    prediction.labels[prediction.labels == 2] = 0
    prediction.labels[32:35, 7:10] = 2  # left femur, off lesion 2
    assert bench.score_view(_case(), "ANT", prediction)["false_positives"] == ["femur_left"]


def test_naming_shares_exact_up_to_side_and_side(bench):
    naming = [{"truth": "femur_left", "named": "femur_left"}, {"truth": "femur_left", "named": "femur_right"},
              {"truth": "ribs_right", "named": "scapula_right"}, {"truth": "sacrum", "named": "lumbar_spine"},
              {"truth": "femur_left", "named": "pelvis"}]
    shares = bench.naming_shares(naming)
    assert shares["exact"] == 0.2 and shares["up_to_side"] == 0.4
    assert shares["side_right"] == pytest.approx(2 / 3, abs=1e-3)  # the pelvis has no side: not a side error


def test_bsi_truths(bench):
    case = _case()
    # Planar: one view, so every bone is read from it; the spine lesion covers 16 of the spine's 200 pixels.
    spine = 16 / 200 * bench.SPIERS_WEIGHTS["thoracic_spine"]
    femur = 16 / 140 * bench.SPIERS_WEIGHTS["femur_left"]
    assert bench.planar_truth_bsi(case) == pytest.approx(spine + femur, rel=1e-4)  # fractions rounded to 5 places
    assert bench.volume_truth_bsi(case) == pytest.approx(0.1 * bench.SPIERS_WEIGHTS["thoracic_spine"])


def test_a_turned_case_turns_both_views_as_one_patient_and_keeps_counts_and_labels(bench):
    from dataclasses import dataclass

    @dataclass
    class Case:  # the generator's IndependentCase fields the turn touches
        views: dict
        lesions: dict
        regions: dict

    case = _case()
    ant = case.views["ANT"]
    stored = Case(views={"ANT": ant, "POST": ant[:, ::-1]}, lesions={"ANT": case.lesions["ANT"], "POST": case.lesions["ANT"][:, ::-1]},
                  regions={"ANT": case.regions["ANT"], "POST": case.regions["ANT"][:, ::-1]})
    turned = bench.turned_case(stored, 8.0)
    for field in ("views", "lesions", "regions"):
        front, back = getattr(turned, field)["ANT"], getattr(turned, field)["POST"]
        assert front.shape == ant.shape and np.array_equal(back[:, ::-1], front)  # POST is ANT's mirror, turned too
        assert not np.array_equal(front, getattr(stored, field)["ANT"])
    assert set(np.unique(turned.views["ANT"])) <= set(np.unique(ant)) | {0.0}  # nearest neighbour: no new values
    assert set(np.unique(turned.lesions["ANT"])) == {0, 1, 2}
    # The spine (rows 5-55, a column) leans: its middle moves across by about tan(8 degrees) per row.
    rows, cols = np.nonzero(turned.regions["ANT"] == REGION_IDS["thoracic_spine"])
    assert abs(np.polyfit(rows, cols, 1)[0]) == pytest.approx(np.tan(np.radians(8.0)), abs=0.04)


def _two_view_case():
    rng = np.random.default_rng(3)
    ant = rng.poisson(20.0, (64, 24)).astype(np.float32)
    ant[10:20, 3:6] += 50.0  # the patient's right on ANT's left: not mirror-symmetric
    return SimpleNamespace(views={"ANT": ant, "POST": ant[:, ::-1] * 0.8}, pixel_spacing=(4.5, 4.5))


def test_read_back_tells_an_exact_read_from_each_way_a_reader_can_go_wrong(bench):
    from scintiseg.scan import Scan

    case = _two_view_case()
    exact = {v: np.rint(x).astype(np.uint16) for v, x in case.views.items()}
    assert bench.read_back(case, Scan(views=exact, pixel_spacing=(4.5, 4.5))) == "exact"
    mirrored = dict(exact, POST=exact["POST"][:, ::-1])
    assert bench.read_back(case, Scan(views=mirrored, pixel_spacing=(4.5, 4.5))) == "POST read mirrored"
    halved = dict(exact, ANT=exact["ANT"] // 2)
    assert bench.read_back(case, Scan(views=halved, pixel_spacing=(4.5, 4.5))) == "ANT counts differ"
    assert bench.read_back(case, Scan(views=exact, pixel_spacing=(4.5, 2.25))).startswith("pixel spacing")
    one_view = Scan(views={"ANT": exact["ANT"]}, pixel_spacing=(4.5, 4.5))
    assert bench.read_back(case, one_view).startswith("views ['ANT']")


def test_read_written_reads_a_two_view_file_as_written_and_refuses_two_studies(bench, tmp_path):
    from scintiseg.errors import ScintisegError
    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    case = _two_view_case()
    views = {v: np.rint(x).astype(np.uint16) for v, x in case.views.items()}
    path = tmp_path / "both.dcm"
    write_dicom(Scan(views=views, pixel_spacing=case.pixel_spacing, patient_id="IP1"), path)
    assert bench.read_back(case, bench.read_written([path])) == "exact"
    other = tmp_path / "other.dcm"
    write_dicom(Scan(views={"ANT": views["ANT"]}, pixel_spacing=case.pixel_spacing, patient_id="IP2"), other)
    with pytest.raises(ScintisegError, match="2 files read as 2 scans"):
        bench.read_written([path, other])


def test_a_lesion_shape_the_generator_names_is_kept_for_the_sensitivity_by_shape(bench):
    case = _case()
    case.lesion_info[0]["shape"] = "diffuse"  # the second generator's superscan bone
    records = bench.score_view(case, "ANT", _prediction("thoracic_spine"))["records"]
    assert [r["shape"] for r in records] == ["diffuse", ""]
    assert bench.sensitivity(records, "shape") == {"diffuse": {"lesions": 1, "found": 1, "sensitivity": 1.0},
                                                   "": {"lesions": 1, "found": 0, "sensitivity": 0.0}}


def test_each_generator_names_regions_by_scintisegs_ids():
    """The benchmark reads a generator's region maps by scintiseg's ids (false positives named by
    ``REGION_CLASSES[id]``): both generators must number the bones the same way."""
    from scintiseg.phantom.regions import REGION_CLASSES

    with benchmark_module("independent_phantom") as first:
        assert [first.REGION_NAMES[i] for i in range(1, len(REGION_CLASSES))] == list(REGION_CLASSES[1:])
    with benchmark_module("independent_phantom_2") as second:
        assert tuple(second.REGION_CLASSES) == tuple(REGION_CLASSES)


def test_every_export_style_of_the_second_generator_reads_back_exactly_as_predict_reads_it(bench, tmp_path):
    """The files ``write_dicom`` writes, one seed per style (a two-frame file; two files of one view, found by their
    headers and joined): scintiseg's reader gives the generator's views, counts and pixel size."""
    with benchmark_module("independent_phantom_2") as second:
        seeds = {}
        for seed in range(40):
            seeds.setdefault(second.dicom_style(seed), seed)
        assert set(seeds) == set(second.DICOM_STYLES)
        for style, seed in seeds.items():
            case = second.make_case(seed, rows=256, cols=64)
            paths = second.write_dicom(case, tmp_path / style)
            assert bench.read_back(case, bench.read_written(paths)) == "exact", style
            assert len(paths) == (1 if style == "nm_multiframe" else 2)


def test_every_case_s_triage_score_is_written_with_its_seed_and_twin(bench, tmp_path):
    """The JSON's ``triage_scores`` (session 69: which cases moved a triage AUC between two region networks): one
    entry per scored case, a patient's lesion case then its lesion-free twin, the AUC computed from exactly these."""
    out = tmp_path / "run.json"
    assert bench.main(["--patients", "2", "--seed", "5", "--rows", "512", "--cols", "128", "--threads", "1",
                       "--json-out", str(out)]) == 0
    record = json.loads(out.read_text())
    scores = record["triage_scores"]
    assert [(s["seed"], s["twin"]) for s in scores] == [(5, False), (5, True), (6, False), (6, True)]
    assert not any(s["lesion"] for s in scores if s["twin"]) and record["region_model"] is None
    wholebody = bench._module("bench_wholebody")
    auc = wholebody._roc_auc([s["score"] for s in scores], [s["lesion"] for s in scores])
    assert auc == record["triage_auc"] or (np.isnan(auc) and np.isnan(record["triage_auc"]))
    # written unrounded: the last case (seed 6's twin) predicted again gives exactly the score written
    twin = bench._module("independent_phantom").make_case(6, lesions=False, rows=512, cols=128)
    again = bench.predict_scan(bench.case_scan(twin, "IP6"), bench.load_models([None], engine="torch"), bench.PredictSettings())
    assert scores[-1]["score"] == again.triage_score and 0.0 < again.triage_score < 1.0
