"""DICOM SR and GSPS (scintiseg.report.dicom_out): finding sites coded in SNOMED CT with the patient's side,
a GSPS whose General Series a validator accepts, and Debian's dciodvfy (dicom3tools) on both files."""

import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.predict.regions import REGION_NAMES
from scintiseg.report.dicom_out import BODY_PART, FINDING_SITES, finding_site, write_gsps, write_sr

LEFT, RIGHT = "7771000", "24028007"  # SCT Left / Right
FINDING_SITE, LATERALITY, TOPOGRAPHICAL = "363698007", "272741003", "106233006"
#: SNOMED CT ids of the regions the test prediction hits, written out rather than read from FINDING_SITES.
SNOMED = {"skull": "89546000", "ribs": "113197003", "lumbar_spine": "122496007", "forearm": "14975008", "tibia_fibula": "110536004"}

#: dciodvfy warnings on the SR of :func:`prediction` (6 lesions), measured with dicom3tools 1.00 (Debian 12):
#: 35 before issue 15 (one private-code warning per finding site), 29 after: 27 private measurement names
#: (3 in the summary, 4 per lesion: mean / max counts, probability, ratio) and the source's zero size and weight.
SR_WARNINGS = 29


@pytest.fixture(scope="module")
def prediction(nm1_scan, make_blobs):
    """Six lesions on NM1 (ANT): a midline region off the midline (skull, right), paired regions on both
    sides (ribs, forearm, tibia/fibula) and a midline one on the midline (lumbar spine)."""
    blobs = [(300, 100, 5), (330, 160, 3), (380, 128, 3), (130, 120, 4), (700, 110, 4), (420, 60, 4)]
    prob = make_blobs(nm1_scan.shape, blobs)
    coverage = np.ones(nm1_scan.shape, dtype=bool)
    return predict_from_probabilities(nm1_scan, {"ANT": prob}, {"ANT": coverage}, PredictSettings(0.5, 4))


@pytest.fixture(scope="module")
def written(prediction, nm1_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dicom")
    source = pydicom.dcmread(nm1_path, stop_before_pixels=True)
    write_sr(prediction, source, folder / "sr.dcm")
    write_gsps(prediction, source, folder / "gsps.dcm")
    return folder


def _items(items):
    for item in items:
        yield item
        yield from _items(item.get("ContentSequence", []))


def _code(item, attribute):
    return (item[attribute][0].CodeValue, item[attribute][0].CodingSchemeDesignator)


def _side(site) -> tuple[str | None, str | None]:
    """(laterality, topographical modifier) code values of a finding-site item."""
    found = {_code(i, "ConceptNameCodeSequence")[0]: i.ConceptCodeSequence[0].CodeValue for i in site.get("ContentSequence", [])}
    return found.get(LATERALITY), found.get(TOPOGRAPHICAL)


@pytest.mark.parametrize("region", REGION_NAMES)
def test_every_atlas_region_has_a_snomed_finding_site(region):
    site = finding_site(region, "left")
    if region == "other":  # soft tissue / outside the atlas: no anatomy to name, no private code either
        assert site is None
        return
    location = site.value
    assert location.scheme_designator == "SCT" and location.value.isdigit()
    if region.endswith(("_left", "_right")):  # the side is the region's, whatever the centroid says
        assert site.laterality.value == (LEFT if region.endswith("_left") else RIGHT)
        assert finding_site(region, "midline").laterality.value == site.laterality.value
        assert site.topographical_modifier is None
    else:
        assert site.laterality is None and site.topographical_modifier.value == LEFT
        assert finding_site(region, "midline").topographical_modifier is None


def test_distinct_regions_have_distinct_concepts():
    bases = {name.removesuffix("_left").removesuffix("_right") for name in REGION_NAMES} - {"other"}
    assert bases == set(FINDING_SITES)  # every atlas region is mapped, nothing else
    values = [finding_site(base, "midline").value.value for base in sorted(bases)]
    assert len(set(values)) == len(values)


def test_sr_finding_sites_are_snomed_with_the_lesions_side(prediction, written):
    sr = pydicom.dcmread(written / "sr.dcm")
    sites = [i for i in _items(sr.ContentSequence) if "ConceptNameCodeSequence" in i and _code(i, "ConceptNameCodeSequence")[0] == FINDING_SITE]
    lesions = prediction.lesions
    assert len(sites) == len(lesions) and {lesion.region for lesion in lesions} >= {"skull", "ribs_left", "ribs_right", "lumbar_spine"}
    assert all(_code(site, "ConceptCodeSequence")[1] == "SCT" for site in sites)
    for lesion, site in zip(lesions, sites):  # groups are written in lesion order
        assert site.ConceptCodeSequence[0].CodeValue == SNOMED[lesion.region.removesuffix("_left").removesuffix("_right")]
        laterality, modifier = _side(site)
        expected = {"left": LEFT, "right": RIGHT}.get(lesion.laterality)
        if lesion.region.endswith(("_left", "_right")):
            assert laterality == (LEFT if lesion.region.endswith("_left") else RIGHT) and modifier is None
        else:
            assert laterality is None and modifier == expected
    assert "99SCINTISEG" not in {_code(site, "ConceptCodeSequence")[1] for site in sites}


def test_gsps_names_an_unpaired_body_part_and_no_laterality(written):
    gsps = pydicom.dcmread(written / "gsps.dcm")
    assert gsps.BodyPartExamined == BODY_PART == "WHOLEBODY"
    assert "Laterality" not in gsps  # Type 2C: present only for a paired body part (PS3.3 C.7.3.1)


def _dciodvfy(path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return (result.stdout + result.stderr).splitlines()


def test_dciodvfy_finds_no_error(written, prediction):
    if not shutil.which("dciodvfy"):
        pytest.skip("dciodvfy not installed (Debian: apt-get install dicom3tools; .ci/run does it as root)")
    gsps, sr = _dciodvfy(written / "gsps.dcm"), _dciodvfy(written / "sr.dcm")
    assert gsps[0] == "GrayscaleSoftcopyPresentationState" and sr[0] == "Comprehensive3DSR"
    assert [line for line in gsps + sr if line.startswith("Error")] == []
    assert not [line for line in gsps if "Laterality" in line]
    warnings = [line for line in sr if line.startswith("Warning")]
    private = [line for line in warnings if "99SCINTISEG" in line]
    ratios = sum(lesion.lesion_to_normal_bone is not None for lesion in prediction.lesions)
    assert len(private) == 3 + 3 * len(prediction.lesions) + ratios  # measurement names only, no finding site
    assert len(warnings) <= SR_WARNINGS
