"""A prediction's folder read back into a :class:`~scintiseg.predict.prediction.Prediction`: the scan read again from
the file its report names, predicted again with the report's settings and model, its lesions the outlines of the
folder's LabelMe files (a reader's, when edited: :mod:`scintiseg.predict.review` says how they are read). Shared by
``scintiseg review`` (:mod:`.review_folder`), which writes that prediction again, and ``scintiseg compare``
(:mod:`.follow_up_folder`), which compares two of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.not_scans import prediction_report
from scintiseg.predict.engines import ENGINES
from scintiseg.predict.loader import LoadedModel, load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.review import scan_as_predicted, view_outlines

def same_model(report_model: dict, loaded: dict) -> bool:
    """Whether the report's model and the loaded one are the same network and weights file (by name)."""
    def key(info: dict) -> tuple:
        return (info.get("name"), str(info.get("model_config")), info.get("epoch"), Path(str(info.get("source"))).name)

    return key(report_model) == key(loaded)


@dataclass
class PredictedAgain:
    """One prediction folder read back.

    Attributes:
        prediction: the scan predicted again, its lesions the folder's outlines.
        report: the folder's own ``report.json``.
        network: view -> (the network's lesion mask as predicted, the calls the reading rules left out).
        not_lesions: view -> label -> how many outlines a reader labelled as a finding that is no lesion (a call
            relabelled ``bladder`` rather than deleted; :func:`scintiseg.io.reader_labels.not_counted`).
    """

    prediction: Prediction
    report: dict
    network: dict[str, tuple[np.ndarray, np.ndarray]]
    not_lesions: dict[str, dict[str, int]] = field(default_factory=dict)


def report_of(folder: Path) -> dict:
    """``folder``'s scintiseg ``report.json`` (one line when there is none)."""
    report = prediction_report(folder)
    if report is None:
        raise ScintisegError("no scintiseg report.json here: give the folder scintiseg predict wrote for one scan",
                             path=folder)
    return report


def predict_again(folder: str | Path, *, model: str | Path | LoadedModel | None = None, engine: str | None = None,
                  scans: list[str | Path] | None = None, check_model: bool | None = None,
                  scan_flag: str = "--scan") -> PredictedAgain:
    """Read ``folder`` (one scan's output folder of ``scintiseg predict`` or ``review``) back into a prediction.

    Args:
        folder: the prediction's folder.
        model: the model that predicted: None, the shipped one, checked against the report's; a run, checkpoint or
            ONNX file, or a loaded model, taken as given.
        engine: the inference engine (default: the report's).
        scans: the scan file(s), when no longer where the report says.
        check_model: whether the model must be the report's (default: when ``model`` is None, the shipped one).
        scan_flag: the command's option that gives ``scans``, named when the scan is not found.

    Raises:
        ScintisegError: one line: no report, the scan gone or another scan, a LabelMe file missing or of another size,
            settings that cannot be used, another model than the report's.
    """
    folder = Path(folder)
    report = report_of(folder)
    scan = scan_as_predicted(report, folder, [Path(p) for p in scans] if scans else None, scan_flag)
    views = list(report.get("views") or {})
    outlines = {view: view_outlines(folder, view, scan.shape) for view in views}
    masks = {view: reader for view, (reader, _, _, _) in outlines.items()}
    network = {view: (found, left_out) for view, (_, found, left_out, _) in outlines.items()}
    given = report.get("settings") if isinstance(report.get("settings"), dict) else {}
    names = {field.name for field in fields(PredictSettings)}
    try:
        settings = PredictSettings(**{key: value for key, value in given.items() if key in names})
    except (TypeError, ValueError) as exc:
        raise ScintisegError(f"its settings cannot be used again ({exc})", path=folder / "report.json") from None
    report_model = report.get("model") if isinstance(report.get("model"), dict) else {}
    engine = engine or (report_model.get("engine") if report_model.get("engine") in ENGINES else "onnx")
    loaded = model if isinstance(model, LoadedModel) else load_model(model, engine=engine)
    if (model is None if check_model is None else check_model) and not same_model(report_model, dict(loaded.info)):
        raise ScintisegError(f"the prediction was made by another model ({report_model.get('source')}, epoch "
                             f"{report_model.get('epoch')}) than the shipped one: give it with --model",
                             path=folder / "report.json")
    settings.region_network(getattr(loaded.engine, "name", engine))  # a region model that cannot load: one line
    prediction = predict_scan(scan, loaded, settings, reader_masks=masks)
    if sorted(prediction.views) != sorted(views):
        raise ScintisegError(f"predicted again, the scan gives views {', '.join(prediction.views)}, not the "
                             f"report's {', '.join(views)}", path=folder / "report.json")
    return PredictedAgain(prediction, report, network, {view: parts[3] for view, parts in outlines.items()})
