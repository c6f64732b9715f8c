"""Prediction: whole-body scan in; lesions, contours, regions, measurements and BSI out.

    from scintiseg.predict import load_model, predict_scan, read_for_prediction

    prediction = predict_scan(read_for_prediction("scan.dcm"), load_model())
    print(prediction.lesion_count, prediction.bsi_percent)

:func:`read_for_prediction` (:mod:`scintiseg.io.read`) reads a file, or a study's ANT and POST files, exactly as
``scintiseg predict`` does: a side-by-side page split into its two views, a one-view image named by its file name
(``0123_POST.png``: posterior). ``read_scan(path)`` alone reads the image as stored, as data sets do: such a page is
then one view, and ``0123_POST.png`` an anterior one.

Analysis: :mod:`.pipeline` (the stages), :mod:`.windows` (where the model looks), :mod:`.postprocess`,
:mod:`.contours`, :mod:`.regions` (the atlas and :class:`~.regions.SkeletonRegions`), :mod:`.region_model` (the learned region network), :mod:`.measurements`, :mod:`.bsi`, :mod:`.pairing` (ANT-POST lesion pairs), :mod:`.prediction` (the result), :mod:`.settings` (what a prediction may be told).
Model runtime: :mod:`.engines`, :mod:`.loader`, :mod:`.export`, :mod:`.shipped`.
The files a person reads (report JSON/HTML, overlays, DICOM SR/GSPS, batch runs) are written by
:mod:`scintiseg.report`, which imports this package; this package never imports it. See docs/predict.md.
"""

from typing import TYPE_CHECKING

from scintiseg.predict.settings import PredictSettings

if TYPE_CHECKING:
    from scintiseg.io.read import read_for_prediction
    from scintiseg.predict.loader import LoadedModel, load_model, model_from_network
    from scintiseg.predict.pipeline import predict_from_probabilities, predict_scan
    from scintiseg.predict.prediction import Prediction, ViewPrediction
    from scintiseg.predict.region_model import load_region_model, predict_region_labels

__all__ = [
    "LoadedModel", "Prediction", "PredictSettings", "ViewPrediction", "load_model", "model_from_network",
    "load_region_model", "predict_from_probabilities", "predict_region_labels", "predict_scan", "read_for_prediction",
]

#: Name -> the module of this package that defines it, imported on first use.
_LAZY = {
    "LoadedModel": "loader", "load_model": "loader", "model_from_network": "loader",
    "predict_from_probabilities": "pipeline", "predict_scan": "pipeline",
    "Prediction": "prediction", "ViewPrediction": "prediction",
    "load_region_model": "region_model", "predict_region_labels": "region_model",
    "read_for_prediction": "read",  # scintiseg.io.read's, named here beside the call it feeds
}


def __getattr__(name: str):
    """The names of :data:`__all__` on first use (PEP 562).

    The pipeline imports NumPy, SciPy and scikit-image; ``scintiseg predict --help`` needs only
    :mod:`.settings` (its flags are :class:`PredictSettings`' fields), and importing it runs this file first.
    """
    if name not in _LAZY:
        raise AttributeError(f"module 'scintiseg.predict' has no attribute {name!r}")
    from scintiseg.io import read  # lazy: start-up time (NumPy, the readers)
    from scintiseg.predict import loader, pipeline, prediction, region_model  # lazy: start-up time (NumPy, SciPy)

    modules = {"loader": loader, "pipeline": pipeline, "prediction": prediction, "region_model": region_model,
               "read": read}
    return getattr(modules[_LAZY[name]], name)


def __dir__() -> list[str]:
    """The module's names and the lazily imported ones (tab completion, ``help()``)."""
    return sorted(set(globals()) | set(__all__))
