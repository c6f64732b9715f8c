"""The whole-body benchmark's NM1 mode (benchmarks/bench_wholebody.py --source nm1): its false-positive rules.

The run and its numbers are in docs/predict.md ("Hard negatives"); here a stand-in model draws three
lesions on every NM1 hybrid: one on an inserted lesion, one on NM1's own hot spot, one elsewhere, so the
counts per view, by learned region, on hot spots and per recurring site are known exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage
from support import benchmark_module

from scintiseg.phantom import profile
from scintiseg.predict.contours import mask_contours
from scintiseg.predict.rule_calls import LeftOutCall


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_wholebody") as module:
        yield module


def test_nm1_false_positives_by_region_hot_spot_and_site(bench, monkeypatch):
    if not bench.NM1.is_file():
        pytest.skip(f"the real NM1 scan is not here ({bench.NM1})")
    seen: dict = {}
    real_prepare, real_make = bench.prepare_source, bench.make_hybrid_case

    def prepare(scan, **kwargs):
        seen["source"] = real_prepare(scan, **kwargs)
        return seen["source"]

    def make(source, level, seed, *, negative=False):
        seen["case"] = real_make(source, level, seed, negative=negative)
        return seen["case"]

    def predict(scan, model, settings):
        shape = scan.shape
        labels = np.zeros(shape, dtype=np.int32)
        instances = seen["case"].instances["ANT"] if "case" in seen else np.zeros(shape, dtype=np.uint16)
        hot = seen["source"].views["ANT"].hot
        if (instances == 1).any():
            labels[tuple(np.argwhere(instances == 1)[0])] = 1  # on inserted lesion 1: not a false positive
        r, c = np.argwhere(hot & (instances == 0))[0]
        labels[r, c] = 2  # on NM1's own hot spot
        labels[1000:1003, 5:8] = 3  # below the feet, away from everything
        labels[1000:1003, 8:10] = 4  # ... and a second false positive touching it: one site, hit once per view
        regions = np.zeros(shape, dtype=np.int16)
        regions[:900] = 5  # lumbar_spine
        regions[900:] = 20  # pelvis
        dropped = np.zeros(shape, dtype=bool)
        dropped[1010:1013, 5:8] = True  # a call a reading rule left out, on no inserted lesion
        left_out = [LeftOutCall("symmetric", mask_contours(dropped)[0], None)]
        view = SimpleNamespace(labels=labels, mask=labels > 0, regions=SimpleNamespace(labels=regions),
                               triage_score=0.9 if (instances > 0).any() else 0.4, lesions=[], left_out=left_out)
        return SimpleNamespace(views={"ANT": view})

    monkeypatch.setattr(bench, "prepare_source", prepare)
    monkeypatch.setattr(bench, "make_hybrid_case", make)
    monkeypatch.setattr(bench, "predict_scan", predict)
    result = bench.nm1_false_positives(None, None, cases=2, negatives=1, seed=11, level=0.5)
    fp = result["false_positives"]
    assert fp["per_view"] == 3.0 and fp["per_view_lesion_free"] == 3.0 and fp["per_view_with_lesions"] == 3.0
    assert fp["total"] == 9 and fp["on_nm1_hot_spots"] == 3
    assert fp["by_region"] == {"lumbar_spine": 3, "pelvis": 6}
    assert [site["views_hit"] for site in fp["sites"]] == [3, 3]  # views, not false positives (the pelvis site has 6)
    assert {site["on_nm1_hot_spot"] for site in fp["sites"]} == {True, False}
    assert result["_arrays"]["frequency"].max() == 3
    assert 0 < result["sensitivity_visible"] <= 1
    by_contrast = result["sensitivity_by_contrast"]  # every visible lesion binned once, found ones included
    assert sum(row["lesions"] for row in by_contrast.values()) == result["visible_lesions"]
    assert sum(row["found"] for row in by_contrast.values()) == round(result["sensitivity_visible"] * result["visible_lesions"])
    assert result["triage_auc"] == 1.0  # 0.9 on every case with a visible lesion, 0.4 on the negative
    assert result["left_out"] == {"symmetric": {"calls": 3, "on_true_lesion": 0}}  # one per view, on no lesion
    text = bench.nm1_markdown(result)
    assert "| lumbar_spine | 1.000 | 1.000 | 1.000 |" in text and "| **total** | **3.00** |" in text


def test_nm1_by_site_places_the_lesions_on_the_learned_map_of_nm1_not_known_normal(bench, monkeypatch):
    """``--nm1-by-site``: the region labeller's map of NM1 goes to ``prepare_source`` as ``regions`` (lesions by
    metastatic site), NM1 not taken for a known-normal scan (its own hot spots stay free); without it, no map."""
    if not bench.NM1.is_file():
        pytest.skip(f"the real NM1 scan is not here ({bench.NM1})")
    calls = []

    class Stop(Exception):
        pass

    def prepare(scan, **kwargs):
        calls.append(kwargs)
        raise Stop

    maps = {"ANT": np.ones((1024, 256), np.int16)}
    monkeypatch.setattr(bench, "prepare_source", prepare)
    monkeypatch.setattr(bench, "region_labeller", lambda settings: (lambda scan: maps))
    for by_site in (True, False):
        with pytest.raises(Stop):
            bench.nm1_false_positives(None, None, cases=1, negatives=0, seed=0, level=0.5, by_site=by_site)
    assert calls == [{"regions": maps}, {"regions": None}]
    monkeypatch.setattr(bench, "region_labeller", lambda settings: None)
    with pytest.raises(SystemExit, match="region network"):
        bench.nm1_false_positives(None, None, cases=1, negatives=0, seed=0, level=0.5, by_site=True)


def test_bsi_intervals_hold_the_estimate_and_narrow_with_more_patients(bench):
    rng = np.random.default_rng(1)
    truth = rng.gamma(0.8, 0.4, 400)
    predicted = 0.5 * truth + rng.normal(0, 0.08, 400)
    few, many = bench.bsi_intervals(truth[:30], predicted[:30]), bench.bsi_intervals(truth, predicted)
    for (r_ci, mae_ci), n in ((few, 30), (many, 400)):
        assert r_ci[0] <= bench.pearson(truth[:n], predicted[:n]) <= r_ci[1]
        assert mae_ci[0] <= np.abs(truth[:n] - predicted[:n]).mean() <= mae_ci[1]
    assert many[0][1] - many[0][0] < few[0][1] - few[0][0]
    assert np.isnan(bench.pearson(truth[:5], np.ones(5)))


def test_the_reader_level_truth_keeps_only_lesions_that_stand_out(bench):
    """Two lesions on one bone of 100 counts: a bright one (300) and a faint one (120). The Rose truth counts
    both; the truth at apparent contrast >= 1.5 only the bright one, so its BSI is the bright one's share."""
    counts = np.zeros((80, 40))
    counts[10:70, 5:35] = 100.0
    bright, faint = np.zeros_like(counts, bool), np.zeros_like(counts, bool)
    bright[20:24, 18:22], faint[50:56, 17:23] = True, True
    counts[bright], counts[faint] = 300.0, 120.0
    regions = np.zeros(counts.shape, np.int16)
    regions[10:70, 5:35] = 5  # lumbar spine (the rings 3-6 px around both lesions lie on it)
    instances = np.zeros(counts.shape, np.uint16)
    instances[bright], instances[faint] = 1, 2
    scan = SimpleNamespace(view_names=["ANT"], view=lambda view: counts)
    patient = SimpleNamespace(scan=scan, regions={"ANT": regions}, masks={"ANT": bright | faint},
                              instances={"ANT": instances})
    everything, readers = bench.truth_bsi(patient), bench.truth_bsi(patient, 1.5)
    assert readers > 0 and everything / readers == pytest.approx((16 + 36) / 16)
    assert bench.truth_bsi(patient, 5.0) == 0.0


