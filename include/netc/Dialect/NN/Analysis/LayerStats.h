//===- LayerStats.h - Parameters, MACs, receptive field ---------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The numbers `netc summary` and `netc explain` report per layer, with the
// counting rules of the model format: parameters as PyTorch counts them,
// running statistics apart, multiply-adds per sample (batch 1), and the
// receptive field along the largest path.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_ANALYSIS_LAYERSTATS_H
#define NETC_DIALECT_NN_ANALYSIS_LAYERSTATS_H

#include "netc/Dialect/NN/IR/ShapeUtils.h"

namespace netc {
namespace nn {

/// What one layer adds to the network.
struct LayerStats {
  int64_t params = 0;
  /// running_mean and running_var elements.
  int64_t buffers = 0;
  /// Multiply-adds per sample; nullopt when a non-batch size is symbolic.
  std::optional<int64_t> macs = 0;
  /// Receptive field (height, width) of one output element on the network
  /// input, and the distance in input pixels between adjacent outputs.
  Pair receptiveField{1, 1};
  Pair jump{1, 1};
};

/// The receptive field after a sliding window with `kernel` (dilation
/// applied) and `stride`, given the field and jump of its input.
void applyWindow(LayerStats &stats, const Pair &inField, const Pair &inJump,
                 const Pair &effectiveKernel, const Pair &stride);

/// Multiply-adds per sample of a Conv2d producing `output`.
std::optional<int64_t> conv2dMacs(const Conv2dAttrs &attrs,
                                  llvm::ArrayRef<Dim> output, bool batched);
/// Multiply-adds per sample of a Linear producing `output`.
std::optional<int64_t> linearMacs(const LinearAttrs &attrs,
                                  llvm::ArrayRef<Dim> output, bool batched);
/// One multiply-add per element: BatchNorm2d in inference.
std::optional<int64_t> elementwiseMacs(llvm::ArrayRef<Dim> output,
                                       bool batched);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_LAYERSTATS_H
