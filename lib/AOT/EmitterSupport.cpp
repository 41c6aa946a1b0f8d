//===- EmitterSupport.cpp - Helpers of the AOT emitters -------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#include "EmitterSupport.h"

#include "llvm/Support/FileSystem.h"

using namespace netc;

llvm::Error aot::moveInto(const std::string &from, const std::string &to) {
  if (std::error_code ec = llvm::sys::fs::rename(from, to))
    return llvm::createStringError(ec, "cannot write '%s': %s", to.c_str(),
                                   ec.message().c_str());
  return llvm::Error::success();
}
