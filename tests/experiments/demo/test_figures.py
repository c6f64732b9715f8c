"""Tests of :mod:`scintiseg.experiments.demo.figures`: what the demo's two pictures draw (read from the figure's artists
and from the PNG's pixels), on a tiny made-up view and history (no training, no prediction).

Elsewhere: tests/cli/test_demo.py checks that the whole tiny demo links the pictures it wrote.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from scintiseg.display import display_window
from scintiseg.experiments.demo.figures import learning_curves, truth_overlay
from scintiseg.experiments.demo.settings import MODEL_TITLES

SHAPE = (120, 40)
#: A long title, as the demo writes one (patient, view, model, detection sentence).
TITLE = ("held-out phantom patient PH0003 (ANT), the shipped model: 2 of 3 true lesions found, "
         "1 false positive(s)")


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """The figures the functions drew, kept open until the test ends (``plt.close`` is recorded, not run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda figure=None: figures.append(figure))
    yield figures
    for figure in figures:
        close(figure)


def _view():
    """Counts, a true lesion near the top and a predicted one (a false positive) lower down, apart from each other."""
    counts = np.random.default_rng(0).poisson(20, SHAPE).astype(np.uint16)
    truth = np.zeros(SHAPE, bool)
    truth[20:28, 10:18] = True
    predicted = np.zeros(SHAPE, bool)
    predicted[60:68, 20:28] = True
    return counts, truth, predicted


def _rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB")).astype(int)


