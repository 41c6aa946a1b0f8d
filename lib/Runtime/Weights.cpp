//===- Weights.cpp - A network's parameter values -------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file reads weights from safetensors and checks them against the
// model's parameter list, and initialises them deterministically.
//
//===----------------------------------------------------------------------===//

#include "netc/Runtime/Weights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <set>

using namespace netc;
using namespace netc::runtime;
using llvm::formatv;

char WeightMismatchError::ID = 0;

void WeightMismatchError::log(llvm::raw_ostream &os) const {
  llvm::interleave(problems, os, "\n");
}

std::error_code WeightMismatchError::convertToErrorCode() const {
  return std::make_error_code(std::errc::invalid_argument);
}

static std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::vector<std::string> dims;
  for (int64_t d : shape)
    dims.push_back(std::to_string(d));
  return "[" + llvm::join(dims, ", ") + "]";
}

llvm::Expected<WeightSet>
runtime::loadWeights(llvm::StringRef path,
                     const std::vector<nn::ParameterInfo> &params) {
  llvm::Expected<io::SafeTensorsFile> file = io::SafeTensorsFile::read(path);
  if (!file)
    return file.takeError();
  WeightSet weights;
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const nn::ParameterInfo &p : params) {
    expected.insert(p.name);
    const io::SafeTensorEntry *entry = file->lookup(p.name);
    if (!entry) {
      problems.push_back(formatv("'{0}' has no tensor '{1}' (expected shape "
                                 "{2})",
                                 path, p.name, shapeString(p.shape)));
      continue;
    }
    if (entry->shape != p.shape) {
      problems.push_back(formatv("tensor '{0}' in '{1}' has shape {2}, but "
                                 "the model expects {3}",
                                 p.name, path, shapeString(entry->shape),
                                 shapeString(p.shape)));
      continue;
    }
    llvm::Expected<io::Tensor> t = file->readFloat(p.name);
    if (!t) {
      // The entry exists, so readFloat fails only on a dtype it cannot
      // convert; its message would repeat the tensor's name and dtype.
      llvm::consumeError(t.takeError());
      problems.push_back(formatv("tensor '{0}' in '{1}' has dtype {2}, but "
                                 "the model expects a floating-point dtype "
                                 "(F32, F16, BF16 or F64)",
                                 p.name, path, entry->dtype));
      continue;
    }
    weights[p.name] = std::move(*t);
  }
  for (const std::string &name : file->names())
    if (!expected.count(name) &&
        !llvm::StringRef(name).endswith(".num_batches_tracked"))
      problems.push_back(formatv("'{0}' has tensor '{1}', which no layer of "
                                 "the model has",
                                 path, name));
  if (!problems.empty())
    return llvm::make_error<WeightMismatchError>(std::move(problems));
  return std::move(weights);
}

/// splitmix64: a small, well-mixed generator; the values need to be
/// reproducible, not cryptographic.
static uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// FNV-1a: a hash of the name that is the same in every build.
static uint64_t stableHash(llvm::StringRef s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

WeightSet runtime::initializeWeights(
    const std::vector<nn::ParameterInfo> &params, uint64_t seed) {
  WeightSet weights;
  for (const nn::ParameterInfo &p : params) {
    io::Tensor t;
    t.shape = p.shape;
    int64_t count = io::getNumElements(p.shape);
    t.data.resize(count > 0 ? size_t(count) : 0);
    uint64_t state = seed ^ stableHash(p.name);
    switch (p.init) {
    case nn::ParameterInit::Zeros:
      break;
    case nn::ParameterInit::Ones:
      std::fill(t.data.begin(), t.data.end(), 1.0f);
      break;
    case nn::ParameterInit::FanInUniform: {
      double bound = p.fanIn > 0 ? 1.0 / std::sqrt(double(p.fanIn)) : 0.0;
      for (float &v : t.data) {
        double u = double(splitmix(state) >> 11) * 0x1.0p-53; // [0, 1)
        v = float((2 * u - 1) * bound);
      }
      break;
    }
    }
    weights[p.name] = std::move(t);
  }
  return weights;
}
