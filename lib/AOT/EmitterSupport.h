//===- EmitterSupport.h - Helpers of the AOT emitters -----------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// What the per-layer and the whole-network emitters share: moving a
// finished temporary file into place (they compile in parallel with
// runtime::forEachInParallel). Private to lib/AOT.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_AOT_EMITTERSUPPORT_H
#define NETC_LIB_AOT_EMITTERSUPPORT_H

#include "llvm/Support/Error.h"

#include <string>

namespace netc {
namespace aot {

/// Renames `from` to `to`, or returns an error naming `to`.
llvm::Error moveInto(const std::string &from, const std::string &to);

} // namespace aot
} // namespace netc

#endif // NETC_LIB_AOT_EMITTERSUPPORT_H
