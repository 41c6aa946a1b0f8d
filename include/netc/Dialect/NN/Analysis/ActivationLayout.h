//===- ActivationLayout.h - How values between kernels are stored -*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A value passed from one kernel to the next is stored in PyTorch's NCHW
// layout, or with its channels in blocks of 16 (NCHW16c: Halide dimensions
// (channel in block, x, y, block, n)). A convolution's channel tile keeps
// 16 output channels in one vector register: in blocks it stores the tile
// with dense vector stores and its epilogue reads a residual with dense
// loads, where NCHW needs a transpose on the way out; its next layer,
// another convolution, reads one input channel after another either way.
//
// The choice is made on the nn IR, before lowering, so that the code
// generators (the JIT, the library) and `--emit=kernels` agree on it.
//
// Values in blocks are never visible outside: model inputs and outputs are
// NCHW, and a value is blocked only when its producer and every reader
// handle the blocked layout well (see assignActivationLayouts).
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_ANALYSIS_ACTIVATIONLAYOUT_H
#define NETC_DIALECT_NN_ANALYSIS_ACTIVATIONLAYOUT_H

#include "netc/Dialect/NN/Analysis/Fusion.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"

#include <cassert>

#include <string>
#include <vector>

namespace netc {
namespace nn {

/// The channels of one block of a blocked activation.
constexpr int kActivationBlock = 16;

/// How one kernel's operands and result are stored: 0 for NCHW, or the
/// block size of the channels.
struct KernelLayout {
  std::vector<int> operandBlocks;
  int resultBlock = 0;
  /// Whether the kernel sees every operand and its result with the height
  /// and width merged into one row, [N, C, 1, H*W]: a kernel that is
  /// pointwise in space (a 1x1 Conv2d with stride 1 and no padding, and its
  /// epilogue) on values in blocks, which are dense. Its tiles then run
  /// along the whole map, not row by row. The code generators pass it views
  /// of the same memory. Chosen by the code generator's target
  /// (halide::prefersFlatMap), not here.
  bool flatMap = false;

  int operandBlock(size_t i) const {
    return i < operandBlocks.size() ? operandBlocks[i] : 0;
  }
  /// Empty for NCHW everywhere; otherwise a suffix that tells kernels of
  /// one FusedLayer::key but different layouts apart.
  std::string key() const;
};

/// The layout of every layer of `layers`, the fused layers of `func` in
/// the order they run. A value is blocked when its producer writes blocks
/// (a one-group Conv2d with a multiple of 16 output channels) or passes
/// them through from a blocked operand (a depthwise Conv2d, a MaxPool2d or
/// an AvgPool2d), every reader reads them well (a one-group Conv2d with at
/// least 16 output channels broadcasts one input value at a time from
/// either layout; a residual, or the input of a depthwise Conv2d or a
/// pooling layer, is read element for element with a blocked result),
/// and it is not a model output; the rest are NCHW.
std::vector<KernelLayout>
assignActivationLayouts(mlir::FuncOp func,
                        llvm::ArrayRef<nn::FusedLayer> layers);

/// The PyTorch-order shape that a kernel on a flat map
/// (KernelLayout::flatMap) sees for a 4-D value of `shape` (ints, or
/// Halide Exprs): [N, C, 1, H*W].
template <typename Size>
std::vector<Size> flatMapShape(const std::vector<Size> &shape) {
  assert(shape.size() == 4 && "a flat map is made of 4-D values");
  return {shape[0], shape[1], Size(1), shape[2] * shape[3]};
}

/// The shape of a buffer holding a tensor of PyTorch-order `shape` (ints,
/// or Halide Exprs) in channel blocks of `block` (0: `shape` itself), in
/// the same order (reversed, Halide's): [N, C / block, H, W, block].
template <typename Size>
std::vector<Size> storageShape(const std::vector<Size> &shape, int block) {
  if (!block)
    return shape;
  assert(shape.size() == 4 && "only 4-D tensors are stored in blocks");
  return {shape[0], shape[1] / block, shape[2], shape[3], Size(block)};
}

/// The layout a layer benchmarked on its own runs in within a network: its
/// operands and result blocked wherever it reads and writes them well.
KernelLayout preferredLayout(const nn::FusedLayer &layer);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_ACTIVATIONLAYOUT_H