def _coloured(rgb: np.ndarray) -> dict[str, int]:
    """Pixels of each contour colour: lime (truth), red (prediction), royal blue (the model's window). The counts are
    drawn in grey (r = g = b), so only the outlines and the frame are coloured."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return {"lime": int(((g > 180) & (r < 100) & (b < 100)).sum()),
            "red": int(((r > 180) & (g < 100) & (b < 100)).sum()),
            "blue": int(((b > 170) & (b - r > 80) & (g < 160)).sum())}


def test_whole_view_shows_the_truth_alone_then_the_prediction_over_it(drawn, tmp_path):
    counts, truth, predicted = _view()
    path = tmp_path / "figures" / "deep" / "phantom_PH0003_ANT.png"  # folders made as needed
    truth_overlay(counts, truth, predicted, np.ones(SHAPE, bool), TITLE, path)
    rgb = _rgb(path)
    assert rgb.shape[:2] == (1000, 600)  # two tall whole-body views: 6 x 10 inches at 100 dpi
    left, right = _coloured(rgb[:, :300]), _coloured(rgb[:, 300:])
    assert left["lime"] > 0 and left["red"] == 0  # the truth alone
    assert right["lime"] > 0 and right["red"] > 0  # the prediction over the truth
    assert left["blue"] == right["blue"] == 0  # no window to frame
    figure = drawn[-1]
    axes = figure.axes
    assert [axis.get_title() for axis in axes] == ["truth (green)", "prediction (red) over the truth (green)"]
    for axis in axes:  # both panels: the whole view, in the display window of the counts
        image = axis.images[0]
        assert image.get_array().shape == SHAPE
        assert image.get_clim() == pytest.approx((0, display_window(counts)))
        assert not axis.patches


def test_window_view_frames_what_the_model_saw_and_enlarges_it(drawn, tmp_path):
    counts, truth, predicted = _view()
    coverage = np.zeros(SHAPE, bool)
    coverage[10:70, 5:35] = True
    path = tmp_path / "window.png"
    truth_overlay(counts, truth, predicted, coverage, "short", path)
    rgb = _rgb(path)
    assert rgb.shape[:2] == (750, 750)
    whole, enlarged = drawn[-1].axes
    assert whole.get_title() == "whole body (ANT)"
    assert enlarged.get_title() == "model window: green truth, red prediction"
    assert whole.images[0].get_array().shape == SHAPE
    np.testing.assert_array_equal(enlarged.images[0].get_array(), counts[10:70, 5:35])
    (frame,) = whole.patches
    assert frame.get_xy() == (5 - 0.5, 10 - 0.5) and (frame.get_width(), frame.get_height()) == (30, 60)
    assert not enlarged.patches
    assert _coloured(rgb[:, :250])["blue"] > 0  # the frame, on the whole view (left, the narrower panel)
    colours = _coloured(rgb[:, 250:])  # the enlarged window: truth and prediction, no frame
    assert colours["lime"] > 0 and colours["red"] > 0 and colours["blue"] == 0


def test_nothing_seen_shows_the_whole_view_twice_without_a_frame(drawn, tmp_path):
    counts, truth, predicted = _view()
    truth_overlay(counts, truth, predicted, np.zeros(SHAPE, bool), "nothing seen", tmp_path / "none.png")
    whole, second = drawn[-1].axes
    assert whole.images[0].get_array().shape == second.images[0].get_array().shape == SHAPE
    assert not whole.patches and not second.patches


def test_empty_masks_draw_no_outline(drawn, tmp_path):
    counts, _, _ = _view()
    empty = np.zeros(SHAPE, bool)
    truth_overlay(counts, empty, empty, np.ones(SHAPE, bool), "no lesions", tmp_path / "empty.png")
    assert _coloured(_rgb(tmp_path / "empty.png")) == {"lime": 0, "red": 0, "blue": 0}


def test_long_title_is_wrapped_inside_the_figure(drawn, tmp_path):
    counts, truth, predicted = _view()
    truth_overlay(counts, truth, predicted, np.ones(SHAPE, bool), TITLE, tmp_path / "t.png")
    text = drawn[-1]._suptitle.get_text()
    assert text == textwrap.fill(TITLE, 70) and text.replace("\n", " ") == TITLE
    assert len(text.splitlines()) == 2 and all(len(line) <= 70 for line in text.splitlines())


def test_figure_is_written_atomically_over_an_old_one(drawn, tmp_path):
    counts, truth, predicted = _view()
    path = tmp_path / "over.png"
    path.write_bytes(b"an old, broken picture")
    truth_overlay(counts, truth, predicted, np.ones(SHAPE, bool), "again", path)
    assert _rgb(path).shape[:2] == (1000, 600)
    assert [p.name for p in tmp_path.iterdir()] == ["over.png"]  # no temporary file left beside it


def _history(losses, dscs):
    return [{"epoch": i + 1, "train_loss": loss, "val_dsc": dsc} for i, (loss, dsc) in enumerate(zip(losses, dscs))]


def test_learning_curves_plot_each_networks_loss_and_validation_dsc(drawn, tmp_path):
    runs = {"dpunet": _history([0.9, 0.7, 0.6], [0.1, 0.3, 0.35]), "unet": _history([1.2, 1.0, 0.8], [0.05, 0.2, 0.4])}
    path = tmp_path / "figures" / "learning_curves.png"
    learning_curves(runs, path)
    assert _rgb(path).shape[:2] == (340, 900)  # 9 x 3.4 inches at 100 dpi
    loss, dsc = drawn[-1].axes
    assert [line.get_label() for line in loss.lines] == [MODEL_TITLES["dpunet"], MODEL_TITLES["unet"]]
    for axis, column in ((loss, "train_loss"), (dsc, "val_dsc")):
        for line, history in zip(axis.lines, runs.values()):
            assert list(line.get_xdata()) == [1, 2, 3]
            assert list(line.get_ydata()) == [row[column] for row in history]
    assert "training loss" in loss.get_ylabel() and "validation DSC" in dsc.get_ylabel()
    assert dsc.get_ylim() == (0.0, 1.0)  # a DSC axis, whatever the values
    assert [t.get_text() for t in dsc.get_legend().get_texts()] == list(MODEL_TITLES.values())


def test_importing_the_demo_loads_no_matplotlib():
    """The module docstring's promise: matplotlib is imported inside each function, so ``import`` writes no cache."""
    code = "import sys, scintiseg.experiments.demo.figures, scintiseg.experiments.demo; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
