#!/usr/bin/python3
"""torch2netc: export a PyTorch model to a netc model (YAML) and weights.

usage: torch2netc.py MODEL --input-shape N,3,224,224 [--input-name image]
                     [--symbolic-batch] [-o out.yaml]
                     [--weights out.safetensors] [--name NAME]

MODEL is a torchvision model name (`resnet18`: built with weights=None) or
`module.path:factory` / `path/to/file.py:factory`, a callable taking no
arguments that returns an nn.Module. The module is put in eval mode, traced
with torch.fx, and each node becomes a netc layer named after its module
path, so the state_dict (written with --weights) loads as is:

    torch2netc.py resnet18 --input-shape N,3,224,224 -o r18.yaml \\
        --weights r18.safetensors
    netc run r18.yaml --weights r18.safetensors --input image=x.npy \\
        --output fc=y.npy

Exit status: 0 exported; 1 the model has something netc cannot express
(each such node is named); 2 usage errors (unknown model, bad shape).
"""

import argparse
import importlib
import importlib.util
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from netc_export.converter import Converter, ExportError  # noqa: E402
from netc_export.emit import model_yaml, write_safetensors  # noqa: E402

PROG = "torch2netc"


class UsageError(Exception):
    pass


def load_model(spec):
    """(module, description, default name) for a MODEL argument."""
    if ":" in spec:
        path, _, factory = spec.rpartition(":")
        if path.endswith(".py") or os.sep in path:
            if not os.path.exists(path):
                raise UsageError("no such file: %s" % path)
            name = "torch2netc_user_" + re.sub(r"\W", "_", os.path.splitext(
                os.path.basename(path))[0])
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
        else:
            sys.path.insert(0, os.getcwd())
            try:
                module = importlib.import_module(path)
            except ImportError as e:
                raise UsageError("cannot import '%s': %s" % (path, e))
        fn = getattr(module, factory, None)
        if fn is None or not callable(fn):
            raise UsageError("'%s' has no callable '%s'" % (path, factory))
        return build(fn, {}, spec), "%s()" % spec, factory
    import torchvision
    fn = getattr(torchvision.models, spec, None)
    if fn is None or not callable(fn) or spec.startswith("_") or \
            isinstance(fn, type):
        raise UsageError("unknown torchvision model '%s' (e.g. resnet18, "
                         "mobilenet_v2; or give module.path:factory)" % spec)
    return (build(fn, {"weights": None}, spec),
            "torchvision.models.%s(weights=None)" % spec, spec)


def build(fn, kwargs, spec):
    try:
        model = fn(**kwargs)
    except Exception as e:
        raise UsageError("building '%s' failed: %s: %s" % (
            spec, type(e).__name__, e))
    if not isinstance(model, torch.nn.Module):
        raise UsageError("'%s' returned a %s, not an nn.Module" % (
            spec, type(model).__name__))
    return model


def parse_shape(text, symbolic):
    dims = []
    for i, item in enumerate(text.replace(" ", "").split(",")):
        if re.fullmatch(r"\d+", item):
            dims.append(int(item))
        elif i == 0 and re.fullmatch(r"[A-Za-z_]\w*", item):
            dims.append(item)
        else:
            raise UsageError("bad --input-shape '%s': integers, and a name "
                             "(N) only for the batch" % text)
    if symbolic and isinstance(dims[0], int):
        dims[0] = "N"
    return dims


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", metavar="MODEL")
    ap.add_argument("--input-shape", required=True,
                    help="N,C,H,W; a name for the batch makes it symbolic")
    ap.add_argument("--input-name", default="image")
    ap.add_argument("--symbolic-batch", action="store_true",
                    help="declare the batch as N whatever --input-shape says")
    ap.add_argument("-o", "--output", help="the YAML file (default: stdout)")
    ap.add_argument("--weights", help="write the state_dict as safetensors")
    ap.add_argument("--name", help="the model's name (a C identifier)")
    ap.add_argument("--seed", type=int, default=0,
                    help="torch.manual_seed before building the model")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    try:
        shape = parse_shape(args.input_shape, args.symbolic_batch)
        if not re.fullmatch(r"[A-Za-z_][\w.]*", args.input_name):
            raise UsageError("bad --input-name '%s'" % args.input_name)
        torch.manual_seed(args.seed)
        model, origin, default_name = load_model(args.model)
    except UsageError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 2
    model.eval()
    name = args.name or re.sub(r"\W", "_", default_name)
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        name = "model_" + name
    conv = Converter(model, args.input_name, shape,
                     trace_batch=2 if isinstance(shape[0], str) else shape[0])
    try:
        conv.run()
        state = conv.state() if args.weights else None
    except ExportError as e:
        for error in e.errors:
            print("%s: error: %s" % (PROG, error), file=sys.stderr)
        return 1
    for warning in conv.warnings:
        print("%s: warning: %s" % (PROG, warning), file=sys.stderr)
    params = sum(p.numel() for p in model.parameters())
    header = [
        "Generated by torch2netc from %s" % origin,
        "(torch %s, torch.fx trace, eval mode): %d layers, %s parameters."
        % (torch.__version__, len(conv.layers), format(params, ",")),
        "Layer names are the module paths, so the state_dict loads as is.",
    ]
    text = model_yaml(name, header, {args.input_name: shape}, conv.layers,
                      conv.outputs)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.weights:
        write_safetensors(args.weights, state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
