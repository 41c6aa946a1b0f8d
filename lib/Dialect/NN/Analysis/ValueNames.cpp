//===- ValueNames.cpp - The model's names for nn values -------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/ValueNames.h"

using namespace netc;

std::string nn::inputName(mlir::FuncOp func, unsigned index) {
  if (auto name = func.getArgAttrOfType<mlir::StringAttr>(index, "nn.name"))
    return name.getValue().str();
  return "input" + std::to_string(index);
}

std::string nn::valueName(mlir::Value value) {
  if (mlir::Operation *def = value.getDefiningOp())
    return def->getAttrOfType<mlir::StringAttr>("name").getValue().str();
  auto arg = value.cast<mlir::BlockArgument>();
  return inputName(llvm::cast<mlir::FuncOp>(arg.getOwner()->getParentOp()),
                   arg.getArgNumber());
}
