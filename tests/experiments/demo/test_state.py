"""Tests of :mod:`scintiseg.experiments.demo.state`: ``DemoState`` is what ``demo.json`` holds, field for field, each
demo's own (nothing shared between two states) and faithful through strict JSON.

Elsewhere: tests/experiments/demo/test_run.py (run_demo fills it and writes demo.json), test_markdown.py (the report
reads it), test_steps.py (a skipped step is recorded in it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import pytest

from scintiseg.experiments.demo.state import DemoState
from scintiseg.train.evaluate import json_safe

#: The keys of demo.json, in the order the docstring lists them (readers of demo.json and report.md use them).
DEMO_JSON_KEYS = ["settings", "timings", "skipped", "metrics", "comparison", "runs", "predictions", "load_average"]


def test_demo_json_has_the_documented_fields_in_order():
    state = DemoState(settings={"cpus": 2})
    assert list(asdict(state)) == DEMO_JSON_KEYS
    assert asdict(state) == {"settings": {"cpus": 2}, "timings": {}, "skipped": [], "metrics": {}, "comparison": {},
                             "runs": {}, "predictions": {}, "load_average": {}}
    documented = DemoState.__doc__.split("Args:", 1)[1]
    places = [documented.find(f"\n        {field.name}:") for field in fields(DemoState)]
    assert -1 not in places and places == sorted(places)  # every field explained, in the fields' order


def test_settings_must_be_given():
    """The settings say what the numbers mean: a state without them would write a demo.json nobody can read."""
    with pytest.raises(TypeError):
        DemoState()


def test_two_states_share_nothing():
    """A second demo in the same process (a test, a notebook) starts empty, whatever the first one recorded."""
    first, second = DemoState(settings={}), DemoState(settings={})
    first.timings["phantom"] = 1.0
    first.skipped.append("phantom")
    first.metrics["dpunet"] = {"images": 2}
    first.comparison["skipped"] = "no"
    first.runs["data"] = {"train": 3}
    first.predictions["phantom"] = {"skipped": "no"}
    first.load_average["start"] = [1.0, 1.0, 1.0]
    assert asdict(second) == {"settings": {}, "timings": {}, "skipped": [], "metrics": {}, "comparison": {},
                              "runs": {}, "predictions": {}, "load_average": {}}


def test_timings_keep_the_order_the_steps_ran_through_demo_json():
    state = DemoState(settings={"cpus": 2, "out": "runs/demo"})
    for name, seconds in (("phantom", 4.0), ("crop + split", 1.5), ("train dpunet", 300.0), ("train unet", 250.0),
                          ("evaluate dpunet", 3.0), ("evaluate unet", 2.0), ("predict", 12.0)):
        state.timings[name] = seconds
    state.skipped += ["phantom", "crop"]
    state.metrics["dpunet"] = {"pooled": {"dsc": 0.5, "recall": float("nan")}, "images": 2}
    state.comparison = {"metrics": [{"metric": "cpa", "dpunet": float("nan"), "low": -0.5, "verdict": "undefined"}]}
    state.load_average = {"start": [2.5, 1.0, 0.4], "end": [3.0, 2.0, 1.0]}
    text = json.dumps(json_safe(asdict(state)), indent=1)  # how run_demo writes demo.json
    back = DemoState(**json.loads(text))
    assert list(back.timings) == ["phantom", "crop + split", "train dpunet", "train unet", "evaluate dpunet",
                                  "evaluate unet", "predict"]
    assert back.metrics["dpunet"]["pooled"] == {"dsc": 0.5, "recall": None}  # strict JSON: NaN is null
    assert back.comparison["metrics"][0]["dpunet"] is None
    assert asdict(back) == json_safe(asdict(state))  # nothing else lost or changed on the way
