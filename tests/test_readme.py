"""The README's Python example runs as written (on the real NM1 scan) and writes what it says."""

import json
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_example() -> str:
    section = README.read_text(encoding="utf-8").split("### From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_example_predicts_and_writes_every_output(real_nm1, tmp_path, capsys):
    code = _python_example()
    assert '"scan.dcm"' in code and '"out/scan"' in code  # the two paths the test replaces
    out = tmp_path / "out" / "scan"
    code = code.replace('"scan.dcm"', repr(str(real_nm1))).replace('"out/scan"', repr(str(out)))
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README's own example
    prediction = namespace["prediction"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[0] == str(prediction.distinct_lesion_count)
    assert len(printed) == 1 + len(prediction.lesions) and prediction.lesions  # NM1's one lesion at least
    report = json.loads((out / "report.json").read_text())
    assert len(report["lesions"]) == len(prediction.lesions)
    assert report["summary"]["bsi_percent"] == pytest.approx(prediction.bsi_percent, abs=1e-4)
    assert {"report.html", "ANT.labelme.json"} <= {p.name for p in out.iterdir()}
    assert any(p.suffix == ".dcm" for p in out.iterdir())  # the SR and GSPS of a DICOM input
