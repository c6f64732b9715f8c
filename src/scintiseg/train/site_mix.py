"""The epoch mix of site adaptation: phantom windows, a site's scans and hybrids of its normal scans (issues 15, 16).

Each epoch trains on all windows of the phantom pool of that epoch plus ``share / (1 - share)`` times as many
site windows: windows of the site's scans (:mod:`scintiseg.train.unlabelled`, "The mix"), and, when the site
gave normal scans, hybrid windows of those (:mod:`scintiseg.train.hybrid_site`) [choice: half of the site's
share each when both are given, so neither the Chan-Vese windows nor the labelled real-background windows
crowd out the other; all of it when only one is].
"""

from __future__ import annotations

from scintiseg.errors import ScintisegError
from scintiseg.train.adapt_config import SITE_SHARE
from scintiseg.train.data import SegmentationDataset
from scintiseg.train.hybrid_site import NormalScans, hybrid_windows
from scintiseg.train.synthetic import SyntheticPool
from scintiseg.train.unlabelled import SiteScans, site_windows


class MixedPool:
    """Phantom windows (supervised) and site windows (Chan-Vese, or supervised when labelled) per epoch.

    It has :class:`~scintiseg.train.synthetic.SyntheticPool`'s interface (``dataset(epoch)``, ``close()``),
    so the training loop runs it as any synthetic run (module docstring). With a site's normal
    scans (``normals``, :mod:`scintiseg.train.hybrid_site`) the site's share is split: half hybrid windows of
    the normal scans (labelled), half windows of ``site`` (all of it when there is no ``site``).

    Args:
        pool: the phantom pool (the model's own generator recipe).
        site: the site's views, or None.
        share: share of site windows in each epoch, in [0, 1).
        seed: the run's seed (the site windows of epoch ``e`` come from ``(seed, e)``).
        normals: the site's normal scans, or None.
    """

    def __init__(self, pool: SyntheticPool, site: SiteScans | None, share: float = SITE_SHARE, seed: int = 0,
                 normals: NormalScans | None = None) -> None:
        if not 0.0 <= share < 1.0:
            raise ScintisegError(f"the share of site windows must lie in [0, 1), got {share}")
        if site is None and normals is None:
            raise ScintisegError("site adaptation needs the site's scans, unlabelled or normal")
        self.pool, self.site, self.share, self.seed, self.normals = pool, site, float(share), int(seed), normals

    def site_count(self, phantom_windows: int) -> int:
        """Site windows (hybrid ones included) beside ``phantom_windows`` phantom windows."""
        return int(round(self.share / (1.0 - self.share) * phantom_windows))

    def hybrid_count(self, phantom_windows: int) -> int:
        """Of :meth:`site_count`, the hybrid windows of the normal scans."""
        total = self.site_count(phantom_windows)
        if self.normals is None:
            return 0
        return total if self.site is None else total // 2

    def dataset(self, epoch: int) -> SegmentationDataset:
        """The phantom windows of ``epoch`` followed by its site windows, with their ``labelled`` flags."""
        return self.mix(self.pool.dataset(epoch), epoch)

    def mix(self, phantom: SegmentationDataset, epoch: int) -> SegmentationDataset:
        """``phantom`` (the pool's windows of ``epoch``) followed by the site windows of ``epoch``."""
        size = self.pool.settings.window_size
        hybrid = self.hybrid_count(len(phantom))
        samples, flags = [], []
        if self.site is not None:
            samples, flags = site_windows(self.site, self.site_count(len(phantom)) - hybrid, size, self.seed, epoch)
        if hybrid:
            extra = hybrid_windows(self.normals, hybrid, window_size=size, seed=self.seed, epoch=epoch)
            samples, flags = samples + extra, flags + [True] * len(extra)
        return SegmentationDataset(list(phantom.samples) + samples, phantom.labelled.tolist() + flags)

    def close(self) -> None:
        self.pool.close()
