#!/usr/bin/python3
"""Whole networks: netc against torch 1.13, in one run.

For ResNet-18, ResNet-50 and MobileNetV2 at each batch, times

  netc           `netc bench MODEL --batch N --json`: the whole forward pass
                 ("total_ms"), compiled by netc's JIT; the compile time is
                 reported too. Models: examples/resnet18.yaml,
                 examples/resnet50.yaml, examples/mobilenet_v2.yaml
                 (torchvision's networks, same layers and shapes).
  torch          torchvision's model, eval, no_grad, NCHW (eager);
  torch-cl       the same in channels_last (model and input);
  torch-jit      torch.jit.trace, then torch.jit.freeze (folds BatchNorm
                 into the convolutions), NCHW;
  netc-tuned     (with --tune) netc with the choices `netc tune` measured
                 for the network at the same batches (docs/Tuning.md);

all on the same number of threads (default 2). Each round runs every
implementation once per (network, batch), in a rotating order; the median
over rounds is kept. netc's timing is its own median of --repetitions runs
after one warm-up; torch's is the median of the same number of runs after
three warm-ups (five for the traced model, whose profiling executor
optimises on the first runs).

Note that `netc bench` also compiles and times every layer on its own
(the per-layer table); that is most of its wall time, and is not counted in
any number here.

    bench/networks/run.py [--netc build/bin/netc] [--batch 1,8] [--rounds 2]
        [--nets resnet18,resnet50,mobilenet_v2] [--repetitions 10]

Writes bench/results/networks.json. Not a test; never runs in CI.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)

NETS = {
    "resnet18": os.path.join(ROOT, "examples", "resnet18.yaml"),
    "resnet50": os.path.join(ROOT, "examples", "resnet50.yaml"),
    "mobilenet_v2": os.path.join(ROOT, "examples", "mobilenet_v2.yaml"),
}
IMPLS = ("netc", "torch", "torch-cl", "torch-jit")


def run_netc(netc, path, n, reps, threads, extra_args=()):
    env = dict(os.environ, HL_NUM_THREADS=str(threads))
    t = time.time()
    p = subprocess.run([netc, "bench", path, "--batch=%d" % n, "--json",
                        "--repetitions=%d" % reps, *extra_args],
                       capture_output=True, text=True, env=env)
    wall = time.time() - t
    if p.returncode != 0:
        return {"ok": False, "error": (p.stderr or p.stdout).strip()[-400:]}
    out = json.loads(p.stdout)
    return {"ok": True, "ms": out["total_ms"], "compile_s": out["compile_s"],
            "wall_s": wall, "netc_gflops": out["gflops"]}


class Torch:
    def __init__(self, threads):
        import torch
        import torchvision
        self.torch = torch
        self.tvm = torchvision.models
        torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()
        self.cache = {}

    def _model(self, net, n, impl):
        torch = self.torch
        key = (net, n, impl)
        if key in self.cache:
            return self.cache[key]
        torch.manual_seed(0)
        model = getattr(self.tvm, net)().eval()
        x = torch.randn(n, 3, 224, 224)
        with torch.no_grad():
            if impl == "torch-cl":
                model = model.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            elif impl == "torch-jit":
                model = torch.jit.freeze(torch.jit.trace(model, x))
        self.cache[key] = (model, x)
        return model, x

    def run(self, net, n, impl, reps):
        torch = self.torch
        model, x = self._model(net, n, impl)
        warm = 5 if impl == "torch-jit" else 3
        times = []
        with torch.no_grad():
            for i in range(warm + reps):
                t = time.perf_counter()
                model(x)
                if i >= warm:
                    times.append((time.perf_counter() - t) * 1e3)
        return {"ok": True, "ms": statistics.median(times), "ms_min": min(times)}

    def drop(self, net, n):
        for key in [k for k in self.cache if k[:2] == (net, n)]:
            del self.cache[key]


def netc_identity(path):
    """Modification time and size of the netc binary."""
    st = os.stat(path)
    return {"mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime)),
            "size": st.st_size}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "bin", "netc"))
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repetitions", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-wait-policy", default="PASSIVE",
                    help="OMP_WAIT_POLICY for torch (OpenMP); '' for libgomp's default")
    ap.add_argument("--tune", action="store_true",
                    help="run `netc tune` on each network first (at the "
                    "batches measured) and add a netc-tuned row that uses "
                    "its choices (docs/Tuning.md)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "networks.json"))
    args = ap.parse_args()
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy  # before torch loads
    nets = args.nets.split(",")
    for net in nets:
        if net not in NETS:
            sys.exit("unknown network %r (known: %s)" % (net, ", ".join(NETS)))
    batches = [int(b) for b in args.batch.split(",")]
    if not os.path.exists(args.netc):
        sys.exit("netc not found at %s (build it, or pass --netc)" % args.netc)

    loadavg_start = open("/proc/loadavg").read().split()[:3]
    # Others may rebuild netc while this runs; a changed binary is reported.
    netc_stamp = netc_identity(args.netc)
    torch_runner = Torch(args.threads)
    impls = IMPLS
    cache, tune_s = None, {}
    if args.tune:
        cache = os.path.join(tempfile.mkdtemp(prefix="netc-networks-"), "tuning.tsv")
        for net in nets:
            t = time.time()
            p = subprocess.run([args.netc, "tune", NETS[net], "--tuning-cache", cache,
                                "--batches", ",".join(map(str, batches)),
                                "--repetitions", "5"],
                               capture_output=True, text=True,
                               env=dict(os.environ, HL_NUM_THREADS=str(args.threads)))
            if p.returncode != 0:
                sys.exit("netc tune failed on %s: %s" % (net, p.stderr.strip()[-400:]))
            tune_s[net] = time.time() - t
            print("tuned %s in %.0f s: %s" % (net, tune_s[net],
                                               p.stdout.strip().splitlines()[-1]),
                  file=sys.stderr)
        impls = ("netc", "netc-tuned") + IMPLS[1:]
    results = {(net, n): {i: [] for i in impls} for net in nets for n in batches}
    t_start = time.time()
    for rnd in range(args.rounds):
        order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
        for net in nets:
            for n in batches:
                for impl in order:
                    if impl == "netc":
                        r = run_netc(args.netc, NETS[net], n, args.repetitions,
                                     args.threads)
                    elif impl == "netc-tuned":
                        r = run_netc(args.netc, NETS[net], n, args.repetitions,
                                     args.threads, ["--tuning-cache", cache])
                    else:
                        r = torch_runner.run(net, n, impl, args.repetitions)
                    results[(net, n)][impl].append(r)
                    print("[round %d] %-12s b%d %-9s %s" % (
                        rnd + 1, net, n, impl,
                        "%.2f ms" % r["ms"] if r.get("ok") else "FAILED: " + r["error"]),
                        file=sys.stderr)
                if rnd == args.rounds - 1:
                    torch_runner.drop(net, n)
    elapsed = time.time() - t_start
    loadavg_end = open("/proc/loadavg").read().split()[:3]
    netc_changed = netc_identity(args.netc) != netc_stamp
    if netc_changed:
        print("WARNING: %s changed during the run; netc's numbers mix two "
              "builds" % args.netc, file=sys.stderr)

    rows = []
    for net in nets:
        for n in batches:
            row = {"net": net, "batch": n}
            for impl in impls:
                ok = [r for r in results[(net, n)][impl] if r.get("ok")]
                if not ok:
                    row[impl] = {"ok": False,
                                 "error": results[(net, n)][impl][0].get("error")}
                    continue
                ms = [r["ms"] for r in ok]
                row[impl] = {"ok": True, "ms": statistics.median(ms),
                             "best_ms": min(ms), "rounds_ms": ms}
                if impl.startswith("netc"):
                    row[impl]["compile_s"] = statistics.median(r["compile_s"] for r in ok)
            rows.append(row)

    print()
    print("ms: median over %d rounds; ratios: netc ms / torch ms (> 1 means "
          "netc is slower); %d threads" % (args.rounds, args.threads))
    hdr = "%-13s %5s | %9s %9s | %9s %9s %9s | %7s %7s %7s" % (
        "network", "batch", "netc ms", "compile s", "torch ms", "cl ms",
        "jit ms", "/torch", "/cl", "/jit")
    print(hdr)
    print("-" * len(hdr))

    def ms(r):
        return "%9.2f" % r["ms"] if r.get("ok") else "%9s" % "fail"

    def ratio(a, b):
        return "%7.2f" % (a["ms"] / b["ms"]) if a.get("ok") and b.get("ok") else "%7s" % "-"

    for row in rows:
        nc = row["netc"]
        print("%-13s %5d | %s %9s | %s %s %s | %s %s %s" % (
            row["net"], row["batch"], ms(nc),
            "%.1f" % nc["compile_s"] if nc.get("ok") else "-",
            ms(row["torch"]), ms(row["torch-cl"]), ms(row["torch-jit"]),
            ratio(nc, row["torch"]), ratio(nc, row["torch-cl"]),
            ratio(nc, row["torch-jit"])))
    if args.tune:
        print()
        print("with the tuning cache's choices (netc-tuned ms; /rule: tuned ms / "
              "netc ms; /best torch: tuned ms / the fastest torch variant)")
        for row in rows:
            t = row["netc-tuned"]
            best = min((row[i] for i in IMPLS[1:] if row[i].get("ok")),
                       key=lambda r: r["ms"], default={})
            print("%-13s %5d | %s | %s %s" % (row["net"], row["batch"], ms(t),
                                           ratio(t, row["netc"]), ratio(t, best)))
    print()
    print("load before %s, after %s (1/5/15-min averages, %d CPUs); %.0f s" % (
        " ".join(loadavg_start), " ".join(loadavg_end), os.cpu_count(), elapsed))
    report = {"threads": args.threads, "rounds": args.rounds,
              "repetitions": args.repetitions,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
              "torch_version": torch_runner.torch.__version__,
              "torch_threads": torch_runner.threads,
              "netc_build": netc_stamp, "netc_changed_during_run": netc_changed,
              "loadavg_start": loadavg_start, "loadavg_end": loadavg_end,
              "elapsed_s": elapsed, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
              "tuned": args.tune, "tune_s": tune_s, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
