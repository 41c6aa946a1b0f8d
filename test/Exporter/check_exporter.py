#!/usr/bin/python3
"""End-to-end test of tools/torch2netc: export PyTorch models, then check
that netc agrees with torch about them.

For each export case: torch2netc writes the YAML and the weights; the YAML
has its header comment and one flow-style line per layer; `netc check`
exits 0; `netc summary --json` counts torch's parameters; the safetensors
file holds the state_dict (num_batches_tracked aside) bit for bit; and,
for the cases that run, `netc run` with those weights matches the module's
eval-mode output (torch in float64) within 1e-4 of the output's scale:
    max|netc - torch| <= 1e-4 * max(1, max|torch|).
Models: models.py (torchvision networks with randomised BatchNorm
statistics, a reduced MobileNetV2, a two-output module written with the
functional spellings) and torchvision names. Error cases: models torch2netc must reject with exit
1 and a message naming the node, and a usage error (exit 2).

Usage: check_exporter.py --netc NETC --exporter torch2netc.py
           [--filter SUBSTR] [--keep DIR] [--jobs N] [-v]
Prints one line per failure, then `N passed, M failed`; exits 1 on failure.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
import yaml  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402

torch.set_num_threads(1)
TOL = 1e-4
TIMEOUT_S = 300

# name, MODEL argument, traced input shape, symbolic batch, what to do:
# "run" exports weights and runs netc with them; "weights" exports and
# compares the weights but does not run; "check" exports the YAML only.
# The full MobileNetV2 is not run: netc's JIT compile of its 52
# convolutions takes minutes; mobilenet_v2_small runs the same torchvision
# class with two stages. VGG-11's weights are 0.5 GB. DenseNet-121 (a
# torch.cat of lists, F.relu, F.adaptive_avg_pool2d) is checked only.
EXPORTS = [
    ("resnet18", "models.py:resnet18", (2, 3, 64, 64), True, "run"),
    ("mobilenet_v2", "models.py:mobilenet_v2", (1, 3, 64, 64), False,
     "weights"),
    ("mobilenet_v2_small", "models.py:mobilenet_v2_small", (2, 3, 32, 32),
     True, "run"),
    ("squeezenet1_1", "squeezenet1_1", (1, 3, 64, 64), False, "run"),
    ("vgg11", "vgg11", (1, 3, 32, 32), True, "check"),
    ("densenet121", "densenet121", (1, 3, 64, 64), False, "check"),
    ("functional", "models.py:functional", (2, 3, 16, 16), True, "run"),
]

# name, MODEL, shape, symbolic, expected exit status, texts stderr must hold.
ERRORS = [
    ("error_mul", "models.py:scaled", (1, 3, 8, 8), False, 1,
     ["torch2netc: error: cannot map node 'mul' (call_function "
      "<built-in function mul>)", "elementwise multiply"]),
    ("error_upsample", "models.py:upsampled", (1, 3, 8, 8), False, 1,
     ["cannot map node 'body_1' (call_module Upsample 'body.1') at body",
      "no Upsample"]),
    ("error_shared_conv", "models.py:shared_conv", (1, 3, 8, 8), False, 1,
     ["cannot map node 'conv_1' (call_module Conv2d 'conv')",
      "called 2 times"]),
    ("error_fixed_batch", "models.py:fixed_batch_view", (2, 3, 8, 8), True, 1,
     ["cannot map node 'view' (call_method .view())",
      "fixes the batch size"]),
    ("error_mobilenet_v3", "mobilenet_v3_small", (1, 3, 32, 32), False, 1,
     ["cannot map node 'features_1_block_1_scale_activation' (call_module "
      "Hardsigmoid 'features.1.block.1.scale_activation') at "
      "features.1.block.1", "cannot map node 'mul' (call_function "
      "<built-in function mul>) at features.1.block.1"]),
    ("error_unknown_model", "no_such_net", (1, 3, 8, 8), False, 2,
     ["unknown torchvision model 'no_such_net'"]),
]


BUILD_LOCK = threading.Lock()  # torch's global RNG: one build at a time


def build(model_arg):
    """The module torch2netc exported, rebuilt here (torch2netc seeds
    torch with its --seed, 0 by default, before building a model)."""
    with BUILD_LOCK:
        torch.manual_seed(0)
        if model_arg.startswith("models.py:"):
            return getattr(models, model_arg.split(":", 1)[1])()
        return getattr(torchvision.models, model_arg)(weights=None).eval()


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + start:8 + n + end],
                                  dtype=dtypes[info["dtype"]]).reshape(
                                      info["shape"])
    return out


def run(cmd, **kw):
    """Run a command; wait while netc is briefly missing (a rebuild)."""
    for _ in range(30):
        if os.path.exists(cmd[0]) or shutil.which(cmd[0]):
            break
        time.sleep(2)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=TIMEOUT_S, **kw)


def export(args, work, model_arg, shape, symbolic, weights=True):
    cmd = [sys.executable, args.exporter, model_arg,
           "--input-shape", ",".join(map(str, shape)),
           "-o", os.path.join(work, "model.yaml")]
    if weights:
        cmd += ["--weights", os.path.join(work, "weights.safetensors")]
    if symbolic:
        cmd.append("--symbolic-batch")
    return run(cmd, cwd=HERE)


def check_yaml_text(text, symbolic):
    errors = []
    lines = text.splitlines()
    if not lines[0].startswith("# Generated by torch2netc from "):
        errors.append("no header comment: %r" % lines[0])
    body = lines[lines.index("layers:") + 1:]
    for line in body:
        if line.startswith("outputs:"):
            break
        if not (line.startswith("  - {") and line.endswith("}")):
            errors.append("layer not on one flow-style line: %r" % line)
    doc = yaml.safe_load(text)
    batch = next(iter(doc["inputs"].values()))[0]
    if symbolic and batch != "N":
        errors.append("batch is %r, expected N" % (batch,))
    return doc, errors


def export_case(args, case, work):
    name, model_arg, shape, symbolic, mode = case
    proc = export(args, work, model_arg, shape, symbolic, mode != "check")
    if proc.returncode != 0:
        return ["torch2netc exited %d: %s" % (proc.returncode,
                                              proc.stderr.strip()[-400:])]
    with open(os.path.join(work, "model.yaml")) as f:
        doc, errors = check_yaml_text(f.read(), symbolic)
    model_path = os.path.join(work, "model.yaml")
    weights = os.path.join(work, "weights.safetensors")

    proc = run([args.netc, "check", model_path])
    if proc.returncode != 0:
        return errors + ["netc check exited %d: %s" % (
            proc.returncode, proc.stderr.strip()[:400])]
    module = build(model_arg)
    proc = run([args.netc, "summary", model_path, "--json"])
    want_params = sum(p.numel() for p in module.parameters())
    if proc.returncode != 0:
        errors.append("netc summary exited %d" % proc.returncode)
    else:
        got = json.loads(proc.stdout)["total_params"]
        if got != want_params:
            errors.append("total_params %s, torch %d" % (got, want_params))

    if mode == "check":
        return errors
    stored = read_safetensors(weights)
    state = {k: v for k, v in module.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    if set(stored) != set(state):
        errors.append("weights: missing %s, extra %s" % (
            sorted(set(state) - set(stored))[:5],
            sorted(set(stored) - set(state))[:5]))
    for key in set(stored) & set(state):
        if stored[key].dtype != np.float32 or \
                not np.array_equal(stored[key], state[key].numpy()):
            errors.append("weights: '%s' differs from the state_dict" % key)
            break
    if mode != "run":
        return errors

    x = np.random.default_rng(len(name)).standard_normal(shape).astype(
        np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    input_name = next(iter(doc["inputs"]))
    outputs = doc.get("outputs") or [doc["layers"][-1]["name"]]
    cmd = [args.netc, "run", model_path, "--weights", weights,
           "--input", "%s=%s" % (input_name, os.path.join(work, "x.npy"))]
    for i, out in enumerate(outputs):
        cmd += ["--output", "%s=%s" % (out, os.path.join(work, "y%d.npy" % i))]
    proc = run(cmd)
    if proc.returncode != 0:
        return errors + ["netc run exited %d: %s" % (
            proc.returncode, proc.stderr.strip()[:400])]
    with torch.no_grad():
        want = module.double()(torch.from_numpy(x).double())
    want = list(want) if isinstance(want, (tuple, list)) else [want]
    if len(want) != len(outputs):
        return errors + ["%d outputs in the YAML, torch returns %d" % (
            len(outputs), len(want))]
    for i, (out, expect) in enumerate(zip(outputs, want)):
        got = np.load(os.path.join(work, "y%d.npy" % i))
        expect = expect.numpy()
        if got.shape != expect.shape:
            errors.append("output '%s': shape %s, torch %s" % (
                out, got.shape, expect.shape))
            continue
        scale = max(1.0, float(np.abs(expect).max()))
        err = float(np.abs(got.astype(np.float64) - expect).max())
        if not err <= TOL * scale:
            errors.append("output '%s': max|netc-torch| = %.3g > %.3g" % (
                out, err, TOL * scale))
        elif args.verbose:
            print("  %s: output '%s' max|netc-torch| = %.3g (scale %.3g)" % (
                name, out, err, scale))
    return errors


def error_case(args, case, work):
    name, model_arg, shape, symbolic, status, texts = case
    proc = export(args, work, model_arg, shape, symbolic)
    errors = []
    if proc.returncode != status:
        errors.append("torch2netc exited %d, expected %d: %s" % (
            proc.returncode, status, proc.stderr.strip()[-300:]))
    for text in texts:
        if text not in proc.stderr:
            errors.append("stderr lacks %r: %s" % (text,
                                                    proc.stderr.strip()[:300]))
    if "Traceback" in proc.stderr:
        errors.append("a Python traceback instead of a diagnostic")
    if os.path.exists(os.path.join(work, "model.yaml")):
        errors.append("wrote model.yaml despite the error")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", required=True)
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--filter", default="")
    ap.add_argument("--keep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if os.sep in args.netc:
        args.netc = os.path.abspath(args.netc)
    args.exporter = os.path.abspath(args.exporter)

    jobs = [(export_case, c) for c in EXPORTS] + \
        [(error_case, c) for c in ERRORS]
    jobs = [j for j in jobs if args.filter in j[1][0]]

    def one(job):
        fn, case = job
        work = tempfile.mkdtemp(prefix="torch2netc-test-")
        start = time.time()
        try:
            return case[0], fn(args, case, work), time.time() - start
        except Exception as e:  # the harness itself
            return case[0], ["harness error: %s: %s" % (
                type(e).__name__, e)], time.time() - start
        finally:
            if args.keep:
                dest = os.path.join(args.keep, case[0])
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(work, dest)
            shutil.rmtree(work, ignore_errors=True)

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for name, errors, seconds in pool.map(one, jobs):
            if errors:
                failed += 1
                for e in errors:
                    print("FAIL %s: %s" % (name, e))
            else:
                passed += 1
                if args.verbose:
                    print("ok   %s (%.1f s)" % (name, seconds))
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
