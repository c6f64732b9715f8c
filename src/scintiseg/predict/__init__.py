"""Prediction and the clinical report: whole-body scan in; lesions, regions, BSI and reports out.

    from scintiseg.io import read_scan
    from scintiseg.predict import load_model, predict_scan, write_outputs

    prediction = predict_scan(read_scan("scan.dcm"), load_model())
    write_outputs(prediction, "out/scan")

Modules: :mod:`.pipeline` (the stages), :mod:`.windows` (where the model looks), :mod:`.postprocess`,
:mod:`.contours`, :mod:`.regions`, :mod:`.measurements`, :mod:`.bsi`, :mod:`.report`, :mod:`.html`,
:mod:`.overlay`, :mod:`.dicom_out`, :mod:`.outputs`, :mod:`.batch`, :mod:`.engines`, :mod:`.loader`,
:mod:`.export`, :mod:`.shipped`. See docs/predict.md.
"""

from scintiseg.predict.loader import LoadedModel, load_model, model_from_network
from scintiseg.predict.outputs import write_outputs
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities, predict_scan
from scintiseg.predict.prediction import Prediction, ViewPrediction

__all__ = [
    "LoadedModel", "Prediction", "PredictSettings", "ViewPrediction", "load_model", "model_from_network",
    "predict_from_probabilities", "predict_scan", "write_outputs",
]
