"""Segmentation networks of paper A (DPU-Net) and paper B (RDI-Net), their blocks and MONAI baselines.

Create every network by name::

    from scintiseg.models import create_model, list_models
    model = create_model("dpunet", pooling="fusion", dac="dac2", rmp=True, width=16, depth=4)

Input ``(B, in_channels, H, W)`` float with ``H, W`` multiples of ``2**depth``; output logits ``(B, 1, H, W)``.
A trained network is saved and loaded with :mod:`scintiseg.models.checkpoint`.
"""

from scintiseg.models.device import select_device
from scintiseg.models.registry import create_model, list_models, list_presets

__all__ = ["create_model", "list_models", "list_presets", "select_device"]
