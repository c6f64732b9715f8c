"""A prediction's folder read back into a :class:`~scintiseg.predict.prediction.Prediction`: the scan read again from
the file its report names, predicted again with the report's settings and model, its lesions the outlines of the
folder's LabelMe files (a reader's, when edited: :mod:`scintiseg.predict.review` says how they are read). Shared by
``scintiseg review`` (:mod:`.review_folder`), which writes that prediction again, and ``scintiseg compare``
(:mod:`.follow_up_folder`), which compares two of them.

A reader's outlines are read as the reviewed report reads them (:func:`reader_reading`, session 74): the prediction
carries the origin of each outline and the lesions a reader kept alone in their bone (``Prediction.review``), so that
its BSI reads each bone holding a reader's own outline from the view it was outlined on, as the reviewed report's BSI
does (:func:`scintiseg.predict.bsi.reader_bones`). Before, a folder read back carried neither: a reviewed follow-up's
BSI in ``compare`` was 0.145 % where its own signed report said 0.183 % (a reading physician's audit, finding 1).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from scintiseg.errors import ScintisegError
from scintiseg.io.not_scans import REPORT_FORMAT, REPORT_NAME, prediction_report
from scintiseg.io.predicted_labels import PREDICTED_MASK
from scintiseg.predict.engines import ENGINES
from scintiseg.predict.loader import LoadedModel, load_model
from scintiseg.predict.pipeline import predict_scan
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.review import (ORIGINS, as_the_reader_left_them, network_run_again, recorded_network,
                                      review_record, reviewed, scan_as_predicted, view_outlines)
from scintiseg.predict.settings import PredictSettings, min_area_problem, threshold_problem
from scintiseg.scan import Shape

def same_model(report_model: dict, loaded: dict) -> bool:
    """Whether the report's model and the loaded one are the same network and weights file (by name)."""
    def key(info: dict) -> tuple:
        return (info.get("name"), str(info.get("model_config")), info.get("epoch"), Path(str(info.get("source"))).name)

    return key(report_model) == key(loaded)


@dataclass
class PredictedAgain:
    """One prediction folder read back.

    Attributes:
        prediction: the scan predicted again, its lesions the folder's outlines; for a reader's outlines its ``review``
            the reading they are (:func:`reader_reading`), None for the network's own.
        report: the folder's own ``report.json``.
        network: view -> (the network's own lesion mask, the calls the reading rules left out): as the prediction
            recorded them, or the network's output run again for a reviewed folder (session 62:
            :func:`scintiseg.predict.review.recorded_network`).
        not_lesions: view -> label -> how many outlines a reader labelled as a finding that is no lesion (a call
            relabelled ``bladder`` rather than deleted; :func:`scintiseg.io.reader_labels.not_counted`).
        not_lesion_shapes: view -> those outlines as the reader drew them (session 62).
        network_sources: view -> where the network's own lesions came from: ``V_mask.png``, ``report.json`` (its
            contours, a folder without its masks) or ``predicted again`` (session 62).
        left_out_dismissed: view -> how many calls a reading rule left out the reader deleted from the LabelMe file
            (no longer listed: :func:`scintiseg.predict.review.as_the_reader_left_them`; session 65).
    """

    prediction: Prediction
    report: dict
    network: dict[str, tuple[np.ndarray, np.ndarray]]
    not_lesions: dict[str, dict[str, int]] = field(default_factory=dict)
    not_lesion_shapes: dict[str, list[Shape]] = field(default_factory=dict)
    network_sources: dict[str, str] = field(default_factory=dict)
    left_out_dismissed: dict[str, int] = field(default_factory=dict)


#: The most of a ``report.json`` read (as :func:`~scintiseg.io.not_scans.prediction_report` reads it).
REPORT_LIMIT = 1 << 24
#: What a command that reads a prediction back asks for, when a folder's report is none.
GIVE_FOLDER = "give the folder scintiseg predict wrote for one scan"


