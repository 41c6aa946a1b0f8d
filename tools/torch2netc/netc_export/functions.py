"""call_function and call_method nodes -> netc layers.

A handler takes (ctx, node, a), `a` the node's arguments bound to their
names, and returns a Layer, a list of Layers (the last one is the node's
value; the others are named with their `suffix`), or an Alias (the node is
its input at inference: dropout, contiguous). It raises Unmappable with a
reason otherwise. `ctx` is the Converter: ctx.tensor(arg) checks that an
argument is a traced tensor, ctx.shape(node) is its shape at the traced
input, ctx.is_batch_size(arg) whether an argument is x.size(0) /
x.shape[0], ctx.symbolic whether the batch is symbolic.
"""

import collections
import operator

import torch
import torch.nn.functional as F

from .modules import REQUIRED, Unmappable, arguments, pair

Layer = collections.namedtuple("Layer", "op args sources suffix")
Layer.__new__.__defaults__ = ("",)
Alias = collections.namedtuple("Alias", "source")

VARARGS = object()  # the rest of the positional arguments, as a tuple


def bind(node, params):
    """{name: value} for the node's args and kwargs by `params`, a list of
    (name, default); a call_method's receiver is `input`."""
    args = list(node.args)
    names = [p[0] for p in params]
    out = {}
    for i, value in enumerate(args):
        if i < len(params) and params[i][1] is VARARGS:
            out[names[i]] = tuple(args[i:])
            break
        if i >= len(params):
            raise Unmappable("unexpected argument %r" % (value,))
        out[names[i]] = value
    for key, value in node.kwargs.items():
        if key not in names:
            raise Unmappable("unexpected keyword argument '%s'" % key)
        out[key] = value
    for name, default in params:
        if name not in out:
            if default is REQUIRED:
                raise Unmappable("missing argument '%s'" % name)
            out[name] = () if default is VARARGS else default
    return out


def _unary(op, **fixed):
    def handler(ctx, node, a):
        return Layer(op, dict(fixed), [ctx.tensor(a["input"])])
    return handler


def add(ctx, node, a):
    if a.get("alpha", 1) != 1:
        raise Unmappable("netc's Add has no alpha")
    for v in (a["input"], a["other"]):
        if not ctx.is_tensor(v):
            raise Unmappable("netc's Add adds two tensors, not the "
                             "constant %r" % (v,))
    return Layer("Add", {}, [a["input"], a["other"]])


def cat(ctx, node, a):
    tensors = a["tensors"]
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise Unmappable("cat of %r" % (tensors,))
    return Layer("Cat", {"dim": a["dim"]}, [ctx.tensor(t) for t in tensors])


def flatten(ctx, node, a):
    return Layer("Flatten", arguments([("start_dim", a["start_dim"], 1),
                                       ("end_dim", a["end_dim"], -1)]),
                 [ctx.tensor(a["input"])])


def reshape(ctx, node, a):
    """view/reshape that is a flatten(start_dim=k), as x.view(x.size(0), -1)
    is, or that changes nothing."""
    src = ctx.tensor(a["input"])
    shape = a["shape"]
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
        shape = tuple(shape[0])
    have, want = list(ctx.shape(src)), list(ctx.shape(node))
    if have == want:
        return Alias(src)
    for k in range(len(have)):
        size = 1
        for d in have[k:]:
            size *= d
        if want == have[:k] + [size]:
            break
    else:
        raise Unmappable("netc has no general reshape (%s -> %s); only a "
                         "flatten such as x.view(x.size(0), -1)" % (have, want))
    lead = shape[0] if shape else None
    batch_safe = (lead == -1 or ctx.is_batch_size(lead)) if k >= 1 else \
        (list(shape) == [-1])
    if ctx.symbolic and not batch_safe:
        raise Unmappable("the reshape to %r fixes the batch size, but the "
                         "batch is symbolic; write x.view(x.size(0), -1)"
                         % (list(shape),))
    return Layer("Flatten", {"start_dim": k} if k != 1 else {}, [src])


def softmax(ctx, node, a):
    if a.get("dtype") is not None:
        raise Unmappable("netc's Softmax has no dtype")
    return Layer("Softmax", {} if a["dim"] is None else {"dim": a["dim"]},
                 [ctx.tensor(a["input"])])


