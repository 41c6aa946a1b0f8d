//===- ShapeUtils.cpp - PyTorch shape rules for nn ops --------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the shape formulas and checks of PyTorch 1.13 for the
// ops of the nn dialect. Each rule cites the PyTorch check it mirrors, so a
// reader can compare; docs/PyTorchOracle.md lists the rules as measured.
// Messages are written to follow "layer 'NAME' " in the front end and
// "'nn.OP' op " in a verifier.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/IR/ShapeUtils.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace netc;
using namespace netc::nn;
using llvm::formatv;

//===----------------------------------------------------------------------===//
// Dim
//===----------------------------------------------------------------------===//

Dim Dim::known(int64_t value) {
  Dim d;
  d.kind = Kind::Known;
  d.coef = value;
  return d;
}

Dim Dim::symbol(llvm::StringRef name, bool isBatch) {
  Dim d;
  d.kind = Kind::Monomial;
  d.dependsOnBatch = isBatch;
  d.coef = 1;
  d.symbols.push_back(name.str());
  return d;
}

Dim Dim::expression(llvm::StringRef text) {
  Dim d;
  d.kind = Kind::Expression;
  d.text = text.str();
  return d;
}

Dim Dim::unknown() {
  Dim d;
  d.kind = Kind::Unknown;
  return d;
}

std::string Dim::str() const {
  switch (kind) {
  case Kind::Known:
    return std::to_string(coef);
  case Kind::Unknown:
    return "?";
  case Kind::Expression:
    return text;
  case Kind::Monomial: {
    std::string s = llvm::join(symbols, "*");
    if (coef != 1)
      s += "*" + std::to_string(coef);
    return s;
  }
  }
  return "?";
}

std::optional<bool> Dim::sameAs(const Dim &other) const {
  if (isKnown() && other.isKnown())
    return coef == other.coef;
  if (isUnknown() || other.isUnknown())
    return std::nullopt;
  if (kind == other.kind && str() == other.str())
    return true;
  if ((isKnown() && other.dependsOnBatch) ||
      (other.isKnown() && dependsOnBatch))
    return false;
  return std::nullopt;
}

Dim Dim::multiply(const Dim &lhs, const Dim &rhs, bool &overflow) {
  if (lhs.isUnknown() || rhs.isUnknown())
    return unknown();
  if (lhs.isKnown() && rhs.isKnown()) {
    int64_t r;
    if (__builtin_mul_overflow(lhs.coef, rhs.coef, &r)) {
      overflow = true;
      return unknown();
    }
    return known(r);
  }
  // A known zero absorbs any symbol.
  if ((lhs.isKnown() && lhs.coef == 0) || (rhs.isKnown() && rhs.coef == 0))
    return known(0);
  bool batch = lhs.dependsOnBatch || rhs.dependsOnBatch;
  if (lhs.kind == Kind::Expression || rhs.kind == Kind::Expression) {
    auto wrap = [](const Dim &d) {
      return d.kind == Kind::Expression ? "(" + d.text + ")" : d.str();
    };
    Dim d = expression(wrap(lhs) + "*" + wrap(rhs));
    d.dependsOnBatch = batch;
    return d;
  }
  Dim d;
  d.kind = Kind::Monomial;
  d.dependsOnBatch = batch;
  if (__builtin_mul_overflow(lhs.coef, rhs.coef, &d.coef)) {
    overflow = true;
    return unknown();
  }
  d.symbols = lhs.symbols;
  d.symbols.insert(d.symbols.end(), rhs.symbols.begin(), rhs.symbols.end());
  llvm::sort(d.symbols);
  return d;
}

std::string nn::formatShape(llvm::ArrayRef<Dim> shape) {
  std::string s = "[";
  llvm::interleave(
      shape, [&](const Dim &d) { s += d.str(); }, [&] { s += ", "; });
  return s + "]";
}

//===----------------------------------------------------------------------===//
// ShapeDiagnostics
//===----------------------------------------------------------------------===//

ShapeDiagnostics::~ShapeDiagnostics() = default;

void ShapeDiagnostics::report(ShapeProblem problem) {
  if (problem.severity == ShapeProblem::Severity::Error)
    ++errorCount;
  pending.push_back(std::move(problem));
}

ShapeProblem &ShapeDiagnostics::error(llvm::StringRef arg,
                                      std::string message) {
  ShapeProblem p;
  p.arg = arg.str();
  p.message = std::move(message);
  report(std::move(p));
  return pending.back();
}

ShapeProblem &ShapeDiagnostics::warning(llvm::StringRef arg,
                                        std::string message) {
  ShapeProblem p;
  p.severity = ShapeProblem::Severity::Warning;
  p.arg = arg.str();
  p.message = std::move(message);
  report(std::move(p));
  return pending.back();
}

