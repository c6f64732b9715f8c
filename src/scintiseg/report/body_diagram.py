"""A body diagram of the involved skeletal regions: a schematic skeleton, front and back, as inline SVG.

Reports of whole-body bone scans (EXINI aBSI, BONENAVI; landscape.md) show where the hotspots are on a
body outline; the physician reads the distribution (axial only, appendicular, one side) at a glance. This
module draws one schematic skeleton seen from the front and one from the back, one shape group per atlas
region of :data:`scintiseg.predict.regions.REGION_NAMES`, and shades the regions that hold lesions.

Choices (no source prescribes a diagram):

- **Drawn from region names.** Each region's base name (``ribs`` of ``ribs_left``) has a hand-drawn
  schematic shape (:data:`_SHAPES`) placed at the atlas's body-height fractions (head 0-0.125, shoulders
  ~0.19, elbows ~0.385, hips ~0.5, knees ~0.715, ankles ~0.945; :data:`scintiseg.predict.regions.ATLAS`),
  drawn for the patient's right side of the front figure and mirrored for the other side. A name outside
  :data:`REGION_NAMES` (``other``, a future region) has no shape and is listed under the figure instead.
- **Laterality is the patient's.** The front figure is seen as the ANT view (the patient's right on the
  image left), the back figure as the POST view as acquired (the patient's right on the image right); both
  carry R/L marks and the convention is written on the figure.
- **Front = findings of the ANT view, back = findings of the POST view** (an unnamed single ``VIEW`` is
  drawn as front, as :mod:`scintiseg.predict.regions` treats it as anterior). The sternum exists only on
  the front and the scapulae only on the back, as in the atlas. A view that was not predicted is drawn
  greyed with "not acquired".
- **The pelvis in halves.** The atlas names the pelvis once (:data:`~scintiseg.predict.regions.HALVED_REGIONS`), yet
  it is two bones; the figure draws it as three pieces: ``pelvis_right`` and ``pelvis_left`` (the hemipelves, one
  shape drawn for the right and mirrored) and ``pelvis`` (the middle piece, symphysis and pubic rami). A finding keyed
  ``pelvis_right`` / ``pelvis_left`` (a pelvic lesion with that ``laterality``: :func:`diagram_region`) shades its
  hemipelvis only; one keyed ``pelvis`` (a lesion on the midline, or a caller that gives no side) shades the middle
  piece. Audit 74, finding 11: one right-sided lesion shaded both hemipelves.
- **Shade = BSI contribution** (% of skeletal mass, the same number as the lesion table's region rows),
  on one sequential scale shared by both figures, from a light tint at 0 to dark red at the largest
  contribution; every involved region gets at least the light tint and a dark outline, so a lesion with a
  tiny BSI contribution is still visible. Each involved region is labelled with its lesion count.

Every text in the SVG (region names in ``data-region`` and ``<title>``) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from scintiseg.predict.regions import HALVED_REGIONS, REGION_NAMES

#: Width and height of one figure (SVG user units); the midline is at x = WIDTH / 2.
WIDTH: float = 200.0
HEIGHT: float = 500.0
_MID = WIDTH / 2

#: Schematic shapes per region base name, as SVG path data in front-figure coordinates for the patient's
#: right side (x < 100; the image left of an ANT view). Midline regions are symmetric about x = 100.
#: Vertical positions follow the atlas fractions: y = 15 + 470 * u.
_SHAPES: dict[str, tuple[str, ...]] = {
    "skull": ("M100,14 C128,14 127,44 124,62 C118,74 82,74 76,62 C73,44 72,14 100,14 Z",),
    "mandible": ("M80,63 Q100,90 120,63 L116,62 Q100,80 84,62 Z",),
    "cervical_spine": ("M95,81 H105 V103 H95 Z",),
    "thoracic_spine": ("M94,104 H106 V180 H94 Z",),
    "lumbar_spine": ("M93,181 H107 V226 H93 Z",),
    "sacrum": ("M90,228 H110 L100,262 Z",),
    "sternum": ("M96,112 H104 V158 L100,163 L96,158 Z",),
    "ribs": tuple(
        f"M94,{y} C72,{y - 7} 60,{y + 2} 64,{y + 16} L67,{y + 16} C64,{y + 5} 74,{y - 2} 94,{y + 4} Z"
        for y in range(110, 176, 12)
    ),
    "clavicle": ("M95,108 L64,101 L63,106 L95,113 Z",),
    "scapula": ("M90,114 L63,110 L80,152 Z",),
    "humerus": ("M53,104 C53,96 65,96 65,104 L61,196 L53,196 Z",),
    "forearm": ("M49,198 H55 L54,258 H48 Z", "M56,198 H62 L60,258 H55 Z"),
    "hand": ("M44,260 H60 L62,284 L57,306 H47 L42,284 Z",),
    "pelvis": ("M89,256 H111 L108,268 H92 Z",),  # the middle piece; each hemipelvis is ``pelvis_<side>``
    "pelvis_half": ("M92,214 C72,204 60,214 62,234 C64,250 80,258 92,254 Z",),
    "femur": ("M82,250 C82,242 94,242 93,252 L91,350 H80 Z",),
    "tibia_fibula": ("M81,353 H90 L89,456 H83 Z", "M75,356 H79 L80,452 H77 Z"),
    "foot": ("M77,460 H90 L92,476 L73,487 L69,481 Z",),
}
#: Where each region's lesion count is written (front figure, patient's right side).
_ANCHORS: dict[str, tuple[float, float]] = {
    "skull": (100, 40), "mandible": (100, 76), "cervical_spine": (100, 95), "thoracic_spine": (100, 145),
    "lumbar_spine": (100, 206), "sacrum": (100, 242), "sternum": (100, 138), "ribs": (76, 150),
    "clavicle": (78, 100), "scapula": (77, 132), "humerus": (58, 150), "forearm": (55, 228), "hand": (52, 284),
    "pelvis": (100, 264), "pelvis_half": (74, 234), "femur": (86, 300), "tibia_fibula": (84, 405), "foot": (80, 474),
}
#: Regions drawn on one figure only (as in the atlas: the sternum faces the ANT detector, the scapulae POST).
_ONLY_ON: dict[str, str] = {"sternum": "front", "scapula": "back"}

_SIDES = ("right", "left")
_IDLE_FILL = "#f0f0f0"
_IDLE_STROKE = "#9a9a9a"
_LOW = (0xFC, 0xBB, 0xA1)  # light red tint: the smallest involvement still shows
_HIGH = (0xA5, 0x0F, 0x15)  # dark red: the largest BSI contribution


@dataclass(frozen=True)
class RegionFinding:
    """What one view found in one region: its lesion count and the region's BSI contribution (%)."""

    lesions: int
    bsi_percent: float


