"""One-argument / one-wire perturbations of a generated network.

Each mutation takes (rng, net) where net is gen_nets.Net, edits net.layers
(or net.inputs) in place, and returns a short description, or None when it
does not apply to this network. Most produce something PyTorch 1.13
rejects (see docs/PyTorchOracle.md); several deliberately produce odd
things it accepts (zero sizes, negative padding with reflect, negative
divisor_override, 'same' with even kernels, BatchNorm2d without affine and
running stats). The oracle, not this file, decides the verdict.
"""


def _pick(rng, net, *ops):
    layers = [l for l in net.layers if l["op"] in ops]
    return rng.choice(layers) if layers else None


def _hw(net, layer):
    return net.in_shape[layer["name"]][-2:]


def _insert_after(net, name, layer):
    """Insert `layer` right after `name`, in the chain: it reads `name`, and
    a following layer that read `name` by default now reads `layer`."""
    idx = [l["name"] for l in net.layers].index(name)
    net.layers.insert(idx + 1, layer)


# -- Conv2d --------------------------------------------------------------

def conv_in_channels(rng, net):
    l = _pick(rng, net, "Conv2d")
    if not l:
        return None
    l["in_channels"] = max(1, l["in_channels"] + rng.choice([-2, -1, 1, 2]))
    return "%s.in_channels=%d" % (l["name"], l["in_channels"])


def conv_bad_value(rng, net):
    """Zero/negative sizes: out_channels, kernel, stride, dilation, groups."""
    l = _pick(rng, net, "Conv2d")
    if not l:
        return None
    arg, val = rng.choice([
        ("out_channels", 0), ("out_channels", -1), ("kernel_size", 0),
        ("kernel_size", [0, 3]), ("kernel_size", -1), ("stride", 0),
        ("stride", -1), ("stride", [1, 0]), ("dilation", 0),
        ("dilation", [1, -1]), ("groups", 0), ("groups", -1),
        ("groups", 3), ("groups", 2), ("in_channels", 0)])
    l[arg] = val
    return "%s.%s=%s" % (l["name"], arg, val)


def conv_kernel_too_big(rng, net):
    l = _pick(rng, net, "Conv2d")
    if not l:
        return None
    h, w = _hw(net, l)
    p = l.get("padding", 0)
    if isinstance(p, (str, list)):
        p = 0
        l.pop("padding", None)
    d = l.get("dilation", 1)
    d = d if isinstance(d, int) else 1
    extra = rng.choice([0, 1])  # 0: kernel exactly the padded size (valid)
    kh = (h + 2 * p - 1 + extra * d) // d + 1 if rng.random() < 0.5 else 1
    kw = (w + 2 * p - 1 + extra * d) // d + 1 if kh == 1 else 1
    l["kernel_size"] = [kh, kw]
    return "%s.kernel_size=[%d, %d] on %dx%d pad %d dil %d" % (
        l["name"], kh, kw, h, w, p, d)


def conv_padding(rng, net):
    """Negative padding, padding='same' with stride, or with even kernels."""
    l = _pick(rng, net, "Conv2d")
    if not l:
        return None
    what = rng.choice(["neg", "same_stride", "same_even", "valid_stride"])
    if what == "neg":
        l["padding"] = rng.choice([-1, [0, -1]])
        l["padding_mode"] = rng.choice(["zeros", "reflect", "replicate",
                                        "circular"])
    elif what == "same_stride":
        l["padding"] = "same"
        l["stride"] = rng.choice([2, [1, 2]])
    elif what == "same_even":
        l["padding"] = "same"
        l["kernel_size"] = rng.choice([2, 4, [2, 3]])
        l.pop("stride", None)
        l["dilation"] = rng.choice([1, 2, 3])
    else:
        l["padding"] = "valid"
        l["stride"] = 2
    return "%s.padding=%s stride=%s" % (l["name"], l["padding"],
                                        l.get("stride", 1))


def conv_padding_mode(rng, net):
    """reflect / circular padding at and past the input size; circular 3D."""
    l = _pick(rng, net, "Conv2d")
    if not l:
        return None
    h, w = _hw(net, l)
    mode = rng.choice(["reflect", "circular", "replicate"])
    size = min(h, w)
    pad = rng.choice([size - 1, size, size + 1]) if size > 0 else 1
    l["padding_mode"] = mode
    l["padding"] = max(pad, 0)
    l.pop("dilation", None)
    l.pop("stride", None)
    return "%s.padding_mode=%s padding=%d on %dx%d (rank %d)" % (
        l["name"], mode, l["padding"], h, w, len(net.in_shape[l["name"]]))