def test_lesions_found_per_region_count_a_lesion_once_and_split_by_contrast(bench):
    """A bright lumbar lesion found, a faint lumbar lesion missed, a bright sternal lesion missed: lumbar 1/2 of
    all and 1/1 of the conspicuous ones, sternum 0/1 in both tables."""
    counts = np.zeros((80, 40))
    counts[5:75, 5:35] = 100.0
    lumbar_bright, lumbar_faint, sternum = (np.zeros_like(counts, bool) for _ in range(3))
    lumbar_bright[50:54, 10:14], lumbar_faint[62:68, 20:26], sternum[15:20, 17:22] = True, True, True
    counts[lumbar_bright], counts[lumbar_faint], counts[sternum] = 300.0, 120.0, 400.0
    regions = np.zeros(counts.shape, np.int16)
    names = list(bench.REGION_CLASSES)
    regions[40:75, 5:35] = names.index("lumbar_spine")
    regions[5:40, 5:35] = names.index("sternum")
    instances = np.zeros(counts.shape, np.uint16)
    instances[lumbar_bright], instances[lumbar_faint], instances[sternum] = 1, 2, 3
    scan = SimpleNamespace(view_names=["ANT"], view=lambda view: counts)
    patient = SimpleNamespace(scan=scan, regions={"ANT": regions}, masks={"ANT": lumbar_bright | lumbar_faint | sternum},
                              instances={"ANT": instances})
    predicted = np.zeros_like(counts, bool)
    predicted[52:56, 12:16] = True  # overlaps the bright lumbar lesion only
    records = bench.lesion_detections(patient, "ANT", predicted)
    assert sorted((r, f) for r, _, f in records) == [("lumbar_spine", False), ("lumbar_spine", True), ("sternum", False)]
    everything = bench.sensitivity_by_region(records)
    assert everything["lumbar_spine"] == {"lesions": 2, "found": 1, "sensitivity": 0.5}
    assert everything["sternum"] == {"lesions": 1, "found": 0, "sensitivity": 0.0}
    conspicuous = bench.sensitivity_by_region(records, bench.CONSPICUOUS)
    assert conspicuous["lumbar_spine"] == {"lesions": 1, "found": 1, "sensitivity": 1.0}
    assert conspicuous["sternum"]["lesions"] == 1


