//===- LayerKey.cpp - Which layers compute the same function --------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file prints an op without its name as the key of identical layers.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/LayerKey.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/raw_ostream.h"

std::string netc::nn::layerKey(mlir::Operation *op) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << op->getName();
  for (mlir::NamedAttribute a : op->getAttrs())
    if (a.getName() != "name")
      os << " " << a.getName() << "=" << a.getValue();
  for (mlir::Type t : op->getOperandTypes())
    os << " " << t;
  return os.str();
}
