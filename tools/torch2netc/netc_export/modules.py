"""call_module nodes: torch.nn leaf modules -> netc ops with their arguments.

Each mapper returns (op, {argument: value}) with only the arguments that
differ from the netc/PyTorch default (required ones always), or raises
Unmappable with the reason netc cannot express the module.
"""

import torch.nn as nn


class Unmappable(Exception):
    """A node netc has no equivalent for; the message is the reason."""


REQUIRED = object()


def pair(value):
    """An `int or pair` argument: (3, 3) -> 3, (3, 5) -> [3, 5]."""
    if isinstance(value, (tuple, list)):
        items = list(value)
        if len(items) == 2 and items[0] == items[1] and items[0] is not None:
            return items[0]
        return items
    return value


def arguments(spec):
    """{name: value} from [(name, value, default)], dropping defaults."""
    out = {}
    for name, value, default in spec:
        if default is REQUIRED or value != default or \
                type(value) is not type(default):
            out[name] = value
    return out


def _float(x):
    return None if x is None else float(x)


def conv2d(m):
    padding = m.padding if isinstance(m.padding, str) else pair(m.padding)
    return "Conv2d", arguments([
        ("in_channels", m.in_channels, REQUIRED),
        ("out_channels", m.out_channels, REQUIRED),
        ("kernel_size", pair(m.kernel_size), REQUIRED),
        ("stride", pair(m.stride), 1),
        ("padding", padding, 0),
        ("dilation", pair(m.dilation), 1),
        ("groups", m.groups, 1),
        ("bias", m.bias is not None, True),
        ("padding_mode", m.padding_mode, "zeros"),
    ])


def batchnorm2d(m):
    return "BatchNorm2d", arguments([
        ("num_features", m.num_features, REQUIRED),
        ("eps", float(m.eps), 1e-5),
        ("momentum", _float(m.momentum), 0.1),
        ("affine", bool(m.affine), True),
        ("track_running_stats", bool(m.track_running_stats), True),
    ])


def maxpool2d(m):
    if m.return_indices:
        raise Unmappable("netc does not support MaxPool2d(return_indices=True)")
    kernel = pair(m.kernel_size)
    stride = pair(m.stride) if m.stride is not None else kernel
    return "MaxPool2d", arguments([
        ("kernel_size", kernel, REQUIRED),
        ("stride", stride, kernel),
        ("padding", pair(m.padding), 0),
        ("dilation", pair(m.dilation), 1),
        ("ceil_mode", bool(m.ceil_mode), False),
    ])


def avgpool2d(m):
    kernel = pair(m.kernel_size)
    stride = pair(m.stride) if m.stride is not None else kernel
    return "AvgPool2d", arguments([
        ("kernel_size", kernel, REQUIRED),
        ("stride", stride, kernel),
        ("padding", pair(m.padding), 0),
        ("ceil_mode", bool(m.ceil_mode), False),
        ("count_include_pad", bool(m.count_include_pad), True),
        ("divisor_override", m.divisor_override, None),
    ])


def adaptive_avgpool2d(m):
    size = m.output_size
    if isinstance(size, (tuple, list)):
        size = pair(size)
    return "AdaptiveAvgPool2d", {"output_size": size}


def linear(m):
    return "Linear", arguments([
        ("in_features", m.in_features, REQUIRED),
        ("out_features", m.out_features, REQUIRED),
        ("bias", m.bias is not None, True),
    ])


def flatten(m):
    return "Flatten", arguments([("start_dim", m.start_dim, 1),
                                 ("end_dim", m.end_dim, -1)])


def softmax(m):
    return "Softmax", ({} if m.dim is None else {"dim": m.dim})


def dropout(m):
    # Every dropout is the identity in eval mode; netc compiles inference.
    return "Dropout", arguments([("p", float(m.p), 0.5)])


def hardtanh(m):
    if type(m) is nn.ReLU6 or (m.min_val == 0.0 and m.max_val == 6.0):
        return "ReLU6", {}
    raise Unmappable("netc has Hardtanh only as ReLU6 (min_val=0, max_val=6)")


def _plain(op):
    return lambda m: (op, {})


MODULES = {
    nn.Conv2d: conv2d,
    nn.BatchNorm2d: batchnorm2d,
    nn.ReLU: _plain("ReLU"),
    nn.ReLU6: hardtanh,
    nn.Hardtanh: hardtanh,
    nn.SiLU: _plain("SiLU"),
    nn.Sigmoid: _plain("Sigmoid"),
    nn.Tanh: _plain("Tanh"),
    nn.Hardswish: _plain("Hardswish"),
    nn.GELU: lambda m: ("GELU", arguments([("approximate", m.approximate,
                                            "none")])),
    nn.LeakyReLU: lambda m: ("LeakyReLU", arguments(
        [("negative_slope", float(m.negative_slope), 0.01)])),
    nn.Identity: _plain("Identity"),
    nn.Dropout: dropout,
    nn.Dropout1d: dropout,
    nn.Dropout2d: dropout,
    nn.Dropout3d: dropout,
    nn.AlphaDropout: dropout,
    nn.FeatureAlphaDropout: dropout,
    nn.MaxPool2d: maxpool2d,
    nn.AvgPool2d: avgpool2d,
    nn.AdaptiveAvgPool2d: adaptive_avgpool2d,
    nn.Flatten: flatten,
    nn.Linear: linear,
    nn.Softmax: softmax,
    nn.Softmax2d: lambda m: ("Softmax", {"dim": -3}),
}


def map_module(module):
    """(op, arguments) for a leaf module, or Unmappable."""
    mapper = MODULES.get(type(module))
    if mapper is None:
        raise Unmappable("netc has no %s op" % type(module).__name__)
    return mapper(module)
