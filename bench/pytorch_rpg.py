#!/usr/bin/env python3
"""PyTorch reference for bench/run.ts (CPU) and bench/gpu.sh (CUDA): the same RPG models (LeNet-5
28x28x1, CIFAR ResNet-20 32x32x3 with option-A shortcuts, ResNet-18 with the 32x32 stem), the same
batch size, optimizer (Adam) and ring size, on synthetic data. Prints one JSON object per line:
{"arch", "kind", "threads", "device", "samplesPerSec", "cpuSamplesPerSec" (per CPU-second of the
process: less load-dependent; at 1 thread only comparable), "medianStepMs" (CPU only: the median of
the timed steps, robust to preemptions on a shared machine), "maxRssMB" (the process's peak so far)}.

usage: /usr/bin/python3 bench/pytorch_rpg.py --threads 1 --batch 64 --steps 20 --archs lenet5,resnet20
       python3 bench/pytorch_rpg.py --device cuda --batch 128 --archs resnet20,resnet18
(Debian: apt-get install -y python3-torch)
"""
import argparse
import json
import math
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

RING_STD = math.sqrt(2 / 4608)


def he_std(shape, kind):
    # conv: fan-out k*k*cout (torch layout [cout, cin, k, k]); dense: fan-in ([out, in] layout)
    if kind == "conv":
        return math.sqrt(2 / (shape[0] * shape[2] * shape[3]))
    return math.sqrt(2 / shape[1])


class Generator(torch.nn.Module):
    """All kernels from one ring: vec(W_l) = c_l * s_l * ring[idx_l] (ring mode: consecutive
    entries with wrap-around, permuted inside each layer)."""

    def __init__(self, specs, ring_size, seed=1):
        super().__init__()
        rng = np.random.default_rng(seed)
        idx, scale, offset = [], [], 0
        for shape, kind in specs:
            n = int(np.prod(shape))
            perm = rng.permutation(n)
            idx.append((offset + perm) % ring_size)
            sign = rng.integers(0, 2, n) * 2 - 1
            scale.append(sign * he_std(shape, kind) / RING_STD)
            offset += n
        self.register_buffer("idx", torch.from_numpy(np.concatenate(idx)).long())
        self.register_buffer("scale", torch.from_numpy(np.concatenate(scale)).float())
        self.ring = torch.nn.Parameter(torch.randn(ring_size) * RING_STD)
        self.shapes = [s for s, _ in specs]
        self.sizes = [int(np.prod(s)) for s in self.shapes]

    def forward(self):
        flat = self.ring[self.idx] * self.scale
        return [p.view(s) for p, s in zip(torch.split(flat, self.sizes), self.shapes)]


class Model(torch.nn.Module):
    """Kernels are either plain parameters or generated from the ring; biases/BN stay free."""

    def __init__(self, specs, rpg_fraction):
        super().__init__()
        self.specs = specs
        n = sum(int(np.prod(s)) for s, _ in specs)
        if rpg_fraction:
            self.gen = Generator(specs, max(1, round(n * rpg_fraction)))
            self.kernels = None
        else:
            self.gen = None
            self.kernels = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(*s) * he_std(s, k)) for s, k in specs])

    def weights(self):
        return self.gen() if self.gen is not None else list(self.kernels)


class LeNet5(Model):
    def __init__(self, rpg):
        specs = [([6, 1, 5, 5], "conv"), ([16, 6, 5, 5], "conv"), ([120, 256], "dense"), ([84, 120], "dense"), ([10, 84], "dense")]
        super().__init__(specs, rpg)
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(s[0])) for s, _ in specs])

    def forward(self, x):
        w, b = self.weights(), self.biases
        x = F.max_pool2d(F.relu(F.conv2d(x, w[0], b[0])), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, w[1], b[1])), 2)
        x = x.flatten(1)
        x = F.relu(F.linear(x, w[2], b[2]))
        x = F.relu(F.linear(x, w[3], b[3]))
        return F.linear(x, w[4], b[4])


