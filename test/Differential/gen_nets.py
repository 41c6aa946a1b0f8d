"""Seeded generator of small random networks in the netc YAML format.

``generate(rng)`` returns a case dict: name, inputs {name: shape}, layers
(netc layer dicts, each with a unique name), outputs, and ``mutation``
(None for a network built to be valid, else a short description of the one
argument or wiring that was perturbed, usually into something PyTorch
rejects). Validity is never decided here: torch_oracle.run_case is the
judge. The shape bookkeeping below only steers generation towards
networks that are valid before the mutation.

``to_yaml(case)`` writes the netc file (flow-style layer maps).
"""

import json

import mutations

ACTIVATIONS = ["ReLU", "ReLU6", "SiLU", "Sigmoid", "Tanh", "Hardswish",
               "GELU", "LeakyReLU", "Dropout", "Identity"]


def conv_out(n, k, s, p, d):
    """PyTorch's conv / floor-mode pooling output size."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(n, k, s, p, d, ceil):
    """Pooling output size incl. ceil_mode's last-window rule; 0 for a
    non-positive stride (a mutated, invalid case)."""
    if s <= 0:
        return 0
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def pair_or_int(rng, a, b):
    """Write (a, b) as an int when equal (mostly), else as a list."""
    if a == b and rng.random() < 0.8:
        return a
    return [a, b]


def first(v):
    return v[0] if isinstance(v, list) else v


def second(v):
    return v[1] if isinstance(v, list) else v


class Net:
    """A network under construction, with the intended shape of each name."""

    def __init__(self, rng, name):
        self.rng = rng
        self.name = name
        self.inputs = {}
        self.layers = []
        self.shape = {}      # name -> intended output shape (ints; batch concrete)
        self.in_shape = {}   # layer name -> intended shape of its first input
        self.cur = None      # name the next layer reads by default
        self.counter = {}
        self.symbolic = False

    def fresh(self, stem):
        """A unique layer name; sometimes dotted like a PyTorch module path."""
        self.counter[stem] = self.counter.get(stem, 0) + 1
        n = self.counter[stem]
        if self.rng.random() < 0.15:
            return "block%d.%s" % (n, stem)
        return "%s%d" % (stem, n)

    def add_input(self, shape):
        name = "x" if not self.inputs else "x%d" % len(self.inputs)
        self.inputs[name] = shape
        self.shape[name] = [2 if isinstance(d, str) else d for d in shape]
        if self.cur is None:
            self.cur = name
        return name

    def add(self, op, stem, shape, frm=None, **args):
        """Append a layer reading `frm` (default: self.cur); returns its name."""
        name = self.fresh(stem)
        layer = {"name": name, "op": op}
        src = frm if frm is not None else self.cur
        first_src = src[0] if isinstance(src, list) else src
        # Say `from:` when the default would be wrong, or sometimes anyway.
        prev = self.layers[-1]["name"] if self.layers else None
        default = prev if prev is not None else (
            list(self.inputs)[0] if len(self.inputs) == 1 else None)
        if isinstance(src, list) or src != default or self.rng.random() < 0.1:
            layer["from"] = src
        layer.update(args)
        self.layers.append(layer)
        self.in_shape[name] = list(self.shape[first_src])
        self.shape[name] = list(shape)
        self.cur = name
        return name

    # -- building blocks ---------------------------------------------------

    def activation(self):
        rng, shape = self.rng, self.shape[self.cur]
        op = rng.choice(ACTIVATIONS)
        args = {}
        if op == "GELU" and rng.random() < 0.5:
            args["approximate"] = rng.choice(["none", "tanh"])
        elif op == "LeakyReLU" and rng.random() < 0.6:
            args["negative_slope"] = rng.choice([0.01, 0.2, 0.0, -0.5, 3.0])
        elif op == "Dropout" and rng.random() < 0.6:
            args["p"] = rng.choice([0.0, 0.1, 0.5, 1.0])
        elif op == "Identity" and rng.random() < 0.3:
            args["foo"] = 3  # ignored, as PyTorch does (netc warns)
        if rng.random() < 0.1 and op not in ("GELU", "Identity", "Sigmoid",
                                             "Tanh", "SiLU", "Dropout"):
            args["inplace"] = True
        return self.add(op, op.lower(), shape, **args)

    def conv(self, out_ch=None, same=False, frm=None):
        """A Conv2d that is valid for the current (or `frm`) rank 3/4 shape."""
        rng = self.rng
        src = frm or self.cur
        shape = self.shape[src]
        c, h, w = shape[-3:]
        out_ch = out_ch if out_ch is not None else rng.randint(1, 8)
        groups = 1
        if rng.random() < 0.25:
            divs = [g for g in range(2, 5) if c % g == 0 and out_ch % g == 0]
            if divs:
                groups = rng.choice(divs)
        args = {"in_channels": c, "out_channels": out_ch}
        kh, kw = rng.choice([1, 2, 3, 3, 5]), rng.choice([1, 2, 3, 3, 5])
        if rng.random() < 0.7:
            kw = kh
        d = rng.choice([1, 1, 1, 2])
        s = rng.choice([1, 1, 2, 3]) if not same else 1
        mode = rng.choice(["zeros"] * 6 + ["reflect", "replicate", "circular"])
        if mode == "circular" and len(shape) == 3:
            mode = "zeros"  # circular never works unbatched in torch 1.13
        if same or (s == 1 and rng.random() < 0.2):
            pad, ph, pw = "same", d * (kh - 1) // 2 + 1, d * (kw - 1) // 2 + 1
        elif rng.random() < 0.1:
            pad, ph, pw = "valid", 0, 0
        else:
            ph, pw = rng.randint(0, kh // 2 + 1), rng.randint(0, kw // 2 + 1)
            pad = pair_or_int(rng, ph, pw)
            ph, pw = first(pad), second(pad)
        # Shrink the (dilated) kernel until it fits the padded input.
        while kh > 1 and d * (kh - 1) + 1 > h + 2 * ph:
            kh -= 1
        while kw > 1 and d * (kw - 1) + 1 > w + 2 * pw:
            kw -= 1
        if d * (kh - 1) + 1 > h + 2 * ph or d * (kw - 1) + 1 > w + 2 * pw:
            d = 1
        if mode == "reflect" and (ph >= h or pw >= w):
            mode = "zeros"
        if mode == "circular" and (ph > h or pw > w):
            mode = "zeros"
        args["kernel_size"] = pair_or_int(rng, kh, kw)
        if s != 1 or rng.random() < 0.1:
            args["stride"] = s
        if pad != 0 or rng.random() < 0.1:
            args["padding"] = pad
        if d != 1:
            args["dilation"] = d
        if groups != 1:
            args["groups"] = groups
        if rng.random() < 0.3:
            args["bias"] = rng.random() < 0.5
        if mode != "zeros" or rng.random() < 0.05:
            args["padding_mode"] = mode
        if pad == "same":
            oh, ow = h, w
        else:
            oh, ow = conv_out(h, kh, s, ph, d), conv_out(w, kw, s, pw, d)
        out = shape[:-3] + [out_ch, oh, ow]
        return self.add("Conv2d", "conv", out, frm=frm, **args)

    def batchnorm(self):
        rng, shape = self.rng, self.shape[self.cur]
        args = {"num_features": shape[1]}
        if rng.random() < 0.25:
            args["affine"] = rng.random() < 0.5
        n_hw = shape[0] * shape[2] * shape[3]
        if rng.random() < 0.2 and n_hw > 1 and not self.symbolic:
            args["track_running_stats"] = False
        if rng.random() < 0.1:
            args["eps"] = 1e-3
        if rng.random() < 0.1:
            args["momentum"] = 0.01
        return self.add("BatchNorm2d", "bn", shape, **args)

    def pool(self):
        rng, shape = self.rng, self.shape[self.cur]
        h, w = shape[-2:]
        op = rng.choice(["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"])
        if op == "AdaptiveAvgPool2d":
            o = rng.choice([1, 1, 2, 3, [2, None], [None, 1], [None, None],
                            [3, 5]])
            oh = h if isinstance(o, list) and o[0] is None else first(o)
            ow = w if isinstance(o, list) and o[1] is None else second(o)
            return self.add(op, "gap", shape[:-2] + [oh, ow], output_size=o)
        k = rng.choice([1, 2, 2, 3])
        k = min(k, h, w) if rng.random() < 0.9 else k
        s = rng.choice([None, None, 1, 2, 3])
        p = rng.randint(0, k // 2)
        d = rng.choice([1, 1, 2]) if op == "MaxPool2d" else 1
        ceil = rng.random() < 0.3
        args = {"kernel_size": k}
        if s is not None:
            args["stride"] = s
        if p:
            args["padding"] = p
        if d != 1:
            args["dilation"] = d
        if ceil:
            args["ceil_mode"] = True
        if op == "AvgPool2d" and rng.random() < 0.2:
            args["count_include_pad"] = False
        if op == "AvgPool2d" and rng.random() < 0.15:
            args["divisor_override"] = rng.choice([1, 3, -2])
        st = s or k
        if pool_out(min(h, w), k, st, p, d, ceil) < 1 and rng.random() < 0.95:
            k, p, d, st, ceil = 1, 0, 1, 1, False  # fall back: fits
            args = {"kernel_size": 1}
        oh, ow = pool_out(h, k, st, p, d, ceil), pool_out(w, k, st, p, d, ceil)
        return self.add(op, "pool", shape[:-2] + [oh, ow], **args)

    def residual(self):
        """cur + conv(cur) (or + a pooled 1x1 map, broadcasting)."""
        base = self.cur
        shape = self.shape[base]
        if self.rng.random() < 0.25 and len(shape) == 4:
            g = self.add("AdaptiveAvgPool2d", "se_pool",
                         shape[:2] + [1, 1], output_size=1)
            g = self.add("Sigmoid", "se_gate", self.shape[g])
            return self.add("Add", "add", shape, frm=[base, g])
        self.conv(out_ch=shape[-3], same=True)
        if self.rng.random() < 0.5 and len(shape) == 4:
            self.batchnorm()
        branch = self.cur
        return self.add("Add", "add", shape, frm=[base, branch])

    def concat(self):
        """Cat of two or three branches that read the same tensor."""
        base = self.cur
        shape = self.shape[base]
        c1, c2 = self.rng.randint(1, 5), self.rng.randint(1, 5)
        b1 = self.add("Conv2d", "conv", shape[:-3] + [c1] + shape[-2:],
                      frm=base, in_channels=shape[-3], out_channels=c1,
                      kernel_size=1)
        b2 = self.add("Conv2d", "conv", shape[:-3] + [c2] + shape[-2:],
                      frm=base, in_channels=shape[-3], out_channels=c2,
                      kernel_size=3, padding=1)
        srcs = [b1, b2] + ([base] if self.rng.random() < 0.3 else [])
        total = sum(self.shape[s][-3] for s in srcs)
        dim = 1 if len(shape) == 4 else 0
        args = {} if dim == 1 and self.rng.random() < 0.6 else {
            "dim": dim - len(shape) if self.rng.random() < 0.3 else dim}
        return self.add("Cat", "cat", shape[:-3] + [total] + shape[-2:],
                        frm=srcs, **args)

    def head(self):
        """[pool] Flatten Linear [act Linear] [Softmax] on a rank 3/4 map."""
        rng = self.rng
        if rng.random() < 0.7:
            self.add("AdaptiveAvgPool2d", "gap",
                     self.shape[self.cur][:-2] + [1, 1],
                     output_size=rng.choice([1, [1, 1]]))
        shape = self.shape[self.cur]
        start = 1 if len(shape) == 4 else rng.choice([0, 1])
        if self.symbolic:
            start = 1
        flat = shape[:start] + [prod(shape[start:])]
        args = {} if start == 1 and rng.random() < 0.7 else {"start_dim": start}
        self.add("Flatten", "flatten", flat, **args)
        self.mlp(depth=rng.randint(1, 2))

    def linear(self, out_f=None):
        rng, shape = self.rng, self.shape[self.cur]
        out_f = out_f or rng.randint(1, 12)
        args = {"in_features": shape[-1], "out_features": out_f}
        if rng.random() < 0.3:
            args["bias"] = rng.random() < 0.5
        return self.add("Linear", "fc", shape[:-1] + [out_f], **args)

    def mlp(self, depth):
        rng = self.rng
        for _ in range(depth):
            r = rng.random()
            if r < 0.15 and len(self.shape[self.cur]) == 2:
                base = self.cur
                self.linear(out_f=self.shape[base][-1])
                self.add("Add", "add", self.shape[base], frm=[base, self.cur])
            elif r < 0.25 and len(self.shape[self.cur]) == 2:
                base = self.cur
                a = self.linear()
                self.cur = base  # the second branch reads base too
                b = self.linear()
                tot = self.shape[a][-1] + self.shape[b][-1]
                self.add("Cat", "cat", self.shape[a][:-1] + [tot], frm=[a, b],
                         dim=rng.choice([1, -1]))
            else:
                self.linear()
            if rng.random() < 0.6:
                self.activation()
        if rng.random() < 0.4:
            rank = len(self.shape[self.cur])
            dim = rng.choice([None, -1, rank - 1])
            args = {} if dim is None else {"dim": dim}
            self.add("Softmax", "softmax", self.shape[self.cur], **args)


def prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out


def generate(rng, index):
    """One random case; about half carry one mutation."""
    net = Net(rng, "net%d" % index)
    kind = rng.choices(["cnn", "unbatched", "mlp"], [0.65, 0.15, 0.2])[0]
    if kind == "mlp":
        batch = rng.choice([1, 2, 3, "N", "N", "B"])
        net.symbolic = isinstance(batch, str)
        net.add_input([batch, rng.randint(1, 16)])
        net.mlp(depth=rng.randint(1, 4))
    else:
        c, h, w = rng.randint(1, 6), rng.randint(3, 18), rng.randint(3, 18)
        if kind == "cnn":
            batch = rng.choice([1, 2, 3, "N", "N", "batch"])
            if rng.random() < 0.03:
                batch = 0
            net.symbolic = isinstance(batch, str)
            net.add_input([batch, c, h, w])
        else:
            net.add_input([c, h, w])
        for _ in range(rng.randint(1, 5)):
            r = rng.random()
            if r < 0.4:
                net.conv()
                if kind == "cnn" and rng.random() < 0.5:
                    net.batchnorm()
                if rng.random() < 0.6:
                    net.activation()
            elif r < 0.6:
                net.pool()
            elif r < 0.75:
                net.residual()
            elif r < 0.85:
                net.concat()
            else:
                net.activation()
        if rng.random() < 0.7:
            net.head()
        elif rng.random() < 0.3:
            net.add("Softmax", "softmax", net.shape[net.cur], dim=1)
    case = {"name": net.name, "inputs": net.inputs, "layers": net.layers,
            "outputs": [net.cur], "mutation": None, "net": net}
    if rng.random() < 0.6:
        case["mutation"] = mutations.mutate(rng, case)
    return case


# -- YAML output ------------------------------------------------------------

def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r or "inf" in r) else r + ".0"
    if isinstance(v, str):
        return json.dumps(v)  # a double-quoted YAML string
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    raise TypeError(v)


def to_yaml(case):
    lines = ["name: %s" % case["name"], "inputs:"]
    for name, shape in case["inputs"].items():
        lines.append("  %s: %s" % (name, _scalar(shape)))
    lines.append("layers:")
    for layer in case["layers"]:
        items = ", ".join("%s: %s" % (k, _scalar(v)) for k, v in layer.items())
        lines.append("  - {%s}" % items)
    lines.append("outputs: %s" % _scalar(case["outputs"]))
    if case.get("mutation"):
        lines.insert(0, "# mutation: %s" % case["mutation"])
    return "\n".join(lines) + "\n"
