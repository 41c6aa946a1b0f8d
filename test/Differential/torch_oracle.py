"""PyTorch 1.13 as the oracle for a generated netc network.

A case is a plain dict (see gen_nets.py): ``inputs`` maps input names to
shapes (ints and dimension names), ``layers`` is the netc layer list (dicts
with ``name``, ``op``, optional ``from`` and the op's keyword arguments).
``run_case`` interprets that list with torch modules, in eval mode under
no_grad, exactly as a user would write the equivalent nn.Module, and
reports the verdict, each layer's output shape and its parameter count.
"""

import warnings

import torch
import torch.nn as nn

torch.set_num_threads(1)
warnings.simplefilter("ignore")  # Softmax(dim=None), same+even kernel, ...

# Ops whose netc name is the torch.nn module name, with identical kwargs.
_MODULE_OPS = {
    "Conv2d", "BatchNorm2d", "ReLU", "ReLU6", "SiLU", "Sigmoid", "Tanh",
    "Hardswish", "GELU", "LeakyReLU", "Identity", "Dropout", "MaxPool2d",
    "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Linear", "Softmax",
}
# Arguments that are "int or pair" in netc (a YAML list becomes a tuple).
_PAIR_ARGS = {"kernel_size", "stride", "padding", "dilation", "output_size"}


def _torch_kwargs(layer):
    """The layer's keyword arguments in torch form."""
    kw = {}
    for key, val in layer.items():
        if key in ("name", "op", "from"):
            continue
        if key in _PAIR_ARGS and isinstance(val, list):
            val = tuple(val)
        kw[key] = val
    return kw


def build_module(layer):
    """Construct the torch module for one layer (may raise, like torch)."""
    op = layer["op"]
    kw = _torch_kwargs(layer)
    if op == "Identity":
        return nn.Identity()  # netc ignores Identity's arguments, as torch does
    if op in _MODULE_OPS:
        return getattr(nn, op)(**kw)
    if op == "Add":
        return _Add()
    if op == "Cat":
        return _Cat(kw.get("dim", 1))
    raise ValueError("unknown op " + op)


class _Add(nn.Module):
    """Add: torch.add folded left to right over the `from:` tensors."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = torch.add(out, x)
        return out


class _Cat(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, *xs):
        return torch.cat(list(xs), dim=self.dim)


def concrete_shape(shape, sym_value):
    """Replace every dimension name by sym_value."""
    return [d if isinstance(d, int) else sym_value for d in shape]


def layer_sources(case):
    """Map each layer name to the list of names it reads, per the spec."""
    prev = None
    inputs = list(case["inputs"])
    sources = {}
    for layer in case["layers"]:
        frm = layer.get("from")
        if frm is None:
            frm = [prev] if prev is not None else inputs[:1]
        elif isinstance(frm, str):
            frm = [frm]
        sources[layer["name"]] = list(frm)
        prev = layer["name"]
    return sources


def run_case(case, sym_value=2, seed=0):
    """Run the case in torch.

    Returns a dict: ok (bool), error ("layer: Type: message" when rejected),
    shapes {layer: [ints]}, params {layer: int}, total_params (int).
    """
    gen = torch.Generator().manual_seed(seed)
    env = {}
    for name, shape in case["inputs"].items():
        dims = concrete_shape(shape, sym_value)
        if any(d < 0 for d in dims):
            return {"ok": False, "error": "%s: negative input size" % name}
        env[name] = torch.randn(*dims, generator=gen)
    sources = layer_sources(case)
    shapes, params = {}, {}
    for layer in case["layers"]:
        name = layer["name"]
        stage = "construct"
        try:
            module = build_module(layer)
            params[name] = sum(p.numel() for p in module.parameters())
            module.eval()
            stage = "forward"
            args = [env[s] for s in sources[name]]
            if layer["op"] not in ("Add", "Cat") and len(args) != 1:
                raise RuntimeError("single-input op given %d inputs" % len(args))
            with torch.no_grad():
                out = module(*args)
        except Exception as exc:  # torch's verdict: rejected
            msg = str(exc).splitlines()[0] if str(exc) else ""
            return {"ok": False, "error": "%s (%s) %s at %s: %s" % (
                name, layer["op"], stage, type(exc).__name__, msg[:150])}
        env[name] = out
        shapes[name] = list(out.shape)
    return {"ok": True, "shapes": shapes, "params": params,
            "total_params": sum(params.values())}
