"""Tests of :mod:`scintiseg.experiments.plots`: what the experiment plot draws (read from the figure's artists, not
its pixels) and that it is written as a PNG.

Elsewhere: tests/experiments/test_tables.py (a bar of only some runs is hatched and labelled).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402
from PIL import Image  # noqa: E402

from scintiseg.experiments.paired import Interval, PairedStatistics  # noqa: E402
from scintiseg.experiments.plots import _spread, plot_experiment  # noqa: E402
from scintiseg.experiments.specs import TABLE_METRICS, ExperimentSpec, Row  # noqa: E402

ROWS = (Row("unet", {}, {"dsc": 0.7, "recall": 0.6}), Row("dpunet", {}, {"dsc": 0.75}), Row("rdinet", {}))
MEANS = {"unet": (0.6, 0.5, 0.4), "dpunet": (0.3, 0.2, 0.1), "rdinet": (0.8, 0.7, 0.65)}
STDS = {"unet": (0.1, 0.05, 0.02), "dpunet": (0.04, 0.03, 0.01), "rdinet": (0.02, 0.06, 0.08)}


def statistics(rows=ROWS) -> list[dict]:
    """What :func:`scintiseg.experiments.tables.row_statistics` gives: ``(mean, std)`` per metric, 3 runs per row."""
    return [{"row": row, "runs": 3, **{m: (MEANS[row.name][i], STDS[row.name][i]) for i, m in enumerate(TABLE_METRICS)}}
            for row in rows]


def interval(estimate, low, high) -> Interval:
    return Interval(estimate, low, high, confidence=0.95, resamples=200)


def paired_statistics() -> PairedStatistics:
    """Asymmetric intervals of each row (estimate 0.05 above its mean) and of each row minus ``unet``."""
    rows = {name: {m: interval(MEANS[name][i] + 0.05, MEANS[name][i] - 0.03, MEANS[name][i] + 0.2)
                   for i, m in enumerate(TABLE_METRICS)} for name in MEANS}
    versus = {"dpunet": {m: interval(-0.3 + 0.01 * i, -0.4, -0.1) for i, m in enumerate(TABLE_METRICS)},
              "rdinet": {m: interval(0.2 + 0.01 * i, -0.05, 0.3) for i, m in enumerate(TABLE_METRICS)}}
    return PairedStatistics("unet", rows=rows, versus_reference=versus, patients=17, images=34)


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """plot(spec, stats, paired) -> the figure plot_experiment drew (kept open) and the PNG it wrote."""
    import matplotlib.pyplot as plt

    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda figure=None: figures.append(figure))

    def plot(spec, stats, paired):
        path = tmp_path / "plot.png"
        plot_experiment(spec, stats, paired, path)
        return figures[-1], path

    yield plot
    for figure in figures:
        close(figure)


def _bars(axis) -> dict[str, BarContainer]:
    return {c.get_label().split(" ")[0].lower(): c for c in axis.containers if isinstance(c, BarContainer)}


def _errorbars(axis) -> dict[str, ErrorbarContainer]:
    return {c.get_label(): c for c in axis.containers if isinstance(c, ErrorbarContainer) and c.get_label()[0] != "_"}


def _error_ranges(container) -> np.ndarray:
    """(bars, 2): bottom and top of each bar's error line."""
    return np.array([(s[0][1], s[1][1]) for s in container.errorbar.lines[2][0].get_segments()])


def test_bars_are_the_mean_of_the_runs_with_their_sd_and_the_papers_marks(drawn):
    spec = ExperimentSpec(name="x", title="A title", source="s", rows=ROWS)
    figure, path = drawn(spec, statistics(), None)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100
    assert len(figure.axes) == 1
    axis = figure.axes[0]
    bars = _bars(axis)
    assert list(bars) == list(TABLE_METRICS)
    for i, metric in enumerate(TABLE_METRICS):
        heights = [p.get_height() for p in bars[metric].patches]
        assert heights == pytest.approx([MEANS[name][i] for name in MEANS])
        np.testing.assert_allclose(_error_ranges(bars[metric]),
                                   [(MEANS[n][i] - STDS[n][i], MEANS[n][i] + STDS[n][i]) for n in MEANS])
    paper = [c for c in axis.collections if c.get_label() == "paper"]  # DSC's marks: one per row, at the bar
    assert len(paper) == 1
    marks = np.ma.filled(paper[0].get_offsets().astype(float), np.nan)
    np.testing.assert_allclose(marks[:, 1], [0.7, 0.75, np.nan])
    np.testing.assert_allclose(marks[:2, 0], [p.get_x() + p.get_width() / 2 for p in bars["dsc"].patches[:2]])
    assert [t.get_text() for t in axis.get_xticklabels()] == [row.name for row in ROWS]
    assert axis.get_ylim() == (0.0, 1.0) and "± SD over runs" in axis.get_ylabel()


