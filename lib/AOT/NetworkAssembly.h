//===- NetworkAssembly.h - A network library from layer kernels -*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The whole-network library of `netc model.yaml -o DIR`, assembled from one
// compiled kernel per distinct layer and a top-level Halide pipeline that
// calls them as extern stages. Private to lib/AOT.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_AOT_NETWORKASSEMBLY_H
#define NETC_LIB_AOT_NETWORKASSEMBLY_H

#include "netc/AOT/ObjectEmitter.h"

#include <Halide.h>

namespace netc {
namespace aot {

/// Writes `<dir>/<name>.a` and `<dir>/<name>.h` for `func`, with one
/// function `<name>` taking the model's inputs, then (unless `opts` embeds
/// the weights) every parameter and buffer in layer order, then the
/// outputs. Appends the paths written to `written`. Halide errors are
/// thrown to the caller.
llvm::Error emitAssembledNetwork(mlir::FuncOp func, const EmitOptions &opts,
                                 const Halide::Target &target,
                                 std::vector<std::string> &written);

/// Prints `stage` ("loop-nest" or "halide-stmt") of every kernel the
/// library (and the JIT) would compile for `func`: one per distinct (fused)
/// layer, in the order they first run, each under a line naming it and the
/// other layers it runs for.
llvm::Error printKernelStages(mlir::FuncOp func, llvm::StringRef stage,
                              bool fuse, const Halide::Target &target,
                              llvm::raw_ostream &os);

} // namespace aot
} // namespace netc

#endif // NETC_LIB_AOT_NETWORKASSEMBLY_H
