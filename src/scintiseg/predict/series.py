"""A patient's successive scans read together: whether the new lesions of one scan are followed by more on the next,
and whether the next scan sees them again.

Why. The Prostate Cancer Clinical Trials Working Group 3 (PCWG3; Scher et al., J Clin Oncol 2016;34:1402-18) calls
bone-scan progression on new lesions. On the first scan after treatment starts, when a flare can make lesions
appear that later fade, two or more new lesions count only when a scan at least six weeks later shows at least two
*more* new lesions (the "2+2" rule; progression is then dated to the first of the two scans). One comparison
(:mod:`.follow_up`) can only say that a follow-up shows two or more new lesions; the comparison after it says
whether more followed. Neither paper compares scans; every choice below is ours.

- **The series** is one patient's scans in date order, each compared with the one before (:func:`.follow_up.compare`
  of scan k-1 and scan k, then of scan k and scan k+1, the middle scan one :class:`~.prediction.Prediction`, so that
  its lesions keep their ids across the two comparisons). The lesions new on scan k+1 against scan k are PCWG3's
  "additional" new lesions: new since scan k, the scan they confirm.
- **The 2+2 pattern** (:attr:`SeriesStep.two_plus_two`): scan k shows at least two new lesions, and scan k+1, at
  least :data:`CONFIRMATION_DAYS` (six weeks) later, at least two more. Which scan is the first after treatment
  starts is not in the scans, so the reading gives the pattern and the reader decides whether the rule applies;
  nothing here calls progression.
- **Seen again** (:attr:`SeriesStep.seen_again_next`): of scan k's new lesions (an ANT-POST pair once), those that
  scan k+1 sees again (persisting in the next comparison); a flare's lesion, or a false call, is not seen again. A
  new lesion whose place the next scan's model did not see is neither (:attr:`SeriesStep.outside_next`).
- **One study twice** (session 62): a comparison of one study with itself (:func:`.follow_up.same_study`: a scan and
  its own review, in one batch) is no later scan. Its new lesions are not PCWG3's (:attr:`SeriesStep.same_study`),
  and they confirm nothing as the next scan (:attr:`SeriesStep.next_same_study`): the 2+2 pattern is then no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scintiseg.predict.follow_up import FollowUp

#: The shortest interval (days) between a scan and the one that confirms its new lesions: PCWG3's six weeks.
CONFIRMATION_DAYS = 42


@dataclass(frozen=True)
class SeriesStep:
    """One follow-up scan of a series: what its comparison with the scan before found, and what the next one adds.

    ``next_new_lesions``, ``days_to_next``, ``seen_again_next`` and ``outside_next`` are None for the last scan (no
    next comparison); ``days_*`` are None where a study date is missing. ``same_study`` / ``next_same_study``: this
    comparison / the next one is of one study with itself (module docstring; session 62)."""

    new_lesions: int
    days_from_previous: int | None
    next_new_lesions: int | None = None
    days_to_next: int | None = None
    seen_again_next: int | None = None
    outside_next: int | None = None
    same_study: bool = False
    next_same_study: bool = False

    @property
    def two_or_more_new(self) -> bool:
        """At least two new lesions against the scan before: PCWG3's condition, to be confirmed; False when the scan
        before was the same study (session 62)."""
        return self.new_lesions >= 2 and not self.same_study

    @property
    def two_plus_two(self) -> bool | None:
        """At least two new lesions here and at least two more on the next scan, :data:`CONFIRMATION_DAYS` or more
        later; None when there is no next scan or either date is missing."""
        if self.next_new_lesions is None or self.days_to_next is None:
            return None
        return (self.two_or_more_new and not self.next_same_study and self.next_new_lesions >= 2
                and self.days_to_next >= CONFIRMATION_DAYS)

    @property
    def not_seen_next(self) -> int | None:
        """Of this scan's new lesions, those the next scan does not see (its field held their place); None for the
        last scan."""
        if self.seen_again_next is None or self.outside_next is None:
            return None
        return self.new_lesions - self.seen_again_next - self.outside_next

    def record(self) -> dict:
        """The step as JSON-ready values."""
        return {"new_lesions": self.new_lesions, "days_from_previous": self.days_from_previous,
                "next_new_lesions": self.next_new_lesions, "days_to_next": self.days_to_next,
                "seen_again_next": self.seen_again_next, "not_seen_next": self.not_seen_next,
                "outside_next": self.outside_next, "same_study": self.same_study,
                "two_plus_two": self.two_plus_two}


def read_series(comparisons: Sequence[FollowUp], intervals_days: Sequence[int | None]) -> list[SeriesStep]:
    """Read a patient's consecutive comparisons together (module docstring): one step per comparison's follow-up.

    Args:
        comparisons: scan 0 against scan 1, scan 1 against scan 2, ..., each follow-up the next one's baseline (the
            same prediction, so that its lesion ids carry over).
        intervals_days: days from each comparison's baseline to its follow-up (None where a date is missing).

    Raises:
        ValueError: the lengths differ, or a comparison's baseline is not the previous one's follow-up.
    """
    if len(comparisons) != len(intervals_days):
        raise ValueError(f"{len(comparisons)} comparisons but {len(intervals_days)} intervals")
    for earlier, later in zip(comparisons, comparisons[1:]):
        if later.baseline is not earlier.follow_up:
            raise ValueError("a comparison's baseline must be the previous comparison's follow-up (one prediction)")
    steps = []
    for k, (comparison, days) in enumerate(zip(comparisons, intervals_days)):
        one_study = comparison.same_study is not None
        if k + 1 == len(comparisons):
            steps.append(SeriesStep(comparison.new_lesions, days, same_study=one_study))
            continue
        later = comparisons[k + 1]
        statuses = [later.status_of(view, lesion_id, follow_up=False)
                    for (view, lesion_id), *_ in comparison.new_lesion_outlines]
        steps.append(SeriesStep(comparison.new_lesions, days, later.new_lesions, intervals_days[k + 1],
                                statuses.count("persisting"), statuses.count("outside field"), one_study,
                                later.same_study is not None))
    return steps
