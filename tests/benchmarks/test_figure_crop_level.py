"""benchmarks/figure_crop_level.py: crops at their own level and at their whole view's, side by side."""

from __future__ import annotations

from PIL import Image
from support import benchmark_module


def test_the_figure_has_three_panels_per_crop(tmp_path):
    with benchmark_module("make_region_crops") as crops:
        assert crops.main(["--out", str(tmp_path / "p"), "--source", "phantom", "--cases", "1", "--seed", "930000"]) == 0
    with benchmark_module("figure_crop_level") as figure:
        out = tmp_path / "fig.png"
        assert figure.main(["--nm1", str(tmp_path / "p"), "--phantom", str(tmp_path / "p"), "--out", str(out),
                            "--crops", "phantom:low-count_s930000_spine:spine", "nm1:low-count_s930000_pelvis:pelvis"]) == 0
    width, height = Image.open(out).size
    assert width > 1.5 * height  # two crops, three panels each, in one row