def test_sensitivity_by_contrast_bins_each_lesion_once_in_order(bench):
    """Five lesions, one per bin edge case: the bins are closed below, open above, and listed faint to bright."""
    records = [("ribs_left", 1.2, False), ("ribs_left", 1.3, True), ("pelvis", 1.49, False), ("pelvis", 1.5, True),
               ("skull", 2.5, True), ("skull", 9.0, True)]
    table = bench.sensitivity_by_contrast(records)
    assert list(table) == ["0.0-1.3", "1.3-1.5", "1.5-2.0", "2.0-3.0", ">= 3.0"]
    assert table["1.3-1.5"] == {"lesions": 2, "found": 1, "sensitivity": 0.5}
    assert table["0.0-1.3"]["found"] == 0 and table[">= 3.0"]["found"] == 1
    assert sum(row["lesions"] for row in table.values()) == len(records)
    # A contrast that could not be read is its own bin, not the brightest one.
    table = bench.sensitivity_by_contrast(records + [("sternum", float("nan"), False)])
    assert table[">= 3.0"]["lesions"] == 1 and table["n/a"] == {"lesions": 1, "found": 0, "sensitivity": 0.0}


def test_the_detectability_ceiling_is_perfect_only_when_nothing_is_left_out(bench):
    """Finding every lesion gives r 1 and MAE 0; a detector blind to one patient's only lesion loses both."""
    truth = np.array([0.0, 0.2, 0.5, 1.0, 2.0])
    assert bench.detectability_ceiling(truth, truth) == {"pearson_r": pytest.approx(1.0), "mae": 0.0}
    found = truth.copy()
    found[4] = 0.3  # the largest patient's faint lesions missed
    ceiling = bench.detectability_ceiling(found, truth)
    assert ceiling["pearson_r"] < 0.95 and ceiling["mae"] == pytest.approx(1.7 / 5)