def test_with_per_image_scores_bars_show_the_bootstrap_interval_and_a_forest_of_differences(drawn):
    spec = ExperimentSpec(name="x", title="t", source="s", rows=ROWS)
    paired = paired_statistics()
    figure, _ = drawn(spec, statistics(), paired)
    assert len(figure.axes) == 2
    left, forest = figure.axes
    bars = _bars(left)
    for i, metric in enumerate(TABLE_METRICS):  # the interval's estimate and ends, not the mean +- SD
        assert [p.get_height() for p in bars[metric].patches] == pytest.approx([MEANS[n][i] + 0.05 for n in MEANS])
        np.testing.assert_allclose(_error_ranges(bars[metric]), [(MEANS[n][i] - 0.03, MEANS[n][i] + 0.2) for n in MEANS])
    assert "95 % bootstrap interval" in left.get_ylabel()
    assert [t.get_text() for t in forest.get_yticklabels()] == ["dpunet", "rdinet"]
    points = _errorbars(forest)
    assert list(points) == [m.upper() for m in TABLE_METRICS]
    for i, container in enumerate(points.values()):
        assert list(container.lines[0].get_xdata()) == pytest.approx([-0.3 + 0.01 * i, 0.2 + 0.01 * i])
        segments = container.lines[2][0].get_segments()  # each difference's interval, along x
        np.testing.assert_allclose([(s[0][0], s[1][0]) for s in segments], [(-0.4, -0.1), (-0.05, 0.3)])
    zero = [line for line in forest.get_lines() if list(line.get_xdata()) == [0, 0]]
    assert len(zero) == 1  # the line at no difference
    assert "17 test patients" in forest.get_title() and "unet" in forest.get_xlabel()


def test_per_image_scores_without_differences_draw_one_panel(drawn):
    paired = PairedStatistics("unet", rows=paired_statistics().rows)
    figure, _ = drawn(ExperimentSpec(name="x", title="t", source="s", rows=ROWS), statistics(), paired)
    assert len(figure.axes) == 1


def test_a_curve_plots_each_metric_against_the_rows_x_with_the_papers_points_where_given(drawn):
    rows = (Row("unet", {}, {"dsc": 0.5}, x=0.1), Row("dpunet", {}, {}, x=0.37), Row("rdinet", {}, {"dsc": 0.8}, x=1.0))
    spec = ExperimentSpec(name="x", title="t", source="s", rows=rows, plot="line", x_label="labelled share")
    figure, _ = drawn(spec, statistics(rows), None)
    axis = figure.axes[0]
    lines = _errorbars(axis)
    assert list(lines) == [f"{m.upper()} (ours)" for m in TABLE_METRICS]
    for i, metric in enumerate(TABLE_METRICS):
        line = lines[f"{metric.upper()} (ours)"].lines[0]
        assert list(line.get_xdata()) == [0.1, 0.37, 1.0]
        assert list(line.get_ydata()) == pytest.approx([MEANS[n][i] for n in MEANS])
    stars = [c for c in axis.collections if c.get_label() == "DSC (paper)"]
    assert len(stars) == 1 and stars[0].get_offsets().tolist() == [[0.1, 0.5], [1.0, 0.8]]
    assert not [c for c in axis.collections if c.get_label() == "CPA (paper)"]  # no paper value: no marker
    assert axis.get_xlabel() == "labelled share"


def test_spread_is_the_interval_where_the_row_has_one_else_mean_and_sd():
    entry = statistics()[0]
    paired = paired_statistics()
    assert _spread(entry, "dsc", paired) == pytest.approx((0.65, 0.08, 0.15))  # estimate, down to low, up to high
    assert _spread(entry, "dsc", None) == (0.6, 0.1, 0.1)
    assert _spread(entry, "recall", PairedStatistics("unet", rows={})) == (0.5, 0.05, 0.05)


def test_each_rows_name_sits_under_the_middle_of_its_group_of_bars(drawn):
    figure, _ = drawn(ExperimentSpec(name="x", title="t", source="s", rows=ROWS), statistics(), None)
    axis = figure.axes[0]
    middle = _bars(axis)[TABLE_METRICS[len(TABLE_METRICS) // 2]]
    centres = [p.get_x() + p.get_width() / 2 for p in middle.patches]
    np.testing.assert_allclose(axis.get_xticks(), centres)
    assert [t.get_text() for t in axis.get_xticklabels()] == [row.name for row in ROWS]
