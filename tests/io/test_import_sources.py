"""Reading the scans of a data-set import (scintiseg.io.import_sources): the patient rules and what is listed for a
file; the reading itself is exercised through ``import_dataset`` in test_importer.py."""

from pathlib import Path

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.images import write_png16
from scintiseg.io.import_sources import ImportReport, check_patient_rule, patient_facts, patient_from_name
from scintiseg.io.import_sources import shared_patient_ids
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


def test_patient_facts_compare_sex_by_letter_and_birth_date_by_its_digits():
    assert patient_facts({"patient_sex": " m ", "patient_birth_date": "1950-01-01"}) == {
        "patient_sex": "M", "patient_birth_date": "19500101"}
    assert patient_facts({"patient_sex": "", "patient_birth_date": None, "modality": "NM"}) == {}


def test_one_warning_per_patient_id_whose_files_disagree_on_sex_or_birth_date():
    """The researcher audit's finding 7: two cohorts numbered alike were one patient each without a word."""
    a, b, c, d, e, f, g, h = (Path(f"/scans/{name}.dcm") for name in "abcdefgh")
    report = ImportReport()
    shared_patient_ids([("P0", g, {"patient_sex": "M"}), ("P0", h, {"patient_sex": "F"})], [  # (warned of before)
        ("P1", a, {"patient_sex": "M", "patient_birth_date": "19500101"}),
        ("P1", b, {"patient_sex": "m", "patient_birth_date": "1950-01-01"}),  # the same person, written otherwise
        ("P1", c, {"patient_sex": "F", "patient_birth_date": "19620304"}),
        ("P1", d, {"patient_sex": "F"}),  # (a second pair: still one warning for P1)
        ("P2", e, {"patient_sex": "M"}), ("P2", f, {"patient_birth_date": "19700101"}),  # nothing both say
        ("P3", g, {}), ("P3", h, {"patient_sex": "F"}),
        ("P4", a, {"patient_sex": "M"}), ("P5", c, {"patient_sex": "F"}),  # other IDs: other patients
    ], report)
    assert report.warnings == [(str(c), (
        f"Patient ID 'P1' is also that of {a}, but the two disagree on Patient's Sex (F here, M there) and Birth Date "
        "(19620304 here, 19500101 there): two people? They are one patient of the data set, kept in one subset by "
        "every split; give one of them another Patient ID if they are two people"))]
