#!/usr/bin/python3
"""Check netc's `summary --json` for examples/*.yaml against PyTorch.

For each example this builds the torch / torchvision reference model, runs
one forward pass on the input the YAML declares (a symbolic batch becomes 1)
with forward hooks recording every module's output shape, and compares with
`netc summary FILE --json`:

  * netc exits 0 and prints one JSON object;
  * every netc layer whose name is a torch module path has the same op, the
    same output shape (a symbolic dimension matches anything) and the same
    parameter (and buffer) count;
  * every torch module that owns parameters has a netc layer of that name
    (so a state_dict would load without renaming);
  * total_params equals sum(p.numel()) of the torch model (and total_buffers
    the running statistics);
  * the network output has torch's shape;
  * Conv2d MACs = out_elems_per_sample * (in_ch/groups) * kh * kw and
    Linear MACs = out_elems_per_sample * in_features.

Prints one line per mismatch, then `N passed, M failed`; exits 1 if any
example failed. Needs /usr/bin/python3 (Debian's torch 1.13, torchvision).

    check_examples.py --netc build/bin/netc [--examples examples] [-v]
"""

import argparse
import json
import math
import os
import subprocess
import sys

import torch
import torch.nn as nn

torch.set_num_threads(1)


# --------------------------------------------------------------------------
# Reference models, keyed by the example's file name (without .yaml).

class TinyCNN(nn.Module):
    """The first example of docs/spec model-format.md."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        return self.fc(self.flat(x))


class SeedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, kernel_size=5, stride=1, padding=2)

    def forward(self, x):
        return self.conv(x)


class LeNet5(nn.Module):
    """LeNet-5 on [N,1,32,32]: tanh and average-pool subsampling."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.act1 = nn.Tanh()
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.act2 = nn.Tanh()
        self.pool2 = nn.AvgPool2d(2)
        self.conv3 = nn.Conv2d(16, 120, kernel_size=5)
        self.act3 = nn.Tanh()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(120, 84)
        self.act4 = nn.Tanh()
        self.fc2 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        x = self.flatten(self.act3(self.conv3(x)))
        return self.fc2(self.act4(self.fc1(x)))


def _torchvision(name):
    def build():
        import torchvision
        return getattr(torchvision.models, name)(weights=None)
    return build


REFERENCES = {
    "tiny_cnn": TinyCNN,
    "seed_conv": SeedConv,
    "lenet5": LeNet5,
    "resnet18": _torchvision("resnet18"),
    "mobilenet_v2": _torchvision("mobilenet_v2"),
    "vgg11": _torchvision("vgg11"),
    # examples/resnet50.yaml: written with blocks and repeat
    "resnet50": _torchvision("resnet50"),
}


# --------------------------------------------------------------------------

