"""``scintiseg.formats``: what networks learned from besides phantoms (``provenance``) and what input they read
(``InputContract``), as their files say."""

import subprocess
import sys

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.formats import INPUT_FIELDS, TASK_DEFAULTS, InputContract, provenance


def test_provenance_joins_what_every_block_says_and_reads_nothing_else_as_a_claim():
    assert provenance([]) == {} == provenance([{"input_mode": "ant"}, None, "not a block"])
    # only a literal True says real scans; only a list names folders, and only its strings
    assert provenance([{"real_scans": "yes"}, {"real_scans": 1}, {"adapted_on": "/site"}]) == {}
    assert provenance([{"adapted_on": ["/a", 3, "/b"]}, {"real_scans": True, "adapted_on": ["/b", "/c"]}]) == {
        "real_scans": True, "adapted_on": ["/a", "/b", "/c"]}  # in order, each once
    assert provenance(iter([{"adapted_on": []}, {"real_scans": True}])) == {"real_scans": True}


WHOLE_BODY = {"input_mode": "ant", "normalisation": "robust", "window_size": 256, "pixel_mm": 2.26, "window": "whole"}


def test_a_full_record_is_read_as_written_and_says_what_it_recorded():
    contract = InputContract.from_state({"data": {**WHOLE_BODY, "real_scans": True, "adapted_on": ["/site"]}})
    assert (contract.task, contract.input_mode, contract.normalisation, contract.window_size, contract.pixel_mm,
            contract.window, contract.classes) == ("lesions", "ant", "robust", 256, 2.26, "whole", ())
    assert contract.recorded == set(WHOLE_BODY)  # provenance is not the input contract's (provenance() reads it)
    assert INPUT_FIELDS == ("task", "input_mode", "normalisation", "window_size", "pixel_mm", "window", "classes")


def test_a_lesion_network_that_records_nothing_reads_as_the_first_checkpoints_did():
    """Before the data block (2026-11-21): the training config's input mode and normalisation, 256-pixel thoracic
    crops, no resampling; the config's crop_size is not the window."""
    bare = InputContract.from_state({})
    assert bare == TASK_DEFAULTS["lesions"] == InputContract()
    assert (bare.input_mode, bare.normalisation, bare.window_size, bare.pixel_mm, bare.window) == (
        "ant", "percentile", 256, None, "thoracic")
    old = InputContract.from_state({"config": {"input_mode": "aggregate", "normalisation": "log", "crop_size": 128,
                                               "pixel_mm": 2.26, "window_size": 128}})
    assert (old.input_mode, old.normalisation, old.window_size, old.pixel_mm) == ("aggregate", "log", 256, None)
    assert old.recorded == frozenset()  # from the training config, not from the record
    # the record wins over the training config; 0 and "" are as good as absent (the loader's reading)
    mixed = InputContract.from_state({"config": {"normalisation": "log"},
                                      "data": {"normalisation": "robust", "window_size": 0, "window": ""}})
    assert (mixed.normalisation, mixed.window_size, mixed.window, mixed.recorded) == (
        "robust", 256, "thoracic", {"normalisation"})


def test_a_region_network_that_records_nothing_reads_as_the_shipped_one_and_never_its_training_config():
    contract = InputContract.from_state({"config": {"normalisation": "log", "pixel_mm": 9.04},
                                         "data": {"task": "regions", "classes": ["other", "skull"]}})
    assert (contract.task, contract.normalisation, contract.pixel_mm, contract.window, contract.classes) == (
        "regions", "robust", 4.52, "whole", ("other", "skull"))
    assert contract.recorded == {"task", "classes"}


@pytest.mark.parametrize("state, problem", [
    ({"data": ["ant"]}, "its 'config' and 'data' entries must be mappings"),
    ({"config": "ant"}, "its 'config' and 'data' entries must be mappings"),
    ({"data": {"task": "bones"}}, "a network for task 'bones', which this scintiseg does not know (it knows lesions, "
                                  "regions)"),
    ({"data": {"input_mode": 2}}, "input mode 2 is not a name"),
    ({"config": {"normalisation": ["log"]}}, "normalisation ['log'] is not a name"),
    ({"data": {"window_size": True}}, "window size True is not a positive integer"),
    ({"data": {"window_size": -4}}, "window size -4 is not a positive integer"),
    ({"data": {"pixel_mm": 40}}, "pixel size 40 is not a number of mm in [0.1, 20]"),
    ({"data": {"pixel_mm": float("inf")}}, "pixel size inf is not a number of mm in [0.1, 20]"),
    ({"data": {"task": "regions", "classes": "skull"}}, "classes 'skull' are not a list of names"),
    ({"data": {"task": "regions", "classes": ["other", 1]}}, "classes ['other', 1] are not a list of names"),
])
def test_a_malformed_record_is_one_line_naming_the_file(state, problem):
    with pytest.raises(ScintisegError) as error:
        InputContract.from_state(state, "model.pt")
    assert str(error.value) == f"model.pt: {problem}"


@pytest.mark.parametrize("data, problem", [
    ({"task": ["lesions"]}, "a network for task ['lesions'], which this scintiseg does not know"),
    ({"task": {"lesions": 1}}, "a network for task {'lesions': 1}, which this scintiseg does not know"),
    ({"pixel_mm": 10**400}, "pixel size 1000"),
    ({"pixel_mm": -(10**400)}, "pixel size -1000"),
])
def test_a_record_of_values_no_json_writer_of_ours_writes_is_one_line(data, problem):
    """Session 66 (bench_fuzz.py, kind sidecar): a task that is a list or an object (unhashable: TypeError) and a pixel
    size beyond a float (math.isfinite: OverflowError) were tracebacks in `predict --model FILE.onnx`."""
    with pytest.raises(ScintisegError) as error:
        InputContract.from_state({"data": data}, "model.onnx.json")
    assert str(error.value).startswith(f"model.onnx.json: {problem}") and "\n" not in str(error.value)


def test_reading_the_contract_imports_no_torch():
    """An ONNX model's sidecar holds the record, and the ONNX engine runs without torch."""
    probe = ("import sys; from scintiseg.formats import InputContract; InputContract.from_state({}); "
             "import scintiseg.predict.loader; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
