//===- Fusion.cpp - Layers that code generators compile together ----------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/Fusion.h"

#include "netc/Dialect/NN/Analysis/LayerKey.h"
#include "netc/Dialect/NN/IR/NNOps.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"

using namespace netc;
using namespace netc::nn;

static llvm::StringRef nameOf(mlir::Operation *op) {
  return op->getAttrOfType<mlir::StringAttr>("name").getValue();
}

std::string FusedLayer::name() const {
  std::vector<std::string> names;
  for (mlir::Operation *op : ops)
    names.push_back(nameOf(op).str());
  return llvm::join(names, "+");
}

std::string FusedLayer::key() const {
  std::string key;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i)
      key += " | ";
    key += layerKey(ops[i]);
    // Which operand of an Add the chain is: the kernel's inputs follow it.
    if (i && llvm::isa<AddOp>(ops[i]))
      key += ops[i]->getOperand(0) == ops[i - 1]->getResult(0) ? " lhs"
                                                               : " rhs";
  }
  return key;
}

unsigned FusedLayer::ownerOf(llvm::StringRef stateName) const {
  unsigned owner = 0;
  size_t longest = 0;
  for (unsigned i = 0; i < ops.size(); ++i) {
    llvm::StringRef name = nameOf(ops[i]);
    if (stateName.startswith(name) &&
        stateName.drop_front(name.size()).startswith(".") &&
        name.size() >= longest) {
      owner = i;
      longest = name.size();
    }
  }
  return owner;
}

FusedLayer nn::singleLayer(mlir::Operation *op) {
  FusedLayer layer;
  layer.ops.push_back(op);
  layer.operands.append(op->operand_begin(), op->operand_end());
  return layer;
}

/// The one op that reads `op`'s result, if there is exactly one use and
/// that op is not in a chain yet (an Add can end two chains: the first
/// Conv2d takes it, the other's result becomes its residual operand).
static mlir::Operation *
soleUser(mlir::Operation *op,
         const llvm::DenseSet<mlir::Operation *> &inChain) {
  mlir::Value v = op->getResult(0);
  if (!v.hasOneUse())
    return nullptr;
  mlir::Operation *user = *v.getUsers().begin();
  return llvm::isa<mlir::ReturnOp>(user) || inChain.contains(user) ? nullptr
                                                                  : user;
}

/// Activations that map each element on its own.
static bool isFusableActivation(mlir::Operation *op) {
  return llvm::isa<ReLUOp, ReLU6Op, SiLUOp, SigmoidOp, TanhOp, HardswishOp,
                   GELUOp, LeakyReLUOp>(op);
}

/// The chain a Conv2d starts, of ops not in `inChain` yet.
static FusedLayer chainFrom(mlir::Operation *conv,
                            const llvm::DenseSet<mlir::Operation *> &inChain) {
  FusedLayer layer = singleLayer(conv);
  mlir::Operation *next = soleUser(conv, inChain);
  if (auto bn = llvm::dyn_cast_or_null<BatchNorm2dOp>(next);
      bn && bn.getTrackRunningStats()) {
    layer.ops.push_back(next);
    next = soleUser(next, inChain);
  }
  if (next && llvm::isa<AddOp>(next) && next->getNumOperands() == 2) {
    mlir::Value chain = layer.result();
    mlir::Value other = next->getOperand(0) == chain ? next->getOperand(1)
                                                     : next->getOperand(0);
    // Same shape on both sides (no broadcasting), and not the chain twice.
    if (other != chain && other.getType() == chain.getType() &&
        next->getResult(0).getType() == chain.getType()) {
      layer.ops.push_back(next);
      layer.operands.push_back(other);
      next = soleUser(next, inChain);
    }
  }
  if (next && isFusableActivation(next))
    layer.ops.push_back(next);
  return layer;
}

std::vector<FusedLayer> nn::fuseLayers(mlir::FuncOp func, bool fuse) {
  std::vector<FusedLayer> layers;
  // Chains by their last op, where they run: by then the residual operand
  // of an Add, computed between the Conv2d and the Add, exists.
  llvm::DenseMap<mlir::Operation *, FusedLayer> chainEndingAt;
  llvm::DenseSet<mlir::Operation *> inChain;
  if (fuse)
    for (mlir::Operation &op : func.front())
      if (llvm::isa<Conv2dOp>(op)) {
        FusedLayer chain = chainFrom(&op, inChain);
        if (chain.ops.size() < 2)
          continue;
        for (mlir::Operation *member : chain.ops)
          inChain.insert(member);
        chainEndingAt[chain.last()] = std::move(chain);
      }
  for (mlir::Operation &op : func.front()) {
    if (llvm::isa<mlir::ReturnOp>(op))
      continue;
    auto it = chainEndingAt.find(&op);
    if (it != chainEndingAt.end())
      layers.push_back(std::move(it->second));
    else if (!inChain.contains(&op))
      layers.push_back(singleLayer(&op));
  }
  return layers;
}
