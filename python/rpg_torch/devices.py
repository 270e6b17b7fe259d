"""Where training runs: CUDA (every visible GPU), Apple's MPS, or the CPU on all its cores."""
from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch

MIN_TORCH = (1, 13)


def torch_version_tuple() -> tuple:
    parts = []
    for p in torch.__version__.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def cpu_name() -> str:
    """The processor's model name (platform.processor() is empty on Linux)."""
    try:
        with open("/proc/cpuinfo", "r", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def describe() -> Dict[str, Any]:
    """What `rpg info` shows for the torch engine: interpreter, torch, devices."""
    devices: List[Dict[str, Any]] = [{"type": "cpu", "name": cpu_name(), "cores": os.cpu_count()}]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            devices.append({"type": "cuda", "index": i, "name": p.name, "memoryBytes": int(p.total_memory)})
    if mps_available():
        devices.append({"type": "mps", "name": "Apple GPU (MPS)"})
    return {
        "python": sys.executable,
        "pythonVersion": platform.python_version(),
        "torch": torch.__version__,
        "torchOk": torch_version_tuple() >= MIN_TORCH,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "bf16": bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported()),
        "distributed": torch.distributed.is_available(),
        "gloo": bool(torch.distributed.is_available() and torch.distributed.is_gloo_available()),
        "nccl": bool(torch.distributed.is_available() and torch.distributed.is_nccl_available()),
        "devices": devices,
        # What a CPU run uses (choose() sets every core unless told otherwise), not this probe
        # process's own default, which Debian's build leaves at 1.
        "threads": os.cpu_count() or 1,
    }


@dataclass
class DeviceChoice:
    device: torch.device
    kind: str  # cpu | cuda | mps
    gpus: int  # CUDA devices used by this process (DataParallel when > 1)
    threads: int
    name: str

    @property
    def backend(self) -> str:
        return f"torch-{self.kind}"


class DeviceError(Exception):
    pass


def choose(preference: str = "auto", threads: Optional[int] = None, local_rank: Optional[int] = None) -> DeviceChoice:
    """Picks the device: 'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:N' or 'mps'.
    On CPU all cores are used unless ``threads`` says otherwise (PyTorch may default to 1)."""
    pref = (preference or "auto").lower()
    n_threads = threads if threads and threads > 0 else (os.cpu_count() or 1)
    if pref.startswith("cuda") or (pref == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but this PyTorch sees no CUDA GPU "
                              f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); use device \"cpu\" or install a CUDA build of PyTorch")
        if local_rank is not None:
            index = local_rank
            gpus = 1
        elif ":" in pref:
            index = int(pref.split(":", 1)[1])
            gpus = 1
        else:
            index = 0
            gpus = torch.cuda.device_count()
        if index >= torch.cuda.device_count():
            raise DeviceError(f"CUDA device {index} does not exist: {torch.cuda.device_count()} visible")
        torch.cuda.set_device(index)
        torch.set_num_threads(min(n_threads, 4))
        return DeviceChoice(torch.device("cuda", index), "cuda", gpus, torch.get_num_threads(), torch.cuda.get_device_name(index))
    if pref == "mps" or (pref == "auto" and mps_available()):
        if not mps_available():
            raise DeviceError("MPS (Apple GPU) was requested but is not available in this PyTorch; use device \"cpu\"")
        return DeviceChoice(torch.device("mps"), "mps", 0, torch.get_num_threads(), "Apple GPU (MPS)")
    if pref not in ("auto", "cpu"):
        raise DeviceError(f'unknown device "{preference}": expected auto, cpu, cuda, cuda:N or mps')
    torch.set_num_threads(n_threads)
    return DeviceChoice(torch.device("cpu"), "cpu", 0, torch.get_num_threads(), cpu_name())
