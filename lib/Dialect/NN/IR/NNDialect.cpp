//===- NNDialect.cpp - nn dialect -----------------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file registers the nn dialect and its ops.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/IR/NNDialect.h"
#include "netc/Dialect/NN/IR/NNOps.h"

using namespace netc::nn;

#include "netc/Dialect/NN/IR/NNDialect.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "netc/Dialect/NN/IR/NNOps.cpp.inc"
      >();
}
