//===- LayerKey.h - Which layers compute the same function ------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// Layers with the same op, attributes (but the name) and operand types
// compile to the same code: code generators compile each such key once.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_ANALYSIS_LAYERKEY_H
#define NETC_DIALECT_NN_ANALYSIS_LAYERKEY_H

#include "mlir/IR/Operation.h"

#include <string>

namespace netc {
namespace nn {

/// A key equal for layers that compile to the same code.
std::string layerKey(mlir::Operation *op);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_LAYERKEY_H
