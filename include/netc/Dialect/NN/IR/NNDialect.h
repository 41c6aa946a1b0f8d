//===- NNDialect.h - nn dialect ---------------------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_IR_NNDIALECT_H
#define NETC_DIALECT_NN_IR_NNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "netc/Dialect/NN/IR/NNDialect.h.inc"

#endif // NETC_DIALECT_NN_IR_NNDIALECT_H