def _split(region: str) -> tuple[str, str | None]:
    """``ribs_left`` -> (``ribs``, ``left``); ``sternum`` -> (``sternum``, None)."""
    for side in _SIDES:
        if region.endswith("_" + side):
            return region[: -len(side) - 1], side
    return region, None


def _drawn_regions() -> list[str]:
    """The region names the figures draw, in atlas order: every atlas region but ``other``, each halved region
    followed by its two halves (module docstring)."""
    names = []
    for region in REGION_NAMES[1:]:
        names.append(region)
        if region in HALVED_REGIONS:
            names += [f"{region}_{side}" for side in _SIDES]
    return names


def _shape_of(region: str) -> str:
    """The :data:`_SHAPES` key of a drawn region: its base name, or ``<base>_half`` for a halved region's side."""
    base, side = _split(region)
    return f"{base}_half" if side is not None and base in HALVED_REGIONS else base


def drawable(region: str) -> bool:
    """Whether ``region`` has a shape on the diagram: every atlas region but ``other``, and each side of a halved one
    (``pelvis_right``; module docstring)."""
    return region in _drawn_regions() and _shape_of(region) in _SHAPES


def diagram_region(region: str, laterality: str | None) -> str:
    """The diagram's name of a lesion's place: its region, with the lesion's side for a halved region (``pelvis``,
    ``right`` -> ``pelvis_right``; module docstring); a midline or unknown side keeps the region's name."""
    if region in HALVED_REGIONS and laterality in _SIDES:
        return f"{region}_{laterality}"
    return region


def _shade(fraction: float) -> str:
    f = min(max(fraction, 0.0), 1.0)
    return "#" + "".join(f"{round(lo + (hi - lo) * f):02x}" for lo, hi in zip(_LOW, _HIGH))


def _mirrored(side: str | None, figure: str) -> bool:
    """Whether a shape drawn for the patient's right on the front figure must be mirrored about the midline."""
    left = side == "left"
    return left != (figure == "back") if side is not None else figure == "back"


