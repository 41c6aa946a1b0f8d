//===- EmitterSupport.h - Helpers of the AOT emitters -----------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// What the per-layer and the whole-network emitters share: compiling
// independent pieces on parallel threads, and moving a finished temporary
// file into place. Private to lib/AOT.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_AOT_EMITTERSUPPORT_H
#define NETC_LIB_AOT_EMITTERSUPPORT_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <string>

namespace netc {
namespace aot {

/// Calls `work` for 0 .. count-1 on up to the machine's cores (each Halide
/// module compiles in its own LLVM context) and reports each finished item
/// to the compile-progress callback. `work` returns an error message, or an
/// empty string; a Halide::Error it throws is caught. Returns the first
/// error in index order.
llvm::Error
forEachInParallel(size_t count,
                  llvm::function_ref<std::string(size_t index)> work);

/// Renames `from` to `to`, or returns an error naming `to`.
llvm::Error moveInto(const std::string &from, const std::string &to);

} // namespace aot
} // namespace netc

#endif // NETC_LIB_AOT_EMITTERSUPPORT_H
