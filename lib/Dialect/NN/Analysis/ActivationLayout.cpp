//===- ActivationLayout.cpp - How values between kernels are stored -------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"

#include "netc/Dialect/NN/IR/NNOps.h"

#include "llvm/ADT/DenseMap.h"

using namespace netc;
using namespace netc::nn;

std::string KernelLayout::key() const {
  bool plain = resultBlock == 0;
  for (int b : operandBlocks)
    plain &= b == 0;
  if (plain)
    return "";
  std::string key = " @";
  for (int b : operandBlocks)
    key += std::to_string(b) + ",";
  return key + ">" + std::to_string(resultBlock) + (flatMap ? " flat" : "");
}

/// The Conv2d that `layer` starts with, with one group and a 4-D input.
static Conv2dOp oneGroupConv(const FusedLayer &layer) {
  auto conv = llvm::dyn_cast<Conv2dOp>(layer.ops.front());
  if (!conv || conv.getGroupsAttr().getInt() != 1)
    return nullptr;
  auto type = conv.getInput().getType().cast<mlir::RankedTensorType>();
  return type.getRank() == 4 ? conv : nullptr;
}

/// Whether `layer` works on channel blocks as they are, when both its
/// operand and its result are in blocks, and on NCHW otherwise: a
/// depthwise Conv2d (groups = in = out channels) or a MaxPool2d or
/// AvgPool2d, on a 4-D input whose channels are a multiple of 16, each of
/// whose output channels reads only its own, one vector of a block at a
/// time.
static bool passesBlocks(const FusedLayer &layer) {
  mlir::Operation *op = layer.ops.front();
  if (!llvm::isa<Conv2dOp, MaxPool2dOp, AvgPool2dOp>(op))
    return false;
  auto type = op->getOperand(0).getType().cast<mlir::RankedTensorType>();
  if (type.getRank() != 4 || type.isDynamicDim(1) ||
      type.getDimSize(1) % kActivationBlock != 0)
    return false;
  auto conv = llvm::dyn_cast<Conv2dOp>(op);
  if (!conv)
    return true;
  int64_t channels = conv.getInChannelsAttr().getInt();
  return conv.getGroupsAttr().getInt() == channels &&
         conv.getOutChannelsAttr().getInt() == channels;
}

/// Whether `layer` can write its result in channel blocks: a Conv2d with
/// one group (and its fused epilogue) whose 4-D output has a multiple of
/// 16 channels. Its schedule is then the channel tile.
static bool writesBlocked(const FusedLayer &layer) {
  Conv2dOp conv = oneGroupConv(layer);
  return conv && conv.getOutChannelsAttr().getInt() % kActivationBlock == 0;
}

/// Whether `layer` reads its operand `index` well in channel blocks: the
/// input of a one-group Conv2d with at least 16 output channels (the
/// channel tile broadcasts one input value at a time from either layout),
/// the residual operand of a fused layer whose result is blocked
/// (`resultBlocked`), read element for element with the result, or the
/// input of a layer that passes blocks through whose result is blocked.
static bool readsBlocked(const FusedLayer &layer, unsigned index,
                         bool resultBlocked) {
  if (index > 0 || passesBlocks(layer))
    return resultBlocked;
  Conv2dOp conv = oneGroupConv(layer);
  return conv && conv.getOutChannelsAttr().getInt() >= kActivationBlock;
}

std::vector<KernelLayout>
nn::assignActivationLayouts(mlir::FuncOp func,
                            llvm::ArrayRef<FusedLayer> layers) {
  auto outputs = func.front().getTerminator()->getOperands();
  llvm::DenseMap<mlir::Value, size_t> producer;
  std::vector<bool> blocked(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    producer[layers[i].result()] = i;
    blocked[i] = (writesBlocked(layers[i]) || passesBlocks(layers[i])) &&
                 !llvm::is_contained(outputs, layers[i].result());
  }
  // Take blocks away from every value a reader cannot take them in, and
  // from the result of a layer that passes blocks through but reads NCHW,
  // until nothing changes: a residual operand can lose its blocks when the
  // layer reading it does.
  auto isBlocked = [&](mlir::Value v) {
    auto it = producer.find(v);
    return it != producer.end() && blocked[it->second];
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t j = 0; j < layers.size(); ++j) {
      if (blocked[j] && passesBlocks(layers[j]) &&
          !isBlocked(layers[j].operands.front())) {
        blocked[j] = false;
        changed = true;
      }
      for (unsigned k = 0; k < layers[j].operands.size(); ++k) {
        auto it = producer.find(layers[j].operands[k]);
        if (it == producer.end() || !blocked[it->second] ||
            readsBlocked(layers[j], k, blocked[j]))
          continue;
        blocked[it->second] = false;
        changed = true;
      }
    }
  }
  std::vector<KernelLayout> layouts(layers.size());
  for (size_t j = 0; j < layers.size(); ++j) {
    for (mlir::Value v : layers[j].operands) {
      auto it = producer.find(v);
      layouts[j].operandBlocks.push_back(
          it != producer.end() && blocked[it->second] ? kActivationBlock : 0);
    }
    layouts[j].resultBlock = blocked[j] ? kActivationBlock : 0;
  }
  return layouts;
}

KernelLayout nn::preferredLayout(const FusedLayer &layer) {
  KernelLayout layout;
  bool resultBlocked = writesBlocked(layer) || passesBlocks(layer);
  layout.resultBlock = resultBlocked ? kActivationBlock : 0;
  for (unsigned k = 0; k < layer.operands.size(); ++k) {
    auto type = layer.operands[k].getType().cast<mlir::RankedTensorType>();
    bool blockable = type.getRank() == 4 &&
                     type.getDimSize(1) % kActivationBlock == 0;
    layout.operandBlocks.push_back(
        blockable && readsBlocked(layer, k, resultBlocked) ? kActivationBlock
                                                           : 0);
  }
  return layout;
}
