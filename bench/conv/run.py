#!/usr/bin/python3
"""Convolution benchmark: netc's generated kernel against oneDNN and torch.

For each convolution shape, in one run and interleaved, times

  netc       `netc bench` on a one-layer model (Conv2d, symbolic batch N),
             the conv layer's per-layer median ms: its kernel with input
             and output stored as inside a network (channel blocks of 16
             where netc uses them; the conversion is not timed, like
             oneDNN's reorders);
  dnnl-any   oneDNN 2.6/2.7 forward inference with format_tag::any (its own
             blocked layouts; reorders excluded, reported once in the JSON);
  dnnl-nchw  oneDNN on plain nchw/oihw (no reorder anywhere);
  torch      torch 1.13 nn.Conv2d, eval, no_grad, NCHW;
  netc-rule  (with --tune or --tuning-cache) netc's rules alone, when the
             netc row takes its choices from a tuning cache (`netc tune`)
  auto-mullapudi2016, auto-adams2019 (with --autoschedulers)
             `netc bench --autoschedule=NAME`: the same algorithm scheduled
             by Halide 14's own autoschedulers (Adams2019 with a beam of 1);

all on the same number of threads (default 2), with bias off. The shapes
are every distinct convolution of torchvision's ResNet-50 at 224x224 (found
by running the model with hooks), five VGG-16 3x3 layers, MobileNetV2's
depthwise and a set of its pointwise layers, and one dilated layer (the
ResNet-50 with replace_stride_with_dilation=[False, True, True] that
DeepLabV3 uses).

Rounds: the whole list is measured --rounds times, each round in a different
order of the four implementations; the median over rounds is kept and the
spread ((max - min) / median over rounds) is printed.

Prints one table per batch, then geomeans by family (3x3, 1x1, depthwise,
stem7x7, dilated), and writes bench/results/latest.json.

    bench/conv/run.py [--netc build/bin/netc] [--batch 1,8] [--rounds 3]
    bench/conv/run.py --quick          # 5 shapes, batch 1, 2 rounds
    bench/conv/run.py --only resnet50  # shapes whose name contains a word

Needs g++, libdnnl-dev (bench/setup.sh) and torch/torchvision (/usr/bin/python3).
Not a test; never runs in CI.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
BUILD = os.path.join(HERE, "build")

IMPLS = ("netc", "dnnl-any", "dnnl-nchw", "torch")
FAMILIES = ("3x3", "1x1", "depthwise", "stem7x7", "dilated")
QUICK = ("resnet50.conv3x3.64x56", "resnet50.conv1x1.256-64x56",
         "resnet50.stem7x7", "mbv2.dw.144x56.s1", "dilated.3x3.256x28.d2")


# --------------------------------------------------------------------------
# Building the C++ programs

def build(verbose=True):
    os.makedirs(BUILD, exist_ok=True)
    progs = {
        "peak": (["peak.cpp"], ["-lpthread"]),
        "onednn_conv": (["onednn_conv.cpp"], ["-fopenmp", "-ldnnl", "-lpthread"]),
    }
    paths = {}
    for name, (srcs, libs) in progs.items():
        out = os.path.join(BUILD, name)
        src_paths = [os.path.join(HERE, s) for s in srcs]
        fresh = os.path.exists(out) and all(
            os.path.getmtime(out) >= os.path.getmtime(s) for s in src_paths)
        if not fresh:
            cmd = ["g++", "-O3", "-march=native", "-std=c++17", "-o", out] + \
                src_paths + libs
            if verbose:
                print("+ " + " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True)
        paths[name] = out
    return paths


# --------------------------------------------------------------------------
# Shapes

def family_of(s):
    if s["groups"] > 1 and s["groups"] == s["c"]:
        return "depthwise"
    if s["dilation"] > 1:
        return "dilated"
    if s["r"] == 7:
        return "stem7x7"
    if s["r"] == 1:
        return "1x1"
    return "3x3"


def trace_convs(model, size=224):
    """Distinct Conv2d shapes of `model` on a 1x3xSxS input, in order of
    first use, with how many times each occurs."""
    import torch
    found = {}

    def hook(mod, inp, _out):
        x = inp[0]
        key = (mod.in_channels, int(x.shape[2]), int(x.shape[3]),
               mod.out_channels, mod.kernel_size[0], mod.kernel_size[1],
               mod.stride[0], mod.padding[0], mod.dilation[0], mod.groups)
        found[key] = found.get(key, 0) + 1

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    out = []
    for (c, h, w, k, r, s, st, p, d, g), count in found.items():
        out.append(dict(c=c, h=h, w=w, k=k, r=r, s=s, stride=st, pad=p,
                        dilation=d, groups=g, count=count))
    return out


def conv_name(prefix, s):
    f = family_of(s)
    st = ".s%d" % s["stride"] if s["stride"] != 1 else ""
    if f == "stem7x7":
        return prefix + ".stem7x7"
    if f == "depthwise":
        return "%s.dw.%dx%d.s%d" % (prefix, s["c"], s["h"], s["stride"])
    if f == "dilated":
        return "%s.3x3.%dx%d.d%d" % (prefix, s["c"], s["h"], s["dilation"])
    if f == "1x1":
        return "%s.conv1x1.%d-%dx%d%s" % (prefix, s["c"], s["k"], s["h"], st)
    if s["c"] == s["k"]:
        return "%s.conv3x3.%dx%d%s" % (prefix, s["c"], s["h"], st)
    return "%s.conv3x3.%d-%dx%d%s" % (prefix, s["c"], s["k"], s["h"], st)


def all_shapes():
    import torchvision.models as tvm
    shapes = []

    def add(prefix, s, source):
        s = dict(s, family=family_of(s), source=source)
        s["name"] = conv_name(prefix, s)
        shapes.append(s)

    # Every distinct convolution of ResNet-50.
    for s in trace_convs(tvm.resnet50()):
        add("resnet50", s, "torchvision resnet50 (x%d)" % s["count"])
    # VGG-16: five of its nine distinct 3x3 layers, one per resolution.
    vgg = {(s["c"], s["k"], s["h"]): s for s in trace_convs(tvm.vgg16())}
    for key in ((64, 64, 224), (128, 128, 112), (256, 256, 56),
                (512, 512, 28), (512, 512, 14)):
        add("vgg16", vgg[key], "torchvision vgg16 (x%d)" % vgg[key]["count"])
    # MobileNetV2: every distinct depthwise conv, and the expand/project
    # pointwise pair of four stages.
    mb = trace_convs(tvm.mobilenet_v2())
    for s in mb:
        if s["groups"] > 1:
            add("mbv2", s, "torchvision mobilenet_v2 (x%d)" % s["count"])
    pw = {(s["c"], s["k"], s["h"]): s for s in mb
          if s["r"] == 1 and s["groups"] == 1}
    for key in ((24, 144, 56), (144, 24, 56), (32, 192, 28), (192, 32, 28),
                (64, 384, 14), (384, 64, 14), (160, 960, 7), (960, 160, 7)):
        add("mbv2.pw", pw[key], "torchvision mobilenet_v2 (x%d)" % pw[key]["count"])
    # Dilated: ResNet-50 as DeepLabV3 builds it (output stride 8); its
    # layer3 3x3 conv with dilation 2 at 28x28.
    dil = [s for s in trace_convs(
        tvm.resnet50(replace_stride_with_dilation=[False, True, True]))
        if s["dilation"] == 2 and s["groups"] == 1]
    s = dict(dil[0])
    add("dilated", s, "torchvision resnet50 dilated layer3 (x%d)" % s["count"])
    for s in shapes:
        s["ho"] = (s["h"] + 2 * s["pad"] - s["dilation"] * (s["r"] - 1) - 1) // s["stride"] + 1
        s["wo"] = (s["w"] + 2 * s["pad"] - s["dilation"] * (s["s"] - 1) - 1) // s["stride"] + 1
    names = [s["name"] for s in shapes]
    assert len(names) == len(set(names)), names
    return shapes


def flops(s, n):
    """2 * N * K * Ho * Wo * (C / groups) * R * S."""
    return 2.0 * n * s["k"] * s["ho"] * s["wo"] * (s["c"] // s["groups"]) * s["r"] * s["s"]


def taps_inside(s):
    """The share of the nominal FLOPs whose tap is inside the input, not in
    the zero padding: what netc (one group) and oneDNN's direct kernels
    compute. 0.82 for a 3x3 kernel on a 7x7 map."""
    def share(size, out, k):
        inside = sum(1 for o in range(out) for t in range(k)
                     if 0 <= o * s["stride"] + t * s["dilation"] - s["pad"] < size)
        return inside / (out * k)
    return share(s["h"], s["ho"], s["r"]) * share(s["w"], s["wo"], s["s"])


# --------------------------------------------------------------------------
# The four implementations

NETC_MODEL = """\
# Generated by bench/conv/run.py: one Conv2d, {name}.
name: conv_bench
inputs:
  x: [N, {c}, {h}, {w}]