def report_of(folder: Path) -> dict:
    """``folder``'s scintiseg ``report.json``.

    Raises:
        ScintisegError: one line: there is none, it is damaged (:func:`damaged_report`) or another program's.
    """
    report = prediction_report(folder)
    if report is None:
        path = Path(folder) / REPORT_NAME
        if not path.exists():
            raise ScintisegError(f"no scintiseg report.json here: {GIVE_FOLDER}", path=folder)
        damaged = damaged_report(folder)
        if damaged is not None:
            raise damaged
        raise ScintisegError(f"is not a scintiseg report (its \"format\" is {_shown(_format_of(path))}, not "
                             f"\"{REPORT_FORMAT}\"): {GIVE_FOLDER}", path=path)
    return report


def damaged_report(folder: str | Path) -> ScintisegError | None:
    """The one-line error for ``folder``'s ``report.json`` when it is there but cannot be read as a report: it
    cannot be opened, is empty, too large, not UTF-8 text, malformed JSON or no JSON object. None when it is a
    scintiseg report, when there is none, and when it is another program's JSON object (a batch passes such a folder
    over, and lists a damaged one as failed)."""
    path = Path(folder) / REPORT_NAME
    if not path.exists() or prediction_report(folder) is not None:
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(REPORT_LIMIT + 1)
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
    else:
        problem = _json_problem(raw)
    return None if problem is None else ScintisegError(f"{problem}: {GIVE_FOLDER}", path=path)


def _json_problem(raw: bytes) -> str | None:
    """What keeps ``raw`` from being a JSON object, or None."""
    if len(raw) > REPORT_LIMIT:
        return f"is larger than {REPORT_LIMIT >> 20} MiB, too large for a scintiseg report"
    if not raw.strip():
        return "is empty, not a scintiseg report"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "is malformed (not UTF-8 text), not a scintiseg report"
    except json.JSONDecodeError as exc:
        return f"is malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except (ValueError, RecursionError):
        return "is malformed JSON (nested too deeply)"
    return None if isinstance(data, dict) else f"holds {_json_kind(data)}, not a scintiseg report's JSON object"


def _format_of(path: Path) -> object:
    """The ``format`` of the JSON object in ``path`` (read before: :func:`damaged_report` found nothing wrong)."""
    try:
        return json.loads(path.read_bytes().decode("utf-8")).get("format")
    except (OSError, ValueError, RecursionError, AttributeError):
        return None


def _json_kind(value: object) -> str:
    """What a JSON value is, in words (``"a list"``, ``"text"``, ``"null"``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {dict: "an object", list: "a list", str: "text"}.get(type(value), "a number")


def _shown(value: object) -> str:
    """``value`` as the report's JSON writes it (``null``, ``"abc"``, ``-3``), cut to one short line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_problem(default: object, value: object) -> str | None:
    """What is wrong with the type of ``value`` for a setting whose default is ``default``: a flag takes true or
    false, a number a number, text text, and a setting whose default is null text or null."""
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, (int, float)):
        ok, want = _is_number(value), "a number"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "text"
    else:
        ok, want = value is None or isinstance(value, str), "text or null"
    return None if ok else f"must be {want}, got {_shown(value)}"


