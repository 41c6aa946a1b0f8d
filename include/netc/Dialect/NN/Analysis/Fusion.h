//===- Fusion.h - Layers that code generators compile together -*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A Conv2d is usually followed by a BatchNorm2d, sometimes a residual Add,
// and an activation, each reading only the layer before. Run one by one,
// each of those is a pass over memory as large as the convolution's output;
// fused into the convolution's epilogue they cost a few instructions per
// output element while it is still in registers. This analysis finds such
// chains; the IR keeps one op per PyTorch layer, so diagnostics, summaries
// and weight names do not change.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_ANALYSIS_FUSION_H
#define NETC_DIALECT_NN_ANALYSIS_FUSION_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace netc {
namespace nn {

/// One layer as a code generator compiles it: a single op, or a Conv2d and
/// the layers fused into its epilogue, in order.
struct FusedLayer {
  /// ops.front() comes first; ops.back() produces the result. Every other
  /// op's result has one use, the next op.
  llvm::SmallVector<mlir::Operation *, 4> ops;
  /// The values read from outside the chain: the first op's operands, then
  /// the residual operand of an Add.
  llvm::SmallVector<mlir::Value, 2> operands;

  mlir::Operation *last() const { return ops.back(); }
  mlir::Value result() const { return ops.back()->getResult(0); }
  /// The layer names joined by '+': "layer1.0.conv2+layer1.0.bn2".
  std::string name() const;
  /// Equal for fused layers that compile to the same code (nn::layerKey of
  /// each op, and where the chain enters an Add).
  std::string key() const;
  /// Which op owns the parameter or buffer `stateName`
  /// ("layer1.0.bn1.running_mean"): the index in `ops` of the op with the
  /// longest name that `stateName` starts with followed by a dot. Kernels
  /// shared by fused layers of one key find their weights by it.
  unsigned ownerOf(llvm::StringRef stateName) const;
};

/// The layers of `func` in the order they run. With `fuse`, a Conv2d takes
/// into its epilogue, in this order and each optional, a BatchNorm2d with
/// running statistics, an Add of two operands of its own shape (the other
/// one becomes an operand of the fused layer), and an elementwise
/// activation, as long as each reads only the one before and nothing else
/// reads that; the fused layer runs where its last op was. Without `fuse`,
/// one FusedLayer per op.
std::vector<FusedLayer> fuseLayers(mlir::FuncOp func, bool fuse = true);

/// A FusedLayer of `op` alone.
FusedLayer singleLayer(mlir::Operation *op);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_FUSION_H