def fmt_shape(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def shapes_match(netc_shape, torch_shape):
    if not isinstance(netc_shape, list) or len(netc_shape) != len(torch_shape):
        return False
    for n, t in zip(netc_shape, torch_shape):
        if isinstance(n, str):
            continue  # symbolic dim or expression: matches anything
        if isinstance(n, bool) or not isinstance(n, int) or n != t:
            return False
    return True


def declared_inputs(summary, yaml_path):
    """[(name, shape list)] from summary JSON, else from the YAML itself."""
    ins = summary.get("inputs") if isinstance(summary, dict) else None
    if isinstance(ins, list) and ins:
        return [(i.get("name"), i.get("shape")) for i in ins]
    import yaml
    with open(yaml_path) as f:
        doc = yaml.safe_load(f)
    out = []
    for name, spec in (doc.get("inputs") or {}).items():
        out.append((name, spec["shape"] if isinstance(spec, dict) else spec))
    return out


def concrete(shape):
    return [d if isinstance(d, int) and not isinstance(d, bool) else 1 for d in shape]


def run_netc(netc, path, timeout):
    try:
        p = subprocess.run([netc, "summary", path, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, None, str(e)
    return p.returncode, p.stdout, p.stderr


def own_params(module):
    return sum(p.numel() for p in module.parameters(recurse=False))


def own_buffers(module):
    n = 0
    for bname, b in module.named_buffers(recurse=False):
        if bname in ("running_mean", "running_var"):
            n += b.numel()
    return n


def check_example(netc, path, verbose, timeout):
    """Returns a list of mismatch strings (empty: passed)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    errs = []

    rc, out, err = run_netc(netc, path, timeout)
    if rc is None:
        return ["could not run netc: %s" % err]
    if rc != 0:
        lines = (err or "").strip().splitlines()
        tail = " | ".join(([l for l in lines if "error" in l] or lines)[:5])
        how = ("crashed (signal %d)" % -rc) if rc < 0 else ("exited %d" % rc)
        errs.append("netc summary %s: %s" % (how, tail))
        return errs
    try:
        summary = json.loads(out)
    except ValueError as e:
        return ["netc summary --json did not print one JSON object: %s" % e]
    if not isinstance(summary, dict) or not isinstance(summary.get("layers"), list):
        return ["netc summary --json has no `layers` array"]

    layers = summary["layers"]
    names = [l.get("name") for l in layers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        errs.append("duplicate layer names in summary: %s" % ", ".join(dup))

    if stem not in REFERENCES:
        print("note: %s: no torch reference; only checked that netc accepts it" % stem)
        return errs

    model = REFERENCES[stem]()
    model.eval()
    modules = dict(model.named_modules())
    modules.pop("", None)

    shapes = {}
    hooks = []
    for mname, m in modules.items():
        def hook(mod, inp, outp, mname=mname):
            # A module may run more than once (torchvision reuses one
            # `relu`); keep every call's shape, first call first.
            if torch.is_tensor(outp):
                shapes.setdefault(mname, []).append(tuple(outp.shape))
        hooks.append(m.register_forward_hook(hook))

    ins = declared_inputs(summary, path)
    if len(ins) != 1:
        return errs + ["expected one declared input, found %d" % len(ins)]
    in_shape = concrete(ins[0][1])
    batch = in_shape[0] if len(in_shape) in (2, 4) else 1
    with torch.no_grad():
        y = model(torch.randn(*in_shape))
    for h in hooks:
        h.remove()

    by_name = {l.get("name"): l for l in layers}

    for l in layers:
        name = l.get("name")
        m = modules.get(name)
        if m is None:
            if l.get("params", 0):
                errs.append("%s: has %s params but is no torch module path"
                            % (name, l.get("params")))
            continue
        torch_op = type(m).__name__
        if l.get("op") != torch_op:
            errs.append("%s: op %s, torch has %s" % (name, l.get("op"), torch_op))
        if name in shapes and not any(shapes_match(l.get("shape"), s)
                                      for s in shapes[name]):
            errs.append("%s: shape %s, torch %s"
                        % (name, l.get("shape"),
                           " or ".join(fmt_shape(s) for s in shapes[name])))
        tp = sum(p.numel() for p in m.parameters())
        if l.get("params") != tp:
            errs.append("%s: params %s, torch %d" % (name, l.get("params"), tp))
        if "buffers" in l:
            tb = sum(own_buffers(s) for s in m.modules())
            if l.get("buffers") != tb:
                errs.append("%s: buffers %s, torch %d" % (name, l.get("buffers"), tb))

        if isinstance(m, (nn.Conv2d, nn.Linear)) and name in shapes:
            out_elems = math.prod(shapes[name][0]) // batch
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                want = out_elems * (m.in_channels // m.groups) * kh * kw
            else:
                want = out_elems * m.in_features
            if l.get("macs") != want:
                errs.append("%s: macs %s, expected %d" % (name, l.get("macs"), want))

    # Every torch module that owns parameters needs a netc layer of its name.
    for mname, m in modules.items():
        if own_params(m) and mname not in by_name:
            errs.append("%s: torch module with %d params has no netc layer"
                        % (mname, own_params(m)))

    total = sum(p.numel() for p in model.parameters())
    if summary.get("total_params") != total:
        errs.append("total_params %s, torch %d" % (summary.get("total_params"), total))
    if "total_buffers" in summary:
        tb = sum(own_buffers(m) for m in model.modules())
        if summary.get("total_buffers") != tb:
            errs.append("total_buffers %s, torch %d" % (summary.get("total_buffers"), tb))

    outs = summary.get("outputs") or ([names[-1]] if names else [])
    if len(outs) == 1 and torch.is_tensor(y):
        o = by_name.get(outs[0])
        if o is None:
            errs.append("output %s is not a layer" % outs[0])
        elif not shapes_match(o.get("shape"), tuple(y.shape)):
            errs.append("output %s: shape %s, torch %s"
                        % (outs[0], o.get("shape"), fmt_shape(y.shape)))

    if verbose:
        print("  %s: %d layers, %d matched torch modules, total_params %s"
              % (stem, len(layers), sum(1 for n in names if n in modules),
                 summary.get("total_params")))
    return errs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netc", required=True, help="path to (or name of) netc")
    ap.add_argument("--examples", default=os.path.join(here, "..", "..", "examples"),
                    help="directory of *.yaml examples (default: repo examples/)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per netc run")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("only", nargs="*", help="example names to check (default: all)")
    args = ap.parse_args()

    files = sorted(f for f in os.listdir(args.examples) if f.endswith(".yaml"))
    if args.only:
        files = [f for f in files if os.path.splitext(f)[0] in args.only]
    if not files:
        print("no examples found in %s" % args.examples)
        print("0 passed, 1 failed")
        return 1

    passed = failed = 0
    for f in files:
        stem = os.path.splitext(f)[0]
        errs = check_example(args.netc, os.path.join(args.examples, f),
                             args.verbose, args.timeout)
        for e in errs:
            print("FAIL %s: %s" % (stem, e))
        if errs:
            failed += 1
        else:
            passed += 1
            if args.verbose:
                print("ok   %s" % stem)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
