#!/usr/bin/python3
"""Run the block-written torchvision examples through `netc run` with
torchvision's own state_dict, and compare with torch's eval output.

For each of examples/resnet18.yaml, resnet50.yaml and mobilenet_v2.yaml:
build the torchvision model (seeded random weights, and random BatchNorm
running statistics so that no BatchNorm is an identity), save its whole
state_dict, unrenamed, as safetensors, run `netc run` on a batch of 2 random
224x224 images, and require every output to match torch's within 1e-4 of
the output's scale (max |netc - torch| / max |torch|).

That the state_dict loads at all proves the block-written names are
torchvision's module paths (`layer2.0.downsample.0.weight`); the output
proves the expanded graph computes what torchvision's forward does.

    check_outputs.py --netc build/bin/netc --examples examples \\
        --tmp DIR [--only resnet18] [-v]

Prints one line per model, then `N passed, M failed`; exits 1 on a failure.
Needs /usr/bin/python3 (Debian's torch 1.13 and torchvision).
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "torch2netc"))
from netc_export.emit import write_safetensors  # noqa: E402

TOLERANCE = 1e-4
# example file stem -> (torchvision constructor, the YAML's output layer)
MODELS = {
    "resnet18": ("resnet18", "fc"),
    "resnet50": ("resnet50", "fc"),
    "mobilenet_v2": ("mobilenet_v2", "classifier.1"),
}


def reference(name, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model


def check(netc, examples, stem, tmp, verbose):
    tv_name, output = MODELS[stem]
    model = reference(tv_name, seed=len(stem))
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = model(x).numpy()
    weights = os.path.join(tmp, stem + ".safetensors")
    xin = os.path.join(tmp, stem + "_x.npy")
    yout = os.path.join(tmp, stem + "_y.npy")
    write_safetensors(weights, model.state_dict())
    np.save(xin, x.numpy())
    cmd = [netc, "run", os.path.join(examples, stem + ".yaml"),
           "--weights", weights, "--input", "image=" + xin,
           "--output", "%s=%s" % (output, yout)]
    start = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    seconds = time.time() - start
    if p.returncode != 0:
        return "netc run exited %d: %s" % (p.returncode, p.stderr.strip()[-2000:])
    got = np.load(yout)
    if got.shape != want.shape:
        return "output shape %s, torch %s" % (list(got.shape), list(want.shape))
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max()) / scale
    if verbose or err > TOLERANCE:
        print("%s: max error %.2e of scale %.3g (netc run %.1f s)"
              % (stem, err, scale, seconds))
    if not np.isfinite(err) or err > TOLERANCE:
        return "max error %.2e > %.0e" % (err, TOLERANCE)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--only", action="append")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.tmp, exist_ok=True)
    passed = failed = 0
    for stem in args.only or sorted(MODELS):
        problem = check(args.netc, args.examples, stem, args.tmp, args.verbose)
        if problem:
            print("FAIL %s: %s" % (stem, problem))
            failed += 1
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
