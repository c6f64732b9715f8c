"""Make a trained network cheaper to run: fold BatchNorm into the convolution before it.

In eval mode a BatchNorm that follows a convolution is an affine map per channel, so it can be folded
into the convolution's weights and bias (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`); the output
is unchanged up to float rounding and one memory-bound pass per convolution disappears. Only
``Conv2d -> BatchNorm2d`` pairs that are consecutive children of an ``nn.Sequential`` are folded (the
pattern of :class:`~scintiseg.models.blocks.double_conv.DoubleConv`, the dilated residual block and the
inception branches); everything else is left alone. ONNX export folds the same pairs by itself.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batch_norm(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Return ``model`` in eval mode with every ``Sequential`` ``Conv2d -> BatchNorm2d`` pair folded.

    Args:
        model: a network (its BatchNorm statistics are used as they are: train it first).
        inplace: modify ``model`` itself instead of a deep copy.

    Example::

        fast = fold_batch_norm(model)   # same outputs in eval mode, fewer passes over memory
    """
    target = model if inplace else copy.deepcopy(model)
    target.eval()
    for module in target.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return target


def prepare_for_inference(model: nn.Module, channels_last: bool = True, fold: bool = True) -> nn.Module:
    """Eval mode, BatchNorm folded (copy) and channels-last memory format (faster oneDNN convolutions on CPU)."""
    prepared = fold_batch_norm(model) if fold else model.eval()
    if channels_last:
        prepared = prepared.to(memory_format=torch.channels_last)
    return prepared
