"""The body diagram: every atlas region is drawn, the involved ones (and only they) are shaded, on the patient's side
of each figure, darker for a larger BSI contribution, with hostile text escaped."""

import re

import numpy as np
import pytest

from scintiseg.predict.regions import REGION_NAMES
from scintiseg.report.body_diagram import WIDTH, RegionFinding, body_diagram_svg, drawable


def _figure(svg: str, figure: str) -> str:
    start = svg.index(f'data-figure="{figure}"')
    return svg[start : svg.index('<g class="figure"', start + 1) if figure == "front" else len(svg)]


def _groups(figure_svg: str) -> dict[str, str]:
    """Region name -> the opening tag and paths of its group."""
    return {m.group(2): m.group(0) for m in re.finditer(r'<g class="region([^"]*)"[^>]*?data-region="([^"]+)".*?</g>', figure_svg)}


def _involved(figure_svg: str) -> set[str]:
    return set(re.findall(r'<g class="region involved"[^>]*?data-region="([^"]+)"', figure_svg))


def _mean_x(group: str) -> float:
    """Mean x of the group's path points, after its mirror transform if any."""
    xs = [float(x) for path in re.findall(r'd="([^"]+)"', group) for x in re.findall(r"(-?\d+(?:\.\d+)?),", path)]
    mean = float(np.mean(xs))
    return WIDTH - mean if "matrix(-1 0 0 1 200 0)" in group else mean


def test_every_atlas_region_but_other_is_drawable():
    assert [r for r in REGION_NAMES if not drawable(r)] == ["other"]
    assert not drawable("ribs") and not drawable("<b>")
    assert drawable("pelvis_right") and drawable("pelvis_left") and not drawable("sternum_right")


def test_front_has_the_sternum_and_back_the_scapulae():
    svg = body_diagram_svg({}, {})
    front, back = _groups(_figure(svg, "front")), _groups(_figure(svg, "back"))
    assert "sternum" in front and "sternum" not in back
    assert {"scapula_left", "scapula_right"} <= set(back) and not {"scapula_left", "scapula_right"} & set(front)
    assert set(front) | set(back) == set(REGION_NAMES[1:]) | {"pelvis_right", "pelvis_left"}  # (hemipelves apart)


@pytest.mark.parametrize("figure", ["front", "back"])
def test_sides_are_the_patients(figure):
    """Front (as ANT): the patient's right on the image left; back (as POST): on the image right."""
    groups = _groups(_figure(body_diagram_svg({}, {}), figure))
    for name, group in groups.items():
        x = _mean_x(group)
        if name.endswith("_right"):
            assert (x < WIDTH / 2) == (figure == "front"), name
        elif name.endswith("_left"):
            assert (x > WIDTH / 2) == (figure == "front"), name
        else:
            assert abs(x - WIDTH / 2) < 12, name


def test_marks_exactly_the_involved_regions():
    front = {"ribs_left": RegionFinding(2, 0.3), "sternum": RegionFinding(1, 0.1), "other": RegionFinding(1, 0.0),
             "femur_right": RegionFinding(0, 0.0)}
    back = {"scapula_right": RegionFinding(1, 0.5), "lumbar_spine": RegionFinding(3, 0.03)}
    svg = body_diagram_svg(front, back)
    assert _involved(_figure(svg, "front")) == {"ribs_left", "sternum"}
    assert _involved(_figure(svg, "back")) == {"scapula_right", "lumbar_spine"}
    # Lesion counts are written on the involved regions; "other" has no shape and is listed instead.
    assert sorted(re.findall(r'<text class="count"[^>]*>(\d+)</text>', svg)) == ["1", "1", "2", "3"]
    assert re.search(r'class="undrawn"[^>]*>[^<]*\bother\b', svg)


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_shade_darkens_with_bsi_contribution():
    findings = {"skull": RegionFinding(1, 0.01), "pelvis": RegionFinding(1, 1.0), "femur_left": RegionFinding(1, 4.0)}
    svg = body_diagram_svg(findings, None)
    involved = r'<g class="region involved" fill="(#[0-9a-f]{6})"[^>]*?data-region="([^"]+)"'
    fills = {m.group(2): m.group(1) for m in re.finditer(involved, svg)}
    assert _luminance(fills["skull"]) > _luminance(fills["pelvis"]) > _luminance(fills["femur_left"])
    idle = re.search(r'<g class="region" fill="(#[0-9a-f]{6})"', svg).group(1)
    assert _luminance(idle) > _luminance(fills["skull"])  # the smallest involvement still shows


def test_missing_view_is_marked_not_acquired():
    svg = body_diagram_svg({"skull": RegionFinding(1, 0.2)}, None)
    assert "not acquired" in _figure(svg, "back") and "not acquired" not in _figure(svg, "front")


def test_hostile_region_names_are_escaped():
    svg = body_diagram_svg({'<script>alert("x")</script>': RegionFinding(1, 0.1)}, None)
    assert "<script" not in svg and "&lt;script&gt;" in svg


@pytest.mark.parametrize("figure, right_x", [("front", 12), ("back", WIDTH - 12)])
def test_the_r_mark_stands_on_the_patients_right(figure, right_x):
    """Front as ANT: the patient's right on the image left; back as POST: on the image right."""
    part = _figure(body_diagram_svg({}, {}), figure)
    marks = dict((text, float(x)) for x, text in re.findall(r'<text x="([\d.]+)" y="30"[^>]*>([RL])</text>', part))
    assert marks == {"R": right_x, "L": WIDTH - right_x}


@pytest.mark.parametrize("figure", ["front", "back"])
def test_a_pelvic_lesion_with_a_side_shades_its_own_hemipelvis_only(figure):
    """Audit 74, finding 11: one right-sided pelvic lesion shaded both hemipelves. Now only the right one, on the
    patient's right of each figure (image left on the front, image right on the back), with its count."""
    finding = {"pelvis_right": RegionFinding(1, 0.03)}
    svg = body_diagram_svg(finding if figure == "front" else {}, finding if figure == "back" else {})
    part = _figure(svg, figure)
    assert _involved(part) == {"pelvis_right"}
    groups = _groups(part)
    assert (_mean_x(groups["pelvis_right"]) < WIDTH / 2) == (figure == "front")
    assert (_mean_x(groups["pelvis_left"]) > WIDTH / 2) == (figure == "front")
    assert re.findall(r'<text class="count"[^>]*>(\d+)</text>', part) == ["1"] and 'class="undrawn"' not in svg
    assert _involved(_figure(body_diagram_svg({"pelvis": RegionFinding(1, 0.03)}, None), "front")) == {"pelvis"}