def test_views_combine_per_bone_by_mean_or_by_maximum(bench):
    """A pelvic lesion only ANT shows and a femoral one both show: the mean halves the first, the maximum keeps
    it; bones absent from a view count as uninvolved there."""
    pelvis, femur = bench.BONE_GROUPS["pelvis"][0], bench.BONE_GROUPS["femur_left"][0]
    per_view = {"ANT": {"pelvis": 0.2, "femur_left": 0.1}, "POST": {"femur_left": 0.3}}
    assert bench.bsi_over_views(per_view) == pytest.approx(pelvis * 0.1 + femur * 0.2)
    assert bench.bsi_over_views(per_view, "max") == pytest.approx(pelvis * 0.2 + femur * 0.3)
    assert bench.bsi_over_views({"ANT": {}, "POST": {}}, "max") == 0.0
    assert bench.bsi_over_views(per_view, "ANT") == pytest.approx(pelvis * 0.2 + femur * 0.1)
    assert bench.bsi_over_views(per_view, "POST") == pytest.approx(femur * 0.3)


def test_the_nearer_view_reads_the_spine_and_sternum_as_the_pipeline_does(bench):
    """A lumbar lesion POST shows (0.4; ANT 0.1) counts POST's, a sternal one ANT shows counts ANT's, a femoral one
    the mean; the same as the pipeline's scan_bone_index on the same tables."""
    from scintiseg.predict.bsi import SPIERS_WEIGHTS, scan_bone_index

    per_view = {"ANT": {"lumbar_spine": 0.1, "sternum": 0.5, "femur_left": 0.2},
                "POST": {"lumbar_spine": 0.4, "sternum": 0.0, "femur_left": 0.1}}
    nearer = bench.bsi_over_views(per_view, "nearer")
    assert nearer == pytest.approx(2.6 * 0.4 + 0.3 * 0.5 + 8.9 * 0.15)
    tables = {view: {bone: {"contribution_percent": SPIERS_WEIGHTS[bone] * f, "covered_fraction": 1.0} for bone, f in rows.items()}
              for view, rows in per_view.items()}
    assert scan_bone_index(tables)[0] == pytest.approx(nearer)


def test_bsi_steps_separate_missed_lesions_outlines_and_false_positives(bench):
    """Two lesions on one bone, one found with half its outline, one missed, and a false positive elsewhere on
    the bone: each step adds exactly one of the three to the BSI, over the truth region map."""
    counts = np.full((80, 40), 100.0)
    regions = np.zeros(counts.shape, np.int16)
    regions[10:70, 5:35] = 5  # lumbar spine: 1,800 bone pixels
    found, missed = np.zeros(counts.shape, bool), np.zeros(counts.shape, bool)
    found[20:30, 10:20], missed[50:60, 10:20] = True, True  # 100 pixels each
    instances = np.zeros(counts.shape, np.uint16)
    instances[found], instances[missed] = 1, 2
    scan = SimpleNamespace(view_names=["ANT"], view=lambda view: counts)
    patient = SimpleNamespace(scan=scan, regions={"ANT": regions}, masks={"ANT": found | missed},
                              instances={"ANT": instances})
    labels = np.zeros(counts.shape, np.int32)
    labels[20:25, 10:20] = 1  # half of the found lesion (50 pixels)
    labels[40:44, 25:30] = 2  # a false positive (20 pixels)
    steps = bench.bsi_steps(patient, {"ANT": labels})
    assert list(steps) == list(bench.BSI_STEPS)
    truth = bench.truth_bsi(patient)
    assert truth > 0
    assert steps["found_true_outlines"] == pytest.approx(truth * 100 / 200)
    assert steps["found_predicted_outlines"] == pytest.approx(truth * 50 / 200)
    assert steps["all_predicted"] == pytest.approx(truth * 70 / 200)
    assert bench.bsi_steps(patient, {"ANT": np.zeros_like(labels)}) == {name: 0.0 for name in bench.BSI_STEPS}


