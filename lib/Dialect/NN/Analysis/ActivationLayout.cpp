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
  return key + ">" + std::to_string(resultBlock);
}

/// The Conv2d that `layer` starts with, with one group and a 4-D input.
static Conv2dOp oneGroupConv(const FusedLayer &layer) {
  auto conv = llvm::dyn_cast<nn::Conv2dOp>(layer.ops.front());
  if (!conv || conv.getGroupsAttr().getInt() != 1)
    return nullptr;
  auto type = conv.getInput().getType().cast<mlir::RankedTensorType>();
  return type.getRank() == 4 ? conv : nullptr;
}

bool nn::passesBlocks(const FusedLayer &layer) {
  auto conv = llvm::dyn_cast<Conv2dOp>(layer.ops.front());
  if (!conv)
    return false;
  int64_t channels = conv.getInChannelsAttr().getInt();
  auto type = conv.getInput().getType().cast<mlir::RankedTensorType>();
  return type.getRank() == 4 && conv.getGroupsAttr().getInt() == channels &&
         conv.getOutChannelsAttr().getInt() == channels &&
         channels % kActivationBlock == 0;
}

bool nn::writesBlocked(const nn::FusedLayer &layer) {
  nn::Conv2dOp conv = oneGroupConv(layer);
  return conv && conv.getOutChannelsAttr().getInt() % kActivationBlock == 0;
}

bool nn::readsBlocked(const nn::FusedLayer &layer, unsigned index,
                          bool resultBlocked) {
  if (index > 0 || passesBlocks(layer))
    return resultBlocked;
  nn::Conv2dOp conv = oneGroupConv(layer);
  return conv && conv.getOutChannelsAttr().getInt() >= kActivationBlock;
}

std::vector<KernelLayout>
nn::assignActivationLayouts(llvm::ArrayRef<nn::FusedLayer> layers,
                                llvm::ArrayRef<mlir::Value> outputs) {
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

KernelLayout nn::preferredLayout(const nn::FusedLayer &layer) {
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

std::vector<int64_t> nn::storageShape(const std::vector<int64_t> &shape,
                                          int block) {
  if (!block)
    return shape;
  assert(shape.size() == 4 && shape[1] % block == 0 &&
         "only 4-D tensors with whole blocks are stored in blocks");
  return {shape[0], shape[1] / block, shape[2], shape[3], block};
}
