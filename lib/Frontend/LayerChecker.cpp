//===- LayerChecker.cpp - Check one layer and build its op ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file checks one leaf layer: it converts the bound arguments into the
// ShapeUtils attribute struct of its op, runs PyTorch's shape rules, reports
// each problem at the argument it blames with a note at the layer that
// produced the other number, records the summary row, and builds the nn op
// while the model is still free of errors.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "netc/Dialect/NN/IR/NNOps.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace netc;
using llvm::formatv;

namespace {
/// Reports ShapeUtils problems at the YAML key they blame.
class LayerDiagnostics : public nn::ShapeDiagnostics {
public:
  LayerDiagnostics(Importer &im, const LayerDecl &decl, const LayerArgs &args,
                   llvm::ArrayRef<const ValueInfo *> inputs)
      : im(im), decl(decl), args(args), inputs(inputs) {}

  /// Where problems that blame `arg` are reported.
  SourcePos posOf(llvm::StringRef arg, int operand = -1) const {
    if (arg == "from" && operand >= 0 &&
        size_t(operand) < decl.inputPos.size())
      return decl.inputPos[operand];
    if (arg == "from")
      return decl.fromPos;
    if (!arg.empty() && args.has(arg))
      return args.get(arg).pos;
    return decl.node->pos;
  }

protected:
  void handle(const nn::ShapeProblem &p) override {
    SourcePos pos = posOf(p.arg, p.operand);
    std::vector<Importer::Note> notes;
    if (p.operand >= 0 && size_t(p.operand) < inputs.size()) {
      const ValueInfo &in = *inputs[p.operand];
      if (p.operandDim >= 0 && size_t(p.operandDim) < in.origins.size() &&
          in.origins[p.operandDim].pos.line)
        notes.push_back({in.origins[p.operandDim].pos,
                         in.origins[p.operandDim].text});
      else
        notes.push_back({in.producerPos,
                         formatv("'{0}' produces {1}", in.producer,
                                 nn::formatShape(in.shape))});
    }
    for (const std::string &fix : p.fixits)
      notes.push_back({pos, fix});
    addKeepSizeFixit(p, notes);
    // "layer 'fc' expects ..." reads as a sentence; other facts get a colon.
    llvm::StringRef m = p.message;
    bool verb = m.startswith("expects ") || m.startswith("has ") ||
                m.startswith("normalises ") || m.startswith("does ");
    std::string text =
        formatv("layer '{0}'{1}{2}", decl.name, verb ? " " : ": ", m);
    if (p.severity == nn::ShapeProblem::Severity::Error)
      im.error(pos, text, notes);
    else
      im.warning(pos, text, notes);
  }

private:
  /// For sizes that differ at a spatial dimension of a residual Add or Cat:
  /// if the other operand came from a stride-1 Conv2d whose padding shrank
  /// its input to this size, name the padding that keeps the size.
  void addKeepSizeFixit(const nn::ShapeProblem &p,
                        std::vector<Importer::Note> &notes) const {
    if (p.arg != "from" || p.operand < 1 || size_t(p.operand) >= inputs.size())
      return;
    const ValueInfo &first = *inputs.front();
    for (const ValueInfo *v : {inputs[p.operand], &first}) {
      const ValueInfo &other = v == &first ? *inputs[p.operand] : first;
      if (!v->keepPadding || v->convInput.size() != other.shape.size() ||
          other.shape.size() < 3)
        continue;
      size_t r = other.shape.size();
      bool keeps = true;
      for (size_t i = r - 2; i < r; ++i)
        keeps &= v->convInput[i].sameAs(other.shape[i]) == true;
      if (!keeps)
        continue;
      const nn::Pair &k = *v->keepPadding;
      notes.push_back(
          {v->paddingPos,
           formatv("`padding: {0}` on '{1}' keeps {2}x{3}",
                   k[0] == k[1] ? std::to_string(k[0])
                                : formatv("[{0}, {1}]", k[0], k[1]).str(),
                   v->producer, other.shape[r - 2].str(),
                   other.shape[r - 1].str())});
      return;
    }
  }

  Importer &im;
  const LayerDecl &decl;
  const LayerArgs &args;
  llvm::ArrayRef<const ValueInfo *> inputs;
};
} // namespace