def test_flip_engine_averages_the_network_and_its_mirror(bench):
    weights = np.arange(6, dtype=np.float32)  # a network that favours the right-hand columns: not symmetric

    class Network:
        name = "stand-in"

        def __call__(self, batch):
            return batch[:, :1] * weights

    batch = np.random.default_rng(0).random((2, 1, 3, 6)).astype(np.float32)
    flipped = bench.FlipEngine(Network())
    assert flipped.name == "stand-in"
    out = flipped(batch)
    assert out.shape == (2, 1, 3, 6)
    np.testing.assert_allclose(out, batch[:, :1] * (weights + weights[::-1]) / 2, rtol=1e-6)
    np.testing.assert_allclose(flipped(batch[..., ::-1]), out[..., ::-1], rtol=1e-6)  # now mirror-equivariant


def test_coarse_pass_keeps_the_larger_probability_of_the_two_pixel_sizes(bench):
    calls = []

    def probabilities(scan, model, settings):  # a stand-in whose map says the pixel size it ran at
        calls.append(model.pixel_mm)
        fine = model.pixel_mm == 2.0
        first = np.array([[0.9, 0.1], [0.2, 0.0]] if fine else [[0.3, 0.6], [0.2, 0.05]], dtype=np.float32)
        return {"ANT": first, "POST": first.T}, {"ANT": "coverage"}, ["flag"] if fine else ["coarse flag"]

    @dataclass(frozen=True)
    class Model:  # what with_coarse_pass reads of a LoadedModel
        pixel_mm: float | None

    both = bench.with_coarse_pass(probabilities, 1.5)
    maps, coverage, flags = both("scan", Model(2.0), "settings")
    assert calls == [2.0, 3.0]  # the coarse pass at 1.5 x the model's pixel size
    np.testing.assert_array_equal(maps["ANT"], np.float32([[0.9, 0.6], [0.2, 0.05]]))
    np.testing.assert_array_equal(maps["POST"], np.float32([[0.9, 0.6], [0.2, 0.05]]).T)
    assert coverage == {"ANT": "coverage"} and flags == ["flag"]  # the first pass's
    calls.clear()
    both("scan", Model(None), "settings")  # a model with no pixel size: nothing to coarsen
    assert calls == [None]


def test_coarse_pass_option_wraps_the_pipeline_for_its_run_only(bench, monkeypatch):
    original = bench.pipeline_module.model_probabilities
    seen = []

    class Stop(Exception):
        pass

    def generate(seed, config, **kwargs):
        seen.append(bench.pipeline_module.model_probabilities)
        raise Stop

    monkeypatch.setattr(bench, "generate_patient", generate)
    monkeypatch.setattr(bench, "load_models", lambda specs, **_: SimpleNamespace(engine=None))
    with pytest.raises(Stop):
        bench.main(["--patients", "1", "--coarse-pass", "1.5"])
    assert seen[0] is not original and seen[0].__qualname__.startswith("with_coarse_pass")
    assert bench.pipeline_module.model_probabilities is original  # restored, even after the run failed


def _first_config(bench, monkeypatch, *options: str):
    """The phantom config ``bench_wholebody.main`` hands its first patient with ``options``."""
    seen = []

    class Stop(Exception):
        pass

    def generate(seed, config, **kwargs):
        seen.append(config)
        raise Stop

    monkeypatch.setattr(bench, "generate_patient", generate)
    monkeypatch.setattr(bench, "load_models", lambda specs, **_: SimpleNamespace(engine=None))
    with pytest.raises(Stop):
        bench.main(["--patients", "1", "--profile", "default", *options])
    return seen[0]


