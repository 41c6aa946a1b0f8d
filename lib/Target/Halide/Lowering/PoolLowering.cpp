//===- PoolLowering.cpp - Pooling to Halide -------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lowers MaxPool2d (with dilation), AvgPool2d (with
// count_include_pad and divisor_override, and PyTorch's divisor rule for
// windows that reach into the padding or past it in ceil_mode), and
// AdaptiveAvgPool2d with PyTorch's uneven bins.
//
//===----------------------------------------------------------------------===//

#include "../LoweringPatterns.h"

#include <limits>

using namespace netc;
using namespace netc::halide;
using Halide::Expr;
using Halide::Func;
using Halide::Var;

/// Output sizes from the op's result type.
static std::vector<Expr> resultSizes(mlir::Operation *op, const Tensor &in) {
  auto type = op->getResult(0).getType().cast<mlir::RankedTensorType>();
  std::vector<Expr> sizes = in.sizes;
  size_t rank = sizes.size();
  for (size_t i = rank - 3; i < rank; ++i)
    if (!type.isDynamicDim(i))
      sizes[i] = int(type.getDimSize(i));
  return sizes;
}

/// The input padded with `fill` outside, in coordinates shifted by padding.
static Func padInput(const Tensor &input, const std::vector<Var> &v,
                     int64_t padH, int64_t padW, Expr fill,
                     LoweringContext &ctx, llvm::StringRef name) {
  size_t rank = input.rank();
  int64_t h = staticSize(input.sizes[rank - 2]);
  int64_t w = staticSize(input.sizes[rank - 1]);
  std::vector<Expr> src = exprsOf(v);
  src[0] = Halide::clamp(v[0] - int(padW), 0, int(w - 1));
  src[1] = Halide::clamp(v[1] - int(padH), 0, int(h - 1));
  Expr inside = v[0] >= int(padW) && v[0] < int(padW + w) &&
                v[1] >= int(padH) && v[1] < int(padH + h);
  Func padded = ctx.makeFunc(name, "padded");
  padded(v) = Halide::select(inside, input.func(src), fill);
  return padded;
}

LoweredLayer halide::lowerMaxPool2d(nn::MaxPool2dOp op, const Tensor &input,
                                    LoweringContext &ctx) {
  std::string name = op.getName().str();
  std::vector<int64_t> k = intsOf(op.getKernelSize()), s = intsOf(op.getStride()),
                       p = intsOf(op.getPadding()), d = intsOf(op.getDilation());
  std::vector<Var> v = varsForRank(input.rank());
  // Every window holds at least one input element (PyTorch drops a last
  // window that would start in the right padding), so -inf never leaks.
  Func padded = padInput(input, v, p[0], p[1],
                         Halide::Float(32).min(), ctx, name);
  Halide::RDom r(0, int(k[1]), 0, int(k[0]), funcName(name) + "_r");
  std::vector<Expr> at = exprsOf(v);
  at[0] = v[0] * int(s[1]) + r.x * int(d[1]);
  at[1] = v[1] * int(s[0]) + r.y * int(d[0]);
  Func out = ctx.makeFunc(name);
  out(v) = Halide::maximum(padded(at));

  return makeLayer(op, v, {{padded, FuncRole::Padded}, {out, FuncRole::Output}},
                   {out, resultSizes(op, input)}, r);
}

LoweredLayer halide::lowerAvgPool2d(nn::AvgPool2dOp op, const Tensor &input,
                                    LoweringContext &ctx) {
  std::string name = op.getName().str();
  std::vector<int64_t> k = intsOf(op.getKernelSize()), s = intsOf(op.getStride()),
                       p = intsOf(op.getPadding());
  size_t rank = input.rank();
  int h = int(staticSize(input.sizes[rank - 2]));
  int w = int(staticSize(input.sizes[rank - 1]));
  std::vector<Var> v = varsForRank(rank);
  Func padded = padInput(input, v, p[0], p[1], 0.0f, ctx, name);
  Halide::RDom r(0, int(k[1]), 0, int(k[0]), funcName(name) + "_r");
  std::vector<Expr> at = exprsOf(v);
  at[0] = v[0] * int(s[1]) + r.x;
  at[1] = v[1] * int(s[0]) + r.y;
  Func sum = ctx.makeFunc(name, "sum");
  sum(v) = Halide::sum(padded(at));

  // PyTorch's avg_pool2d divisor (aten/src/ATen/native/cpu/AvgPoolKernel).
  Expr divisor;
  if (mlir::IntegerAttr over = op.getDivisorOverrideAttr()) {
    divisor = Halide::cast<float>(int(over.getInt()));
  } else {
    Expr hStart = v[1] * int(s[0]) - int(p[0]);
    Expr wStart = v[0] * int(s[1]) - int(p[1]);
    Expr hEnd = Halide::min(hStart + int(k[0]), h + int(p[0]));
    Expr wEnd = Halide::min(wStart + int(k[1]), w + int(p[1]));
    Expr poolSize = (hEnd - hStart) * (wEnd - wStart);
    if (op.getCountIncludePad()) {
      divisor = Halide::cast<float>(poolSize);
    } else {
      Expr hs = Halide::max(hStart, 0), ws = Halide::max(wStart, 0);
      Expr he = Halide::min(hEnd, h), we = Halide::min(wEnd, w);
      divisor = Halide::cast<float>((he - hs) * (we - ws));
    }
  }
  Func out = ctx.makeFunc(name);
  out(v) = sum(v) / divisor;

  return makeLayer(op, v, {{padded, FuncRole::Padded}, {sum, FuncRole::Accumulate}, {out, FuncRole::Output}},
                   {out, resultSizes(op, input)}, r);
}

LoweredLayer halide::lowerAdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOp op,
                                            const Tensor &input,
                                            LoweringContext &ctx) {
  std::string name = op.getName().str();
  size_t rank = input.rank();
  std::vector<Expr> outSizes = resultSizes(op, input);
  std::vector<Var> v = varsForRank(rank);
  // Bin o of an axis of size I into O bins spans
  // [floor(o*I/O), ceil((o+1)*I/O)).
  int in[2], out[2], widest[2];
  Expr start[2], end[2];
  for (int i = 0; i < 2; ++i) {
    in[i] = int(staticSize(input.sizes[rank - 1 - i]));
    out[i] = int(staticSize(outSizes[rank - 1 - i]));
    widest[i] = 1;
    for (int o = 0; o < out[i]; ++o) {
      int b = (o * in[i]) / out[i], e = ((o + 1) * in[i] + out[i] - 1) / out[i];
      widest[i] = std::max(widest[i], e - b);
    }
    start[i] = (v[i] * in[i]) / std::max(out[i], 1);
    end[i] = ((v[i] + 1) * in[i] + out[i] - 1) / std::max(out[i], 1);
  }
  Halide::RDom r(0, widest[0], 0, widest[1], funcName(name) + "_r");
  r.where(start[0] + r.x < end[0] && start[1] + r.y < end[1]);
  std::vector<Expr> at = exprsOf(v);
  at[0] = Halide::min(start[0] + r.x, in[0] - 1);
  at[1] = Halide::min(start[1] + r.y, in[1] - 1);
  Func sum = ctx.makeFunc(name, "sum");
  sum(v) = 0.0f;
  sum(v) += input.func(at);
  Func outF = ctx.makeFunc(name);
  outF(v) = sum(v) / Halide::cast<float>((end[0] - start[0]) *
                                         (end[1] - start[1]));

  return makeLayer(op, v, {{sum, FuncRole::Accumulate}, {outF, FuncRole::Output}},
                   {outF, outSizes}, r);
}
