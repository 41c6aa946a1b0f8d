//===- LayerStats.cpp - Parameters, MACs, receptive field -----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the per-layer counts of the summary. A count that
// would overflow 64 bits saturates; the shape checks report such models.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/LayerStats.h"

#include <algorithm>
#include <limits>

using namespace netc;
using namespace netc::nn;

static int64_t saturatingMul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return std::numeric_limits<int64_t>::max();
  return r;
}

void nn::applyWindow(LayerStats &stats, const Pair &inField,
                     const Pair &inJump, const Pair &effectiveKernel,
                     const Pair &stride) {
  for (unsigned i = 0; i < 2; ++i) {
    int64_t grow = saturatingMul(std::max<int64_t>(effectiveKernel[i] - 1, 0),
                                 inJump[i]);
    stats.receptiveField[i] = inField[i] + grow;
    stats.jump[i] = saturatingMul(inJump[i], std::max<int64_t>(stride[i], 1));
  }
}

std::optional<int64_t> nn::conv2dMacs(const Conv2dAttrs &a,
                                      llvm::ArrayRef<Dim> output,
                                      bool batched) {
  std::optional<int64_t> outElems = elementsPerSample(output, batched);
  if (!outElems || a.groups <= 0)
    return std::nullopt;
  int64_t perOutput = saturatingMul(saturatingMul(a.inChannels / a.groups,
                                                  a.kernel[0]),
                                    a.kernel[1]);
  return saturatingMul(*outElems, perOutput);
}

std::optional<int64_t> nn::linearMacs(const LinearAttrs &a,
                                      llvm::ArrayRef<Dim> output,
                                      bool batched) {
  std::optional<int64_t> outElems = elementsPerSample(output, batched);
  if (!outElems)
    return std::nullopt;
  return saturatingMul(*outElems, a.inFeatures);
}

std::optional<int64_t> nn::elementwiseMacs(llvm::ArrayRef<Dim> output,
                                           bool batched) {
  return elementsPerSample(output, batched);
}