def recorded_settings(report: dict, path: Path) -> PredictSettings:
    """The settings a prediction's ``report`` (its ``report.json`` at ``path``) records, checked as ``predict``
    checks its options; the defaults for those it does not record, and keys that are no setting passed over.

    Not :meth:`PredictSettings.from_dict <scintiseg.config.Config.from_dict>`, on purpose: that reads YAML files and
    flags, whose values are text, so it converts ``"0.5"`` to 0.5 and ``"no"`` to false, and refuses a key it does not
    know. A report's settings are the JSON values predict wrote: a value of another JSON type is a damaged report
    (``settings.threshold must be a number in (0, 1], got "0.5"``), and a key that is no setting (written by another
    version) is passed over, so that every report written before still reads.

    Raises:
        ScintisegError: one line naming ``path`` and the setting: ``settings`` not an object, a value of another
            type, out of range or not one of the choices (``<path>: settings.threshold must lie in (0, 1], got -3``).
    """
    given = report.get("settings", {})
    if not isinstance(given, dict):
        raise ScintisegError(f"settings must be an object of predict's settings, got {_json_kind(given)}", path=path)
    defaults = {item.name: item.default for item in fields(PredictSettings) if item.default is not MISSING}
    chosen = {key: value for key, value in given.items() if key in defaults}
    for key, value in chosen.items():
        if key == "threshold":  # the rules predict's options follow, the value shown as the report's JSON writes it
            problem = threshold_problem(value, _shown)
        elif key == "min_area_px":
            problem = min_area_problem(value, _shown)
        else:
            problem = _type_problem(defaults[key], value)
        if problem:
            raise ScintisegError(f"settings.{key} {problem}", path=path)
        try:
            PredictSettings(**{key: value})  # its own checks of this one setting: the choices, the ratio's range
        except ScintisegError as exc:
            raise ScintisegError(f"settings.{key}: {exc.problem}", path=path) from None
    try:
        return PredictSettings(**chosen)
    except (ScintisegError, TypeError, ValueError) as exc:  # a check of settings together, none today
        raise ScintisegError(f"its settings cannot be used again ({exc})", path=path) from None


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
    settings = recorded_settings(report, folder / REPORT_NAME)
    scan = scan_as_predicted(report, folder, [Path(p) for p in scans] if scans else None, scan_flag)
    if not isinstance(report.get("views") or {}, dict):  # (a hand-edited or damaged report: bench_fuzz review:56)
        raise ScintisegError("its views are not an object of view names", path=folder / REPORT_NAME)
    views = list(report.get("views") or {})
    outlines = {view: view_outlines(folder, view, scan.shape) for view in views}
    masks = {view: read.lesions for view, read in outlines.items()}
    recorded = {view: recorded_network(folder, report, view, scan.shape) for view in views}
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
    network, sources = _network_outlines(folder, report, prediction, settings, recorded)
    dismissed: dict[str, int] = {}
    if "left_out_calls" in report:  # after the network's own, which needs them all; a report written before session
        # 35 lists none and its LabelMe files hold no left_out shape, so no call of it was deleted by a reader
        prediction, dismissed = as_the_reader_left_them(prediction, outlines)
    reading = reader_reading(report, prediction, network, folder)
    if reading is not None:
        prediction = reviewed(prediction, reading)
    return PredictedAgain(prediction, report, network, {view: read.not_lesions for view, read in outlines.items()},
                          {view: read.not_lesion_shapes for view, read in outlines.items()}, sources, dismissed)


def lists_same_lesions(report: dict, prediction: Prediction) -> bool:
    """Whether ``report`` (a folder's report.json, the one its SR was written with) lists the lesions ``prediction``
    read back from the folder's outlines: same ids, views and centroids (a reader who edited the LabelMe files without
    a review changed them, and the SR's lesion ids then name other lesions)."""
    try:
        written = {int(item["id"]): (str(item["view"]), float(item["centroid_row"]), float(item["centroid_col"]))
                   for item in report.get("lesions") or []}
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: an id of Infinity (session 66)
        return False
    now = {lesion.id: (lesion.view, lesion.centroid_row, lesion.centroid_col) for lesion in prediction.lesions}
    return written.keys() == now.keys() and all(  # report.json rounds centroids to 0.01 pixel
        written[i][0] == now[i][0] and abs(written[i][1] - now[i][1]) <= 0.01 and abs(written[i][2] - now[i][2]) <= 0.01
        for i in now)