def leaky_relu(ctx, node, a):
    return Layer("LeakyReLU", arguments(
        [("negative_slope", float(a["negative_slope"]), 0.01)]),
        [ctx.tensor(a["input"])])


def gelu(ctx, node, a):
    return Layer("GELU", arguments([("approximate", a["approximate"],
                                     "none")]), [ctx.tensor(a["input"])])


def hardtanh(ctx, node, a):
    if (a["min_val"], a["max_val"]) != (0.0, 6.0):
        raise Unmappable("netc has hardtanh only as ReLU6 (0, 6)")
    return Layer("ReLU6", {}, [ctx.tensor(a["input"])])


def adaptive_avg_pool2d(ctx, node, a):
    size = a["output_size"]
    if isinstance(size, (tuple, list)):
        size = pair(size)
    return Layer("AdaptiveAvgPool2d", {"output_size": size},
                 [ctx.tensor(a["input"])])


def _stride(a, kernel):
    stride = a["stride"]
    if stride is None or (isinstance(stride, (list, tuple)) and not stride):
        return kernel
    return pair(stride)


def avg_pool2d(ctx, node, a):
    kernel = pair(a["kernel_size"])
    return Layer("AvgPool2d", arguments([
        ("kernel_size", kernel, REQUIRED),
        ("stride", _stride(a, kernel), kernel),
        ("padding", pair(a["padding"]), 0),
        ("ceil_mode", bool(a["ceil_mode"]), False),
        ("count_include_pad", bool(a["count_include_pad"]), True),
        ("divisor_override", a["divisor_override"], None),
    ]), [ctx.tensor(a["input"])])


def max_pool2d(ctx, node, a):
    if a["return_indices"]:
        raise Unmappable("netc does not support return_indices=True")
    kernel = pair(a["kernel_size"])
    return Layer("MaxPool2d", arguments([
        ("kernel_size", kernel, REQUIRED),
        ("stride", _stride(a, kernel), kernel),
        ("padding", pair(a["padding"]), 0),
        ("dilation", pair(a["dilation"]), 1),
        ("ceil_mode", bool(a["ceil_mode"]), False),
    ]), [ctx.tensor(a["input"])])


def dropout(ctx, node, a):
    if a["training"] and a["p"] != 0:
        raise Unmappable("dropout with training=True is random even in eval "
                         "mode; netc compiles inference (pass "
                         "training=self.training)")
    return Alias(ctx.tensor(a["input"]))


def identity(ctx, node, a):
    return Alias(ctx.tensor(a["input"]))


def stochastic_depth(ctx, node, a):
    if a["training"] and a["p"] != 0:
        raise Unmappable("stochastic depth with training=True")
    return Alias(ctx.tensor(a["input"]))


def mean(ctx, node, a):
    """x.mean((2, 3)) over H and W of NCHW: global average pooling."""
    src = ctx.tensor(a["input"])
    dims = a["dim"]
    dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
    rank = len(ctx.shape(src))
    if a.get("dtype") is not None or rank != 4 or \
            sorted(d % 4 for d in dims if isinstance(d, int)) != [2, 3]:
        raise Unmappable("netc has mean only over H and W of NCHW "
                         "(x.mean((2, 3)))")
    pool = Layer("AdaptiveAvgPool2d", {"output_size": 1}, [src])
    if a["keepdim"]:
        return pool
    return [pool._replace(suffix="_pool"),
            Layer("Flatten", {}, [None])]  # None: the previous layer


X = ("input", REQUIRED)
INPLACE = ("inplace", False)
REASONS = {
    operator.mul: "netc has no elementwise multiply",
    torch.mul: "netc has no elementwise multiply",
    operator.sub: "netc has no elementwise subtract",
    torch.sub: "netc has no elementwise subtract",
    operator.truediv: "netc has no elementwise divide",
    torch.div: "netc has no elementwise divide",
    operator.matmul: "netc has no matmul (use nn.Linear)",
    operator.getitem: "netc has no indexing or slicing",
    F.interpolate: "netc has no upsampling",
    F.conv2d: "netc needs convolutions as nn.Conv2d modules",
    F.linear: "netc needs nn.Linear modules",
    F.batch_norm: "netc needs nn.BatchNorm2d modules",
}
for _name in ("mul", "sub", "div", "matmul", "transpose", "permute",
              "chunk", "split", "unsqueeze", "squeeze", "expand"):
    REASONS[_name] = "netc has no %s" % _name

