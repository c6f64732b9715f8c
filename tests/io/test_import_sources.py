"""Reading the scans of a data-set import (scintiseg.io.import_sources): the patient rules and what is listed for a
file; the reading itself is exercised through ``import_dataset`` in test_importer.py."""

from pathlib import Path

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.images import write_png16
from scintiseg.io.import_sources import check_patient_rule, patient_from_name
from scintiseg.io.importer import import_dataset


@pytest.mark.parametrize(
    ("rule", "name", "expected"),
    [("stem", "sub/P7_ANT.png", "P7_ANT"), ("parent", "sub/P7_ANT.png", "sub"),
     (r"regex:^(P\d+)_", "sub/P7_ANT.png", "P7"), (r"regex:^(Q\d+)", "sub/P7_ANT.png", None)],
)
def test_patient_rules(rule, name, expected):
    assert patient_from_name(Path(name), check_patient_rule(rule)) == expected


@pytest.mark.parametrize("rule", ["folder", "regex:P\\d+", "regex:(a)(b)", "regex:("])
def test_bad_patient_rule_is_one_error(rule):
    with pytest.raises(ScintisegError, match="--patient-from"):
        check_patient_rule(rule)


def test_a_resource_warning_raised_while_a_file_is_read_is_not_listed_for_it(tmp_path, monkeypatch):
    """The garbage collector may finalise some earlier unclosed file while a scan is read; its ResourceWarning says
    nothing about the scan (it made a test of exactly one warning flaky), a reader's own warning does."""
    import warnings

    from scintiseg.io import import_sources

    def read_scan(path, **kwargs):
        warnings.warn("unclosed file <_io.BufferedReader name='elsewhere.png'>", ResourceWarning)
        warnings.warn(f"{path}: an odd header", UserWarning)
        return original(path, **kwargs)

    original = import_sources.read_scan
    monkeypatch.setattr(import_sources, "read_scan", read_scan)
    scans = tmp_path / "scans"
    scans.mkdir()
    write_png16(np.random.default_rng(1).poisson(20, (64, 32)).astype(np.uint16), scans / "7.png")
    report = import_dataset([scans], tmp_path / "ds")
    assert [w for w in report.warnings if "has no measured pixel spacing" not in w[1]] == [(str(scans / "7.png"), "an odd header")]