# -- pooling ---------------------------------------------------------------

def pool_args(rng, net):
    l = _pick(rng, net, "MaxPool2d", "AvgPool2d")
    if not l:
        return None
    h, w = _hw(net, l)
    k = l["kernel_size"]
    what = rng.choice(["pad", "pad_dil", "stride", "kernel", "big", "ceil",
                       "neg_pad"])
    if what == "pad":
        l["padding"] = k // 2 + 1
    elif what == "pad_dil" and l["op"] == "MaxPool2d":
        # 1.13 does not count dilation: k=3,d=2,p=2 is rejected.
        l["kernel_size"], l["dilation"] = 3, 2
        l["padding"] = rng.choice([1, 2])
    elif what == "stride":
        l["stride"] = rng.choice([0, -1, [2, 0]])
    elif what == "kernel":
        l["kernel_size"] = rng.choice([0, -1, [2, 0]])
    elif what == "big":
        l["kernel_size"] = max(h, w) + rng.choice([0, 1])
        l.pop("padding", None)
        l.pop("dilation", None)
    elif what == "neg_pad":
        l["padding"] = -1
    else:
        l["ceil_mode"] = True
        l["stride"] = rng.choice([2, 3])
        l["padding"] = min(1, k // 2)
    return "%s %s -> %s" % (l["name"], what, {
        a: l.get(a) for a in ("kernel_size", "stride", "padding", "dilation")})


def avg_divisor(rng, net):
    l = _pick(rng, net, "AvgPool2d")
    if not l:
        return None
    l["divisor_override"] = rng.choice([0, -1, 2])
    return "%s.divisor_override=%d" % (l["name"], l["divisor_override"])


def adaptive(rng, net):
    l = _pick(rng, net, "AdaptiveAvgPool2d")
    if not l:
        return None
    h, w = _hw(net, l)
    l["output_size"] = rng.choice([-1, 0, [0, 2], [2, -1], [h + 3, None],
                                   [None, w + 1], 20])
    return "%s.output_size=%s" % (l["name"], l["output_size"])


# -- Linear, Flatten, BatchNorm2d ------------------------------------------

def linear_features(rng, net):
    l = _pick(rng, net, "Linear")
    if not l:
        return None
    if rng.random() < 0.7:
        l["in_features"] = max(0, l["in_features"] + rng.choice([-1, 1, 3]))
        return "%s.in_features=%d" % (l["name"], l["in_features"])
    arg = rng.choice(["in_features", "out_features"])
    l[arg] = rng.choice([0, -1])
    return "%s.%s=%d" % (l["name"], arg, l[arg])


def flatten_dims(rng, net):
    l = _pick(rng, net, "Flatten")
    if not l:
        return None
    l["start_dim"] = rng.randint(-5, 4)
    if rng.random() < 0.6:
        l["end_dim"] = rng.randint(-5, 4)
    return "%s start_dim=%s end_dim=%s" % (l["name"], l["start_dim"],
                                           l.get("end_dim", -1))


def bn_features(rng, net):
    l = _pick(rng, net, "BatchNorm2d")
    if not l:
        return None
    l["num_features"] += rng.choice([-1, 1, 2]) if l["num_features"] > 1 else 1
    l["affine"] = rng.random() < 0.5
    l["track_running_stats"] = rng.random() < 0.5
    return "%s.num_features=%d affine=%s track=%s" % (
        l["name"], l["num_features"], l["affine"], l["track_running_stats"])


def bn_batch_stats(rng, net):
    """BN with batch statistics on one value per channel (batch 1, 1x1)."""
    gaps = [l for l in net.layers if l["op"] == "AdaptiveAvgPool2d"
            and net.shape[l["name"]][-2:] == [1, 1]
            and len(net.shape[l["name"]]) == 4]
    if not gaps:
        return None
    g = rng.choice(gaps)
    batch = rng.choice([1, 1, 2])
    for name, shape in net.inputs.items():
        shape[0] = batch
    _insert_after(net, g["name"], {
        "name": "mut_bn", "op": "BatchNorm2d",
        "num_features": net.shape[g["name"]][1],
        "track_running_stats": False})
    return "BatchNorm2d(track_running_stats=false) after %s, batch %d" % (
        g["name"], batch)


def bn_wrong_rank(rng, net):
    """BatchNorm2d on a rank 3 (unbatched) or rank 2 tensor."""
    cands = [n for n in net.shape if n not in net.inputs
             and len(net.shape[n]) in (2, 3)]
    if not cands:
        return None
    n = rng.choice(cands)
    c = net.shape[n][0] if len(net.shape[n]) == 3 else net.shape[n][1]
    _insert_after(net, n, {"name": "mut_bn", "op": "BatchNorm2d",
                           "num_features": c})
    return "BatchNorm2d on rank %d output of %s" % (len(net.shape[n]), n)


# -- Add, Cat, wiring ------------------------------------------------------

def _other_shape_source(rng, net, layer):
    """An earlier name whose intended shape differs from the layer's."""
    names = list(net.inputs) + [l["name"] for l in net.layers]
    earlier = names[:names.index(layer["name"])]
    want = net.shape[layer["name"]]
    cands = [n for n in earlier if net.shape[n] != want]
    return rng.choice(cands) if cands else None


def add_mismatch(rng, net):
    l = _pick(rng, net, "Add")
    if not l:
        return None
    other = _other_shape_source(rng, net, l)
    if other is None:
        return None
    l["from"] = list(l["from"])
    l["from"][rng.randrange(len(l["from"]))] = other
    return "%s adds %s of shape %s" % (l["name"], other, net.shape[other])


def cat_mismatch(rng, net):
    l = _pick(rng, net, "Cat")
    if not l:
        return None
    what = rng.choice(["source", "dim", "one"])
    if what == "source":
        other = _other_shape_source(rng, net, l)
        if other is None:
            return None
        l["from"] = list(l["from"]) + [other]
        return "%s also concatenates %s %s" % (l["name"], other,
                                               net.shape[other])
    if what == "one":
        l["from"] = l["from"][:1]
        return "%s from one tensor" % l["name"]
    l["dim"] = rng.choice([2, 3, 4, -5, 0])
    return "%s.dim=%d" % (l["name"], l["dim"])


def from_wiring(rng, net):
    """`from:` naming a later layer or an undefined name (netc-only errors)."""
    if len(net.layers) < 2:
        return None
    i = rng.randrange(len(net.layers) - 1)
    l = net.layers[i]
    if rng.random() < 0.5:
        l["from"] = net.layers[rng.randrange(i + 1, len(net.layers))]["name"]
    else:
        l["from"] = "nosuchlayer"
    return "%s.from=%s" % (l["name"], l["from"])


# -- elementwise and inputs ----------------------------------------------

def elementwise_args(rng, net):
    l = _pick(rng, net, "Dropout", "GELU", "Softmax")
    if not l:
        return None
    if l["op"] == "Dropout":
        l["p"] = rng.choice([-0.1, 1.5, 1.0, 0.0])
        return "%s.p=%s" % (l["name"], l["p"])
    if l["op"] == "GELU":
        l["approximate"] = rng.choice(["TANH", "None", "", "tanh"])
        return "%s.approximate=%r" % (l["name"], l["approximate"])
    l["dim"] = rng.choice([-5, -3, 2, 3, 4])
    return "%s.dim=%d" % (l["name"], l["dim"])


def zero_input(rng, net):
    """A zero batch, channel or spatial size in the input."""
    name, shape = rng.choice(list(net.inputs.items()))
    i = rng.randrange(len(shape))
    shape[i] = 0
    return "input %s dim %d = 0" % (name, i)


def zero_features(rng, net):
    """Zero-size outputs torch accepts: Linear out 0, AdaptiveAvgPool 0."""
    l = _pick(rng, net, "Linear", "AdaptiveAvgPool2d")
    if not l:
        return None
    if l["op"] == "Linear":
        l["out_features"] = 0
        return "%s.out_features=0" % l["name"]
    l["output_size"] = rng.choice([0, [0, 1], [None, 0]])
    return "%s.output_size=%s" % (l["name"], l["output_size"])


ALL = [conv_in_channels, conv_bad_value, conv_kernel_too_big, conv_padding,
       conv_padding_mode, pool_args, avg_divisor, adaptive, linear_features,
       flatten_dims, bn_features, bn_batch_stats, bn_wrong_rank,
       add_mismatch, cat_mismatch, from_wiring, elementwise_args, zero_input,
       zero_features]
WEIGHTS = [4, 4, 3, 3, 3, 4, 1, 1, 4, 2, 3, 2, 1, 3, 3, 1, 2, 1, 1]


def mutate(rng, case):
    """Apply one applicable mutation; returns its description (or None)."""
    net = case["net"]
    for _ in range(20):
        fn = rng.choices(ALL, WEIGHTS)[0]
        desc = fn(rng, net)
        if desc is not None:
            return "%s: %s" % (fn.__name__, desc)
    return None
