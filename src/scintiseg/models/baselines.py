"""Standard baselines from MONAI: ``BasicUNet`` and the nnU-Net-style ``DynUNet``.

Paper B §3.4.3 compares its model with U-Net (Ronneberger et al. 2015) and nnU-Net (Isensee et al.
2021); paper A's baseline is U-Net. These wrappers give MONAI's well-kept implementations the same
interface as our networks (``in_channels``, ``config``, size checks, logits ``(B, 1, H, W)``).

* :class:`MonaiBasicUNet` wraps :class:`monai.networks.nets.BasicUNet` (always 4 down-samplings) with
  the classic widths ``features = (w, 2w, 4w, 8w, 16w, w)``, so ``width=64`` is Ronneberger's
  64-128-256-512-1024. MONAI's own defaults otherwise (LeakyReLU 0.1, instance norm, transposed
  convolution up-sampling); ``norm="batch"`` switches to BatchNorm.
* :class:`MonaiDynUNet` wraps :class:`monai.networks.nets.DynUNet` configured as nnU-Net plans a 2-D
  network: 3x3 kernels, a stride-1 first stage then ``depth`` stride-2 stages, filters doubling from
  ``width`` (nnU-Net caps them at 512 for 2-D: ``max_filters``), instance norm and LeakyReLU 0.01, no
  deep supervision (the trainer sees one output).

MONAI is imported when one of these networks is built, not with the module: importing MONAI imports
matplotlib (``monai.utils.jupyter_utils``), which writes a font cache into ``~/.cache/matplotlib``, and
the registry imports this module for every command that creates any network.
"""

from __future__ import annotations

import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.base import SegmentationNetwork

_NORMS = {"instance": ("instance", {"affine": True}), "batch": ("batch", {"affine": True})}


class MonaiBasicUNet(SegmentationNetwork):
    """MONAI ``BasicUNet`` (depth fixed at 4) with classic width-doubling features.

    Args:
        in_channels: image channels.
        width: first-level channels ``w``; features ``(w, 2w, 4w, 8w, 16w, w)``.
        depth: must be 4 (``BasicUNet`` has four down-samplings).
        norm: ``"instance"`` (MONAI default) or ``"batch"``.
    """

    def __init__(self, in_channels: int = 1, width: int = 16, depth: int = 4, norm: str = "instance") -> None:
        super().__init__(in_channels, depth)
        if depth != 4:
            raise ScintisegError(f"monai_basicunet has a fixed depth of 4, got depth={depth}")
        if norm not in _NORMS:
            raise ScintisegError(f"unknown norm {norm!r}; choose one of {', '.join(_NORMS)}")
        from monai.networks.nets import BasicUNet  # lazy: start-up time (MONAI imports matplotlib)

        features = (width, 2 * width, 4 * width, 8 * width, 16 * width, width)
        self.net = BasicUNet(spatial_dims=2, in_channels=in_channels, out_channels=1, features=features, norm=_NORMS[norm])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.net(x)


class MonaiDynUNet(SegmentationNetwork):
    """MONAI ``DynUNet`` configured like a 2-D nnU-Net.

    Args:
        in_channels: image channels.
        width: first-stage filters (nnU-Net: 32), doubled per stage up to ``max_filters``.
        depth: number of stride-2 stages.
        max_filters: filter cap (nnU-Net 2-D: 512).
        norm: ``"instance"`` (nnU-Net) or ``"batch"``.
        res_block: residual blocks instead of plain double convolutions.
    """

    def __init__(
        self,
        in_channels: int = 1,
        width: int = 16,
        depth: int = 4,
        max_filters: int = 512,
        norm: str = "instance",
        res_block: bool = False,
    ) -> None:
        super().__init__(in_channels, depth)
        if norm not in _NORMS:
            raise ScintisegError(f"unknown norm {norm!r}; choose one of {', '.join(_NORMS)}")
        from monai.networks.nets import DynUNet  # lazy: start-up time (MONAI imports matplotlib)

        filters = [min(width * 2**stage, max_filters) for stage in range(depth + 1)]
        self.net = DynUNet(
            spatial_dims=2,
            in_channels=in_channels,
            out_channels=1,
            kernel_size=[3] * (depth + 1),
            strides=[1] + [2] * depth,
            upsample_kernel_size=[2] * depth,
            filters=filters,
            norm_name=_NORMS[norm],
            act_name=("leakyrelu", {"inplace": True, "negative_slope": 0.01}),
            deep_supervision=False,
            res_block=res_block,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.net(x)
