#!/usr/bin/python3
"""Differential test: netc's verdicts and shapes against PyTorch 1.13.

For each of N seeded random networks (gen_nets.py; about half perturbed
by one argument or wire, mutations.py) this writes the netc YAML, runs the
equivalent torch model (torch_oracle.py) and then `netc summary FILE
--json`, and checks:

  * torch rejects  -> netc exits 1;
  * torch accepts  -> netc exits 0 and reports, per layer name, the same
    output shape and params, and the same total_params;
  * any other exit status, a crash or a 10 s timeout is always a failure.

A symbolic batch (N, B, batch) is run in torch at two values (2 and 3);
netc's dims (names or expressions such as "N*48") are evaluated at both.

Usage: random_nets.py --netc PATH --cases N --seed S [--keep-dir DIR]
                      [--only-torch] [--index I] [--show]
Prints one line per disagreement (seed, case index, reason, kept file) and
ends with "P passed, F failed"; exits 1 if F > 0.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_nets  # noqa: E402
import torch_oracle  # noqa: E402

TIMEOUT_S = 10
SYM_VALUES = (2, 3)


def case_rng(seed, index):
    """Every case has its own RNG, so one case reproduces with --index."""
    return random.Random(seed * 1000003 + index)


def is_symbolic(case):
    return any(isinstance(d, str) for s in case["inputs"].values() for d in s)


def oracle(case, index):
    """Torch verdicts at each symbolic value (one run if all static)."""
    values = SYM_VALUES if is_symbolic(case) else SYM_VALUES[:1]
    return [torch_oracle.run_case(case, v, seed=index) for v in values]


_EXPR_OK = re.compile(r"^[A-Za-z_0-9 +\-*/()]+$")


def eval_dim(dim, value):
    """A netc dim (int, name, or expression string) at symbol = value."""
    if isinstance(dim, bool):
        raise ValueError("boolean dim")
    if isinstance(dim, int):
        return dim
    if isinstance(dim, str) and _EXPR_OK.match(dim):
        names = {n: value for n in re.findall(r"[A-Za-z_]\w*", dim)}
        result = eval(dim, {"__builtins__": {}}, names)
        if isinstance(result, float) and result.is_integer():
            result = int(result)
        return result
    raise ValueError("unreadable dim %r" % (dim,))


def run_netc(netc, path):
    """Returns (rc, stdout, stderr); rc None on timeout or launch failure."""
    try:
        proc = subprocess.run([netc, "summary", path, "--json"],
                              capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "", "timeout after %d s" % TIMEOUT_S
    except OSError as exc:
        return None, "", "cannot run netc: %s" % exc
    return proc.returncode, proc.stdout, proc.stderr


def first_error(stderr):
    """The first diagnostic line of netc's stderr, shortened."""
    for line in stderr.splitlines():
        if "error" in line:
            return line.strip()[:160]
    lines = stderr.strip().splitlines()
    return lines[0][:160] if lines else "(no stderr)"


def compare(case, verdicts, rc, out, err):
    """None if netc agrees with torch, else a one-line reason."""
    if rc is None:
        return err
    if rc not in (0, 1):
        return "netc exit %d (expected 0 or 1): %s" % (rc, first_error(err))
    if not verdicts[0]["ok"]:
        if rc == 1:
            return None
        return "torch rejects (%s) but netc exits 0" % verdicts[0]["error"]
    if rc == 1:
        return "torch accepts but netc exits 1: %s" % first_error(err)
    try:
        summary = json.loads(out)
        layers = {l["name"]: l for l in summary["layers"]}
    except (ValueError, KeyError, TypeError) as exc:
        return "bad summary JSON: %s" % exc
    problems = []
    names = [l["name"] for l in case["layers"]]
    missing = [n for n in names if n not in layers]
    extra = [n for n in layers if n not in names]
    if missing or extra:
        problems.append("layers missing %s extra %s" % (missing, extra))
    for name in names:
        if name not in layers:
            continue
        got = layers[name]
        try:
            shapes = [[eval_dim(d, v) for d in got["shape"]]
                      for v in SYM_VALUES[:len(verdicts)]]
        except (ValueError, KeyError, TypeError, SyntaxError,
                ZeroDivisionError) as exc:
            problems.append("%s: shape %s: %s" % (name, got.get("shape"), exc))
            continue
        want = [v["shapes"][name] for v in verdicts]
        if shapes != want:
            problems.append("%s shape %s, torch %s" % (
                name, got["shape"], want[0]))
        if got.get("params") != verdicts[0]["params"][name]:
            problems.append("%s params %s, torch %d" % (
                name, got.get("params"), verdicts[0]["params"][name]))
    if summary.get("total_params") != verdicts[0]["total_params"]:
        problems.append("total_params %s, torch %d" % (
            summary.get("total_params"), verdicts[0]["total_params"]))
    if problems:
        return "; ".join(problems[:3]) + (
            " (+%d more)" % (len(problems) - 3) if len(problems) > 3 else "")
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netc", default="netc", help="netc binary")
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep-dir", help="where failing YAML files are kept")
    ap.add_argument("--only-torch", action="store_true",
                    help="run the generator and torch only (no netc)")
    ap.add_argument("--index", type=int,
                    help="run only this case index (reproduce a failure)")
    ap.add_argument("--show", action="store_true",
                    help="print each case's YAML and torch verdict")
    args = ap.parse_args(argv)

    keep_dir = args.keep_dir or tempfile.mkdtemp(prefix="netc-diff-keep-")
    os.makedirs(keep_dir, exist_ok=True)
    work_dir = tempfile.mkdtemp(prefix="netc-diff-")
    indices = [args.index] if args.index is not None else range(args.cases)
    passed = failed = 0
    stats = Counter()
    for index in indices:
        case = gen_nets.generate(case_rng(args.seed, index), index)
        text = gen_nets.to_yaml(case)
        path = os.path.join(work_dir, "case_%d_%d.yaml" % (args.seed, index))
        with open(path, "w") as f:
            f.write(text)
        verdicts = oracle(case, index)
        ok = verdicts[0]["ok"]
        stats["accepted" if ok else "rejected"] += 1
        stats["mutated" if case["mutation"] else "unmutated"] += 1
        if case["mutation"] is None and not ok:
            stats["unmutated but rejected"] += 1
        if args.show:
            print(text + "# torch: " + ("ok" if ok else verdicts[0]["error"]))
        if len(verdicts) > 1 and verdicts[1]["ok"] != ok:
            stats["skipped (verdict depends on the batch)"] += 1
            passed += 1
            continue
        if args.only_torch:
            passed += 1
            continue
        rc, out, err = run_netc(args.netc, path)
        reason = compare(case, verdicts, rc, out, err)
        if reason is None:
            passed += 1
            continue
        failed += 1
        kept = os.path.join(keep_dir, os.path.basename(path))
        with open(kept, "w") as f:
            f.write(text)
        mut = case["mutation"] or "unmutated"
        print("FAIL seed=%d case=%d [%s]: %s -> %s" % (
            args.seed, index, mut, reason, kept))
    if args.only_torch or args.show:
        print("# " + ", ".join("%s %d" % kv for kv in sorted(stats.items())))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
