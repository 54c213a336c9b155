"""Data-parallel training with ``torch.distributed``, launched by ``torchrun``.

``Context.from_environment(device)`` reads what torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``…), joins the process group (gloo on CPU, NCCL on CUDA) and picks
the device: with ``--device auto`` or ``cuda`` each process takes GPU ``LOCAL_RANK``. Without
torchrun it is a one-process context and nothing is initialised. The helpers reduce the few
numbers all processes must agree on (validation sums, stop decisions) and gather per-process
random states for checkpoints. No home-made cluster layer: rendezvous, transport and gradient
averaging are torch's (``DistributedDataParallel``).

Single node, two processes::

    torchrun --nproc-per-node 2 -m physinv.cli train --task deblur_gauss --net unrolled-hqs ...

Two nodes (run on each, ``--node-rank`` 0 and 1)::

    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 2 --rdzv-backend c10d \\
        --rdzv-endpoint host0:29500 -m physinv.cli train ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from physinv.errors import InputError


def resolve_device(device) -> torch.device:
    """``auto`` → CUDA when there is one, else CPU; ``cpu``; ``cuda`` / ``cuda:N`` checked."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError):
            raise InputError("device", device, "'auto', 'cpu' or 'cuda[:N]'") from None
    if dev.type not in ("cpu", "cuda"):
        raise InputError("device", device, "'auto', 'cpu' or 'cuda[:N]'")
    if dev.type == "cuda" and (not torch.cuda.is_available()
                               or (dev.index or 0) >= torch.cuda.device_count()):
        raise InputError("device", device, "a device that exists on this machine",
                         f"{torch.cuda.device_count()} CUDA device(s) visible")
    return dev


def launched() -> bool:
    """True under torchrun (or any launcher setting WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass
class Context:
    """This process's place in the run: rank, world size, device; ``main`` logs and saves.

    Parameters
    ----------
    rank : int, default 0
        This process's global rank, 0 ≤ rank < world.
    world : int, default 1
        The number of processes of the run.
    device : torch.device, default cpu
        The device this process computes on.
    owns_group : bool, default False
        Whether this context initialised the process group (``close`` then destroys it).

    Examples
    --------
    >>> ctx = Context()  # one process: the helpers return their input
    >>> ctx.main, ctx.distributed, ctx.sum([1.0, 2.0]), ctx.max(3.0), ctx.gather("a")
    (True, False, [1.0, 2.0], 3.0, ['a'])
    """

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def main(self) -> bool:
        """True on rank 0, the process that logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when the run has more than one process."""
        return self.world > 1

    @classmethod
    def from_environment(cls, device=None) -> Context:
        """This process's context from the environment torchrun sets.

        Without a launcher (``WORLD_SIZE`` unset or 1) a one-process context on
        ``resolve_device(device)``. Under torchrun, rank and world from ``RANK`` and
        ``WORLD_SIZE``; a CUDA device without an index becomes ``cuda:LOCAL_RANK``; the
        process group (NCCL on CUDA, gloo on CPU) is joined if it is not yet initialised,
        and the context then owns it.

        Parameters
        ----------
        device : str or torch.device, optional
            ``"auto"`` (the default, also for None), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

        Returns
        -------
        Context

        Raises
        ------
        InputError
            For a device that is not valid or not present.
        """
        if not launched():
            return cls(device=resolve_device(device))
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", "0"))
        dev = resolve_device(device)
        if dev.type == "cuda" and dev.index is None:
            dev = resolve_device(f"cuda:{local}")
        owns = False
        if not dist.is_initialized():
            if dev.type == "cuda":
                torch.cuda.set_device(dev)
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
            owns = True
        return cls(rank=rank, world=world, device=dev, owns_group=owns)

    def close(self) -> None:
        """Leave the group this context created: first wait for every process (so that no
        process tears its communication threads down while another still talks to it)."""
        if self.owns_group and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    # ------------------------------------------------------------- agreement helpers
    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over processes (float64)."""
        if not self.distributed:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        """True if ``flag`` is true in any process."""
        return self.sum([float(flag)])[0] > 0

    def max(self, value: float) -> float:
        """The maximum of ``value`` over processes (reduced in float64).

        Parameters
        ----------
        value : float
            This process's value.

        Returns
        -------
        float
            The same on every process; ``value`` itself in a one-process run.
        """
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t)

    def gather(self, obj) -> list:
        """``obj`` from every process, in rank order (on every process)."""
        if not self.distributed:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        """Wait until every process reaches this point (nothing in a one-process run)."""
        if self.distributed:
            dist.barrier()

    def _comm_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")


def wrap(net: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """``net`` inside DistributedDataParallel when the run has several processes.

    Buffers (the fixed physics) are built identically in every process and never change, so
    they are not broadcast at each step."""
    if not ctx.distributed:
        return net
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    names = inspect.signature(DistributedDataParallel).parameters
    quiet = {"forward_sync_buffers": False} if "forward_sync_buffers" in names \
        else {"broadcast_buffers": False}  # the newer name (torch ≥ 2.13) syncs once at init
    return DistributedDataParallel(net, device_ids=ids, **quiet)


def share(items: list, rank: int | None = None, world: int | None = None) -> list:
    """This process's share of ``items`` (every ``world``-th from ``rank``), for inference over
    many files under torchrun; without torchrun, all of them."""
    rank = int(os.environ.get("RANK", "0")) if rank is None else rank
    world = int(os.environ.get("WORLD_SIZE", "1")) if world is None else world
    return items[rank::world]
