#!/usr/bin/python3
"""Golden tests of netc's code generator against PyTorch 1.13.

Each case is a netc model and the equivalent torch computation. The case
is written to a temporary directory as YAML, a safetensors weights file
(the torch state_dict, randomised with a fixed seed: BatchNorm running
statistics and affine parameters too) and .npy inputs from a seeded RNG;
`netc run` executes it and every output must match torch (evaluated in
float64, eval mode, no_grad) within 1e-4 of the output's scale:
    max|netc - torch| <= 1e-4 * max(1, max|torch|).

Two kinds of case:
  golden  the model against torch (cases.py: one model per op family, each
          variant a branch with its own output; whole networks).
  sched   the same, plus `--compare-reference`: the tuned schedule must
          agree with the compute_root reference schedule within 1e-5 on
          shapes chosen not to divide the tiles.

Usage: golden.py --netc PATH [--filter SUBSTR] [--keep DIR] [--jobs N]
                 [--split] [-v]
Prints one line per failure, then `N passed, M failed`; exits 1 on failure.
--split runs each output of a family as its own model (which variant
fails); --keep DIR keeps each case's model, weights and inputs to rerun
netc by hand.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import cases as case_table  # noqa: E402

warnings.simplefilter("ignore")  # torch: 'same' with an even kernel, ...

torch.set_num_threads(1)

GOLDEN_TOL = 1e-4  # relative to max(1, max|torch output|)
SCHED_TOL = 1e-5   # --compare-reference: netc prints a relative difference
TIMEOUT_S = 180    # per netc run

# --- safetensors ------------------------------------------------------------

_DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}


def write_safetensors(path, tensors):
    """Write {name: torch.Tensor} as safetensors: an 8-byte little-endian
    header length, a JSON header, then the contiguous little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        array = tensor.detach().cpu().numpy()
        dtype = _DTYPES[array.dtype]
        data = np.ascontiguousarray(
            array, dtype=array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # align the data, as the writers do
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# --- deterministic randomisation --------------------------------------------

def seed_of(name):
    return zlib.crc32(name.encode())


def randomise(module):
    """Make every parameter and buffer non-trivial: BatchNorm must not be
    the identity, biases must not be zero."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                if m.weight is not None:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0.0, 0.3)
                if m.running_mean is not None:
                    m.running_mean.normal_(0.0, 0.3)
                    m.running_var.uniform_(0.5, 2.0)
                    m.num_batches_tracked.fill_(7)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.3, 0.3)


# --- interpreting a netc layer list with torch ------------------------------

# Arguments that are "int or pair" in netc; a YAML list is a torch tuple.
_PAIR_ARGS = {"kernel_size", "stride", "padding", "dilation", "output_size"}


def layer_name(layer, index):
    return layer.get("name") or "%s_%d" % (layer["op"].lower(), index)


def torch_module(layer):
    """The torch.nn module for one netc layer (None for Add and Cat)."""
    op = layer["op"]
    if op in ("Add", "Cat"):
        return None
    if op == "Identity":
        return nn.Identity()  # its arguments are ignored, in both
    # `inplace` is dropped: branches share their input tensor.
    kw = {k: (tuple(v) if k in _PAIR_ARGS and isinstance(v, list) else v)
          for k, v in layer.items()
          if k not in ("name", "op", "from", "inplace")}
    return getattr(nn, op)(**kw)


class LayerListNet(nn.Module):
    """A netc layer list run by torch, as a user would write it by hand."""

    def __init__(self, inputs, layers, outputs):
        super().__init__()
        self.input_names = list(inputs)
        self.layers = layers
        self.outputs = outputs
        self.names = [layer_name(l, i) for i, l in enumerate(layers)]
        # ModuleDict keys may not contain dots; the state_dict is built by
        # hand with the netc names (state_dict()).
        self.mods = nn.ModuleList([torch_module(l) or nn.Identity()
                                   for l in layers])

    def named_state(self):
        sd = {}
        for name, layer, mod in zip(self.names, self.layers, self.mods):
            if layer["op"] not in ("Add", "Cat"):
                for key, value in mod.state_dict().items():
                    sd[name + "." + key] = value
        return sd

    def forward(self, feeds):
        env = dict(feeds)
        prev = self.input_names[0]
        for name, layer, mod in zip(self.names, self.layers, self.mods):
            src = layer.get("from", prev)
            srcs = [env[s] for s in (src if isinstance(src, list) else [src])]
            if layer["op"] == "Add":
                out = srcs[0]
                for s in srcs[1:]:
                    out = out + s
            elif layer["op"] == "Cat":
                out = torch.cat(srcs, dim=layer.get("dim", 1))
            else:
                out = mod(srcs[0])
            env[name] = out
            prev = name
        return {o: env[o] for o in self.outputs}


def layer_list_yaml(model_name, inputs, layers, outputs):
    """The netc YAML for a layer list: each layer in JSON flow style."""
    lines = ["name: " + model_name, "inputs:"]
    for name, shape in inputs.items():
        lines.append("  %s: [%s]" % (name, ", ".join(str(d) for d in shape)))
    lines.append("layers:")
    for layer in layers:
        lines.append("  - " + json.dumps(layer))
    lines.append("outputs: [%s]" % ", ".join(outputs))
    return "\n".join(lines) + "\n"


# --- preparing and running one case -----------------------------------------

def concrete(shape, batch):
    return [d if isinstance(d, int) else batch for d in shape]


def prepare(case):
    """Build the case: returns (yaml text, state dict, {input: ndarray},
    {output: float64 ndarray from torch})."""
    torch.manual_seed(seed_of(case["name"]))
    rng = np.random.default_rng(seed_of(case["name"]))
    batch = case.get("batch", 2)
    if "layers" in case:
        model = LayerListNet(case["inputs"], case["layers"], case["outputs"])
        ident = re.sub(r"\W", "_", case["name"])
        text = layer_list_yaml(ident, case["inputs"], case["layers"],
                               case["outputs"])
    else:  # a whole network: YAML text and a torch module returning a dict
        text, model = case["network"]()
    model.eval()
    randomise(model)
    state = (model.named_state() if hasattr(model, "named_state")
             else model.state_dict())
    state = {k: v.detach().clone() for k, v in state.items()}  # float32
    feeds = {}
    for name, shape in case["inputs"].items():
        feeds[name] = (case.get("input_scale", 1.0) * rng.standard_normal(
            concrete(shape, batch))).astype(np.float32)
    with torch.no_grad():
        model.double()
        result = model({k: torch.from_numpy(v).double()
                        for k, v in feeds.items()})
        if not isinstance(result, dict):
            result = {case["outputs"][0]: result}
    expected = {k: v.numpy() for k, v in result.items()}
    return text, state, feeds, expected


def run_case(case, netc, keep):
    """Run one case; returns a list of failure messages (empty: passed)."""
    name = case["name"]
    try:
        text, state, feeds, expected = prepare(case)
    except Exception as e:  # the harness or the case table is wrong
        return ["harness error: %s: %s" % (type(e).__name__, e)]
    work = tempfile.mkdtemp(prefix="netc-golden-")
    try:
        model = os.path.join(work, "model.yaml")
        with open(model, "w") as f:
            f.write(text)
        cmd = [netc, "run", model]
        if state:
            write_safetensors(os.path.join(work, "weights.safetensors"),
                              state)
            cmd += ["--weights", os.path.join(work, "weights.safetensors")]
        for k, v in feeds.items():
            np.save(os.path.join(work, "in_%s.npy" % k), v)
            cmd += ["--input", "%s=%s" % (k, os.path.join(work,
                                                          "in_%s.npy" % k))]
        outs = {o: os.path.join(work, "out_%d.npy" % i)
                for i, o in enumerate(case["outputs"])}
        for o, path in outs.items():
            cmd += ["--output", "%s=%s" % (o, path)]
        if case.get("kind") == "sched":
            cmd.append("--compare-reference")
        proc = run_netc(cmd)
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            return ["netc exited %d: %s" % (proc.returncode,
                                            first_error(log))]
        errors = []
        for o, path in outs.items():
            errors += compare(o, path, expected[o])
        if case.get("kind") == "sched":
            errors += check_reference(log, case["outputs"])
        return errors
    finally:
        if keep:
            dest = os.path.join(keep, name)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(work, dest)
        shutil.rmtree(work, ignore_errors=True)


def run_netc(cmd):
    """Run netc; retry while the binary is briefly missing (a rebuild)."""
    for _ in range(30):
        if os.path.exists(cmd[0]) or shutil.which(cmd[0]):
            break
        time.sleep(2)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def first_error(log):
    for line in log.splitlines():
        if "error" in line:
            return line.strip()[:300]
    return log.strip()[-300:]


def compare(output, path, want):
    if not os.path.exists(path):
        return ["output '%s': no file written" % output]
    got = np.load(path)
    if got.dtype != np.float32:
        return ["output '%s': dtype %s, expected float32" % (output,
                                                             got.dtype)]
    if list(got.shape) != list(want.shape):
        return ["output '%s': shape %s, expected %s" % (
            output, list(got.shape), list(want.shape))]
    if got.size == 0:
        return []
    if not np.all(np.isfinite(got)):
        return ["output '%s': non-finite values" % output]
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got.astype(np.float64) - want).max())
    if err > GOLDEN_TOL * scale:
        at = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
        return ["output '%s': max|netc-torch| = %.3g > %.3g (scale %.3g); "
                "at %s netc %.6g, torch %.6g" % (
                    output, err, GOLDEN_TOL * scale, scale, list(at),
                    got[at], want[at])]
    return []


_REF_LINE = re.compile(r"output '([^']+)': largest difference from the "
                       r"reference schedule: (\S+)")


def check_reference(log, outputs):
    found = dict(_REF_LINE.findall(log))
    errors = []
    for o in outputs:
        if o not in found:
            errors.append("output '%s': no reference difference printed" % o)
        elif not float(found[o]) <= SCHED_TOL:
            errors.append("output '%s': tuned vs reference schedule differ "
                          "by %s > %g" % (o, found[o], SCHED_TOL))
    return errors


def split_case(case):
    """One case per output of a layer-list case, with only the layers that
    output needs (--split: to tell which variant of a family fails)."""
    if "layers" not in case or len(case["outputs"]) == 1:
        return [case]
    # Every layer with its name and its sources made explicit.
    named, prev = [], list(case["inputs"])[0]
    for i, l in enumerate(case["layers"]):
        src = l.get("from", prev)
        named.append(dict(l, name=layer_name(l, i),
                          **{"from": src if isinstance(src, list) else [src]}))
        prev = named[-1]["name"]
    sources = {l["name"]: l["from"] for l in named}
    parts = []
    for out in case["outputs"]:
        need, todo = set(), [out]
        while todo:
            name = todo.pop()
            if name in sources and name not in need:
                need.add(name)
                todo += sources[name]
        layers = [l for l in named if l["name"] in need]
        used = {s for l in layers for s in l["from"]}
        inputs = {k: v for k, v in case["inputs"].items() if k in used}
        parts.append(dict(case, name=case["name"] + "/" + out,
                          inputs=inputs, layers=layers, outputs=[out]))
    return parts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netc", required=True)
    ap.add_argument("--filter", default="",
                    help="only cases whose name contains this")
    ap.add_argument("--keep", help="copy each case's files to DIR/<case>")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every case with its time")
    ap.add_argument("--split", action="store_true",
                    help="run each output of a case as its own model")
    args = ap.parse_args()
    netc = args.netc
    if os.sep in netc:
        netc = os.path.abspath(netc)
    todo = case_table.CASES
    if args.split:
        todo = [part for c in todo for part in split_case(c)]
    todo = [c for c in todo if args.filter in c["name"]]
    if not todo:
        print("no case matches %r" % args.filter)
        return 2
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        def timed(case):
            start = time.time()
            return case, run_case(case, netc, args.keep), time.time() - start

        for case, errors, seconds in pool.map(timed, todo):
            failed += bool(errors)
            if args.verbose:
                print("%-40s %s %5.1fs" % (case["name"],
                                          "FAIL" if errors else "ok",
                                          seconds), flush=True)
            for e in errors:
                print("FAIL %s: %s" % (case["name"], e), flush=True)
    print("%d passed, %d failed" % (len(todo) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
