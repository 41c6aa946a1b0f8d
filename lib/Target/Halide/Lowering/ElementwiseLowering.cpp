//===- ElementwiseLowering.cpp - Activations and Add to Halide ------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lowers the elementwise ops: the activations with PyTorch's
// formulas (GELU exact through an erf accurate to 1.5e-7), Add with
// broadcasting, and Dropout and Identity, which compute nothing in
// inference.
//
//===----------------------------------------------------------------------===//

#include "../LoweringPatterns.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace netc;
using namespace netc::halide;
using Halide::Expr;
using Halide::Func;
using Halide::Var;

/// erf(x) by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
static Expr erfApprox(Expr x) {
  Expr a = Halide::abs(x);
  Expr t = 1.0f / (1.0f + 0.3275911f * a);
  Expr poly = t * (0.254829592f +
                   t * (-0.284496736f +
                        t * (1.421413741f +
                             t * (-1.453152027f + t * 1.061405429f))));
  Expr y = 1.0f - poly * Halide::exp(-a * a);
  return Halide::select(x < 0, -y, y);
}

static Expr sigmoid(Expr x) { return 1.0f / (1.0f + Halide::exp(-x)); }

static Expr relu6(Expr x) { return Halide::clamp(x, 0.0f, 6.0f); }

/// The activation of `op` applied to `x`, or undefined for Dropout and
/// Identity.
static Expr activation(mlir::Operation *op, Expr x) {
  return llvm::TypeSwitch<mlir::Operation *, Expr>(op)
      .Case([&](nn::ReLUOp) { return Halide::max(x, 0.0f); })
      .Case([&](nn::ReLU6Op) { return relu6(x); })
      .Case([&](nn::SiLUOp) { return x * sigmoid(x); })
      .Case([&](nn::SigmoidOp) { return sigmoid(x); })
      .Case([&](nn::TanhOp) { return Halide::tanh(x); })
      .Case([&](nn::HardswishOp) { return x * relu6(x + 3.0f) / 6.0f; })
      .Case([&](nn::LeakyReLUOp l) {
        float slope = float(l.getNegativeSlope().convertToDouble());
        return Halide::select(x >= 0, x, x * slope);
      })
      .Case([&](nn::GELUOp g) {
        if (g.getApproximate() == "tanh") {
          const float k = 0.7978845608028654f; // sqrt(2/pi)
          return 0.5f * x *
                 (1.0f + Halide::tanh(k * (x + 0.044715f * x * x * x)));
        }
        return 0.5f * x * (1.0f + erfApprox(x * 0.7071067811865476f));
      })
      .Default([](mlir::Operation *) { return Expr(); });
}

LoweredLayer halide::lowerElementwise(mlir::Operation *op,
                                      const Tensor &input,
                                      LoweringContext &ctx) {
  std::string name =
      op->getAttrOfType<mlir::StringAttr>("name").getValue().str();
  std::vector<Var> v = varsForRank(input.rank());
  Expr value = activation(op, input.func(v));
  // Dropout and Identity define nothing: the output is the input.
  if (!value.defined())
    return makeLayer(op, v, {}, input);
  Func out = ctx.makeFunc(name);
  out(v) = value;
  return makeLayer(op, v, {{out, FuncRole::Output}}, {out, input.sizes});
}

LoweredLayer halide::lowerAdd(nn::AddOp op, llvm::ArrayRef<Tensor> inputs,
                              LoweringContext &ctx) {
  std::string name = op.getName().str();
  auto type = op.getType().cast<mlir::RankedTensorType>();
  size_t rank = type.getRank();
  std::vector<Var> v = varsForRank(rank);
  // The output's sizes: static from the type, the batch from an input.
  std::vector<Expr> sizes(rank);
  for (size_t i = 0; i < rank; ++i)
    if (!type.isDynamicDim(i))
      sizes[i] = int(type.getDimSize(i));
  Expr sum;
  for (const Tensor &t : inputs) {
    // Align trailing dimensions; a size-1 dimension broadcasts.
    std::vector<Expr> at;
    size_t r = t.rank();
    for (size_t h = 0; h < r; ++h) {
      size_t torchDim = r - 1 - h, outDim = rank - 1 - h;
      const int64_t *one = Halide::Internal::as_const_int(t.sizes[torchDim]);
      bool broadcast = one && *one == 1 &&
                       !(type.getDimSize(outDim) == 1);
      at.push_back(broadcast ? Expr(0) : Expr(v[h]));
      if (!sizes[outDim].defined() && !broadcast)
        sizes[outDim] = t.sizes[torchDim];
    }
    Expr value = t.func(at);
    sum = sum.defined() ? sum + value : value;
  }
  for (Expr &s : sizes)
    if (!s.defined())
      s = 1;
  Func out = ctx.makeFunc(name);
  out(v) = sum;
  return makeLayer(op, v, {{out, FuncRole::Output}},
                   {out, sizes});
}
