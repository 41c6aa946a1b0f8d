//===- NormLowering.cpp - BatchNorm2d and Softmax to Halide ---------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lowers the normalisations. BatchNorm2d in inference uses the
// running statistics, folded into one scale and shift per channel; without
// them it normalises with the batch's own statistics, as PyTorch does even
// in eval mode. Softmax subtracts the maximum before exponentiating.
//
//===----------------------------------------------------------------------===//

#include "../LoweringPatterns.h"

using namespace netc;
using namespace netc::halide;
using Halide::Expr;
using Halide::Func;
using Halide::Var;

LoweredLayer halide::lowerBatchNorm2d(nn::BatchNorm2dOp op,
                                      const Tensor &input,
                                      LoweringContext &ctx) {
  std::string name = op.getName().str();
  int64_t channels = op.getNumFeaturesAttr().getInt();
  float eps = float(op.getEps().convertToDouble());
  std::vector<Var> v = varsForRank(4);
  Var x = v[0], y = v[1], c = v[2], n = v[3];
  std::vector<std::pair<Func, FuncRole>> funcs;

  Func mean = ctx.makeFunc(name, "mean"), var = ctx.makeFunc(name, "var");
  if (op.getTrackRunningStats()) {
    mean(c) = ctx.weight(name, "running_mean", {channels})(c);
    var(c) = ctx.weight(name, "running_var", {channels})(c);
  } else {
    // Batch statistics over (n, h, w); the variance is the biased one.
    Expr h = input.sizes[2], w = input.sizes[3], batch = input.sizes[0];
    Halide::RDom r(0, w, 0, h, 0, batch, funcName(name) + "_r");
    Expr count = Halide::cast<float>(w * h * batch);
    Func sum = ctx.makeFunc(name, "sum");
    sum(c) = 0.0f;
    sum(c) += input.func(r.x, r.y, c, r.z);
    mean(c) = sum(c) / count;
    Func sq = ctx.makeFunc(name, "sqdev");
    sq(c) = 0.0f;
    Expr dev = input.func(r.x, r.y, c, r.z) - mean(c);
    sq(c) += dev * dev;
    var(c) = sq(c) / count;
    funcs.push_back({sum, FuncRole::Helper});
    funcs.push_back({sq, FuncRole::Helper});
  }
  Func scale = ctx.makeFunc(name, "scale"), shift = ctx.makeFunc(name, "shift");
  Expr gamma = 1.0f, beta = 0.0f;
  if (op.getAffine()) {
    gamma = ctx.weight(name, "weight", {channels})(c);
    beta = ctx.weight(name, "bias", {channels})(c);
  }
  scale(c) = gamma / Halide::sqrt(var(c) + eps);
  shift(c) = beta - mean(c) * scale(c);

  Func out = ctx.makeFunc(name);
  out(x, y, c, n) = input.func(x, y, c, n) * scale(c) + shift(c);
  funcs.insert(funcs.end(), {{mean, FuncRole::Helper},
                             {var, FuncRole::Helper},
                             {scale, FuncRole::Helper},
                             {shift, FuncRole::Helper},
                             {out, FuncRole::Output}});
  return makeLayer(op, v, std::move(funcs), {out, input.sizes});
}

LoweredLayer halide::lowerSoftmax(nn::SoftmaxOp op, const Tensor &input,
                                  LoweringContext &ctx) {
  std::string name = op.getName().str();
  size_t rank = input.rank();
  // PyTorch dim d is Halide dimension rank-1-d.
  size_t axis = rank - 1 - size_t(op.getDimAttr().getInt());
  std::vector<Var> v = varsForRank(rank);
  Halide::RDom r(0, input.sizes[rank - 1 - axis], funcName(name) + "_r");
  std::vector<Expr> along = exprsOf(v);
  along[axis] = r;

  // The maximum and the sum are over the other dimensions only.
  std::vector<Var> outer = v;
  outer.erase(outer.begin() + axis);
  std::vector<Expr> outerAt = exprsOf(outer);

  Func maximum = ctx.makeFunc(name, "max");
  maximum(outer) = Halide::maximum(input.func(along));
  Func e = ctx.makeFunc(name, "exp");
  e(v) = Halide::exp(input.func(v) - maximum(outerAt));
  Func sum = ctx.makeFunc(name, "sum");
  sum(outer) = Halide::sum(e(along));
  Func out = ctx.makeFunc(name);
  out(v) = e(v) / sum(outerAt);

  return makeLayer(op, v, {{maximum, FuncRole::Helper}, {e, FuncRole::Helper}, {sum, FuncRole::Helper}, {out, FuncRole::Output}},
                   {out, input.sizes});
}
