//===- LoweringPatterns.h - Per-family lowering to Halide -------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The lowering of each op family, called by HalideLowering.cpp's walk. A
// lowering defines Funcs and never schedules them. Private to
// lib/Target/Halide.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_TARGET_HALIDE_LOWERINGPATTERNS_H
#define NETC_LIB_TARGET_HALIDE_LOWERINGPATTERNS_H

#include "netc/Target/Halide/LoweredNetwork.h"

#include "netc/Dialect/NN/IR/NNOps.h"

#include <set>

namespace netc {
namespace halide {

/// State shared by the lowerings of one network.
class LoweringContext {
public:
  explicit LoweringContext(const WeightProvider &weights) : weights(weights) {}

  /// A new Func named after `layer` and `role`, unique in the pipeline.
  Halide::Func makeFunc(llvm::StringRef layer, llvm::StringRef role = "");
  /// The parameter `layer`.`suffix`, over Halide-order indices of its
  /// PyTorch-order `shape`.
  Halide::Func weight(llvm::StringRef layer, llvm::StringRef suffix,
                      const std::vector<int64_t> &shape) {
    return weights({(layer + "." + suffix).str(), shape, {}}).func;
  }
  /// The same parameter over indices of the packed layout `packing`, in
  /// blocks of `block` (see WeightRequest), and whether it is stored that
  /// way.
  WeightFunc packedWeight(llvm::StringRef layer, llvm::StringRef suffix,
                          const std::vector<int64_t> &shape,
                          std::vector<int> packing, int block = 0) {
    return weights(
        {(layer + "." + suffix).str(), shape, std::move(packing), block});
  }

private:
  const WeightProvider &weights;
  std::set<std::string> used;
};

/// Pure variables for a rank-`rank` tensor, innermost first: (x, y, c, n)
/// for rank 4, (x, y, c) for rank 3, (i, n) for rank 2.
std::vector<Halide::Var> varsForRank(size_t rank);

/// `vars` as Exprs.
std::vector<Halide::Expr> exprsOf(const std::vector<Halide::Var> &vars);

/// The integers of an I64 array attribute (kernel_size, stride, ...).
std::vector<int64_t> intsOf(mlir::ArrayAttr attr);

/// A lowered layer of `op` (named after its `name` attribute): its pure
/// variables, the Funcs it defines with their roles, its output, and the
/// reduction domain of its Accumulate Func if it has one.
LoweredLayer makeLayer(mlir::Operation *op, std::vector<Halide::Var> vars,
                       std::vector<std::pair<Halide::Func, FuncRole>> funcs,
                       Tensor output, Halide::RDom reduction = Halide::RDom());

/// A static size from a Tensor's sizes (asserts it is known).
int64_t staticSize(const Halide::Expr &size);

LoweredLayer lowerConv2d(nn::Conv2dOp op, const Tensor &input,
                         LoweringContext &ctx);
LoweredLayer lowerBatchNorm2d(nn::BatchNorm2dOp op, const Tensor &input,
                              LoweringContext &ctx);
LoweredLayer lowerSoftmax(nn::SoftmaxOp op, const Tensor &input,
                          LoweringContext &ctx);
LoweredLayer lowerMaxPool2d(nn::MaxPool2dOp op, const Tensor &input,
                            LoweringContext &ctx);
LoweredLayer lowerAvgPool2d(nn::AvgPool2dOp op, const Tensor &input,
                            LoweringContext &ctx);
LoweredLayer lowerAdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOp op,
                                    const Tensor &input, LoweringContext &ctx);
LoweredLayer lowerLinear(nn::LinearOp op, const Tensor &input,
                         LoweringContext &ctx);
LoweredLayer lowerFlatten(nn::FlattenOp op, const Tensor &input,
                          LoweringContext &ctx);
LoweredLayer lowerCat(nn::CatOp op, llvm::ArrayRef<Tensor> inputs,
                      LoweringContext &ctx);
LoweredLayer lowerAdd(nn::AddOp op, llvm::ArrayRef<Tensor> inputs,
                      LoweringContext &ctx);
/// Activations, Dropout and Identity.
LoweredLayer lowerElementwise(mlir::Operation *op, const Tensor &input,
                              LoweringContext &ctx);

} // namespace halide
} // namespace netc

#endif // NETC_LIB_TARGET_HALIDE_LOWERINGPATTERNS_H