def test_counts_option_replaces_only_the_profiles_count_range(bench, monkeypatch):
    config = _first_config(bench, monkeypatch, "--counts", "2e7", "4e7")
    base = profile("default")
    assert config.camera.counts == (2e7, 4e7) and base.camera.counts != (2e7, 4e7)
    assert config.lesions == base.lesions and config.anatomy == base.anatomy  # the same patients otherwise


def test_disc_fraction_option_replaces_only_the_profiles_disc_gaps(bench, monkeypatch):
    config = _first_config(bench, monkeypatch, "--disc-fraction", "0.3", "0.3")
    base = profile("default")
    assert config.anatomy.disc_fraction == (0.3, 0.3) and base.anatomy.disc_fraction != (0.3, 0.3)
    assert replace(config.anatomy, disc_fraction=base.anatomy.disc_fraction) == base.anatomy
    assert config.camera == base.camera and config.lesions == base.lesions  # the same patients otherwise


def test_model_option_loads_one_model_or_the_mean_of_comma_joined_ones(bench, monkeypatch):
    """``--model A,B`` hands ``load_models`` both (the mean of their probabilities); no ``--model`` the shipped one."""
    asked = []

    class Stop(Exception):
        pass

    def load(specs, **_):
        asked.append(list(specs))
        raise Stop

    monkeypatch.setattr(bench, "load_models", load)
    for options in ([], ["--model", "runs/a"], ["--model", "shipped,runs/a/checkpoints/best.pt"]):
        with pytest.raises(Stop):
            bench.main(["--patients", "1", "--profile", "small", *options])
    assert asked == [[None], ["runs/a"], ["shipped", "runs/a/checkpoints/best.pt"]]


def test_no_spine_pattern_option_keeps_every_call(bench, monkeypatch):
    seen = []

    class Stop(Exception):
        pass

    def predict(scan, model, settings):
        seen.append(settings)
        raise Stop

    monkeypatch.setattr(bench, "predict_scan", predict)
    monkeypatch.setattr(bench, "load_models", lambda specs, **_: SimpleNamespace(engine=None))
    for options, expected, ratio in (([], True, 1.3), (["--no-spine-pattern"], False, 1.3),
                                     (["--spine-pattern-ratio", "1.1"], True, 1.1)):
        with pytest.raises(Stop):
            bench.main(["--patients", "1", "--profile", "small", *options])
        assert seen[-1].spine_pattern is expected and seen[-1].spine_pattern_ratio == ratio


def test_bone_contrast_reads_the_lesions_own_bone_not_the_soft_tissue_beside_it(bench):
    # A narrow hot bone (counts 200, region 5) in soft tissue (counts 20), a lesion filling its width at 300.
    counts = np.full((80, 40), 20.0)
    region_map = np.zeros((80, 40), np.int16)
    counts[:, 15:25], region_map[:, 15:25] = 200.0, 5
    extent = np.zeros((80, 40), bool)
    extent[35:45, 15:25] = True
    counts[extent] = 300.0
    lesion_level = ndimage.gaussian_filter(counts, 1.0)[extent].mean()  # both measures smooth by 1 px
    ring = bench._bench_misses().apparent_contrast(counts, extent)
    bone = bench.bone_contrast(counts, extent, region_map, extent)
    assert ring > 2.0                        # the ring half on soft tissue: "conspicuous"
    assert bone == pytest.approx(lesion_level / 200.0, rel=0.01)  # against the bone above and below it
    assert bone < 1.5
    # Another bone (region 6) beside the lesion does not count while its own bone is in reach ...
    region_map[:, 25:30], counts[:, 25:30] = 6, 50.0
    assert bench.bone_contrast(counts, extent, region_map, extent) == pytest.approx(bone, abs=0.05)
    # ... and pixels of other lesions are never the bone's level.
    other = np.zeros_like(extent)
    other[20:60, 15:25] = True
    counts[other & ~extent] = 600.0
    lesion_level = ndimage.gaussian_filter(counts, 1.0)[extent].mean()
    assert bench.bone_contrast(counts, extent, region_map, other) == pytest.approx(lesion_level / 200.0, rel=0.01)
    # A lesion on no bone and with no bone in reach has no bone contrast.
    assert np.isnan(bench.bone_contrast(counts, extent, np.zeros_like(region_map), extent))


