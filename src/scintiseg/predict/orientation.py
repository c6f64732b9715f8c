"""Whole-body views stored with the head at the bottom: found by the region network, read turned head-up.

Why. Exports may be flipped (``../shared/reference/realdata.md``), and a phantom built elsewhere from a volume
whose z axis points to the head, projected and written row 0 first, has its feet in the first row. Both
networks were trained head-up (a vertical flip is no plausible patient, :mod:`scintiseg.prepare.augment`), and
they do not read a head-down view: NM1 stored head-down gave 4 lesions instead of 1, its BSI over 75 % of the
skeleton instead of 100 % (session 21, ``scintiseg predict`` on ``NM1[::-1]``).

How. The region network's map of each view as stored (:func:`~.pipeline.analyse_counts`, computed beside the
lesion network, so an upright scan pays nothing) shows an upright view by its head: at least
:data:`MIN_HEAD_MM2` of :data:`HEAD_REGIONS` whose mean row lies above that of :data:`LEG_REGIONS`. When no
whole-body view of a scan (a view whose bones are named, :func:`~.regions.partial_view`) shows one, the views
are turned (rows reversed) and mapped again; when every whole-body view shows one turned, the scan is
head-down. The pipeline then runs the lesion network on the turned views and turns its maps back, and uses
the turned region maps turned back, so every output (outlines, masks, LabelMe files, SR and GSPS, the
report's pictures) stays on the image as stored, which is what a reader opens and what ``scintiseg dataset
import`` reads a corrected outline back onto. QC flag ``head_down``.

Measured (session 21; the shipped region network; head area in mm^2, and whether it lies above the legs;
``runs/s21/orient_reg2.py``): upright as stored, NM1 (also resampled to 1.13 and 4.52 mm, and as an 8-bit
JPEG at 0.17 of its counts) 28,900-29,100 mm^2, above; 44 phantom patients of five profiles (default,
randomised with raised arms and statures of 1.12-1.96 m, shifted, low-count, the 512 x 128 small camera),
both views, 15,600-49,100 mm^2, above, every view. The same views turned: at most 20,000 mm^2, and never
above the legs with more than 7,400 mm^2 (the network mostly names no head at all, or names the real skull,
now at the bottom). Partial fields cut from randomised patients: a field cut below the head shows at most
3,700 mm^2 as stored and no head above the legs turned (no turn); one holding the head shows it as stored.
:data:`MIN_HEAD_MM2` of 10,000 lies between the turned views' 7,400 and the upright views' 15,600 (a
1.1 m patient's head).

Views that disagree (session 28). A scan whose whole-body views do not all show the head up, nor all turned, is
read as stored: one view's judgement against the other's decides nothing. Two files of one study joined into a
scan can disagree (one exported head-down), and so, less likely, can a two-view file. The view without an
upright head is flagged (:data:`NO_UPRIGHT_HEAD_FLAG` ``_<VIEW>``), and batch prediction of a study's two files
reads such a pair apart (:func:`scintiseg.report.batch.predict_pair`), so each file gets this module's check on
its own. Measured: a default phantom patient (910008) with its POST file flipped head-down, joined, named POST's
spinal and pelvic lesions scapula, sternum and ribs (BSI 0.38 against 0.69 upright); read apart, POST's lesions
are those of its upright file read alone, on the file's rows.

A view stored lying (turned by 90 degrees) is stood up by the reader (:func:`scintiseg.io.layout.stand_lying_body`,
a quarter clockwise) and, when that leaves its head at the bottom, turned the other quarter by the prediction
(:func:`stood_the_other_quarter`, a half turn, which keeps the sides, where this module's row reversal
would mirror them). Not handled (stated choices): a left-right mirrored export (a planar bone scan shows no
anatomical cue of the side reliable enough to undo it), and scans named by the atlas (``--regions atlas``), which
does no check.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scintiseg.io.dataset import HEAD_DOWN
from scintiseg.io.layout import QUARTER_COUNTERCLOCKWISE, STOOD_KEY
from scintiseg.io.patient_sides import turned_letters, with_letters_moved
from scintiseg.predict.region_model import RegionModel, predict_region_maps
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions, learned_regions, partial_view
from scintiseg.scan import Scan

#: The regions that make a head (ids of :data:`~.regions.REGION_NAMES`).
HEAD_REGIONS: tuple[str, ...] = ("skull", "mandible", "cervical_spine")
#: The regions that make the legs.
LEG_REGIONS: tuple[str, ...] = ("femur_left", "femur_right", "tibia_fibula_left", "tibia_fibula_right",
                                "foot_left", "foot_right")
#: Least head area (mm^2) of an upright view (module docstring: turned views 7,400 at most, upright 15,600 at least).
MIN_HEAD_MM2: float = 10_000.0
#: QC flag of a scan read turned (docs/predict.md "QC flags"); the word a data set records for such a case.
HEAD_DOWN_FLAG = HEAD_DOWN
#: QC flag (``_<VIEW>``) of a whole-body view showing no upright head while the scan's other view shows one
#: (:func:`views_without_upright_head`).
NO_UPRIGHT_HEAD_FLAG = "no_upright_head"

_HEAD = np.array([REGION_IDS[name] for name in HEAD_REGIONS])
_LEGS = np.array([REGION_IDS[name] for name in LEG_REGIONS])


def shows_head_up(labels: np.ndarray, pixel_mm: tuple[float, float]) -> bool:
    """Whether a region map (ids of :data:`~.regions.REGION_NAMES`) shows an upright head: at least
    :data:`MIN_HEAD_MM2` of head regions whose mean row lies above the legs' (a map without legs: False)."""
    labels = np.asarray(labels)
    head = np.isin(labels, _HEAD)
    if head.sum() * float(pixel_mm[0]) * float(pixel_mm[1]) < MIN_HEAD_MM2:
        return False
    legs = np.isin(labels, _LEGS)
    if not legs.any():  # no legs to be above: not judged upright (a field that holds no legs is never turned)
        return False
    return float(np.nonzero(head)[0].mean()) < float(np.nonzero(legs)[0].mean())