def _figure(figure: str, findings: Mapping[str, RegionFinding] | None, scale_max: float, by_count: bool) -> list[str]:
    """The ``<g>`` of one figure (front or back)."""
    title = "Front (as the ANT view)" if figure == "front" else "Back (as the POST view)"
    acquired = findings is not None
    findings = findings or {}
    parts = [f'<g class="figure" data-figure="{figure}"' + ("" if acquired else ' opacity="0.45"') + ">",
             f'<text x="{_MID}" y="9" text-anchor="middle" font-size="11" font-weight="bold">{title}</text>']
    idle, marked, labels = [], [], []
    for region in _drawn_regions():
        base, side = _split(region)
        if _ONLY_ON.get(base, figure) != figure:
            continue
        found = findings.get(region)
        involved = found is not None and found.lesions > 0
        if involved:
            value = found.lesions if by_count else found.bsi_percent
            fill = _shade(value / scale_max if scale_max > 0 else 1.0)
            style = f'class="region involved" fill="{fill}" stroke="#67000d" stroke-width="1.2"'
            data = f' data-lesions="{found.lesions}" data-bsi="{found.bsi_percent:.4g}"'
            tip = f"{region}: {found.lesions} lesion(s), BSI contribution {found.bsi_percent:.3g} %"
        else:
            style = f'class="region" fill="{_IDLE_FILL}" stroke="{_IDLE_STROKE}" stroke-width="0.7"'
            data, tip = "", region
        mirror = ' transform="matrix(-1 0 0 1 200 0)"' if _mirrored(side, figure) else ""
        (marked if involved else idle).append(f'<g {style} data-region="{html.escape(region, quote=True)}"{data}{mirror}>'
                     f"<title>{html.escape(tip)}</title>"
                     + "".join(f'<path d="{d}"/>' for d in _SHAPES[_shape_of(region)]) + "</g>")
        if involved:
            x, y = _ANCHORS[_shape_of(region)]
            if _mirrored(side, figure):
                x = WIDTH - x
            labels.append(f'<text class="count" x="{x:g}" y="{y + 4:g}" text-anchor="middle" font-size="11" '
                          f'font-weight="bold" fill="#000" stroke="#fff" stroke-width="3" paint-order="stroke">'
                          f"{found.lesions}</text>")
    parts += idle + marked + labels  # involved regions last: their outlines stay on top
    right_x, left_x = (12, WIDTH - 12) if figure == "front" else (WIDTH - 12, 12)
    parts += [f'<text x="{right_x}" y="30" text-anchor="middle" font-size="13" font-weight="bold">R</text>',
              f'<text x="{left_x}" y="30" text-anchor="middle" font-size="13" font-weight="bold">L</text>']
    if not acquired:
        parts.append(f'<text x="{_MID}" y="330" text-anchor="middle" font-size="13" fill="#555">not acquired</text>')
    parts.append("</g>")
    return parts


def body_diagram_svg(
    front: Mapping[str, RegionFinding] | None,
    back: Mapping[str, RegionFinding] | None,
    *,
    by_count: bool = False,
) -> str:
    """Inline SVG of a schematic skeleton, front and back, with the involved regions shaded.

    Args:
        front: region name -> finding of the ANT view (or a single unnamed view); None if not predicted.
        back: the same for the POST view; None if not predicted.
        by_count: shade by lesion count instead of BSI contribution.

    Returns:
        An ``<svg>`` element (a string) to embed in HTML. Each region is a ``<g class="region">`` with
        ``data-region``; the involved ones also carry class ``involved``, ``data-lesions`` and ``data-bsi``.

    Example::

        svg = body_diagram_svg({"ribs_left": RegionFinding(2, 0.31)}, None)
    """
    values = [(f.lesions if by_count else f.bsi_percent) for side in (front, back) if side
              for f in side.values() if f.lesions > 0]
    scale_max = max(values, default=0.0)
    parts = [f'<svg class="body-diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {2 * WIDTH + 20:g} '
             f'{HEIGHT + 62:g}" role="img" aria-label="Body diagram of the involved skeletal regions" '
             'font-family="sans-serif">']
    parts += _figure("front", front, scale_max, by_count)
    parts.append(f'<g transform="translate({WIDTH + 20:g} 0)">')
    parts += _figure("back", back, scale_max, by_count)
    parts.append("</g>")
    y = HEIGHT + 6
    unit = "lesions" if by_count else "% BSI"
    parts += [
        '<defs><linearGradient id="bd-shade"><stop offset="0" stop-color="{}"/><stop offset="1" stop-color="{}"/>'
        "</linearGradient></defs>".format(_shade(0.0), _shade(1.0)),
        f'<rect x="10" y="{y}" width="90" height="9" fill="url(#bd-shade)" stroke="#67000d" stroke-width="0.6"/>',
        f'<text x="105" y="{y + 8}" font-size="9">shade: {unit}, up to {scale_max:.3g}; number: lesions</text>',
        f'<text x="10" y="{y + 24}" font-size="9">R/L = the patient\'s right/left. Front is seen as ANT (the patient\'s '
        "right on the image left),</text>",
        f'<text x="10" y="{y + 36}" font-size="9">back as POST (right on the image right). Schematic, not to '
        "scale; regions as the report names them.</text>",
    ]
    hidden = sorted({r for side in (front, back) if side for r, f in side.items() if f.lesions > 0 and not drawable(r)})
    if hidden:
        text = ", ".join(hidden)
        parts.append(f'<text class="undrawn" x="10" y="{y + 48}" font-size="9">Not drawn (outside the atlas '
                     f"regions): {html.escape(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)
