"""One name for a lesion seen in both views: the bone of the view that sees it brighter (issue 15).

Why. Each view's learned region map names the pixels where two bones overlap in projection after the bone nearer to
that view's camera: on ANT the sternum lies over the thoracic spine, on POST the spine over the sternum (and the
clavicles and scapulae likewise). A vertebral lesion seen on both views is then "sternum" on ANT and "thoracic
spine" on POST, one lesion with two names in the report (the pair is one lesion with two outlines:
:mod:`.pairing`). Seen on 40 patients of the independent phantom (``benchmarks/independent_phantom.py``): of 9 pairs
on a lesion, one thoracic lesion was named sternum on ANT; on scintiseg's own phantom (40 default patients) 5 of 31
pairs disagreed, every one a rib lesion named scapula on POST (docs/predict.md, "ANT-POST pairing").

Rule. Where a pair's two names are a bone nearer the front (:data:`~scintiseg.predict.bsi.NEARER_VIEW` ``ANT``:
sternum, clavicles) on ANT and a bone nearer the back (``POST``: the spine, sacrum, scapulae) on POST, of the same
side, the lesion lies nearer the camera that records more of its counts (at 140 keV soft tissue halves the counts
about every 5 cm: physics.md), so both records take the name of the view whose peak counts are higher; on a tie,
each keeps its own. Every other disagreement is left as it is: between a rib and a scapula both lie at the back and
the counts do not tell them (on the default phantom POST, the brighter view, was wrong on 4 of those 5), and a bone
that is no nearer to either view (ribs, pelvis, limbs) gives no depth. The outlines and the other measurements stay
as they were. The record whose name the other view's replaced is the lesion seen through the wrong bone, so that
view's BSI no longer counts its pixels (the pipeline recomputes the view's BSI without them and sets the record's BSI
contribution to 0): the lesion counts once, in its bone, from the view that names it, where before a vertebral lesion
added sternal involvement on ANT as well as spinal on POST.

One view. A scan with no other view (an anterior export, NM1) has no pair to decide it: a lesion named ``sternum`` on
ANT may lie in the thoracic spine behind it (NM1's T4, T5 and T6 made twice as hot were named sternum on both noise
draws, session 43: docs/robustness.md, "A thoracic vertebra on an anterior view alone").
:func:`one_view_alternative` names that other bone, and the report gives it beside the name (the name, its BSI and
its SR finding site stay the map's: a sternal lesion is what an anterior view shows best). Only the sternum over the
thoracic spine is named so: elsewhere (a clavicle or a scapula over a rib) the bones overlap at their edges, and on a
posterior view alone the sternum behind the spine is seldom visible through it.
"""

from __future__ import annotations

from dataclasses import replace

from scintiseg.predict.bsi import NEARER_VIEW
from scintiseg.predict.measurements import LesionMeasurement
from scintiseg.predict.pairing import LesionPair


#: On a scan with one view, (view, region named) -> the bone the lesion may lie in behind it (module docstring).
BEHIND_ON_ONE_VIEW: dict[tuple[str, str], str] = {("ANT", "sternum"): "thoracic_spine"}


def one_view_alternative(view: str, region: str, view_names) -> str | None:
    """The other bone a lesion named ``region`` on ``view`` may lie in, when the scan has no other view than
    ``view`` (``view_names``); None otherwise (module docstring, "One view")."""
    if set(view_names) != {view}:
        return None
    return BEHIND_ON_ONE_VIEW.get((view, region))


def _side(region: str) -> str:
    return region.rsplit("_", 1)[1] if region.endswith(("_left", "_right")) else ""


def depth_named(ant_region: str, post_region: str, ant_peak: float, post_peak: float) -> str | None:
    """The one name of a pair named ``ant_region`` on ANT and ``post_region`` on POST (module docstring), or None
    when the rule does not decide (the names agree, give no depth, differ in side, or the peaks tie)."""
    if (ant_region == post_region or NEARER_VIEW.get(ant_region) != "ANT" or NEARER_VIEW.get(post_region) != "POST"
            or _side(ant_region) != _side(post_region) or ant_peak == post_peak):
        return None
    return ant_region if ant_peak > post_peak else post_region


def one_name_per_pair(pairs: list[LesionPair], ant: list[LesionMeasurement],
                      post: list[LesionMeasurement]) -> tuple[list[LesionMeasurement], list[LesionMeasurement], set[int]]:
    """The ANT and POST lesion records with each pair the rule decides named alike, and the ids of the records it
    renamed (the one of each such pair that took the other view's name)."""
    ant_by_id = {lesion.id: lesion for lesion in ant}
    post_by_id = {lesion.id: lesion for lesion in post}
    renamed: set[int] = set()
    for pair in pairs:
        a, p = ant_by_id.get(pair.ant_id), post_by_id.get(pair.post_id)
        if a is None or p is None:
            continue
        name = depth_named(a.region, p.region, a.counts_max, p.counts_max)
        if name is None:
            continue
        ant_by_id[a.id], post_by_id[p.id] = replace(a, region=name), replace(p, region=name)
        renamed.add(a.id if a.region != name else p.id)
    return [ant_by_id[lesion.id] for lesion in ant], [post_by_id[lesion.id] for lesion in post], renamed
