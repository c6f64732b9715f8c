"""Tests of :mod:`scintiseg.phantom.sites`: the site tables per primary cancer, the groups a configuration may
name, the one-line refusal of any other, and the shares per skeleton region.

Elsewhere: tests/phantom/test_site_boost.py (the draw from these tables, ``site_boost`` and ``extra_sites`` as
:class:`~scintiseg.phantom.config.LesionConfig` checks them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.phantom.regions import REGION_NAMES
from scintiseg.phantom.sites import EXTRA_SITE_GROUPS, SITE_GROUPS, SITE_WEIGHTS, region_shares, unknown_site_groups


def test_every_primary_has_a_table_of_positive_shares_summing_to_about_one():
    assert set(SITE_WEIGHTS) == {"prostate", "breast", "lung", "other"}
    for primary, table in SITE_WEIGHTS.items():
        assert all(share > 0 for share in table.values()), primary
        assert 0.975 <= sum(table.values()) <= 1.0 + 1e-9, primary  # normalised when drawn; breast's sums to 0.98
    assert sum(SITE_WEIGHTS["breast"].values()) == pytest.approx(0.98)


def test_the_tables_follow_physics_md_where_the_docstring_quotes_it():
    assert SITE_WEIGHTS["breast"]["skull"] == 0.077  # the per-patient 7.7 % read per lesion
    assert SITE_WEIGHTS["lung"]["skull"] == SITE_WEIGHTS["other"]["skull"] == 0.04  # "< 4 %"
    # the ordering physics.md gives: ribs, spine and pelvis lead every table
    for primary, table in SITE_WEIGHTS.items():
        top = sorted(table, key=table.get, reverse=True)[:3]
        assert set(top) <= {"ribs", "thoracic_spine", "lumbar_spine", "pelvis"}, primary


def test_the_groups_are_every_tables_sites_and_the_lower_legs_sorted_once():
    in_tables = {site for table in SITE_WEIGHTS.values() for site in table}
    assert set(SITE_GROUPS) == in_tables | set(EXTRA_SITE_GROUPS)
    assert list(SITE_GROUPS) == sorted(set(SITE_GROUPS))  # sorted, no repeats
    assert set(EXTRA_SITE_GROUPS) == {"tibia", "fibula"} and not set(EXTRA_SITE_GROUPS) & in_tables


@pytest.mark.parametrize("groups", [[], ["ribs"], list(SITE_GROUPS), {"tibia": 2.0, "sternum": 0.5}, ("fibula",)])
def test_known_groups_pass(groups):
    assert unknown_site_groups("lesions.site_boost", groups) is None


def test_unknown_groups_are_one_line_naming_the_key_each_unknown_group_once_and_the_choices():
    with pytest.raises(ScintisegError) as caught:
        unknown_site_groups("lesions.extra_sites", {"knee": 1.0, "tibia": 2.0, "Ribs": 1.0, "ankle": 0.5})
    assert str(caught.value) == (f"lesions.extra_sites: unknown site group(s) Ribs, ankle, knee "
                                 f"(choose from {', '.join(SITE_GROUPS)})")
    with pytest.raises(ScintisegError, match=r"^x: unknown site group\(s\) knee \("):
        unknown_site_groups("x", ["knee", "knee", "ribs"])


def test_the_module_imports_neither_of_its_users():
    """lesions.py and config.py both import sites.py; were it to import either, importing one would be circular.
    (Importing it by name runs ``scintiseg.phantom``'s ``__init__``, which imports config.py: its source is read.)"""
    import scintiseg.phantom.sites as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | \
        {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in imported if name.startswith("scintiseg")} == {"scintiseg.errors", "scintiseg.phantom.regions"}
    regions = ast.parse(Path(module.__file__).with_name("regions.py").read_text())  # which imports nothing of ours
    assert not {node.module for node in ast.walk(regions) if isinstance(node, ast.ImportFrom)} - {"__future__"}
    assert not any(isinstance(node, ast.Import) for node in ast.walk(regions))


def test_region_shares_are_the_primaries_mean_split_by_side_and_sum_to_one():
    shares = region_shares()
    assert set(shares) == set(REGION_NAMES.values())
    assert sum(shares.values()) == pytest.approx(1.0)
    mean = {group: sum(table.get(group, 0.0) / sum(table.values()) for table in SITE_WEIGHTS.values()) / 4
            for group in ("thoracic_spine", "pelvis", "ribs", "femur", "clavicle")}
    assert shares["thoracic_spine"] == pytest.approx(mean["thoracic_spine"])
    assert shares["pelvis"] == pytest.approx(mean["pelvis"])
    # a paired group is split equally between the sides
    assert shares["ribs_left"] == shares["ribs_right"] == pytest.approx(mean["ribs"] / 2)
    assert shares["femur_left"] == pytest.approx(mean["femur"] / 2)
    assert shares["clavicle_right"] == pytest.approx(mean["clavicle"] / 2)  # in two of the four tables
    # where metastases go (physics.md): spine, pelvis and ribs hold most; no table names the hands or the lower legs
    assert shares["thoracic_spine"] + shares["lumbar_spine"] + shares["pelvis"] + 2 * shares["ribs_left"] > 0.65
    assert shares["thoracic_spine"] > shares["femur_left"] + shares["femur_right"]
    assert shares["hand_left"] == shares["mandible"] == shares["tibia_fibula_left"] == 0.0


def test_extra_region_shares_add_the_lower_legs_and_renormalise():
    shares = region_shares({"tibia": 0.05, "fibula": 0.01})
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["tibia_fibula_left"] == shares["tibia_fibula_right"] == pytest.approx(0.03 / 1.06)
    assert shares["pelvis"] == pytest.approx(region_shares()["pelvis"] / 1.06)
    with pytest.raises(ScintisegError, match="extra_sites"):
        region_shares({"hand": 0.1})
