//===- LinearLowering.cpp - Linear to Halide ------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lowers Linear, which acts on the last dimension (Halide's
// first) of an input of any rank.
//
//===----------------------------------------------------------------------===//

#include "../LoweringPatterns.h"

using namespace netc;
using namespace netc::halide;
using Halide::Expr;
using Halide::Func;
using Halide::Var;

LoweredLayer halide::lowerLinear(nn::LinearOp op, const Tensor &input,
                                 LoweringContext &ctx) {
  std::string name = op.getName().str();
  int64_t in = op.getInFeaturesAttr().getInt();
  int64_t out = op.getOutFeaturesAttr().getInt();
  std::vector<Var> v = varsForRank(input.rank());
  Halide::RDom r(0, int(in), funcName(name) + "_r");
  std::vector<Expr> at = exprsOf(v);
  at[0] = r;
  Func weight = ctx.weight(name, "weight", {out, in});
  Func acc = ctx.makeFunc(name, "acc");
  acc(v) = op.getBias() ? ctx.weight(name, "bias", {out})(v[0]) : Expr(0.0f);
  acc(v) += weight(r, v[0]) * input.func(at);
  Func result = ctx.makeFunc(name);
  result(v) = acc(v);

  std::vector<Expr> sizes = input.sizes;
  sizes.back() = int(out);
  return makeLayer(op, v,
                   {{acc, FuncRole::Accumulate}, {result, FuncRole::Output}},
                   {result, sizes}, r);
}
