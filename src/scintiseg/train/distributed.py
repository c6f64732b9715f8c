"""PyTorch DDP set-up for ``torchrun --nproc_per_node N -m scintiseg train ...``.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them training runs in one
process. The backend is NCCL when every process has a GPU and gloo on the CPU. Only rank 0 writes files
(config, checkpoints, logs) and shows a progress bar; the others wait at barriers.

Example::

    context = DistributedContext.from_environment("auto")
    model = context.wrap(model)
    ...
    context.close()
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from scintiseg.models.device import select_device


@dataclass
class DistributedContext:
    """Where this process stands: rank, world size, device, and whether it owns the outputs."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialised_here: bool = False

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @classmethod
    def from_environment(cls, device: str = "auto") -> "DistributedContext":
        """Read torchrun's environment; start the process group when ``WORLD_SIZE > 1``.

        Args:
            device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        """
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        chosen = select_device(None if device == "auto" else device)
        if chosen.type == "cuda":
            chosen = torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
            torch.cuda.set_device(chosen)
        initialised = False
        if world_size > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
            initialised = True
        return cls(rank, world_size, local_rank, chosen, initialised)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``DistributedDataParallel(model)`` when distributed, else the model itself."""
        if not self.is_distributed:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def barrier(self) -> None:
        if self.is_distributed:
            dist.barrier()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over all processes (the value itself in one process)."""
        if not self.is_distributed:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def close(self) -> None:
        """Destroy the process group if this context created it."""
        if self.initialised_here and dist.is_initialized():
            dist.destroy_process_group()
