"""PyTorch reference for `tomoprior bench compute`: the ref-resnet (width 1, depth 1) + score head +
pairwise hinge training step of @tomoprior/compute's ranking task, with ghost batch norm over the
same partitions and Adam, NHWC (channels_last) fp32 on the CPU.

Driven over stdin/stdout so the bench can alternate its steps with ours in one run: prints one
JSON line when ready, then answers each "step" line with the step's wall and CPU seconds.
Usage: /usr/bin/python3 ref_resnet_step.py <batch> <size> <partitions> <threads>
Run it with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736: with glibc's default malloc,
fresh 32 MB+ activations are mmapped and page-faulted every step, which makes PyTorch several
times slower on these VMs (research/native-onednn).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, stride):
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False)


def bn(c):
    # tfjs' epsilon 1e-3 and momentum 0.9 (PyTorch counts momentum the other way round).
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.1)


class Unit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a, self.a_bn = conv(cin, cout, 3, stride), bn(cout)
        self.b, self.b_bn = conv(cout, cout, 3, 1), bn(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj, self.proj_bn = conv(cin, cout, 1, stride), bn(cout)

    def forward(self, x):
        y = F.relu(self.a_bn(self.a(x)))
        y = self.b_bn(self.b(y))
        shortcut = x if self.proj is None else self.proj_bn(self.proj(x))
        return F.relu(y + shortcut)


class ScoreModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.stem_bn = conv(1, 16, 3, 1), bn(16)
        widths = [16, 32, 64, 128]
        units, cin = [], 16
        for s, w in enumerate(widths):
            units.append(Unit(cin, w, 1 if s == 0 else 2))
            cin = w
        self.units = nn.Sequential(*units)
        self.score = nn.Conv2d(128, 1, 1)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        return self.score(self.units(x)).mean(dim=(2, 3))


def main():
    batch, size, partitions, threads = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = ScoreModel().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, eps=1e-7)
    x = torch.rand(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    positions = torch.arange(batch, dtype=torch.float32)
    order = (positions[:, None] > positions[None, :]).float()
    pairs = max(1.0, float(order.sum()))

    def step():
        optimizer.zero_grad(set_to_none=True)
        scores = torch.cat([model(part) for part in x.chunk(partitions)]).reshape(batch, 1)
        diff = scores - scores.t()
        loss = (F.relu(0.2 - diff) * order).sum() / pairs
        loss.backward()
        optimizer.step()
        return float(loss)

    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if line.strip() != "step":
            break
        wall0, cpu0 = time.perf_counter(), time.process_time()
        loss = step()
        print(json.dumps({"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0, "loss": loss}), flush=True)


if __name__ == "__main__":
    main()
