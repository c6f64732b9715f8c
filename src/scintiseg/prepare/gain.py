"""A random gain on the normalised model input: training that cannot lean on the absolute level.

The ``robust`` normalisation (:mod:`scintiseg.prepare.intensity`) divides a view by the 90th percentile of its
smoothed body, which on a phantom whole-body view lies on the bone ridge at nearly the same place for every patient.
A network trained only on such views can call a lesion by its normalised level alone, and then whatever moves that
percentile moves its calls: what a crop holds (a spine crop's percentile is the spine's; phantom spine lesions found
on the whole view, missed in the crop, were found again with the crop's input times 1.3-2), a real camera's
bone-to-tissue ratio, an export's clipping. Measured on the shipped model (session 19, docs/robustness.md "Gain"):
times 1.3 raises a lesion-free NM1 half-chest crop's largest probability from 0.02 to 0.53; on whole views times
0.8-1.25 moves the lesion count of a phantom patient from 5 to 10.

:class:`RandomGain` multiplies each training image of a batch by its own gain, log-uniform in
``[exp(-spread), exp(spread)]`` (``spread`` 0.3: 0.74-1.35, the range over which the shipped model's calls
changed), so that only the lesion's contrast to what lies around it, which a gain does not change, predicts its
label. [Choices: log-uniform, so that a gain and its inverse are equally likely; one gain per image, since the
normalisation is per view; applied after the geometric augmentation, where the loop has the batch.] SynthSeg
(Billot et al. 2023) draws intensities at random for the same reason, before its own normalisation; here the
phantom already randomises uptake, counts and exports before the normalisation, and this draws the one thing the
normalisation fixes.
"""

from __future__ import annotations

import math

import numpy as np


class RandomGain:
    """Multiply each image of a ``(B, C, H, W)`` torch batch by its own log-uniform gain (module docstring).

    Args:
        spread: the gain lies in ``[exp(-spread), exp(spread)]``; 0 leaves the batch as it is.
        seed: seed of the generator drawing the gains (None: fresh entropy).

    Example::

        gain = RandomGain(0.3, seed=0)
        images = gain(images)
    """

    def __init__(self, spread: float, seed: int | None = None) -> None:
        if not 0.0 <= spread <= math.log(4.0):
            raise ValueError(f"gain spread must lie in [0, ln 4], got {spread}")
        self.spread = float(spread)
        self.rng = np.random.default_rng(seed)

    def gains(self, batch: int) -> np.ndarray:
        """The next ``batch`` gains."""
        return np.exp(self.rng.uniform(-self.spread, self.spread, size=batch))

    def __call__(self, images):
        import torch  # lazy: start-up time

        if self.spread == 0.0:
            return images
        gains = torch.as_tensor(self.gains(images.shape[0]), dtype=images.dtype, device=images.device)
        return images * gains.view(-1, *([1] * (images.dim() - 1)))