static nn::PaddingMode paddingModeOf(llvm::StringRef s) {
  return llvm::StringSwitch<nn::PaddingMode>(s)
      .Case("reflect", nn::PaddingMode::Reflect)
      .Case("replicate", nn::PaddingMode::Replicate)
      .Case("circular", nn::PaddingMode::Circular)
      .Default(nn::PaddingMode::Zeros);
}

/// The stride of a pooling layer: PyTorch's None means kernel_size.
static nn::Pair poolStride(const LayerArgs &args) {
  const BoundArg &s = args.get("stride");
  return s.isNull ? args.get("kernel_size").pair : s.pair;
}

/// Writes out PyTorch's sliding-window formula with this layer's numbers;
/// with ceil_mode, says when the rule that drops a last window starting in
/// the right padding removed one.
static void explainWindow(LayerSummary &row, llvm::ArrayRef<nn::Dim> in,
                          llvm::ArrayRef<nn::Dim> out, const nn::Pair &kernel,
                          const nn::Pair &stride, const nn::Pair &dilation,
                          const nn::Pair &padLo, const nn::Pair &padHi,
                          bool ceilMode) {
  if (in.size() < 3 || out.size() != in.size())
    return;
  for (unsigned i = 0; i < 2; ++i) {
    unsigned d = in.size() - 2 + i;
    bool dropped = false;
    if (ceilMode && in[d].isKnown() && out[d].isKnown() && stride[i] > 0) {
      __int128 span = (__int128)in[d].value() + padLo[i] + padHi[i] -
                      (__int128)dilation[i] * (kernel[i] - 1) - 1 +
                      stride[i] - 1;
      __int128 q = span / stride[i];
      if (span % stride[i] != 0 && span < 0)
        --q;
      dropped = q + 1 != out[d].value();
    }
    row.formulas.push_back(formatv(
        "{0}: out = {1}((in + pad_before + pad_after - dilation * (kernel - "
        "1) - 1) / stride{2}) + 1 = {1}(({3} + {4} + {5} - {6} * ({7} - 1) - "
        "1) / {8}) + 1 = {9}{10}",
        i == 0 ? "height" : "width", ceilMode ? "ceil" : "floor", "",
        in[d].str(), padLo[i], padHi[i], dilation[i], kernel[i], stride[i],
        out[d].str(),
        dropped ? " (a last window starting in the right padding is "
                  "dropped)"
                : ""));
  }
}

/// Says what a stride-1 Conv2d's padding does to the size, the lesson's
/// "padding=2 keeps 28x28 for a 5x5 kernel": a kernel reaches
/// dilation * (kernel - 1) past one output position, and the padding gives
/// those rows and columns back or not.
static void explainConvPadding(LayerSummary &row, llvm::ArrayRef<nn::Dim> in,
                               const nn::Conv2dAttrs &a,
                               const nn::Padding4 &pad) {
  if (in.size() < 3 || a.stride != nn::Pair{1, 1} ||
      a.paddingMode != nn::PaddingMode::Zeros)
    return;
  const nn::Dim &h = in[in.size() - 2], &w = in[in.size() - 1];
  if (!h.isKnown() || !w.isKnown())
    return;
  // Sizes that a model can run with; beyond them (a diagnostic says why)
  // the sums below could overflow.
  const int64_t limit = int64_t(1) << 30;
  for (int64_t v : {h.value(), w.value(), a.kernel[0], a.kernel[1],
                    a.dilation[0], a.dilation[1], pad[0], pad[1], pad[2],
                    pad[3]})
    if (v < 0 || v > limit)
      return;
  int64_t reach[2] = {a.dilation[0] * (a.kernel[0] - 1),
                      a.dilation[1] * (a.kernel[1] - 1)};
  int64_t added[2] = {pad[0] + pad[1], pad[2] + pad[3]};
  std::string padding =
      pad[0] == pad[1] && pad[1] == pad[2] && pad[2] == pad[3]
          ? formatv("padding {0} on each side", pad[0]).str()
          : formatv("padding {0}+{1} rows and {2}+{3} columns", pad[0],
                    pad[1], pad[2], pad[3])
                .str();
  auto count = [](int64_t n, llvm::StringRef what) {
    return formatv("{0} {1}{2}", n, what, n == 1 ? "" : "s").str();
  };
  std::string text = formatv(
      "padding: a {0}x{1} kernel{2} reaches dilation * (kernel - 1) = {3} "
      "and {4} past one output position; ",
      a.kernel[0], a.kernel[1],
      a.dilation == nn::Pair{1, 1}
          ? std::string()
          : formatv(" with dilation {0}x{1}", a.dilation[0], a.dilation[1])
                .str(),
      count(reach[0], "row"), count(reach[1], "column"));
  int64_t outH = h.value() + added[0] - reach[0];
  int64_t outW = w.value() + added[1] - reach[1];
  if (added[0] == reach[0] && added[1] == reach[1]) {
    text += formatv("{0} gives them back, so the output keeps {1}x{2}",
                    padding, h.value(), w.value());
    if (reach[0] || reach[1])
      text += formatv(" (with padding 0 it would be {0}x{1})",
                      h.value() - reach[0], w.value() - reach[1]);
  } else {
    text += added[0] || added[1]
                ? formatv("{0} adds {1} and {2}", padding,
                          count(added[0], "row"), count(added[1], "column"))
                      .str()
                : std::string("no padding gives them back");
    text += formatv(", so {0}x{1} becomes {2}x{3}", h.value(), w.value(),
                    outH, outW);
    if (reach[0] % 2 == 0 && reach[1] % 2 == 0)
      text += formatv("; `padding: {0}` would keep {1}x{2}",
                      reach[0] == reach[1]
                          ? std::to_string(reach[0] / 2)
                          : formatv("[{0}, {1}]", reach[0] / 2, reach[1] / 2)
                                .str(),
                      h.value(), w.value());
    else
      text += formatv("; an odd reach cannot be split evenly: `padding: "
                      "same` pads one more after than before and keeps {0}x{1}",
                      h.value(), w.value());
  }
  row.formulas.push_back(std::move(text));
}

