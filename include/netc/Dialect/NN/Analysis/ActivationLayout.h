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

#include "llvm/ADT/ArrayRef.h"

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

  int operandBlock(size_t i) const {
    return i < operandBlocks.size() ? operandBlocks[i] : 0;
  }
  /// Empty for NCHW everywhere; otherwise a suffix that tells kernels of
  /// one FusedLayer::key but different layouts apart.
  std::string key() const;
};

/// Whether `layer` can write its result in channel blocks: a Conv2d with
/// one group (and its fused epilogue) whose 4-D output has a multiple of
/// 16 channels. Its schedule is then the channel tile.
bool writesBlocked(const nn::FusedLayer &layer);

/// Whether `layer` works on channel blocks as they are, when both its
/// operand and its result are in blocks, and on NCHW otherwise: a
/// depthwise Conv2d (groups = in = out channels, a multiple of 16), each
/// of whose channels reads only its own, one vector of a block at a time.
bool passesBlocks(const nn::FusedLayer &layer);

/// Whether `layer` reads its operand `index` well in channel blocks: the
/// input of a one-group Conv2d with at least 16 output channels (the
/// channel tile broadcasts one input value at a time from either layout),
/// the residual operand of a fused layer whose result is blocked
/// (`resultBlocked`), read element for element with the result, or the
/// input of a layer that passes blocks through whose result is blocked.
bool readsBlocked(const nn::FusedLayer &layer, unsigned index,
                  bool resultBlocked);

/// The layout of every layer of `layers` (the order they run; the values
/// of `outputs` are the model's outputs). A value is blocked when its
/// producer writes blocks (or passes them through from a blocked operand),
/// every reader reads them well, and it is not a model output; the rest
/// are NCHW.
std::vector<KernelLayout>
assignActivationLayouts(llvm::ArrayRef<nn::FusedLayer> layers,
                        llvm::ArrayRef<mlir::Value> outputs);

/// The shape of a buffer holding a tensor of PyTorch-order `shape` in
/// channel blocks of `block` (0: `shape` itself), in the same order
/// (reversed, Halide's): [N, C / block, H, W, block]. -1 stays -1.
std::vector<int64_t> storageShape(const std::vector<int64_t> &shape,
                                  int block);

/// The layout a layer benchmarked on its own runs in within a network: its
/// operands and result blocked wherever it reads and writes them well.
KernelLayout preferredLayout(const nn::FusedLayer &layer);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_ACTIVATIONLAYOUT_H
