//===- netc-opt.cpp - Parse, verify and print nn IR -----------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt for the nn dialect: the dialect's round-trip and verifier tests
// run through it.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/IR/NNDialect.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "mlir/IR/Dialect.h"
#include "mlir/Support/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<netc::nn::NNDialect, mlir::StandardOpsDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "netc-opt: the nn dialect\n", registry));
}