def reader_reading(report: dict, prediction: Prediction, network: dict[str, tuple[np.ndarray, np.ndarray]],
                   folder: Path) -> dict | None:
    """What makes a folder's outlines a reader's reading, for ``Prediction.review``: ``origin`` (lesion id as text ->
    ``network``, ``restored``, ``edited`` or ``reader``) and ``kept_alone`` (the ids of the network's lesions a reader
    kept alone in their bone), the two a reading's BSI depends on (:func:`scintiseg.predict.bsi.reader_bones`).

    - A reviewed folder whose LabelMe files still give the lesions its ``report.json`` lists
      (:func:`lists_same_lesions`): the reading the report states, each lesion's ``origin`` as listed and the
      review's ``kept_alone``, not told again (the network run again on another engine could tell an origin
      otherwise), so that a comparison gives the BSI of the signed report.
    - A folder whose files no longer give the listed lesions (edited in place, after the prediction or after a
      review): told against the network's own outlines (``network``) as ``scintiseg review`` tells them
      (:func:`~scintiseg.predict.review.review_record`): the reading its review would state.
    - A prediction's folder as written, and a report that lists no lesions (a record made in memory): None, the
      network's own reading.

    Only these two keys: the review's reader, its source folder and its counts stay the report's. A comparison's
    DICOM SR of the follow-up is the comparison's, not the review signed (it is not VERIFIED by the reader, and
    replaces no SR); it codes each outline's origin."""
    review = report.get("review") if isinstance(report.get("review"), dict) else None
    listed = report.get("lesions")
    if not isinstance(listed, list) or lists_same_lesions(report, prediction):
        if review is None:
            return None
        origin = {str(item["id"]): item["origin"] for item in listed or []
                  if isinstance(item, dict) and item.get("origin") in ORIGINS}
        alone = review.get("kept_alone") if isinstance(review.get("kept_alone"), list) else []
        return {"origin": origin, "kept_alone": [str(key) for key in alone]}
    told = review_record(prediction, network, folder.resolve())
    return {"origin": told["origin"], "kept_alone": told.get("kept_alone", [])}


#: Where the network's own lesions came from when the folder's files do not hold them (:class:`PredictedAgain`).
RUN_AGAIN = "predicted again"


def _network_outlines(folder: Path, report: dict, prediction: Prediction, settings: PredictSettings,
                      recorded: dict[str, tuple[np.ndarray | None, np.ndarray | None, str]]
                      ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, str]]:
    """View -> the network's own (lesion mask, left-out calls) and where the lesions came from: as ``recorded``
    (:func:`~scintiseg.predict.review.recorded_network`), else the network's output run again
    (:func:`~scintiseg.predict.review.network_run_again`; session 62). One warning naming the file where a
    prediction's folder holds neither its mask nor the report's contours, and where the network run again does not
    find as many lesions as an earlier review of the folder counted."""
    network: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sources: dict[str, str] = {}
    earlier = report.get("review") if isinstance(report.get("review"), dict) else None
    counted = (earlier or {}).get("views") if (earlier or {}).get("compared_with") == "the network" else None
    for view, (found, left_out, source) in recorded.items():
        if found is None or left_out is None:
            again_found, again_left_out = network_run_again(prediction, settings, view)
            if found is None and earlier is None:
                warnings.warn(f"{folder / PREDICTED_MASK.format(view=view)}: not there, and {REPORT_NAME} lists no "
                              f"outline of the network's {view} lesions: the network's output run again stands for "
                              f"them (review.network_outlines)", stacklevel=2)
            found = again_found if found is None else found
            left_out = again_left_out if left_out is None else left_out
            source = source or RUN_AGAIN
        network[view], sources[view] = (found, left_out), source
        tally = counted.get(view) if isinstance(counted, dict) else None
        before = tally.get("network_lesions") if isinstance(tally, dict) else None
        if source == RUN_AGAIN and isinstance(before, int):  # the earlier review's count of the network's own
            again = int(ndi.label(found, structure=np.ones((3, 3), dtype=bool))[1])
            if again != before:
                warnings.warn(f"{folder / REPORT_NAME}: the network run again outlines {again} lesion(s) on {view}, "
                              f"where the review it holds counted {before} of the network's: origins are told against "
                              "the network run again", stacklevel=2)
    return network, sources