layers:
  - {{name: conv, op: Conv2d, in_channels: {c}, out_channels: {k},
     kernel_size: [{r}, {s}], stride: {stride}, padding: {pad},
     dilation: {dilation}, groups: {groups}, bias: false}}
"""


def netc_model(model_dir, s):
    """The one-layer model of shape `s`, written once."""
    path = os.path.join(model_dir, s["name"] + ".yaml")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(NETC_MODEL.format(**s))
    return path


def tune_netc(netc, model_dir, s, batches, threads, cache):
    """`netc tune` on shape `s` at `batches`, into the tuning cache `cache`;
    returns its report lines."""
    env = dict(os.environ, HL_NUM_THREADS=str(threads))
    p = subprocess.run([netc, "tune", netc_model(model_dir, s),
                        "--tuning-cache", cache,
                        "--batches", ",".join(map(str, batches)),
                        "--repetitions", "5"],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("netc tune failed on %s: %s" % (s["name"], p.stderr.strip()[-400:]))
    return p.stdout.strip().splitlines()


def run_netc(netc, model_dir, s, n, reps, threads, extra_args=()):
    path = netc_model(model_dir, s)
    env = dict(os.environ, HL_NUM_THREADS=str(threads))
    p = subprocess.run([netc, "bench", path, "--batch=%d" % n, "--json",
                        "--repetitions=%d" % reps, *extra_args],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return {"ok": False, "error": (p.stderr or p.stdout).strip()[-400:]}
    out = json.loads(p.stdout)
    layer = [l for l in out["layers"] if l["name"] == "conv"][0]
    return {"ok": True, "ms": layer["ms"], "ms_min": layer.get("min_ms"),
            "model_ms": out["total_ms"],
            "compile_s": out["compile_s"]}


def run_onednn(exe, s, n, reps, threads, layout):
    args = [exe, "--layout", layout, "--reps", str(reps), "--threads",
            str(threads), "--n", str(n)]
    for key in ("c", "h", "w", "k", "r", "s", "stride", "pad", "dilation",
                "groups"):
        args += ["--" + key, str(s[key])]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return {"ok": False, "error": p.stderr.strip()[-400:]}
    return json.loads(p.stdout)


class Torch:
    def __init__(self, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()
        self.cache = {}

    def run(self, s, n, reps):
        torch = self.torch
        key = (s["name"], n)
        if key not in self.cache:
            self.cache.clear()  # keep one shape's tensors alive at a time
            torch.manual_seed(0)
            conv = torch.nn.Conv2d(s["c"], s["k"], (s["r"], s["s"]),
                                   stride=s["stride"], padding=s["pad"],
                                   dilation=s["dilation"], groups=s["groups"],
                                   bias=False).eval()
            x = torch.randn(n, s["c"], s["h"], s["w"])
            self.cache[key] = (conv, x)
        conv, x = self.cache[key]
        times = []
        with torch.no_grad():
            for i in range(reps + 3):
                t = time.perf_counter()
                conv(x)
                if i >= 3:
                    times.append((time.perf_counter() - t) * 1e3)
        return {"ok": True, "ms": statistics.median(times), "ms_min": min(times)}


# --------------------------------------------------------------------------
# Reporting

def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt(x, spec):
    return format(x, spec) if x is not None else "-"


def summarise(rounds_of):
    """Median and spread of a list of per-round results."""
    ok = [r for r in rounds_of if r.get("ok")]
    if not ok:
        errs = [r.get("error", "") for r in rounds_of]
        return {"ok": False, "error": errs[0] if errs else "not run"}
    ms = [r["ms"] for r in ok]
    med = statistics.median(ms)
    out = {"ok": True, "ms": med, "best_ms": min(ms), "rounds_ms": ms,
           "spread": (max(ms) - min(ms)) / med if med > 0 else 0.0}
    # The fastest single repetition of all rounds: the run least disturbed
    # by the machine's other tenants, comparable with the peak probe (also
    # a best of many trials).
    mins = [r["ms_min"] for r in ok if r.get("ms_min")]
    if len(mins) == len(ok):
        out["min_ms"] = min(mins)
    return out


def print_table(rows, peak, n):
    print()
    print("batch %d  (ms: median over rounds; %%pk: %% of the %d-thread FMA peak "
          "%.0f GFLOP/s; t/any, t/nchw: netc ms / oneDNN ms, > 1 means "
          "netc is slower)" % (n, peak["threads"], peak["gflops"]))
    hdr = "%-32s %-9s %7s" % ("shape", "family", "MFLOP")
    for impl in IMPLS:
        hdr += " | %9s %6s %5s" % (impl + " ms", "GF/s", "%pk")
    hdr += " | %6s %6s %6s" % ("t/any", "t/nchw", "sprd")
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        line = "%-32s %-9s %7.1f" % (row["name"], row["family"], row["flops"] / 1e6)
        for impl in IMPLS:
            r = row[impl]
            if r.get("ok"):
                line += " | %9.3f %6.1f %5.1f" % (r["ms"], r["gflops"], r["pct_peak"])
            else:
                line += " | %9s %6s %5s" % ("fail", "-", "-")
        spread = max((row[i]["spread"] for i in IMPLS if row[i].get("ok")), default=0)
        line += " | %6s %6s %5.0f%%" % (fmt(row.get("netc_over_any"), ".2f"),
                                        fmt(row.get("netc_over_nchw"), ".2f"),
                                        100 * spread)
        print(line)


def family_geomeans(rows):
    out = {}
    for fam in FAMILIES + ("all",):
        sel = [r for r in rows if fam == "all" or r["family"] == fam]
        if not sel:
            continue
        g = {"shapes": len(sel)}
        for impl in IMPLS:
            g[impl + "_gflops"] = geomean([r[impl].get("gflops") for r in sel])
            g[impl + "_pct_peak"] = geomean([r[impl].get("pct_peak") for r in sel])
        g["netc_over_any"] = geomean([r.get("netc_over_any") for r in sel])
        g["netc_over_nchw"] = geomean([r.get("netc_over_nchw") for r in sel])
        g["netc_over_torch"] = geomean([r.get("netc_over_torch") for r in sel])
        g["netc_over_any_best"] = geomean([r.get("netc_over_any_best") for r in sel])
        for impl in IMPLS:
            g[impl + "_pct_peak_min"] = geomean([r[impl].get("pct_peak_min") for r in sel])
        g["netc_over_any_min"] = geomean([r.get("netc_over_any_min") for r in sel])
        g["netc_over_torch_min"] = geomean([r.get("netc_over_torch_min") for r in sel])
        out[fam] = g
    return out


def print_autoschedulers(rows, autos, n, title=None):
    """netc's tuned schedule against Halide's autoschedulers (or other
    extra rows), by family."""
    print()
    print(title or "batch %d, Halide's autoschedulers on netc's algorithm (geomean "
          "GFLOP/s; netc/auto: netc ms / autoscheduled ms)" % n)
    head = "%-10s %6s | %8s | " % ("family", "shapes", "netc")
    head += " | ".join("%20s %9s" % (a, "netc/auto") for a in autos)
    print(head)
    print("-" * len(head))
    for fam in FAMILIES + ("all",):
        sel = [r for r in rows if fam == "all" or r["family"] == fam]
        if not sel:
            continue
        line = "%-10s %6d | %8s | " % (
            fam, len(sel), fmt(geomean([r["netc"].get("gflops") for r in sel]), ".1f"))
        line += " | ".join("%20s %9s" % (
            fmt(geomean([r[a].get("gflops") for r in sel]), ".1f"),
            fmt(geomean([r.get("netc_over_" + a) for r in sel]), ".3f"))
            for a in autos)
        print(line)


def print_family_table(title, geo, impl_cols, ratios):
    """One row of geomeans per family. `impl_cols`: (header, key suffix,
    width) columns for each implementation ("{impl}" in a header is its
    name); `ratios`: (header, key) columns of netc ratios."""
    print()
    print(title)
    hdr = "%-10s %6s" % ("family", "shapes")
    for impl in IMPLS:
        hdr += " |" + "".join(" %*s" % (w, h.format(impl=impl))
                              for h, _, w in impl_cols)
    hdr += " |" + "".join(" %*s" % (max(7, len(h)), h) for h, _ in ratios)
    print(hdr)
    print("-" * len(hdr))
    for fam, g in geo.items():
        line = "%-10s %6d" % (fam, g["shapes"])
        for impl in IMPLS:
            line += " |" + "".join(" %*s" % (w, fmt(g.get(impl + key), ".1f"))
                                   for _, key, w in impl_cols)
        line += " |" + "".join(" %*s" % (max(7, len(h)), fmt(g.get(key), ".2f"))
                               for h, key in ratios)
        print(line)


def print_geomeans(geo, n):
    print_family_table(
        "batch %d, geomeans by family (GFLOP/s and %% of peak; ratios are "
        "netc ms / other ms, > 1 means netc is slower; best: the same with each "
        "implementation's fastest round)" % n, geo,
        [("{impl}", "_gflops", 8), ("%pk", "_pct_peak", 5)],
        [("t/any", "netc_over_any"), ("t/nchw", "netc_over_nchw"),
         ("t/torch", "netc_over_torch"), ("best:t/any", "netc_over_any_best")])
    print_family_table(
        "batch %d, the fastest repetition of each implementation over all "
        "rounds (the least disturbed run; %% of the same peak, itself a best "
        "of many probes; min:t/x: netc's fastest / x's fastest)" % n, geo,
        [("{impl} %pk", "_pct_peak_min", 9)],
        [("min:t/any", "netc_over_any_min"), ("min:t/torch", "netc_over_torch_min")])


# --------------------------------------------------------------------------

def netc_identity(path):
    """Modification time and size of the netc binary."""
    st = os.stat(path)
    return {"mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime)),
            "size": st.st_size}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "bin", "netc"))
    ap.add_argument("--batch", default="1,8", help="comma-separated batches")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true",
                    help="%d shapes at batch 1, 2 rounds" % len(QUICK))
    ap.add_argument("--only", default=None,
                    help="only shapes whose name contains this (comma-separated)")
    ap.add_argument("--target-ms", type=float, default=250.0,
                    help="aim each timed loop at about this long (sets reps)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "latest.json"))
    ap.add_argument("--list", action="store_true", help="print the shapes and exit")
    ap.add_argument("--autoschedulers", action="store_true",
                    help="add rows for Halide's Mullapudi2016 and Adams2019 "
                    "(beam 1) autoschedulers on netc's algorithm")
    ap.add_argument("--tune", action="store_true",
                    help="run `netc tune` on every shape first (at the "
                    "batches measured); the netc rows then use its choices, "
                    "and a netc-rule row keeps netc's rules alone")
    ap.add_argument("--tuning-cache", default=None,
                    help="the tuning cache netc reads (and --tune writes); "
                    "default with --tune: a new one in the run's directory")
    ap.add_argument("--omp-wait-policy", default="PASSIVE",
                    help="OMP_WAIT_POLICY for oneDNN and torch (both OpenMP); "
                    "'' leaves libgomp's default (spinning)")
    args = ap.parse_args()
    # Before torch is imported: its OpenMP runtime reads this when it loads.
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy

    shapes = all_shapes()
    batches = [int(b) for b in args.batch.split(",")]
    rounds = args.rounds
    if args.quick:
        shapes = [s for s in shapes if s["name"] in QUICK]
        batches, rounds = [1], min(rounds, 2)
    if args.only:
        words = args.only.split(",")
        shapes = [s for s in shapes if any(w in s["name"] for w in words)]
    if args.list:
        for s in shapes:
            print("%-32s %-9s C=%-4d H=%-3d K=%-4d %dx%d s%d p%d d%d g%-4d %s" % (
                s["name"], s["family"], s["c"], s["h"], s["k"], s["r"], s["s"],
                s["stride"], s["pad"], s["dilation"], s["groups"], s["source"]))
        return 0
    if not os.path.exists(args.netc):
        sys.exit("netc not found at %s (build it, or pass --netc)" % args.netc)

    exes = build()
    loadavg_start = open("/proc/loadavg").read().split()[:3]
    # Others may rebuild netc while this runs; a changed binary is reported.
    netc_stamp = netc_identity(args.netc)
    print("measuring the peak (%s) ..." % exes["peak"], file=sys.stderr)
    peak_json = json.loads(subprocess.run(
        [exes["peak"], "--threads", str(args.threads), "--trials", "20",
         "--seconds", "0.05"], capture_output=True, text=True, check=True).stdout)
    # The machine may be busy: an FMA probe also runs after every round. The
    # peak is --threads x the best 1-thread figure of all probes (the cores
    # are separate physical cores, and one free core is far easier to catch
    # on a shared machine than two), or the best --threads figure if higher.
    fma_probes = [peak_json["fma_gflops"]]

    def peak_gflops(t):
        return max(p[str(t)] for p in fma_probes)
    print("peak probe: %s fp32 FMA %s GFLOP/s (best of 20; threads: value), STREAM "
          "triad %s GB/s" % (peak_json["isa"], peak_json["fma_gflops"],
                             peak_json["triad_gbs"]))
    print("load before: %s" % " ".join(loadavg_start))

    torch_runner = Torch(args.threads)
    model_dir = tempfile.mkdtemp(prefix="netc-conv-bench-")
    # results[(name, n)][impl] = [per-round result, ...]
    autos = (["auto-mullapudi2016", "auto-adams2019"]
             if args.autoschedulers else [])
    cache = args.tuning_cache
    if args.tune and not cache:
        cache = os.path.join(model_dir, "tuning.tsv")
    tune_s = None
    if args.tune:
        t0 = time.time()
        for i, s in enumerate(shapes):
            for line in tune_netc(args.netc, model_dir, s, batches, args.threads, cache):
                print("[tune %d/%d] %s" % (i + 1, len(shapes), line), file=sys.stderr)
        tune_s = time.time() - t0
        print("tuned %d shapes in %.0f s into %s" % (len(shapes), tune_s, cache))
    cache_args = ["--tuning-cache", cache] if cache else []
    if cache:
        autos.append("netc-rule")
    impls = IMPLS + tuple(autos)
    results = {(s["name"], n): {impl: [] for impl in impls}
               for n in batches for s in shapes}
    reps_of = {}
    for n in batches:
        for s in shapes:
            # Assume ~40 GFLOP/s to size the loop; at least 5, at most 50.
            est_ms = flops(s, n) / 40e9 * 1e3
            reps_of[(s["name"], n)] = max(5, min(50, int(args.target_ms / max(est_ms, 1e-3))))
    extra = {}
    total = rounds * len(batches) * len(shapes)
    done = 0
    t_start = time.time()
    for rnd in range(rounds):
        order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
        for n in batches:
            for s in shapes:
                key = (s["name"], n)
                reps = reps_of[key]
                for impl in order:
                    if impl == "netc":
                        r = run_netc(args.netc, model_dir, s, n, reps, args.threads,
                                     cache_args)
                    elif impl == "netc-rule":
                        r = run_netc(args.netc, model_dir, s, n, reps, args.threads)
                    elif impl.startswith("auto-"):
                        r = run_netc(args.netc, model_dir, s, n, reps, args.threads,
                                     ["--autoschedule=" + impl[len("auto-"):]])
                    elif impl == "dnnl-any":
                        r = run_onednn(exes["onednn_conv"], s, n, reps, args.threads, "any")
                        if r.get("ok") and key not in extra:
                            extra[key] = {k: r.get(k) for k in
                                          ("impl", "src_md", "weights_md", "dst_md",
                                           "reorder_ms")}
                    elif impl == "dnnl-nchw":
                        r = run_onednn(exes["onednn_conv"], s, n, reps, args.threads, "nchw")
                        if r.get("ok") and key in extra:
                            extra[key]["nchw_impl"] = r.get("impl")
                    else:
                        r = torch_runner.run(s, n, reps)
                    results[key][impl].append(r)
                done += 1
                line = "[%d/%d round %d] %-32s b%d " % (done, total, rnd + 1, s["name"], n)
                line += " ".join("%s=%s" % (i, fmt(results[key][i][-1].get("ms"), ".3f"))
                                 for i in IMPLS)
                print(line, file=sys.stderr)
        fma_probes.append(json.loads(subprocess.run(
            [exes["peak"], "--threads", str(args.threads), "--trials", "10",
             "--seconds", "0.05", "--no-stream"], capture_output=True,
            text=True, check=True).stdout)["fma_gflops"])
    elapsed = time.time() - t_start
    peak = {"threads": args.threads,
            "gflops": max(peak_gflops(args.threads), args.threads * peak_gflops(1)),
            "gflops_measured": peak_gflops(args.threads),
            "gflops_1thread": peak_gflops(1), "probes": fma_probes, **peak_json}
    print("peak: fp32 FMA %.1f GFLOP/s on 1 thread, %.1f measured on %d (best "
          "of %d probes); peak used: %.1f; STREAM triad %s GB/s" % (
              peak["gflops_1thread"], peak["gflops_measured"], args.threads,
              len(fma_probes), peak["gflops"], peak_json["triad_gbs"]))
    loadavg_end = open("/proc/loadavg").read().split()[:3]
    netc_changed = netc_identity(args.netc) != netc_stamp
    if netc_changed:
        print("WARNING: %s changed during the run; netc's numbers mix two "
              "builds" % args.netc, file=sys.stderr)

    report = {"peak": peak, "threads": args.threads, "rounds": rounds,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "netc_build": netc_stamp, "netc_changed_during_run": netc_changed,
              "loadavg_start": loadavg_start, "loadavg_end": loadavg_end,
              "elapsed_s": elapsed, "netc": args.netc,
              "time": time.strftime("%Y-%m-%d %H:%M:%S"),
              "torch_threads": torch_runner.threads,
              "torch_version": torch_runner.torch.__version__,
              "tuning_cache": cache, "tuned": args.tune, "tune_s": tune_s,
              "batches": {}}
    for n in batches:
        rows = []
        for s in shapes:
            key = (s["name"], n)
            f = flops(s, n)
            row = dict(s, batch=n, flops=f, taps_inside=taps_inside(s),
                       reps=reps_of[key], onednn=extra.get(key))
            for impl in impls:
                r = summarise(results[key][impl])
                if r["ok"]:
                    r["gflops"] = f / (r["ms"] * 1e-3) / 1e9
                    r["pct_peak"] = 100 * r["gflops"] / peak["gflops"]
                    if r.get("min_ms"):
                        r["pct_peak_min"] = 100 * f / (r["min_ms"] * 1e-3) / 1e9 / peak["gflops"]
                if impl == "netc" or impl in autos:
                    okr = [x for x in results[key][impl] if x.get("ok")]
                    if okr:
                        r["compile_s"] = statistics.median(x["compile_s"] for x in okr)
                        r["model_ms"] = statistics.median(x["model_ms"] for x in okr)
                row[impl] = r
            if row["netc"].get("ok"):
                for other, label in (("dnnl-any", "netc_over_any"),
                                     ("dnnl-nchw", "netc_over_nchw"),
                                     ("torch", "netc_over_torch"),
                                     *((a, "netc_over_" + a) for a in autos)):
                    if row[other].get("ok"):
                        row[label] = row["netc"]["ms"] / row[other]["ms"]
                        row[label + "_best"] = row["netc"]["best_ms"] / row[other]["best_ms"]
                        if row["netc"].get("min_ms") and row[other].get("min_ms"):
                            row[label + "_min"] = row["netc"]["min_ms"] / row[other]["min_ms"]
            rows.append(row)
        geo = family_geomeans(rows)
        print_table(rows, peak, n)
        print_geomeans(geo, n)
        halide_autos = [a for a in autos if a.startswith("auto-")]
        if halide_autos:
            print_autoschedulers(rows, halide_autos, n)
        if "netc-rule" in autos:
            print_autoschedulers(
                rows, ["netc-rule"], n,
                "batch %d, netc with the tuning cache's choices against netc's "
                "rules alone (geomean GFLOP/s; netc/auto: tuned ms / rule ms)" % n)
        report["batches"][str(n)] = {"rows": rows, "geomeans": geo}
    print()
    print("load before %s, after %s (1/5/15-min averages, %d CPUs); %d rounds "
          "in %.0f s" % (" ".join(loadavg_start), " ".join(loadavg_end),
                         os.cpu_count(), rounds, elapsed))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