def test_left_out_calls_are_tallied_by_rule_and_by_whether_they_touch_a_true_lesion(bench):
    def call(rule, rows, cols):
        mask = np.zeros((20, 20), bool)
        mask[rows, cols] = True
        return LeftOutCall(rule, mask_contours(mask)[0], None)

    truth = np.zeros((20, 20), bool)
    truth[2:4, 2:4] = True
    result = SimpleNamespace(left_out=[call("symmetric", slice(3, 6), slice(3, 6)),  # overlaps the truth by one pixel
                                       call("symmetric", slice(10, 13), slice(10, 13)),
                                       call("spine_pattern", slice(15, 18), slice(2, 5))])
    tally = bench.left_out_truth(result, truth)
    assert tally == {("symmetric", True): 1, ("symmetric", False): 1, ("spine_pattern", False): 1}
    table = bench.left_out_table(tally)
    assert table == {"spine_pattern": {"calls": 1, "on_true_lesion": 0}, "symmetric": {"calls": 2, "on_true_lesion": 1}}
    assert bench.left_out_text(table) == "spine_pattern 0/1, symmetric 1/2" and bench.left_out_text({}) == "none"


def test_the_planar_truth_is_related_to_the_mass_truth_by_r_and_mean_ratio(bench):
    """Planar truths at 0.6 of the mass truth where it is above 0 (a patient without lesions: both 0, left out of the
    ratio): r 1, mean ratio 0.6; the score against the mass truth carries r, MAE, their intervals and the truth."""
    mass = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    planar = 0.6 * mass
    relation = bench.truth_relation(planar, mass)
    assert relation["pearson_r"] == pytest.approx(1.0)
    assert relation["mean_ratio"] == pytest.approx(0.6) and relation["ratio_of_means"] == pytest.approx(0.6)
    assert relation["patients"] == 4 and relation["mae"] == pytest.approx(0.4 * mass.mean())
    uneven = bench.truth_relation(np.array([0.0, 0.5, 0.5, 1.0]), np.array([0.0, 1.0, 0.5, 2.0]))
    assert uneven["mean_ratio"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert np.isnan(bench.truth_relation(np.zeros(3), np.zeros(3))["mean_ratio"])
    predicted = np.array([0.1, 0.3, 0.4, 1.0, 1.5])
    score = bench.score_against(mass, predicted)
    assert score["pearson_r"] == pytest.approx(bench.pearson(mass, predicted))
    assert score["mae"] == pytest.approx(np.abs(mass - predicted).mean())
    assert score["pearson_r_ci95"][0] <= score["pearson_r"] <= score["pearson_r_ci95"][1]
    assert score["mae_ci95"][0] <= score["mae"] <= score["mae_ci95"][1]
    assert score["truth"] == mass.tolist() and score["truth_mean"] == pytest.approx(mass.mean())


def test_phantom_config_lays_its_settings_over_the_profile(bench, tmp_path):
    """``--phantom-config`` (session 69: held-out patients with a pose no profile draws): the run's phantom is the
    profile with the YAML laid over it, and the JSON says which file and which counts it drew from."""
    overrides = tmp_path / "bright.yaml"
    overrides.write_text("camera:\n  counts: [2500000, 2500000]\n")
    out = tmp_path / "run.json"
    assert bench.main(["--patients", "2", "--profile", "small", "--phantom-config", str(overrides), "--threads", "1",
                       "--json-out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["phantom_config"] == str(overrides) and record["counts"] == [2500000.0, 2500000.0]
