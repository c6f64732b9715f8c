"""A partial view's cut edges extended before the lesion network sees them.

A region crop (BS-80K's half-chests, spines, pelvises; a spot view; a thoracic crop) cuts through the body: a hot
bone the cut passes through (a sternoclavicular joint, the spine) ends at the crop's edge, against the zeros of a
blanked outside or of the network's padding. To the network such a stump looks like a focus of its own: on the
lesion-free NM1 the left half-chest crop's medial edge, which cuts the left sternoclavicular joint, was called a
lesion with probability 1.00 on every crop, and not once on the whole view or on the same crop with 40 pixels
more of the chest (session 18, docs/predict.md "Region crops"). So the network's input of a view that cannot hold
a whole body (:func:`is_partial_field`) is extended once normalised (:func:`extend_inputs`): padded by
:data:`EXTEND_MM` on every side, every zero that reaches the padded image's edge (the padding, a polygon crop's
blanked outside) takes the value of the nearest pixel that is not such a zero (``scipy.ndimage.
distance_transform_edt`` with ``return_indices``), faded with the distance to it (``exp(-d / FADE_MM)``), so that a
cut bone runs on past the edge and fades out instead of stopping. The network's output on the filled pixels is
discarded (0): it saw them, but they are not the scan's.

Choices the sources leave open, measured on two sets in one session (session 18; NM1: 500 BS-80K-like region
crops of NM1 hybrids, ``benchmarks/make_region_crops.py``, triage AUC and specificity of "a lesion found";
phantom: ``bench_shift.py --columns crops --patients 16``, half-chest crops of default patients, lesions found /
false positives per crop / pooled DSC / AUC), and stated:

| the edges | NM1 crops AUC / specificity | phantom crops found / FP / DSC / AUC |
|---|---|---|
| as they were (zeros) | 0.834 / 0.80 | 0.32 / 0.23 / 0.39 / 0.77 |
| nearest value, extended before the normalisation | 0.913 / 1.00 | 0.12 / 0.05 / 0.12 / 0.61 |
| nearest value, extended after it, no fade | 0.874 / 1.00 | 0.19 / 0.08 / 0.19 / 0.80 |
| ... faded over 8 / 12 / 16 / 24 / 32 pixels | 0.877-0.882 / 0.99-1.00 | 0.39-0.44 / 0.09-0.19 / 0.32-0.41 / 0.84-0.89 |
| ... faded over 12 pixels (27 mm), the choice | 0.877 / 1.00 | 0.42 / 0.11 / 0.41 / 0.87 |

- **Which views**: those whose rows span less than :data:`~scintiseg.scan.PARTIAL_VIEW_MM` (1 m) at
  their pixel size; nothing shorter can hold a whole body, and a whole-body view's edges are air. (A whole-body
  matrix with a short body, a child, is not extended: its edges are air too.)
- **After the normalisation**: the ``robust`` normalisation divides by a percentile of the view; copies of a hot
  cut edge (the spine along a half-chest's medial side) raise it, darken the whole crop, and its lesions are
  missed (second row).
- **Faded nearest value**: unfaded, a 145 mm band of copied bone changes what the network sees around every edge
  lesion (lesions found and DSC fell, third row); a mirror puts a second copy of a stump beside the first, which
  the network also read as a focus (a first probe, extended before the normalisation, on five NM1 hybrid crops:
  0.24-0.58 on the left half-chest's stump with a mirror, 0.00 with the unfaded nearest value); zeros are the
  cliff. Fading over 12-24 pixels helped both sets alike; 12 keeps the DSC best, and its e-folding length is fixed
  in millimetres (:data:`FADE_MM`, 27 mm = 12 pixels at 2.26 mm). The fade brings back some of the stump (a
  rectangular half-chest box: 0.13-0.85 on three lesion-free cases, 1.00 with zeros): the polygon crops of the
  benchmark are where it is measured.
- **Margin** :data:`EXTEND_MM` = 145 mm (64 pixels at 2.26 mm): over five fade lengths, so the fill has faded out.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from scintiseg.scan import Scan, spans_whole_body

#: How far (mm) a partial view is extended on every side.
EXTEND_MM: float = 145.0
#: E-folding length (mm) of the fill's fade (module docstring).
FADE_MM: float = 27.0


def is_partial_field(scan: Scan) -> bool:
    """Whether ``scan``'s views are too short to hold a whole body (:func:`scintiseg.scan.spans_whole_body`)."""
    return not spans_whole_body(scan.shape[0], scan.pixel_spacing[0])


def outside_sources(lit: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each pixel of ``lit`` padded by ``margin`` takes its value from, how far that is, and what of ``lit``
    is outside.

    The outside is every unlit pixel connected to the padded image's edge (the padding, a blanked outside); each
    outside pixel takes the nearest lit-or-enclosed pixel (``scipy.ndimage.distance_transform_edt`` with
    ``return_indices``), every other pixel itself.

    Returns:
        ``(indices, distance, outside)``: an index array ``(2, rows + 2 margin, cols + 2 margin)`` into the padded
        grid, each padded pixel's distance (pixels) to its source, and the bool mask of ``lit``'s own pixels that
        are outside. With nothing lit: the identity, zero distances and no outside.
    """
    padded = np.pad(np.asarray(lit, dtype=bool), int(margin))
    labels, _ = ndimage.label(~padded)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    blank = np.isin(labels, edge[edge > 0])
    rows, cols = np.shape(lit)
    if blank.all():
        return np.indices(padded.shape), np.zeros(padded.shape), np.zeros((rows, cols), dtype=bool)
    distance, indices = ndimage.distance_transform_edt(blank, return_indices=True)
    return indices, distance, blank[margin:margin + rows, margin:margin + cols]


def extend_inputs(images: np.ndarray, margin: int, fade_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs ``(N, C, rows, cols)``, already normalised, each padded by ``margin`` pixels, its outside
    (:func:`outside_sources`; a pixel is unlit where every channel is 0) filled with the nearest inside pixel's
    values times ``exp(-distance / fade_px)``; and each input's filled pixels on its own grid, ``(N, rows, cols)``.

    The inputs are extended after their normalisation so that the filled pixels, copies of a cut edge that is often
    a hot bone, do not move the percentile the ``robust`` normalisation divides by (module docstring: measured).
    """
    images = np.asarray(images, dtype=np.float32)
    n, channels, rows, cols = images.shape
    out = np.empty((n, channels, rows + 2 * margin, cols + 2 * margin), dtype=np.float32)
    filled = np.empty((n, rows, cols), dtype=bool)
    for index, image in enumerate(images):
        indices, distance, filled[index] = outside_sources((image != 0).any(axis=0), margin)
        fade = np.exp(-distance / float(fade_px)).astype(np.float32)
        for channel in range(channels):
            out[index, channel] = np.pad(image[channel], int(margin))[tuple(indices)] * fade
    return out, filled
