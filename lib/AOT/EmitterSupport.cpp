//===- EmitterSupport.cpp - Helpers of the AOT emitters -------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#include "EmitterSupport.h"

#include "netc/Runtime/JITSession.h"

#include "llvm/Support/FileSystem.h"

#include <Halide.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

using namespace netc;

llvm::Error
aot::forEachInParallel(size_t count,
                       llvm::function_ref<std::string(size_t index)> work) {
  std::vector<std::string> errors(count);
  std::atomic<size_t> next{0}, done{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) {
      try {
        errors[i] = work(i);
      } catch (const Halide::Error &e) {
        errors[i] = "Halide: " + std::string(e.what());
      }
      runtime::reportCompileProgress(++done, count);
    }
  };
  size_t threads = std::min<size_t>(
      std::max(1u, std::thread::hardware_concurrency()), count);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool)
    t.join();
  for (const std::string &error : errors)
    if (!error.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(), error);
  return llvm::Error::success();
}

llvm::Error aot::moveInto(const std::string &from, const std::string &to) {
  if (std::error_code ec = llvm::sys::fs::rename(from, to))
    return llvm::createStringError(ec, "cannot write '%s': %s", to.c_str(),
                                   ec.message().c_str());
  return llvm::Error::success();
}
