//===- ValueNames.h - The model's names for nn values -----------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A value of an nn function is named as the model names it: a model input
// by its `nn.name` argument attribute (the YAML `inputs:` key), a layer's
// result by the layer's `name`. Code generators name arguments, outputs and
// errors with these.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_ANALYSIS_VALUENAMES_H
#define NETC_DIALECT_NN_ANALYSIS_VALUENAMES_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace netc {
namespace nn {

/// The name of `func`'s input `index`: its `nn.name`, or `input<index>`.
std::string inputName(mlir::FuncOp func, unsigned index);

/// The name of `value`: its layer's name, or its input's.
std::string valueName(mlir::Value value);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_VALUENAMES_H
