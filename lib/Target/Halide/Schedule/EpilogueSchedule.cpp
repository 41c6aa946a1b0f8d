//===- EpilogueSchedule.cpp - A Conv2d with its fused epilogue ------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file schedules a fused layer (nn::FusedLayer): a Conv2d followed by
// a BatchNorm2d, a residual Add and an activation. The convolution's own
// schedule tiles the last layer's output instead of its own, so the layers
// between are inlined into the tile's epilogue: each output element is
// normalised, added to and activated while it is still in registers,
// without a pass over memory per layer. Their per-channel helpers (the
// BatchNorm's scale and shift) are computed once, at root.
//
//===----------------------------------------------------------------------===//

#include "ScheduleUtils.h"

#include "netc/Dialect/NN/IR/NNOps.h"

using namespace netc;
using namespace netc::halide;

void halide::scheduleFusedConv(LoweredNetwork &net,
                               const Halide::Target &target) {
  assert(net.fused && llvm::isa<nn::Conv2dOp>(net.layers.front().op) &&
         "a fused layer starts with a Conv2d");
  const LoweredLayer &last = net.layers.back();
  // The convolution as its schedule sees it, with the last layer's output
  // as its own: the convolution's output Func is left out, and inlined.
  LoweredLayer conv = net.layers.front();
  for (auto &[func, role] : conv.funcs)
    if (role == FuncRole::Output)
      func = last.output.storage();
  conv.output = last.output;
  for (size_t i = 1; i < net.layers.size(); ++i)
    for (auto &[func, role] : net.layers[i].funcs)
      if (role == FuncRole::Helper)
        func.compute_root();
  scheduleConv(conv, target);
}