class ResNet20(Model):
    def __init__(self, rpg, cin=3, classes=10):
        specs, self.plan = [([16, cin, 3, 3], "conv")], []
        c = 16
        for stage, cout in enumerate([16, 32, 64]):
            for block in range(3):
                stride = 2 if stage > 0 and block == 0 else 1
                self.plan.append((c, cout, stride))
                specs += [([cout, c, 3, 3], "conv"), ([cout, cout, 3, 3], "conv")]
                c = cout
        specs.append(([classes, 64], "dense"))
        super().__init__(specs, rpg)
        self.bns = torch.nn.ModuleList([torch.nn.BatchNorm2d(s[0]) for s, k in specs if k == "conv"])
        self.fc_bias = torch.nn.Parameter(torch.zeros(classes))

    def forward(self, x):
        w = self.weights()
        x = F.relu(self.bns[0](F.conv2d(x, w[0], padding=1)))
        i = 1
        for cin, cout, stride in self.plan:
            y = F.relu(self.bns[i](F.conv2d(x, w[i], stride=stride, padding=1)))
            y = self.bns[i + 1](F.conv2d(y, w[i + 1], padding=1))
            if stride != 1 or cin != cout:
                x = x[:, :, ::stride, ::stride]
                extra = cout - cin
                x = F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))
            x = F.relu(y + x)
            i += 2
        x = x.mean((2, 3))
        return F.linear(x, w[i], self.fc_bias)


class ResNet18Small(Model):
    """ResNet-18 with the 32x32 stem (3x3 conv, no max pooling), projection shortcuts (1x1 conv +
    BN), as RPG Studio's resnet18 with smallInput."""

    def __init__(self, rpg, cin=3, classes=10):
        specs, self.plan = [([64, cin, 3, 3], "conv")], []
        c = 64
        for stage, cout in enumerate([64, 128, 256, 512]):
            for block in range(2):
                stride = 2 if stage > 0 and block == 0 else 1
                project = stride != 1 or c != cout
                self.plan.append((stride, project))
                specs += [([cout, c, 3, 3], "conv"), ([cout, cout, 3, 3], "conv")]
                if project:
                    specs.append(([cout, c, 1, 1], "conv"))
                c = cout
        specs.append(([classes, 512], "dense"))
        super().__init__(specs, rpg)
        self.bns = torch.nn.ModuleList([torch.nn.BatchNorm2d(s[0]) for s, k in specs if k == "conv"])
        self.fc_bias = torch.nn.Parameter(torch.zeros(classes))

    def forward(self, x):
        w = self.weights()
        x = F.relu(self.bns[0](F.conv2d(x, w[0], padding=1)))
        i = 1
        for stride, project in self.plan:
            y = F.relu(self.bns[i](F.conv2d(x, w[i], stride=stride, padding=1)))
            y = self.bns[i + 1](F.conv2d(y, w[i + 1], padding=1))
            if project:
                x = self.bns[i + 2](F.conv2d(x, w[i + 2], stride=stride))
            x = F.relu(y + x)
            i += 3 if project else 2
        x = x.mean((2, 3))
        return F.linear(x, w[i], self.fc_bias)


MODELS = {"lenet5": (LeNet5, (1, 28, 28)), "resnet20": (ResNet20, (3, 32, 32)), "resnet18": (ResNet18Small, (3, 32, 32))}


def bench(arch, rpg, batch, steps, warmup, device="cpu"):
    torch.manual_seed(0)
    cls, shape = MODELS[arch]
    model = cls(rpg).to(device)
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    cuda = device.startswith("cuda")

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()  # CUDA runs asynchronously: time whole steps, not their launches
    t0, c0 = time.perf_counter(), time.process_time()
    per_step = []
    for _ in range(steps):
        s0 = time.perf_counter()
        step()
        per_step.append(time.perf_counter() - s0)
    if cuda:
        torch.cuda.synchronize()
    median_ms = None if cuda else 1000 * statistics.median(per_step)
    return batch * steps / (time.perf_counter() - t0), batch * steps / (time.process_time() - c0), median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--archs", default="lenet5,resnet20")
    ap.add_argument("--rpg", type=float, default=0.1, help="ring size as a fraction of the generated weights")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (cuda:N) for the GPU reference of bench/gpu.sh")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    name = torch.cuda.get_device_name(torch.device(a.device)) if a.device.startswith("cuda") else "cpu"
    for arch in a.archs.split(","):
        for kind, frac in (("plain", 0.0), ("rpg", a.rpg)):
            sps, cpu_sps, median_ms = bench(arch, frac, a.batch, a.steps, a.warmup, a.device)
            max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
            print(json.dumps({"arch": arch, "kind": kind, "threads": a.threads, "device": name, "samplesPerSec": sps, "cpuSamplesPerSec": cpu_sps, "medianStepMs": median_ms, "maxRssMB": max_rss_mb, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
