//===- NNOps.h - nn dialect ops ---------------------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_IR_NNOPS_H
#define NETC_DIALECT_NN_IR_NNOPS_H

#include "netc/Dialect/NN/IR/NNDialect.h"
#include "netc/Dialect/NN/IR/ShapeUtils.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "netc/Dialect/NN/IR/NNOps.h.inc"

namespace netc {
namespace nn {

/// Converts a tensor type to a Shape: dynamic dimensions become unknown.
Shape shapeOf(mlir::Type type);

/// Converts a Shape to a tensor type: anything not known becomes dynamic.
mlir::RankedTensorType tensorTypeOf(llvm::ArrayRef<Dim> shape,
                                    mlir::MLIRContext *ctx);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_IR_NNOPS_H