unsigned Importer::checkLayer(const LayerDecl &decl, const LayerArgs &args) {
  llvm::SmallVector<const ValueInfo *, 2> ins;
  bool poisoned = false;
  for (unsigned id : decl.inputs) {
    ins.push_back(&values[id]);
    poisoned |= values[id].poisoned;
  }
  const ValueInfo &in = *ins.front();
  llvm::StringRef opName = decl.spec->name;
  // A poisoned input has no known shape. The window and matrix ops still
  // run their construction checks against a shape of unknown sizes, whose
  // every shape-dependent check passes; the rank is the usual one.
  auto inputShape = [&](size_t rank) -> nn::Shape {
    if (!poisoned)
      return in.shape;
    return nn::Shape(rank, nn::Dim::unknown());
  };
  LayerDiagnostics diag(*this, decl, args, ins);
  mlir::MLIRContext *ctx = context;
  auto i64 = [&](int64_t v) { return builder.getI64IntegerAttr(v); };
  auto pairAttr = [&](const nn::Pair &p) {
    return builder.getI64ArrayAttr({p[0], p[1]});
  };

  ValueInfo out;
  out.producer = decl.name;
  out.producerPos = decl.node->pos;
  out.batched = in.batched;
  out.poisoned = poisoned;
  LayerSummary row;
  row.name = decl.name;
  row.op = opName.str();
  currentProblems = &row.problems;
  if (currentStack && !currentStack->empty()) {
    // One entry per block instance, shared by its layers.
    if (currentStackId < 0) {
      currentStackId = int(info.instantiations.size());
      auto &entry = info.instantiations.emplace_back();
      for (const Instantiation &inst : llvm::reverse(*currentStack))
        entry.push_back({inst.text, inst.pos.line});
    }
    row.instantiation = currentStackId;
  }
  nn::LayerStats &stats = row.stats;
  stats.receptiveField = in.receptiveField;
  stats.jump = in.jump;
  for (const ValueInfo *v : ins)
    for (unsigned i = 0; i < 2; ++i) {
      stats.receptiveField[i] =
          std::max(stats.receptiveField[i], v->receptiveField[i]);
      stats.jump[i] = std::max(stats.jump[i], v->jump[i]);
    }

  mlir::NamedAttrList attrs;
  attrs.append("name", builder.getStringAttr(decl.name));
  std::string mnemonic;
  /// A dimension of the output set by this layer, with its note.
  auto setOrigin = [&](unsigned dim, SourcePos pos) {
    if (dim < out.origins.size())
      out.origins[dim] = {pos, formatv("layer '{0}' outputs {1}", decl.name,
                                       describeDim(out.shape, dim,
                                                   out.batched))};
  };
  /// Starts the output's origins as the input's (for same-rank ops).
  auto inheritOrigins = [&]() {
    out.origins.assign(out.shape.size(), Origin());
    if (in.origins.size() == out.shape.size())
      out.origins = in.origins;
  };
  auto spatialOrigins = [&](SourcePos pos) {
    if (out.shape.size() >= 3)
      for (unsigned i = out.shape.size() - 2; i < out.shape.size(); ++i)
        setOrigin(i, pos);
  };

  if (opName == "Conv2d") {
    nn::Conv2dAttrs a;
    a.inChannels = args.get("in_channels").integer;
    a.outChannels = args.get("out_channels").integer;
    a.kernel = args.get("kernel_size").pair;
    a.stride = args.get("stride").pair;
    a.dilation = args.get("dilation").pair;
    a.groups = args.get("groups").integer;
    a.bias = args.get("bias").boolean;
    a.paddingKind = args.get("padding").padding;
    a.padding = args.get("padding").pair;
    a.paddingMode = paddingModeOf(args.get("padding_mode").text);
    out.shape = nn::inferConv2d(a, inputShape(4), diag);
    inheritOrigins();
    if (out.shape.size() >= 3)
      setOrigin(out.shape.size() - 3, args.get("out_channels").pos);
    spatialOrigins(decl.node->pos);
    nn::Padding4 pad = nn::resolveConvPadding(a);
    if (a.paddingKind == nn::PaddingKind::Same &&
        (pad[0] != pad[1] || pad[2] != pad[3]))
      diag.warning("padding",
                   formatv("padding='same' with kernel_size={0}x{1} pads "
                           "asymmetrically: {2} before and {3} after in "
                           "height, {4} and {5} in width",
                           a.kernel[0], a.kernel[1], pad[0], pad[1], pad[2],
                           pad[3])
                       .str());
    explainWindow(row, in.shape, out.shape, a.kernel, a.stride, a.dilation,
                  {pad[0], pad[2]}, {pad[1], pad[3]}, false);
    explainConvPadding(row, in.shape, a, pad);
    // The lesson's form: each filter has in_channels / groups * kH * kW
    // weights and one bias.
    row.formulas.push_back(formatv(
        "params = {0}in_channels / groups * kH * kW{1}) * out_channels = "
        "{0}{2} / {3} * {4} * {5}{6}) * {7} = {8}",
        "(", a.bias ? " + 1" : "", a.inChannels, a.groups, a.kernel[0],
        a.kernel[1], a.bias ? " + 1" : "", a.outChannels,
        nn::countConv2dParams(a)));
    row.tensors.push_back(
        formatv("weight: [out_channels, in_channels / groups, kH, kW] = "
                "[{0}, {1}, {2}, {3}]",
                a.outChannels, a.groups ? a.inChannels / a.groups : 0,
                a.kernel[0], a.kernel[1]));
    if (a.bias)
      row.tensors.push_back(
          formatv("bias: [out_channels] = [{0}]", a.outChannels));
    stats.params = nn::countConv2dParams(a);
    stats.macs = nn::conv2dMacs(a, out.shape, out.batched);
    nn::applyWindow(stats, in.receptiveField, in.jump,
                    {a.dilation[0] * (a.kernel[0] - 1) + 1,
                     a.dilation[1] * (a.kernel[1] - 1) + 1},
                    a.stride);
    out.convBias = a.bias;
    out.biasPos = args.get("bias").pos;
    if (a.stride == nn::Pair{1, 1} && a.kernel[0] % 2 == 1 &&
        a.kernel[1] % 2 == 1 && a.paddingMode == nn::PaddingMode::Zeros) {
      nn::Pair keep{a.dilation[0] * (a.kernel[0] - 1) / 2,
                    a.dilation[1] * (a.kernel[1] - 1) / 2};
      if (keep != nn::Pair{pad[0], pad[2]}) {
        out.keepPadding = keep;
        out.convInput = in.shape;
        out.paddingPos = args.get("padding").pos;
      }
    }
    mnemonic = "conv2d";
    attrs.append("in_channels", i64(a.inChannels));
    attrs.append("out_channels", i64(a.outChannels));
    attrs.append("kernel_size", pairAttr(a.kernel));
    attrs.append("stride", pairAttr(a.stride));
    attrs.append("padding", builder.getI64ArrayAttr(
                                {pad[0], pad[1], pad[2], pad[3]}));
    attrs.append("dilation", pairAttr(a.dilation));
    attrs.append("groups", i64(a.groups));
    attrs.append("bias", builder.getBoolAttr(a.bias));
    attrs.append("padding_mode",
                 builder.getStringAttr(args.get("padding_mode").text));
  } else if (opName == "BatchNorm2d") {
    nn::BatchNorm2dAttrs a;
    a.numFeatures = args.get("num_features").integer;
    a.eps = args.get("eps").real;
    a.momentum = args.get("momentum").isNull ? 0.0 : args.get("momentum").real;
    a.affine = args.get("affine").boolean;
    a.trackRunningStats = args.get("track_running_stats").boolean;
    out.shape = nn::inferBatchNorm2d(a, inputShape(4), diag);
    inheritOrigins();
    if (in.convBias && (a.affine || a.trackRunningStats) &&
        in.shape.size() == 4)
      warning(in.biasPos,
              formatv("layer '{0}' has a bias that BatchNorm2d '{1}' cancels "
                      "out",
                      in.producer, decl.name),
              {{in.biasPos, "set `bias: false` to save its parameters"},
               {decl.node->pos,
                formatv("'{0}' subtracts the channel mean here", decl.name)}});
    row.formulas.push_back(formatv(
        "params = {0} = {1}; buffers (running_mean, running_var) = {2} = {3}",
        a.affine ? "2 * num_features (weight, bias)" : "0 (affine=false)",
        nn::countBatchNorm2dParams(a),
        a.trackRunningStats ? "2 * num_features" : "0", 
        nn::countBatchNorm2dBuffers(a)));
    for (const char *t : {"weight", "bias"})
      if (a.affine)
        row.tensors.push_back(
            formatv("{0}: [num_features] = [{1}]", t, a.numFeatures));
    for (const char *t : {"running_mean", "running_var"})
      if (a.trackRunningStats)
        row.tensors.push_back(formatv("{0}: [num_features] = [{1}] (a buffer)",
                                      t, a.numFeatures));
    stats.params = nn::countBatchNorm2dParams(a);
    stats.buffers = nn::countBatchNorm2dBuffers(a);
    stats.macs = nn::elementwiseMacs(out.shape, out.batched);
    mnemonic = "batch_norm2d";
    attrs.append("num_features", i64(a.numFeatures));
    attrs.append("eps", builder.getF64FloatAttr(a.eps));
    attrs.append("momentum", builder.getF64FloatAttr(a.momentum));
    attrs.append("affine", builder.getBoolAttr(a.affine));
    attrs.append("track_running_stats",
                 builder.getBoolAttr(a.trackRunningStats));
  } else if (opName == "MaxPool2d" || opName == "AvgPool2d") {
    bool isMax = opName == "MaxPool2d";
    nn::Pool2dAttrs a;
    a.kind = isMax ? nn::PoolKind::Max : nn::PoolKind::Avg;
    a.kernel = args.get("kernel_size").pair;
    a.stride = poolStride(args);
    a.strideIsKernel = args.get("stride").isNull;
    a.padding = args.get("padding").pair;
    a.ceilMode = args.get("ceil_mode").boolean;
    if (isMax) {
      a.dilation = args.get("dilation").pair;
      if (args.get("return_indices").boolean)
        diag.error("return_indices",
                   "return_indices=true is not supported: a netc layer has "
                   "one output");
    } else {
      a.countIncludePad = args.get("count_include_pad").boolean;
      if (!args.get("divisor_override").isNull)
        a.divisorOverride = args.get("divisor_override").integer;
    }
    out.shape = nn::inferPool2d(a, inputShape(4), diag);
    inheritOrigins();
    explainWindow(row, in.shape, out.shape, a.kernel, a.stride, a.dilation,
                  a.padding, a.padding, a.ceilMode);
    spatialOrigins(decl.node->pos);
    nn::applyWindow(stats, in.receptiveField, in.jump,
                    {a.dilation[0] * (a.kernel[0] - 1) + 1,
                     a.dilation[1] * (a.kernel[1] - 1) + 1},
                    a.stride);
    mnemonic = isMax ? "max_pool2d" : "avg_pool2d";
    attrs.append("kernel_size", pairAttr(a.kernel));
    attrs.append("stride", pairAttr(a.stride));
    attrs.append("padding", pairAttr(a.padding));
    attrs.append("ceil_mode", builder.getBoolAttr(a.ceilMode));
    if (isMax) {
      attrs.append("dilation", pairAttr(a.dilation));
    } else {
      attrs.append("count_include_pad", builder.getBoolAttr(a.countIncludePad));
      if (a.divisorOverride)
        attrs.append("divisor_override", i64(*a.divisorOverride));
    }
  } else if (opName == "AdaptiveAvgPool2d") {
    nn::AdaptiveAvgPool2dAttrs a;
    const BoundArg &size = args.get("output_size");
    a.outputSize = size.outputSize;
    a.scalar = size.scalar;
    out.shape = nn::inferAdaptiveAvgPool2d(a, inputShape(4), diag);
    inheritOrigins();
    spatialOrigins(size.pos);
    for (unsigned i = 0; i < 2; ++i)
      if (a.outputSize[i] == 0)
        diag.warning("output_size", "output_size 0 gives an empty output; "
                                    "PyTorch accepts it");
    // Each output averages a bin of at most ceil(in/out) inputs.
    nn::Pair kernel{1, 1}, stride{1, 1};
    for (unsigned i = 0; i < 2 && in.shape.size() >= 2; ++i) {
      const nn::Dim &d = in.shape[in.shape.size() - 2 + i];
      int64_t o = a.outputSize[i].value_or(d.isKnown() ? d.value() : 1);
      if (d.isKnown() && o > 0) {
        kernel[i] = (d.value() + o - 1) / o;
        stride[i] = std::max<int64_t>(d.value() / o, 1);
      }
    }
    nn::applyWindow(stats, in.receptiveField, in.jump, kernel, stride);
    mnemonic = "adaptive_avg_pool2d";
    attrs.append("output_size",
                 builder.getI64ArrayAttr({a.outputSize[0].value_or(-1),
                                          a.outputSize[1].value_or(-1)}));
  } else if (opName == "Linear") {
    nn::LinearAttrs a;
    a.inFeatures = args.get("in_features").integer;
    a.outFeatures = args.get("out_features").integer;
    a.bias = args.get("bias").boolean;
    out.shape = nn::inferLinear(a, inputShape(2), diag);
    inheritOrigins();
    if (!out.shape.empty())
      setOrigin(out.shape.size() - 1, args.get("out_features").pos);
    if (a.inFeatures == 0 || a.outFeatures == 0)
      diag.warning(a.inFeatures == 0 ? "in_features" : "out_features",
                   "has zero features; PyTorch accepts it and computes an "
                   "empty or constant output");
    row.formulas.push_back(
        formatv("params = in_features * out_features{0} = {1} * {2}{3} = {4}",
                a.bias ? " + out_features" : "", a.inFeatures, a.outFeatures,
                a.bias ? formatv(" + {0}", a.outFeatures).str() : "",
                nn::countLinearParams(a)));
    row.tensors.push_back(formatv(
        "weight: [out_features, in_features] = [{0}, {1}]", a.outFeatures,
        a.inFeatures));
    if (a.bias)
      row.tensors.push_back(
          formatv("bias: [out_features] = [{0}]", a.outFeatures));
    stats.params = nn::countLinearParams(a);
    stats.macs = nn::linearMacs(a, out.shape, out.batched);
    mnemonic = "linear";
    attrs.append("in_features", i64(a.inFeatures));
    attrs.append("out_features", i64(a.outFeatures));
    attrs.append("bias", builder.getBoolAttr(a.bias));
  } else if (opName == "Flatten") {
    nn::FlattenAttrs a;
    a.startDim = args.get("start_dim").integer;
    a.endDim = args.get("end_dim").integer;
    if (!poisoned)
      out.shape = nn::inferFlatten(a, in.shape, diag);
    // Dimensions outside the flattened range keep their origins.
    out.origins.assign(out.shape.size(), Origin());
    std::optional<int64_t> start = nn::wrapDim(a.startDim, in.shape.size());
    // Flattening the batch makes it a feature: [N, 3, 4, 4] -> [N*48].
    if (start && *start == 0 && !poisoned)
      out.batched = false;
    if (start && !poisoned && !diag.hadError() && !in.shape.empty()) {
      for (int64_t i = 0; i < *start; ++i)
        out.origins[i] = in.origins[i];
      size_t tail = out.shape.size() - *start - 1;
      for (size_t k = 0; k < tail; ++k)
        out.origins[out.shape.size() - 1 - k] =
            in.origins[in.shape.size() - 1 - k];
      out.origins[*start] = {
          decl.node->pos,
          formatv("layer '{0}' flattens {1} into {2}", decl.name,
                  nn::formatShape(in.shape),
                  describeDim(out.shape, *start, out.batched))};
    }
    mnemonic = "flatten";
    attrs.append("start_dim", i64(a.startDim));
    attrs.append("end_dim", i64(a.endDim));
  } else if (opName == "Softmax") {
    const BoundArg &dimArg = args.get("dim");
    std::optional<int64_t> dim;
    if (!dimArg.isNull)
      dim = dimArg.integer;
    int64_t resolved = 0;
    if (!poisoned)
      out.shape = nn::inferSoftmax(dim, in.shape, resolved, diag);
    inheritOrigins();
    mnemonic = "softmax";
    attrs.append("dim", i64(resolved));
  } else if (opName == "Add" || opName == "Cat") {
    llvm::SmallVector<nn::Shape, 2> shapes;
    for (const ValueInfo *v : ins)
      shapes.push_back(v->shape);
    bool isCat = opName == "Cat";
    if (!poisoned) {
      if (isCat)
        out.shape = nn::inferCat(args.get("dim").integer, shapes, diag);
      else
        out.shape = nn::inferAdd(shapes, diag);
    }
    inheritOrigins();
    if (isCat) {
      if (auto d = nn::wrapDim(args.get("dim").integer, out.shape.size()))
        setOrigin(*d, decl.node->pos);
      attrs.append("dim", i64(args.get("dim").integer));
    }
    mnemonic = isCat ? "cat" : "add";
  } else {
    // Elementwise ops: the shape passes through.
    out.shape = in.shape;
    out.origins = in.origins;
    if (opName == "GELU") {
      nn::checkGelu(args.get("approximate").text, diag);
      attrs.append("approximate",
                   builder.getStringAttr(args.get("approximate").text));
    } else if (opName == "Dropout") {
      nn::checkDropout(args.get("p").real, diag);
      attrs.append("p", builder.getF64FloatAttr(args.get("p").real));
    } else if (opName == "LeakyReLU") {
      attrs.append("negative_slope",
                   builder.getF64FloatAttr(args.get("negative_slope").real));
    } else if (opName == "Identity") {
      for (const auto &entry : decl.node->entries)
        if (entry.first.isString() && entry.first.text != "name" &&
            entry.first.text != "op" && entry.first.text != "from") {
          diag.warning("", "Identity ignores its arguments, as PyTorch does");
          break;
        }
    }
    mnemonic = llvm::StringSwitch<std::string>(opName)
                   .Case("ReLU", "relu")
                   .Case("ReLU6", "relu6")
                   .Case("SiLU", "silu")
                   .Case("Sigmoid", "sigmoid")
                   .Case("Tanh", "tanh")
                   .Case("Hardswish", "hardswish")
                   .Case("GELU", "gelu")
                   .Case("LeakyReLU", "leaky_relu")
                   .Case("Identity", "identity")
                   .Case("Dropout", "dropout")
                   .Default("");
    assert(!mnemonic.empty() && "every op of the schema is handled");
  }
  diag.flush();

  if (poisoned || diag.hadError()) {
    // Keep what is known so later layers are still checked.
    if (diag.hadError())
      building = false;
  }
  out.receptiveField = stats.receptiveField;
  out.jump = stats.jump;

  if (building && errors == 0 && !poisoned) {
    llvm::SmallVector<mlir::Value, 2> operands;
    for (const ValueInfo *v : ins)
      operands.push_back(v->value);
    mlir::OperationState state(namedLoc(decl.name, decl.node->pos),
                               "nn." + mnemonic);
    state.addOperands(operands);
    state.addAttributes(attrs);
    state.addTypes(nn::tensorTypeOf(out.shape, ctx));
    out.value = builder.createOperation(state)->getResult(0);
  }

  row.shape = out.shape;
  row.inputShape = in.shape;
  row.line = decl.node->pos.line;
  row.column = decl.node->pos.column;
  out.layer = layerInputs.size();
  layerInputs.push_back(decl.inputs);
  layerPos.push_back(decl.node->pos);
  currentProblems = nullptr;
  info.layers.push_back(std::move(row));
  values.push_back(std::move(out));
  return values.size() - 1;
}