def whole_body_views(regions: dict[str, SkeletonRegions]) -> list[str]:
    """The views whose bones are named (whole-body fields; a crop or spot view is left as it is)."""
    return [view for view, one in regions.items() if one.named]


def upright(regions: dict[str, SkeletonRegions], pixel_mm: tuple[float, float]) -> bool | None:
    """True when every whole-body view shows an upright head, False when none does, None when the scan has no
    whole-body view or its views disagree (then nothing is turned)."""
    views = whole_body_views(regions)
    if not views:
        return None
    shown = [shows_head_up(regions[view].labels, pixel_mm) for view in views]
    if all(shown):
        return True
    return False if not any(shown) else None


def views_without_upright_head(regions: dict[str, SkeletonRegions], pixel_mm: tuple[float, float]) -> list[str]:
    """The whole-body views that show no upright head while another whole-body view of the scan does (the views
    disagree, so :func:`upright` says None and nothing is turned); empty when they agree. QC flag
    :data:`NO_UPRIGHT_HEAD_FLAG` ``_<VIEW>`` (module docstring, "Views that disagree")."""
    shown = {view: shows_head_up(regions[view].labels, pixel_mm) for view in whole_body_views(regions)}
    return [view for view, up in shown.items() if not up] if any(shown.values()) else []


def turned_scan(scan: Scan) -> Scan:
    """``scan`` with the rows of every view reversed (:meth:`scintiseg.scan.Scan.rows_reversed`)."""
    return scan.rows_reversed()


def turned_regions(regions: SkeletonRegions) -> SkeletonRegions:
    """``regions`` of a turned view carried back onto the view as stored (maps reversed, vertex and soles swapped)."""
    last = regions.labels.shape[0] - 1
    return replace(
        regions,
        labels=np.ascontiguousarray(regions.labels[::-1]),
        bone=np.ascontiguousarray(regions.bone[::-1]),
        body=np.ascontiguousarray(regions.body[::-1]),
        top=last - regions.bottom,
        bottom=last - regions.top,
    )


def turned_maps(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-view maps (probability, coverage) of a turned scan carried back onto the views as stored."""
    return {view: np.ascontiguousarray(np.asarray(one)[::-1]) for view, one in maps.items()}


def turned_head_up(scan: Scan, network: RegionModel,
                   regions: dict[str, SkeletonRegions]) -> tuple[Scan, dict[str, SkeletonRegions]] | None:
    """``scan`` turned head-up (rows reversed) with the turned views' regions, when the region maps of its views as
    stored (``regions``) show it stored head-down (module docstring); else None."""
    pixel = tuple(float(s) for s in scan.pixel_spacing)
    if upright(regions, pixel) is not False:
        return None
    turned = turned_scan(scan)
    maps = predict_region_maps(network, turned, list(regions))
    regions = {view: partial_view(learned_regions(turned.view(view), view, maps[view]), pixel[0]) for view in maps}
    return (turned, regions) if upright(regions, pixel) is True else None


def stood_the_other_quarter(scan: Scan, network: RegionModel,
                            regions: dict[str, SkeletonRegions]) -> tuple[Scan, dict[str, SkeletonRegions]] | None:
    """A scan stored lying, which the reader turned a quarter clockwise (``metadata["turned_upright"]``,
    :func:`scintiseg.io.layout.stand_lying_body`), turned the other quarter instead (half a turn more) when its head
    then lies at the bottom (the region maps of its views as read, ``regions``) and the other turn's region maps show it
    upright, with those region maps; else None. A half turn, not the head-down check's row reversal: the image was
    turned, not mirrored, so its sides stay."""
    pixel = tuple(float(s) for s in scan.pixel_spacing)
    if not scan.metadata.get("turned_upright") or upright(regions, pixel) is not False:
        return None
    other = scan.with_views({name: np.ascontiguousarray(np.rot90(np.asarray(image), 2)) for name, image in scan.views.items()})
    maps = predict_region_maps(network, other, list(regions))
    regions = {view: partial_view(learned_regions(other.view(view), view, maps[view]), pixel[0]) for view in maps}
    if upright(regions, pixel) is not True:
        return None
    other.metadata = with_letters_moved(other.metadata, lambda letters: turned_letters(letters, 2))
    other.metadata["turned_upright"] = str(scan.metadata["turned_upright"]).replace("clockwise", "counter-clockwise")
    other.metadata[STOOD_KEY] = QUARTER_COUNTERCLOCKWISE
    return other, regions
