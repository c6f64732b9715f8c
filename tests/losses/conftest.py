"""Small targets the loss tests share: bright squares with their masks, and a box-labelled target."""

from __future__ import annotations

import torch

from scintiseg.losses.boxes import BOX_IGNORE, BOX_LESION


def square_batch(size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """A (2,1,H,W) image with one bright square per item, and its mask."""
    mask = torch.zeros(2, 1, size, size)
    mask[0, :, 4:9, 4:9] = 1
    mask[1, :, 8:14, 2:6] = 1
    image = 10.0 + 90.0 * mask
    return image, mask


def boxed_target(size: int = 24) -> torch.Tensor:
    """A (1,1,H,W) box target: a lesion box rows 6-15, cols 8-13, an unknown box rows 18-21, cols 2-5."""
    target = torch.zeros(1, 1, size, size)
    target[0, 0, 6:16, 8:14] = BOX_LESION
    target[0, 0, 18:22, 2:6] = BOX_IGNORE
    return target
