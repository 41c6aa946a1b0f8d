"""Trace a module with torch.fx and turn its graph into netc layers.

Layer names: a call_module node is named after the module's qualified path
(its state_dict prefix); a module without parameters that is called again
gets `<path>_1`, `<path>_2`, ... for the later calls. A function or method
node is named `<enclosing module path>.<function>` (`layer1.0.add`), or after
its fx node (`add_1`, `flatten`) at the top level; names are unique.
"""

import collections
import inspect
import operator
import re

import torch
import torch.fx as fx

from . import functions
from .functions import Alias
from .modules import Unmappable, map_module


class ExportError(Exception):
    """Errors that stop the export; .errors lists them."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


class ScopeTracer(fx.Tracer):
    """symbolic_trace that records, for every node, the qualified path of
    the module whose forward created it (node.meta['scope'])."""

    def __init__(self):
        super().__init__()
        self.scopes = []

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        if self.is_leaf_module(m, path):
            return super().call_module(m, forward, args, kwargs)
        self.scopes.append(path)
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scopes.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["scope"] = self.scopes[-1] if self.scopes else ""
        return node


class ShapeRecorder(fx.Interpreter):
    """Runs the traced graph once; node.meta['shape'] is the shape of a
    tensor value, 'several' for a node that returns several tensors, and
    is absent for other values (sizes, ints)."""

    def run_node(self, node):
        try:
            result = super().run_node(node)
        except Exception as e:
            raise ExportError(["the model fails at node '%s' (%s): %s" % (
                node.name, describe(node), first_line(e))])
        if isinstance(result, torch.Tensor):
            node.meta["shape"] = list(result.shape)
        elif any(isinstance(v, torch.Tensor) for v in flatten_output(result)):
            node.meta["shape"] = "several"
        return result


def describe(node):
    """`call_function <built-in function mul>`, `call_module ReLU 'relu'`."""
    if node.op == "call_module":
        return "call_module %s '%s'" % (
            type(node.graph.owning_module.get_submodule(node.target)).__name__,
            node.target)
    if node.op == "call_method":
        return "call_method .%s()" % node.target
    return "%s %s" % (node.op, node.target)


class Converter:
    """model (an nn.Module in eval mode) -> netc layers.

    input_shape: list of ints and at most a leading dimension name; the
    traced example uses trace_batch for a named batch.
    """

    def __init__(self, model, input_name, input_shape, trace_batch=2):
        self.model = model
        self.input_name = input_name
        self.input_shape = input_shape
        self.symbolic = isinstance(input_shape[0], str)
        self.trace_batch = trace_batch
        self.errors, self.warnings = [], []
        self.layers = []     # dicts, in order
        self.outputs = []
        self.names = {}      # fx node -> netc name (layer or input)
        self.used = set()    # netc names taken
        self.owner = {}      # layer name -> module path whose state it loads
        self.prev = None     # the name a layer without `from:` reads

    # --- helpers for the op handlers -----------------------------------

    def is_tensor(self, arg):
        return isinstance(arg, fx.Node) and \
            isinstance(arg.meta.get("shape"), list)

    def tensor(self, arg):
        if not self.is_tensor(arg):
            raise Unmappable("expected a tensor argument, got %r" % (arg,))
        return arg

    def shape(self, node):
        return list(node.meta["shape"])

    def is_batch_size(self, arg):
        """x.size(0), x.size()[0], x.shape[0]."""
        if not isinstance(arg, fx.Node):
            return False
        if arg.op == "call_method" and arg.target == "size":
            dim = arg.args[1] if len(arg.args) > 1 else arg.kwargs.get("dim")
            return dim == 0
        if arg.op == "call_function" and arg.target is operator.getitem:
            base, index = arg.args
            if index != 0 or not isinstance(base, fx.Node):
                return False
            if base.op == "call_function" and base.target is getattr:
                return base.args[1] == "shape"
            return base.op == "call_method" and base.target == "size" and \
                len(base.args) == 1 and not base.kwargs
        return False

    # --- the walk ---------------------------------------------------------

    def run(self):
        tracer = ScopeTracer()
        # forward(x, mask=None): trace with the defaults, as the model runs
        # on one input.
        params = list(inspect.signature(
            self.model.forward).parameters.values())[1:]
        concrete = {p.name: p.default for p in params
                    if p.default is not inspect.Parameter.empty}
        try:
            graph = tracer.trace(self.model, concrete_args=concrete or None)
        except Exception as e:
            raise ExportError(["torch.fx cannot trace the model: %s"
                               % first_line(e)])
        gm = fx.GraphModule(tracer.root, graph)
        dtype = next((p.dtype for p in self.model.parameters()),
                     torch.float32)
        shape = [self.trace_batch if isinstance(d, str) else d
                 for d in self.input_shape]
        placeholders = [n for n in graph.nodes
                        if n.op == "placeholder" and not n.args]
        if len(placeholders) != 1:
            raise ExportError(["the model's forward takes %d inputs (%s); "
                               "torch2netc exports models with one" % (
                                   len(placeholders),
                                   ", ".join(n.name for n in placeholders))])
        with torch.no_grad():
            ShapeRecorder(gm).run(torch.zeros(shape, dtype=dtype))
        self.gm = gm
        calls = collections.Counter(n.target for n in graph.nodes
                                    if n.op == "call_module")
        self.used = {n.target for n in graph.nodes if n.op == "call_module"}
        if self.input_name in self.used:
            raise ExportError(["the input name '%s' is also a module path; "
                               "choose another with --input-name"
                               % self.input_name])
        self.used.add(self.input_name)
        self.seen_calls = collections.Counter()
        self.calls = calls
        for node in graph.nodes:
            try:
                self.visit(node)
            except Unmappable as e:
                scope = node.meta.get("scope") or ""
                where = " at %s" % scope if scope else ""
                self.errors.append("cannot map node '%s' (%s)%s; %s" % (
                    node.name, describe(node), where, e))
                self.names[node] = "<%s>" % node.name
        if self.errors:
            raise ExportError(self.errors)
        self.warn_unused()
        return self

    def warn_unused(self):
        """Modules with parameters that the traced forward never calls
        (GoogLeNet's aux classifiers in eval mode) are not exported."""
        modules = set(self.owner.values())
        unused = collections.OrderedDict()
        for key, p in self.model.named_parameters():
            prefix = key.rpartition(".")[0]
            if prefix not in modules:
                # the outermost module none of whose submodules is used
                parts = prefix.split(".")
                for n in range(1, len(parts) + 1):
                    top = ".".join(parts[:n])
                    if not any(m == top or m.startswith(top + ".")
                               for m in modules):
                        break
                unused[top] = unused.get(top, 0) + p.numel()
        for prefix, count in unused.items():
            self.warnings.append(
                "'%s' is never called by the traced forward; its %s "
                "parameters are not exported" % (prefix or "<root>",
                                                 format(count, ",")))

    def visit(self, node):
        if node.op == "placeholder":
            if not node.args:  # else an argument fixed at its default
                self.names[node] = self.prev = self.input_name
        elif node.op == "output":
            self.outputs = [self.name_of(self.tensor(v))
                            for v in flatten_output(node.args[0])]
        elif node.op == "get_attr":
            raise Unmappable("netc reads parameters only through nn.Conv2d, "
                             "nn.BatchNorm2d and nn.Linear modules")
        elif "shape" not in node.meta:
            pass  # a size or shape value: read by the reshape it feeds
        elif node.op == "call_module":
            self.visit_module(node)
        else:
            result = functions.map_call(self, node)
            if isinstance(result, Alias):
                self.names[node] = self.name_of(result.source)
                return
            layers = result if isinstance(result, list) else [result]
            base = re.sub(r"_\d+$", "", node.name)
            scope = node.meta.get("scope") or ""
            stem = "%s.%s" % (scope, base) if scope else base
            for layer in layers:
                name = self.unique(stem + layer.suffix)
                sources = [self.prev if s is None else self.name_of(s)
                           for s in layer.sources]
                self.emit(name, layer.op, layer.args, sources)
            self.names[node] = name

    def visit_module(self, node):
        if not self.is_tensor(node):
            raise Unmappable("the module returns several values")
        module = self.gm.get_submodule(node.target)
        op, args = map_module(module)
        self.seen_calls[node.target] += 1
        call = self.seen_calls[node.target]
        if call == 1:
            name = node.target
        else:
            has_state = any(True for _ in module.parameters()) or \
                any(b is not None for b in module.buffers())
            if has_state:
                raise Unmappable(
                    "module '%s' has parameters and is called %d times; "
                    "netc layers do not share weights" % (
                        node.target, self.calls[node.target]))
            name = self.unique("%s_%d" % (node.target, call - 1))
        if len(node.args) != 1 or node.kwargs:
            raise Unmappable("the module is called with more than one input")
        sources = [self.name_of(self.tensor(node.args[0]))]
        self.emit(name, op, args, sources)
        self.owner[name] = node.target
        self.names[node] = name

    def name_of(self, node):
        return self.names[node]

    def unique(self, name):
        candidate, k = name, 0
        while candidate in self.used:
            k += 1
            candidate = "%s_%d" % (name, k)
        self.used.add(candidate)
        return candidate

    def emit(self, name, op, args, sources):
        layer = {"name": name, "op": op}
        if op in ("Add", "Cat"):
            layer["from"] = sources
        elif sources[0] != self.prev:
            layer["from"] = sources[0]
        layer.update(args)
        self.layers.append(layer)
        self.prev = name

    # --- results ----------------------------------------------------------

    def state(self):
        """The tensors netc loads: the state_dict entries of the modules
        that became layers, as float32; num_batches_tracked is left out."""
        modules = set(self.owner.values())
        out = collections.OrderedDict()
        for key, value in self.model.state_dict().items():
            prefix, _, leaf = key.rpartition(".")
            if leaf == "num_batches_tracked":
                continue
            if prefix not in modules:
                continue  # warn_unused said so
            out[key] = value.detach().to(torch.float32).contiguous()
        return out


def first_line(e):
    text = str(e).strip()
    return "%s: %s" % (type(e).__name__, text.splitlines()[0] if text else "")


def flatten_output(value):
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in flatten_output(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in flatten_output(item)]
    return [value]
