//===- Parameters.cpp - The tensors a network's layers own ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lists each op's parameters and buffers with PyTorch's names,
// shapes and default initialisation.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/Parameters.h"

#include "netc/Dialect/NN/IR/NNOps.h"

using namespace netc;
using namespace netc::nn;

std::vector<ParameterInfo> nn::parametersOf(mlir::Operation *op) {
  std::vector<ParameterInfo> params;
  auto add = [&](llvm::StringRef layer, llvm::StringRef suffix,
                 std::vector<int64_t> shape, ParameterInit init,
                 int64_t fanIn = 1, bool isBuffer = false) {
    params.push_back({(layer + "." + suffix).str(), std::move(shape), init,
                      fanIn, isBuffer});
  };
  if (auto conv = llvm::dyn_cast<Conv2dOp>(op)) {
    int64_t out = conv.getOutChannelsAttr().getInt();
    int64_t in = conv.getInChannelsAttr().getInt() /
                 conv.getGroupsAttr().getInt();
    auto k = conv.getKernelSize().getValue();
    int64_t kh = k[0].cast<mlir::IntegerAttr>().getInt();
    int64_t kw = k[1].cast<mlir::IntegerAttr>().getInt();
    int64_t fanIn = in * kh * kw;
    add(conv.getName(), "weight", {out, in, kh, kw},
        ParameterInit::FanInUniform, fanIn);
    if (conv.getBias())
      add(conv.getName(), "bias", {out}, ParameterInit::FanInUniform, fanIn);
  } else if (auto bn = llvm::dyn_cast<BatchNorm2dOp>(op)) {
    int64_t c = bn.getNumFeaturesAttr().getInt();
    if (bn.getAffine()) {
      add(bn.getName(), "weight", {c}, ParameterInit::Ones);
      add(bn.getName(), "bias", {c}, ParameterInit::Zeros);
    }
    if (bn.getTrackRunningStats()) {
      add(bn.getName(), "running_mean", {c}, ParameterInit::Zeros, 1, true);
      add(bn.getName(), "running_var", {c}, ParameterInit::Ones, 1, true);
    }
  } else if (auto fc = llvm::dyn_cast<LinearOp>(op)) {
    int64_t in = fc.getInFeaturesAttr().getInt();
    int64_t out = fc.getOutFeaturesAttr().getInt();
    add(fc.getName(), "weight", {out, in}, ParameterInit::FanInUniform, in);
    if (fc.getBias())
      add(fc.getName(), "bias", {out}, ParameterInit::FanInUniform, in);
  }
  return params;
}

std::vector<ParameterInfo> nn::collectParameters(mlir::FuncOp func) {
  std::vector<ParameterInfo> all;
  func.walk([&](mlir::Operation *op) {
    std::vector<ParameterInfo> p = parametersOf(op);
    all.insert(all.end(), p.begin(), p.end());
  });
  return all;
}