ADD = (add, [X, ("other", REQUIRED), ("alpha", 1)])
FLATTEN = (flatten, [X, ("start_dim", 0), ("end_dim", -1)])
RESHAPE = (reshape, [X, ("shape", VARARGS)])
SOFTMAX = (softmax, [X, ("dim", None), ("_stacklevel", 3), ("dtype", None)])
MEAN = (mean, [X, ("dim", REQUIRED), ("keepdim", False), ("dtype", None)])
DROPOUT = (dropout, [X, ("p", 0.5), ("training", True), INPLACE])


def _u(op):
    return (_unary(op), [X, INPLACE])


FUNCTIONS = {
    operator.add: ADD, operator.iadd: ADD, torch.add: ADD,
    torch.cat: (cat, [("tensors", REQUIRED), ("dim", 0)]),
    torch.flatten: FLATTEN,
    torch.reshape: (reshape, [X, ("shape", REQUIRED)]),
    F.relu: _u("ReLU"), torch.relu: _u("ReLU"), torch.relu_: _u("ReLU"),
    F.relu6: _u("ReLU6"), F.silu: _u("SiLU"), F.hardswish: _u("Hardswish"),
    F.sigmoid: _u("Sigmoid"), torch.sigmoid: _u("Sigmoid"),
    F.tanh: _u("Tanh"), torch.tanh: _u("Tanh"),
    F.hardtanh: (hardtanh, [X, ("min_val", -1.0), ("max_val", 1.0), INPLACE]),
    F.gelu: (gelu, [X, ("approximate", "none")]),
    F.leaky_relu: (leaky_relu, [X, ("negative_slope", 0.01), INPLACE]),
    F.softmax: SOFTMAX, torch.softmax: SOFTMAX,
    F.adaptive_avg_pool2d: (adaptive_avg_pool2d, [X, ("output_size",
                                                      REQUIRED)]),
    F.avg_pool2d: (avg_pool2d, [X, ("kernel_size", REQUIRED), ("stride", None),
                                ("padding", 0), ("ceil_mode", False),
                                ("count_include_pad", True),
                                ("divisor_override", None)]),
    F.max_pool2d: (max_pool2d, [X, ("kernel_size", REQUIRED), ("stride", None),
                                ("padding", 0), ("dilation", 1),
                                ("ceil_mode", False),
                                ("return_indices", False)]),
    torch.max_pool2d: (max_pool2d, [X, ("kernel_size", REQUIRED),
                                    ("stride", None), ("padding", 0),
                                    ("dilation", 1), ("ceil_mode", False),
                                    ("return_indices", False)]),
    F.dropout: DROPOUT, F.dropout1d: DROPOUT, F.dropout2d: DROPOUT,
    F.dropout3d: DROPOUT, F.alpha_dropout: DROPOUT,
    F.feature_alpha_dropout: DROPOUT,
    torch.mean: MEAN,
    torch.clone: (identity, [X, ("memory_format", None)]),
}
try:
    from torchvision.ops import stochastic_depth as _sd
    FUNCTIONS[_sd] = (stochastic_depth, [X, ("p", REQUIRED), ("mode", REQUIRED),
                                         ("training", True)])
except ImportError:
    pass
if hasattr(torch, "concat"):
    FUNCTIONS[torch.concat] = FUNCTIONS[torch.cat]

METHODS = {
    "add": ADD, "add_": ADD,
    "flatten": FLATTEN, "view": RESHAPE, "reshape": RESHAPE,
    "relu": (_unary("ReLU"), [X]), "relu_": (_unary("ReLU"), [X]),
    "sigmoid": (_unary("Sigmoid"), [X]), "tanh": (_unary("Tanh"), [X]),
    "softmax": (softmax, [X, ("dim", None), ("dtype", None)]),
    "mean": MEAN,
    "contiguous": (identity, [X, ("memory_format", None)]),
    "clone": (identity, [X, ("memory_format", None)]),
    "detach": (identity, [X]),
}


def map_call(ctx, node):
    """The Layer(s) or Alias for a call_function / call_method node."""
    table = FUNCTIONS if node.op == "call_function" else METHODS
    entry = table.get(node.target)
    if entry is None:
        raise Unmappable(REASONS.get(node.target, "netc has no such op"))
    handler, params = entry
    return handler(ctx, node, bind(node, params))
