"""torch distributed data parallel for the trainers: started by ``torchrun``, off otherwise.

``torchrun --nproc_per_node N -m kinelift train-detector CONFIG`` (or ``train-lifter``) sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`init_distributed` then joins the process group
(NCCL on GPUs, gloo on CPUs) and returns ``(rank, world_size)``. Rank 0 evaluates and writes files.
"""

from __future__ import annotations

import os

import torch

__all__ = ["init_distributed", "finish_distributed", "local_device"]


def init_distributed() -> tuple[int, int]:
    """``(rank, world_size)``; joins the process group when ``torchrun`` started several processes."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def local_device(name: str, world: int) -> torch.device:
    """The training device: ``name`` (``"auto"``: CUDA when present), this process's GPU under torchrun."""
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def finish_distributed(world: int) -> None:
    """Wait for every rank (rank 0 writes the files), then leave the process group."""
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
