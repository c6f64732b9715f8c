"""The patient's sides on a view's picture: the R/L marks every page draws, by one rule.

A whole-body bone scan's ANT view is read as if facing the patient: the patient's right on the image left. The POST
view is shown as acquired, not mirrored (its outlines stay on the pixels a PACS shows): the camera behind the patient
sees the patient's right on the image right. A view of unknown name (``VIEW``) is read as anterior, as the region
estimate reads it (:meth:`scintiseg.predict.regions.SkeletonRegions.laterality`). A view stored head-down is shown
turned head-up by reversing its rows (``report.html`` and ``comparison.html`` do so), which keeps its sides.

Session 74 (a reading physician's audit, finding 7): ``comparison.html`` drew its four pictures without R/L marks,
where the report's page (:mod:`.html`) and PDF (:mod:`.report_pdf`) draw them, each with the rule written out in
place; this module is that rule for the comparison's page, and for the report's page and PDF to share.
"""

from __future__ import annotations


def side_letters(view: str) -> tuple[str, str]:
    """The letters of the patient's side at the image's left and right edge: ``("R", "L")`` for ANT (and an unnamed
    view), ``("L", "R")`` for POST (module docstring)."""
    return ("L", "R") if view == "POST" else ("R", "L")


def side_note(view: str) -> str:
    """Where the patient's right lies on ``view``'s picture, in words (a caption's)."""
    return "the patient's right on the image right" if view == "POST" else "the patient's right on the image left"


def side_marks_svg(view: str, width: float, top: float, font: float) -> str:
    """The two SVG ``<text class="side">`` marks of ``view``: its left letter at the picture's left edge and its
    right letter at the right edge (``width``, in the SVG's units), their baseline ``1.1 font`` below ``top`` (the
    first row shown), ``1.2 font`` high, as ``report.html`` draws them."""
    left, right = side_letters(view)
    y = top + 1.1 * font
    return (f'<text class="side" data-side="{left}" x="{font * 0.4:.1f}" y="{y:.1f}" font-size="{font * 1.2:.1f}">'
            f'{left}</text><text class="side" data-side="{right}" x="{width - font * 0.4:.1f}" y="{y:.1f}" '
            f'font-size="{font * 1.2:.1f}" text-anchor="end">{right}</text>')