void ShapeDiagnostics::flush() {
  std::vector<ShapeProblem> problems;
  problems.swap(pending);
  for (const ShapeProblem &p : problems)
    handle(p);
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// A pair as the model's YAML writes it: `3` when both items agree, else
/// `[1, 2]`; fix-its can be pasted into the file as they are.
static std::string fmtPair(const Pair &p) {
  if (p[0] == p[1])
    return std::to_string(p[0]);
  return formatv("[{0}, {1}]", p[0], p[1]).str();
}

/// The shortest decimal form of `v` that reads back as `v`: 1.5 is "1.5",
/// 1.0000001 is "1.0000001".
static std::string fmtReal(double v) {
  char buf[64];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

static std::string plural(int64_t n, llvm::StringRef one,
                          llvm::StringRef many) {
  return formatv("{0} {1}", n, n == 1 ? one : many).str();
}

static bool anyBelow(const Pair &p, int64_t bound) {
  return p[0] < bound || p[1] < bound;
}

/// Floor division as Python and PyTorch's div_rtn do.
static __int128 floorDiv(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

static bool fitsInt64(__int128 v) {
  return v >= std::numeric_limits<int64_t>::min() &&
         v <= std::numeric_limits<int64_t>::max();
}

/// The product of `dims`, or nullopt on 64-bit overflow.
static std::optional<int64_t> checkedProduct(llvm::ArrayRef<int64_t> dims) {
  int64_t r = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(r, d, &r))
      return std::nullopt;
  return r;
}

/// The spatial dimension `i` (0 = height) of a 3D or 4D NCHW/CHW shape.
static unsigned spatialIndex(llvm::ArrayRef<Dim> input, unsigned i) {
  return input.size() - 2 + i;
}

/// One spatial axis of a sliding window (convolution or pooling).
struct WindowAxis {
  int64_t kernel, stride, dilation, padLo, padHi;
  bool ceilMode = false;
};

/// PyTorch's output size for a sliding window on a known input size,
/// including the ceil_mode rule that drops a last window starting in the
/// right padding (pooling_output_shape_pad_lr). nullopt on overflow.
static std::optional<int64_t> windowOutput(int64_t in, const WindowAxis &a) {
  __int128 span = (__int128)in + a.padLo + a.padHi -
                  (__int128)a.dilation * (a.kernel - 1) - 1;
  if (a.ceilMode)
    span += a.stride - 1;
  __int128 out = floorDiv(span, a.stride) + 1;
  if (a.ceilMode && (out - 1) * a.stride >= (__int128)in + a.padLo)
    --out;
  if (!fitsInt64(out))
    return std::nullopt;
  return (int64_t)out;
}

/// The output size of a window on a symbolic input: an expression.
static Dim windowOutputSymbolic(const Dim &in, const WindowAxis &a) {
  int64_t shift = a.padLo + a.padHi - a.dilation * (a.kernel - 1) - 1;
  std::string base = in.str();
  if (base.find_first_of("+-*/") != std::string::npos)
    base = "(" + base + ")";
  if (a.stride == 1 && !a.ceilMode) {
    int64_t total = shift + 1;
    if (total == 0)
      return in;
    return Dim::expression(
        formatv("{0}{1}{2}", base, total > 0 ? "+" : "-", std::abs(total))
            .str());
  }
  std::string num = base;
  int64_t adj = shift + (a.ceilMode ? a.stride - 1 : 0);
  if (adj != 0)
    num = formatv("({0}{1}{2})", base, adj > 0 ? "+" : "-", std::abs(adj));
  return Dim::expression(formatv("{0}//{1}+1", num, a.stride).str());
}

static const char *axisName(unsigned i) { return i == 0 ? "height" : "width"; }

/// Checks that a window fits each spatial axis of `input` and computes the
/// output size; warns when the stride leaves real input rows or columns
/// unread at the end. `what` names the layer kind in messages.
static void slideWindow(llvm::ArrayRef<Dim> input,
                        const std::array<WindowAxis, 2> &axes, bool isConv,
                        Shape &out, ShapeDiagnostics &diag) {
  // Per axis, the padded input size as printed ("8", "(H+2)", "?") and the
  // dilated kernel size.
  std::array<std::string, 2> padded;
  Pair effective{0, 0};
  bool tooSmall = false, knownAll = true, overflowed = false;
  // The first axis the window does not fit, for the note.
  unsigned smallAxis = 0;
  for (unsigned i = 0; i < 2; ++i) {
    unsigned idx = spatialIndex(input, i);
    const Dim &in = input[idx];
    const WindowAxis &a = axes[i];
    __int128 eff = (__int128)a.dilation * (a.kernel - 1) + 1;
    effective[i] = fitsInt64(eff) ? (int64_t)eff : 0;
    if (in.isUnknown()) {
      out[idx] = Dim::unknown();
      padded[i] = "?";
      knownAll = false;
      continue;
    }
    if (!in.isKnown()) {
      out[idx] = windowOutputSymbolic(in, a);
      int64_t pads = a.padLo + a.padHi;
      padded[i] =
          pads ? formatv("({0}+{1})", in.str(), pads).str() : in.str();
      knownAll = false;
      continue;
    }
    std::optional<int64_t> o = windowOutput(in.value(), a);
    __int128 pad = (__int128)in.value() + a.padLo + a.padHi;
    if (!o || !fitsInt64(eff) || !fitsInt64(pad)) {
      // Reported once for the layer; this axis is checked no further.
      if (!overflowed)
        diag.error(!fitsInt64(pad)     ? "padding"
                   : a.dilation != 1 ? "dilation"
                                     : "kernel_size",
                   "shape arithmetic overflows 64 bits for this input");
      overflowed = true;
      out[idx] = Dim::unknown();
      padded[i] = "?";
      knownAll = false;
      continue;
    }
    padded[i] = std::to_string((int64_t)pad);
    // Conv's rule is "kernel no larger than the padded input"; pooling's is
    // "output size at least 1". Both reduce to the same inequality without
    // ceil_mode.
    if ((isConv && pad < eff) || (!isConv && *o < 1)) {
      if (!tooSmall)
        smallAxis = i;
      tooSmall = true;
      out[idx] = Dim::unknown();
      continue;
    }
    out[idx] = Dim::known(*o);
    // Rows past the last window that hold real input, not padding.
    if (a.kernel >= 1 && a.stride >= 1 && *o >= 1) {
      int64_t covered = (*o - 1) * a.stride + (int64_t)eff;
      int64_t unread = (int64_t)pad - covered - a.padHi;
      if (unread > 0 && eff >= a.stride)
        diag.warning("stride",
                     formatv("stride {0} leaves the last {1} of the {2} "
                             "input unread",
                             a.stride,
                             plural(unread, i == 0 ? "row" : "column",
                                    i == 0 ? "rows" : "columns"),
                             formatv("{0}x{1}", input[spatialIndex(input, 0)]
                                                    .str(),
                                     input[spatialIndex(input, 1)].str())
                                 .str())
                         .str());
    }
  }
  if (!tooSmall)
    return;
  std::string inHW = formatv("{0}x{1}", input[spatialIndex(input, 0)].str(),
                             input[spatialIndex(input, 1)].str());
  if (isConv) {
    ShapeProblem &p = diag.error(
        "kernel_size",
        formatv("kernel size {0}x{1} (dilated) is larger than the padded "
                "input {2}x{3}",
                effective[0], effective[1], padded[0], padded[1])
            .str());
    p.operand = 0;
    p.operandDim = spatialIndex(input, smallAxis);
    if (knownAll) {
      // The smallest symmetric padding that lets the kernel fit.
      int64_t need = 0;
      for (unsigned i = 0; i < 2; ++i) {
        int64_t in = input[spatialIndex(input, i)].value();
        need = std::max<int64_t>(need, (effective[i] - in + 1) / 2);
      }
      p.fixits.push_back(formatv("`padding: {0}` lets the kernel fit the "
                                 "{1} input",
                                 need, inHW)
                             .str());
    }
    return;
  }
  ShapeProblem &p =
      diag.error("kernel_size",
                 formatv("output size is too small: the {0} input gives an "
                         "empty output",
                         inHW)
                     .str());
  p.operand = 0;
  p.operandDim = spatialIndex(input, smallAxis);
}

static bool checkRank34(llvm::ArrayRef<Dim> input, ShapeDiagnostics &diag) {
  if (input.size() == 3 || input.size() == 4)
    return true;
  ShapeProblem &p =
      diag.error("from", formatv("expects a 3D (unbatched) or 4D (batched) "
                                 "input, but got a {0}D input {1}",
                                 input.size(), formatShape(input))
                             .str());
  p.operand = 0;
  return false;
}

//===----------------------------------------------------------------------===//
// Conv2d
//===----------------------------------------------------------------------===//

Padding4 nn::resolveConvPadding(const Conv2dAttrs &a) {
  switch (a.paddingKind) {
  case PaddingKind::Valid:
    return {0, 0, 0, 0};
  case PaddingKind::Explicit:
    return {a.padding[0], a.padding[0], a.padding[1], a.padding[1]};
  case PaddingKind::Same: {
    Padding4 p;
    for (unsigned i = 0; i < 2; ++i) {
      int64_t total = a.dilation[i] * (a.kernel[i] - 1);
      p[2 * i] = total / 2;
      p[2 * i + 1] = total - total / 2;
    }
    return p;
  }
  }
  return {0, 0, 0, 0};
}

/// The divisors of `n` that also divide `m`, for the groups fix-it.
static std::string commonDivisors(int64_t n, int64_t m) {
  std::vector<std::string> ds;
  for (int64_t d = 1; d <= n && ds.size() < 12; ++d)
    if (n % d == 0 && m % d == 0)
      ds.push_back(std::to_string(d));
  return llvm::join(ds, ", ");
}

/// Conv2d's constructor checks (torch.nn.modules.conv._ConvNd.__init__).
static void checkConv2dConstruction(const Conv2dAttrs &a,
                                    ShapeDiagnostics &diag) {
  if (a.groups <= 0) {
    diag.error("groups", formatv("groups must be a positive integer, but got "
                                 "groups={0}",
                                 a.groups)
                             .str());
  } else {
    bool inBad = a.inChannels % a.groups != 0;
    bool outBad = a.outChannels % a.groups != 0;
    for (auto [bad, what, n] :
         {std::make_tuple(inBad, "in_channels", a.inChannels),
          std::make_tuple(outBad, "out_channels", a.outChannels)}) {
      if (!bad)
        continue;
      ShapeProblem &p = diag.error(
          "groups", formatv("{0}={1} is not divisible by groups={2}", what, n,
                            a.groups)
                        .str());
      if (a.inChannels > 0 && a.outChannels > 0)
        p.fixits.push_back(
            formatv("groups that divide both in_channels={0} and "
                    "out_channels={1}: {2}",
                    a.inChannels, a.outChannels,
                    commonDivisors(a.inChannels, a.outChannels))
                .str());
    }
  }
  if (a.paddingKind == PaddingKind::Same && (a.stride[0] != 1 ||
                                             a.stride[1] != 1)) {
    ShapeProblem &p = diag.error(
        "padding", formatv("padding='same' is not supported for strided "
                           "convolutions (stride={0})",
                           fmtPair(a.stride))
                       .str());
    p.fixits.push_back(
        formatv("write the padding explicitly: `padding: {0}` keeps the "
                "size before the stride",
                fmtPair({a.dilation[0] * (a.kernel[0] - 1) / 2,
                         a.dilation[1] * (a.kernel[1] - 1) / 2}))
            .str());
  }
  // torch.empty((out_channels, in_channels // groups, *kernel_size)).
  if (a.outChannels < 0)
    diag.error("out_channels",
               formatv("out_channels must be non-negative, but got {0}",
                       a.outChannels)
                   .str());
  if (a.inChannels < 0)
    diag.error("in_channels",
               formatv("in_channels must be non-negative, but got {0}",
                       a.inChannels)
                   .str());
  if (anyBelow(a.kernel, 0))
    diag.error("kernel_size",
               formatv("kernel_size must be non-negative, but got {0}",
                       fmtPair(a.kernel))
                   .str());
  if (a.groups > 0 && a.outChannels >= 0 && a.inChannels >= 0 &&
      !anyBelow(a.kernel, 0) &&
      !checkedProduct({a.outChannels, a.inChannels / a.groups, a.kernel[0],
                       a.kernel[1]}))
    diag.error("kernel_size", "the weight's element count overflows 64 bits");
}

Shape nn::inferConv2d(const Conv2dAttrs &a, llvm::ArrayRef<Dim> input,
                      ShapeDiagnostics &diag) {
  checkConv2dConstruction(a, diag);
  if (!checkRank34(input, diag))
    return {Dim::unknown(), Dim::known(a.outChannels), Dim::unknown(),
            Dim::unknown()};

  // at::native::check_shape_forward.
  bool windowOk = true;
  if (anyBelow(a.stride, 1)) {
    diag.error("stride", formatv("stride must be positive, but got stride={0}",
                                 fmtPair(a.stride))
                             .str());
    windowOk = false;
  }
  if (anyBelow(a.dilation, 1)) {
    diag.error("dilation",
               formatv("dilation must be positive, but got dilation={0}",
                       fmtPair(a.dilation))
                   .str());
    windowOk = false;
  }
  if (a.paddingKind == PaddingKind::Explicit && anyBelow(a.padding, 0) &&
      a.paddingMode == PaddingMode::Zeros) {
    diag.error("padding",
               formatv("padding must be non-negative, but got padding={0}",
                       fmtPair(a.padding))
                   .str());
    windowOk = false;
  }
  if (anyBelow(a.kernel, 0)) {
    windowOk = false;
  } else if (anyBelow(a.kernel, 1)) {
    diag.error("kernel_size",
               formatv("kernel_size must be positive, but got {0}",
                       fmtPair(a.kernel))
                   .str());
    windowOk = false;
  }
  if (a.groups > 0 && a.outChannels >= 0 && a.outChannels < a.groups)
    diag.error("out_channels",
               formatv("out_channels={0} must be at least groups={1}",
                       a.outChannels, a.groups)
                   .str());

  unsigned cIdx = input.size() - 3;
  const Dim &channels = input[cIdx];
  // When groups does not divide in_channels, that error is the one to fix;
  // the channel count is compared only with a weight PyTorch can build.
  if (channels.isKnown() && a.groups > 0 && a.inChannels >= 0 &&
      a.inChannels % a.groups == 0) {
    if (channels.value() != a.inChannels) {
      ShapeProblem &p = diag.error(
          "in_channels",
          formatv("expects in_channels={0}, but its input has {1}",
                  a.inChannels, plural(channels.value(), "channel",
                                       "channels"))
              .str());
      p.operand = 0;
      p.operandDim = cIdx;
      p.fixits.push_back(
          formatv("set `in_channels: {0}`", channels.value()).str());
    }
  }

  Padding4 pad = resolveConvPadding(a);
  // A zero channel or spatial size: reflect and replicate reject it, and the
  // convolution itself accepts it only with a zero batch.
  bool batchNonZero = input.size() == 3 || (input[0].isKnown() &&
                                            input[0].value() != 0);
  for (unsigned i = cIdx; i < input.size(); ++i) {
    if (!input[i].isKnown() || input[i].value() != 0)
      continue;
    bool padRejects = a.paddingMode == PaddingMode::Reflect ||
                      a.paddingMode == PaddingMode::Replicate;
    if ((padRejects && batchNonZero) || (i != cIdx && batchNonZero)) {
      ShapeProblem &p = diag.error(
          "from", formatv("expects non-zero channel and spatial sizes unless "
                          "the batch is 0, but its input is {0}",
                          formatShape(input))
                      .str());
      p.operand = 0;
      p.operandDim = i;
      // The window on an empty input would only repeat this error.
      windowOk = false;
    }
    break;
  }
  // Non-zero padding modes pad with F.pad first, whose limits apply.
  if (a.paddingMode != PaddingMode::Zeros) {
    if (a.paddingMode == PaddingMode::Circular && input.size() == 3)
      diag.error("padding_mode",
                 "circular padding needs a batched (4D) input in PyTorch "
                 "1.13");
    for (unsigned i = 0; i < 2; ++i) {
      const Dim &in = input[spatialIndex(input, i)];
      if (!in.isKnown())
        continue;
      int64_t most = std::max(pad[2 * i], pad[2 * i + 1]);
      bool reflect = a.paddingMode == PaddingMode::Reflect;
      bool circular = a.paddingMode == PaddingMode::Circular;
      if ((reflect && most >= in.value()) ||
          (circular && most > in.value())) {
        ShapeProblem &p = diag.error(
            "padding",
            formatv("{0} padding of {1} needs an input {2} of at least {3}, "
                    "but the input {2} is {4}",
                    reflect ? "reflect" : "circular", most, axisName(i),
                    reflect ? most + 1 : most, in.value())
                .str());
        p.operand = 0;
        p.operandDim = spatialIndex(input, i);
      }
      if (a.paddingMode == PaddingMode::Replicate && in.value() == 0 &&
          most > 0)
        diag.error("padding", "replicate padding needs a non-empty input");
    }
  }

  Shape out(input.begin(), input.end());
  out[cIdx] = Dim::known(a.outChannels);
  if (!windowOk) {
    for (unsigned i = 0; i < 2; ++i)
      out[spatialIndex(input, i)] = Dim::unknown();
    return out;
  }
  std::array<WindowAxis, 2> axes;
  for (unsigned i = 0; i < 2; ++i)
    axes[i] = {a.kernel[i], a.stride[i], a.dilation[i], pad[2 * i],
               pad[2 * i + 1]};
  slideWindow(input, axes, /*isConv=*/true, out, diag);
  return out;
}

int64_t nn::countConv2dParams(const Conv2dAttrs &a) {
  if (a.groups <= 0)
    return 0;
  std::optional<int64_t> w = checkedProduct(
      {a.outChannels, a.inChannels / a.groups, a.kernel[0], a.kernel[1]});
  if (!w)
    return std::numeric_limits<int64_t>::max();
  return *w + (a.bias ? a.outChannels : 0);
}

//===----------------------------------------------------------------------===//
// BatchNorm2d
//===----------------------------------------------------------------------===//

Shape nn::inferBatchNorm2d(const BatchNorm2dAttrs &a,
                           llvm::ArrayRef<Dim> input,
                           ShapeDiagnostics &diag) {
  if (a.numFeatures < 0 && (a.affine || a.trackRunningStats))
    diag.error("num_features",
               formatv("num_features must be non-negative, but got {0}",
                       a.numFeatures)
                   .str());
  // BatchNorm2d._check_input_dim.
  if (input.size() != 4) {
    ShapeProblem &p =
        diag.error("from", formatv("expects a 4D (batched) input, but got a "
                                   "{0}D input {1}",
                                   input.size(), formatShape(input))
                               .str());
    p.operand = 0;
    return {Dim::unknown(), Dim::known(a.numFeatures), Dim::unknown(),
            Dim::unknown()};
  }
  const Dim &channels = input[1];
  // at::_batch_norm_impl_index returns early on an empty input, before it
  // compares num_features; with affine weights it then reads weight[0].
  bool empty = llvm::any_of(input, [](const Dim &d) {
    return d.isKnown() && d.value() == 0;
  });
  if (empty) {
    if (a.affine && a.numFeatures == 0)
      diag.error("num_features", "has affine weights but num_features=0, "
                                 "which PyTorch cannot index on an empty "
                                 "input");
  } else if (channels.isKnown() && channels.value() != a.numFeatures) {
    if (a.affine || a.trackRunningStats) {
      // batch_norm: "running_mean should contain C elements not F".
      ShapeProblem &p = diag.error(
          "num_features",
          formatv("expects num_features={0}, but its input has {1}",
                  a.numFeatures,
                  plural(channels.value(), "channel", "channels"))
              .str());
      p.operand = 0;
      p.operandDim = 1;
      p.fixits.push_back(
          formatv("set `num_features: {0}`", channels.value()).str());
    } else {
      ShapeProblem &p = diag.warning(
          "num_features",
          formatv("num_features={0} does not match the {1} of its input; "
                  "PyTorch ignores it without affine weights or running "
                  "statistics",
                  a.numFeatures,
                  plural(channels.value(), "channel", "channels"))
              .str());
      p.operand = 0;
      p.operandDim = 1;
    }
  }
  // F.batch_norm's _verify_batch_size, in batch-statistics mode.
  if (!a.trackRunningStats) {
    std::optional<int64_t> n, hw;
    if (input[0].isKnown())
      n = input[0].value();
    if (input[2].isKnown() && input[3].isKnown())
      hw = input[2].value() * input[3].value();
    if (n && hw && *n * *hw == 1) {
      ShapeProblem &p = diag.error(
          "track_running_stats",
          formatv("normalises with batch statistics, which needs more than "
                  "1 value per channel, but its input {0} has 1",
                  formatShape(input))
              .str());
      p.operand = 0;
      p.fixits.push_back("set `track_running_stats: true` to normalise with "
                         "running statistics");
    }
  }
  return Shape(input.begin(), input.end());
}

int64_t nn::countBatchNorm2dParams(const BatchNorm2dAttrs &a) {
  return a.affine ? 2 * a.numFeatures : 0;
}

int64_t nn::countBatchNorm2dBuffers(const BatchNorm2dAttrs &a) {
  return a.trackRunningStats ? 2 * a.numFeatures : 0;
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

Shape nn::inferPool2d(const Pool2dAttrs &a, llvm::ArrayRef<Dim> input,
                      ShapeDiagnostics &diag) {
  if (!checkRank34(input, diag))
    return {Dim::unknown(), Dim::unknown(), Dim::unknown(), Dim::unknown()};
  Shape out(input.begin(), input.end());
  bool windowOk = true;
  // pool2d_shape_check: "Expected 3D or 4D (batch mode) tensor with optional
  // 0 dim batch size for input".
  for (unsigned i = input.size() - 3; i < input.size(); ++i) {
    if (input[i].isKnown() && input[i].value() == 0) {
      ShapeProblem &p = diag.error(
          "from", formatv("expects non-zero channel and spatial sizes, but "
                          "its input is {0}",
                          formatShape(input))
                      .str());
      p.operand = 0;
      p.operandDim = i;
      // The window on an empty input would only repeat this error.
      windowOk = false;
      break;
    }
  }
  auto positive = [&](const Pair &p, llvm::StringRef arg) {
    if (!anyBelow(p, 1))
      return;
    diag.error(arg, formatv("{0} must be positive, but got {0}={1}", arg,
                            fmtPair(p))
                        .str());
    windowOk = false;
  };
  positive(a.kernel, "kernel_size");
  // A stride left to default is kernel_size, reported as kernel_size.
  if (!a.strideIsKernel)
    positive(a.stride, "stride");
  else if (anyBelow(a.stride, 1))
    windowOk = false;
  if (a.kind == PoolKind::Max)
    positive(a.dilation, "dilation");
  if (anyBelow(a.padding, 0)) {
    diag.error("padding",
               formatv("padding must be non-negative, but got padding={0}",
                       fmtPair(a.padding))
                   .str());
    windowOk = false;
  }
  if (!anyBelow(a.kernel, 1) &&
      (a.padding[0] > a.kernel[0] / 2 || a.padding[1] > a.kernel[1] / 2)) {
    ShapeProblem &p = diag.error(
        "padding",
        formatv("padding={0} is more than half of kernel_size={1}",
                fmtPair(a.padding), fmtPair(a.kernel))
            .str());
    p.fixits.push_back(
        formatv("use at most `padding: {0}`",
                fmtPair({a.kernel[0] / 2, a.kernel[1] / 2}))
            .str());
    // The output size of a window PyTorch rejects would be a follow-on.
    windowOk = false;
  }
  if (a.divisorOverride && *a.divisorOverride == 0)
    diag.error("divisor_override", "divisor_override must not be zero");
  if (!windowOk) {
    for (unsigned i = 0; i < 2; ++i)
      out[spatialIndex(input, i)] = Dim::unknown();
    return out;
  }
  std::array<WindowAxis, 2> axes;
  for (unsigned i = 0; i < 2; ++i)
    axes[i] = {a.kernel[i], a.stride[i],
               a.kind == PoolKind::Max ? a.dilation[i] : 1, a.padding[i],
               a.padding[i], a.ceilMode};
  slideWindow(input, axes, /*isConv=*/false, out, diag);
  return out;
}

Shape nn::inferAdaptiveAvgPool2d(const AdaptiveAvgPool2dAttrs &a,
                                 llvm::ArrayRef<Dim> input,
                                 ShapeDiagnostics &diag) {
  for (const std::optional<int64_t> &s : a.outputSize)
    if (s && *s < 0)
      diag.error("output_size",
                 formatv("output_size must be non-negative, but got {0}", *s)
                     .str());
  // PyTorch computes a 1x1 output as a mean over the last two dimensions,
  // which skips the rank and empty-input checks.
  bool globalMean = a.outputSize[0] == 1 && a.outputSize[1] == 1;
  size_t leastRank = (globalMean && a.scalar) ? 2 : 3;
  if (input.size() < leastRank || (!globalMean && input.size() > 4)) {
    ShapeProblem &p = diag.error(
        "from", formatv("expects a 3D (unbatched) or 4D (batched) input, but "
                        "got a {0}D input {1}",
                        input.size(), formatShape(input))
                    .str());
    p.operand = 0;
    return {Dim::unknown(), Dim::unknown(), Dim::unknown(), Dim::unknown()};
  }
  Shape out(input.begin(), input.end());
  for (unsigned i = 0; i < 2; ++i) {
    unsigned idx = spatialIndex(input, i);
    if (!globalMean && input[idx].isKnown() && input[idx].value() == 0) {
      ShapeProblem &p = diag.error(
          "from", formatv("expects a non-empty input {0}, but its input is "
                          "{1}",
                          axisName(i), formatShape(input))
                      .str());
      p.operand = 0;
      p.operandDim = idx;
    }
    if (a.outputSize[i])
      out[idx] = Dim::known(*a.outputSize[i]);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Linear, Flatten, Softmax
//===----------------------------------------------------------------------===//

Shape nn::inferLinear(const LinearAttrs &a, llvm::ArrayRef<Dim> input,
                      ShapeDiagnostics &diag) {
  if (a.inFeatures < 0)
    diag.error("in_features",
               formatv("in_features must be non-negative, but got {0}",
                       a.inFeatures)
                   .str());
  if (a.outFeatures < 0)
    diag.error("out_features",
               formatv("out_features must be non-negative, but got {0}",
                       a.outFeatures)
                   .str());
  if (a.inFeatures >= 0 && a.outFeatures >= 0 &&
      !checkedProduct({a.inFeatures, a.outFeatures}))
    diag.error("in_features", "the weight's element count overflows 64 bits");
  if (input.empty()) {
    diag.error("from", "expects an input of rank 1 or more, but got a "
                       "scalar");
    return {Dim::known(a.outFeatures)};
  }
  const Dim &features = input.back();
  // A negative in_features is reported above; comparing it would repeat it.
  if (a.inFeatures >= 0 &&
      features.sameAs(Dim::known(a.inFeatures)) == false) {
    ShapeProblem &p = diag.error(
        "in_features",
        formatv("expects in_features={0}, but its input has {1} {2}",
                a.inFeatures, features.str(),
                features.isKnown() && features.value() == 1 ? "feature"
                                                            : "features")
            .str());
    p.operand = 0;
    p.operandDim = input.size() - 1;
    if (features.isKnown())
      p.fixits.push_back(
          formatv("set `in_features: {0}`", features.value()).str());
    else
      p.fixits.push_back("a size that depends on the batch cannot feed a "
                         "fixed in_features; flatten from start_dim=1");
  }
  Shape out(input.begin(), input.end());
  out.back() = Dim::known(a.outFeatures);
  return out;
}

std::optional<int64_t> nn::wrapDim(int64_t dim, int64_t rank) {
  // maybe_wrap_dim treats a scalar as rank 1.
  int64_t r = std::max<int64_t>(rank, 1);
  if (dim < -r || dim >= r)
    return std::nullopt;
  return dim < 0 ? dim + r : dim;
}

static void dimOutOfRange(llvm::StringRef arg, int64_t dim, size_t rank,
                          ShapeDiagnostics &diag) {
  int64_t r = std::max<int64_t>(rank, 1);
  diag.error(arg, formatv("{0}={1} is out of range for a {2}D input "
                          "(expected {3} to {4})",
                          arg, dim, rank, -r, r - 1)
                      .str());
}

Shape nn::inferFlatten(const FlattenAttrs &a, llvm::ArrayRef<Dim> input,
                       ShapeDiagnostics &diag) {
  std::optional<int64_t> start = wrapDim(a.startDim, input.size());
  std::optional<int64_t> end = wrapDim(a.endDim, input.size());
  if (!start)
    dimOutOfRange("start_dim", a.startDim, input.size(), diag);
  if (!end)
    dimOutOfRange("end_dim", a.endDim, input.size(), diag);
  if (!start || !end)
    return {Dim::unknown()};
  if (*start > *end) {
    diag.error("start_dim",
               formatv("start_dim={0} comes after end_dim={1} for a {2}D "
                       "input",
                       a.startDim, a.endDim, input.size())
                   .str());
    return {Dim::unknown()};
  }
  if (input.empty())
    return {Dim::known(1)};
  Shape out(input.begin(), input.begin() + *start);
  Dim product = Dim::known(1);
  bool overflow = false;
  for (int64_t i = *start; i <= *end; ++i)
    product = Dim::multiply(product, input[i], overflow);
  if (overflow)
    diag.error("end_dim", formatv("flattening {0} overflows 64 bits",
                                  formatShape(input))
                              .str());
  out.push_back(product);
  out.append(input.begin() + *end + 1, input.end());
  return out;
}

Shape nn::inferSoftmax(std::optional<int64_t> dim, llvm::ArrayRef<Dim> input,
                       int64_t &resolvedDim, ShapeDiagnostics &diag) {
  size_t rank = input.size();
  if (!dim) {
    // torch.nn.functional._get_softmax_dim.
    resolvedDim = (rank == 0 || rank == 1 || rank == 3) ? 0 : 1;
    ShapeProblem &p = diag.warning(
        "", formatv("has no `dim`; PyTorch implicitly uses dim={0} for a "
                    "{1}D input",
                    resolvedDim, rank)
                .str());
    p.fixits.push_back(formatv("set `dim: {0}` to say so", resolvedDim).str());
    return Shape(input.begin(), input.end());
  }
  std::optional<int64_t> d = wrapDim(*dim, rank);
  if (!d) {
    dimOutOfRange("dim", *dim, rank, diag);
    resolvedDim = 0;
  } else {
    resolvedDim = *d;
  }
  return Shape(input.begin(), input.end());
}

void nn::checkDropout(double p, ShapeDiagnostics &diag) {
  if (!(p >= 0.0 && p <= 1.0))
    diag.error("p", formatv("dropout probability must be between 0 and 1, "
                            "but got p={0}",
                            fmtReal(p))
                        .str());
}

void nn::checkGelu(llvm::StringRef approximate, ShapeDiagnostics &diag) {
  if (approximate != "none" && approximate != "tanh")
    diag.error("approximate",
               formatv("approximate must be 'none' or 'tanh', but got '{0}'",
                       approximate)
                   .str());
}

//===----------------------------------------------------------------------===//
// Add, Cat
//===----------------------------------------------------------------------===//

Shape nn::inferAdd(llvm::ArrayRef<Shape> inputs, ShapeDiagnostics &diag) {
  if (inputs.empty())
    return {};
  Shape acc = inputs.front();
  for (size_t k = 1; k < inputs.size(); ++k) {
    const Shape &rhs = inputs[k];
    size_t rank = std::max(acc.size(), rhs.size());
    Shape out(rank, Dim::known(1));
    std::vector<size_t> differ;
    for (size_t i = 0; i < rank; ++i) {
      // Align trailing dimensions, as broadcasting does.
      std::optional<Dim> l, r;
      if (i + acc.size() >= rank)
        l = acc[i + acc.size() - rank];
      if (i + rhs.size() >= rank)
        r = rhs[i + rhs.size() - rank];
      if (!l || !r) {
        out[i] = l ? *l : *r;
        continue;
      }
      if (l->isKnown() && l->value() == 1) {
        out[i] = *r;
        continue;
      }
      if (r->isKnown() && r->value() == 1) {
        out[i] = *l;
        continue;
      }
      std::optional<bool> same = l->sameAs(*r);
      if (same && !*same) {
        differ.push_back(i);
        out[i] = Dim::unknown();
        continue;
      }
      out[i] = l->isUnknown() ? *r : *l;
    }
    if (!differ.empty()) {
      std::vector<std::string> dims;
      for (size_t i : differ)
        dims.push_back(std::to_string(i));
      ShapeProblem &p = diag.error(
          "from", formatv("cannot add {0} and {1}: they differ at "
                          "{2} {3}, where neither size is 1",
                          formatShape(acc), formatShape(rhs),
                          differ.size() == 1 ? "dimension" : "dimensions",
                          llvm::join(dims, " and "))
                      .str());
      p.operand = k;
      p.operandDim = differ.front() + rhs.size() - rank;
    }
    acc = std::move(out);
  }
  return acc;
}

static Dim addDims(const Dim &a, const Dim &b) {
  if (a.isUnknown() || b.isUnknown())
    return Dim::unknown();
  if (a.isKnown() && b.isKnown())
    return Dim::known(a.value() + b.value());
  if (a.isKnown() && a.value() == 0)
    return b;
  if (b.isKnown() && b.value() == 0)
    return a;
  return Dim::expression(a.str() + "+" + b.str());
}

Shape nn::inferCat(int64_t dim, llvm::ArrayRef<Shape> inputs,
                   ShapeDiagnostics &diag) {
  if (inputs.empty())
    return {};
  const Shape &first = inputs.front();
  std::optional<int64_t> d = wrapDim(dim, first.size());
  if (!d) {
    dimOutOfRange("dim", dim, first.size(), diag);
    return Shape(first.size(), Dim::unknown());
  }
  Shape out = first;
  for (size_t k = 1; k < inputs.size(); ++k) {
    const Shape &s = inputs[k];
    if (s.size() != first.size()) {
      ShapeProblem &p = diag.error(
          "from", formatv("cannot concatenate a {0}D tensor {1} with a {2}D "
                          "tensor {3}",
                          first.size(), formatShape(first), s.size(),
                          formatShape(s))
                      .str());
      p.operand = k;
      out[*d] = Dim::unknown();
      continue;
    }
    for (size_t i = 0; i < s.size(); ++i) {
      if ((int64_t)i == *d)
        continue;
      std::optional<bool> same = first[i].sameAs(s[i]);
      if (same && !*same) {
        ShapeProblem &p = diag.error(
            "from",
            formatv("cannot concatenate {0} and {1} along dimension {2}: "
                    "sizes {3} and {4} differ at dimension {5}",
                    formatShape(first), formatShape(s), *d, first[i].str(),
                    s[i].str(), i)
                .str());
        p.operand = k;
        p.operandDim = i;
      }
    }
    out[*d] = addDims(out[*d], s[*d]);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Counting and names
//===----------------------------------------------------------------------===//

int64_t nn::countLinearParams(const LinearAttrs &a) {
  std::optional<int64_t> w = checkedProduct({a.inFeatures, a.outFeatures});
  if (!w)
    return std::numeric_limits<int64_t>::max();
  return *w + (a.bias ? a.outFeatures : 0);
}

std::optional<int64_t> nn::elementsPerSample(llvm::ArrayRef<Dim> shape,
                                             bool batched) {
  llvm::SmallVector<int64_t, 4> dims;
  for (size_t i = batched ? 1 : 0; i < shape.size(); ++i) {
    if (!shape[i].isKnown())
      return std::nullopt;
    dims.push_back(shape[i].value());
  }
  return checkedProduct(dims);
}

std::string nn::closestName(llvm::StringRef name,
                            llvm::ArrayRef<llvm::StringRef> candidates) {
  std::string best;
  unsigned bestDist = std::numeric_limits<unsigned>::max();
  for (llvm::StringRef c : candidates) {
    unsigned d = name.edit_distance(c, /*AllowReplacements=*/true,
                                    /*MaxEditDistance=*/bestDist);
    if (d < bestDist) {
      bestDist = d;
      best = c.str();
    }
  }
  // Accept a third of the name's length in edits, at least one, at most 3.
  unsigned limit = std::clamp<unsigned>(name.size() / 3, 1, 3);
  return bestDist <= limit ? best : std::string();
}
