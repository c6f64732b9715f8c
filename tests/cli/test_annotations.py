"""`scintiseg annotations consensus`: decision JSON, seeded choice, one-line errors."""

from __future__ import annotations

import json

import numpy as np

from scintiseg.cli import main
from scintiseg.io.labelme import write_labelme
from scintiseg.scan import Annotation


def _reader(path, c1):
    mask = np.zeros((30, 30), dtype=bool)
    mask[5:25, 5:c1] = True
    write_labelme(Annotation.from_mask(mask), path, image=np.ones((30, 30), dtype=np.uint16))
    return str(path)


def test_consensus_accepts_and_writes_decision(tmp_path, capsys):
    readers = [_reader(tmp_path / f"{n}.json", 25) for n in "ABC"]
    out = tmp_path / "decision.json"
    assert main(["annotations", "consensus", *readers, "--threshold", "0.05", "--seed", "7", "--out", str(out)]) == 0
    decision = json.loads(out.read_text())
    assert decision["decision"] == "accept" and decision["ground_truth_file"] in readers
    assert len(decision["pairs"]) == 3 and capsys.readouterr().out.startswith("accept:")


def test_consensus_flags_disagreement(tmp_path, capsys):
    readers = [_reader(tmp_path / "A.json", 25), _reader(tmp_path / "B.json", 25), _reader(tmp_path / "C.json", 15)]
    assert main(["annotations", "consensus", *readers]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["decision"] == "re-annotate" and decision["ground_truth_reader"] is None


def test_consensus_malformed_json_is_one_line(tmp_path, capsys):
    good = _reader(tmp_path / "A.json", 25)
    (tmp_path / "B.json").write_text("{")
    assert main(["annotations", "consensus", good, str(tmp_path / "B.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "B.json" in err[0] and "malformed JSON" in err[0]
