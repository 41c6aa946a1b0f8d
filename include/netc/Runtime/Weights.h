//===- Weights.h - A network's parameter values ----------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The values of a network's parameters and buffers by state_dict name: read
// from a safetensors file and checked against the model (every tensor
// present, none extra, each with its layer's shape and a float type), or
// initialised deterministically with PyTorch's default scheme.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_RUNTIME_WEIGHTS_H
#define NETC_RUNTIME_WEIGHTS_H

#include "netc/Dialect/NN/Analysis/Parameters.h"
#include "netc/IO/TensorFile.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace netc {
namespace runtime {

/// Tensor values by state_dict name.
using WeightSet = std::map<std::string, io::Tensor>;

/// The weights file does not fit the model: every missing, extra,
/// misshapen or wrongly typed tensor, one message each. A model error
/// (exit 1), unlike the io::FileError of an unreadable or corrupt file.
class WeightMismatchError : public llvm::ErrorInfo<WeightMismatchError> {
public:
  static char ID;
  explicit WeightMismatchError(std::vector<std::string> problems)
      : problems(std::move(problems)) {}
  const std::vector<std::string> &getProblems() const { return problems; }
  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override;

private:
  std::vector<std::string> problems;
};

/// Reads `path` and checks it against `params`. `num_batches_tracked`
/// entries are accepted and ignored. Returns io::FileError for a file that
/// cannot be read or is corrupt, WeightMismatchError for a file that does
/// not fit.
llvm::Expected<WeightSet>
loadWeights(llvm::StringRef path,
            const std::vector<nn::ParameterInfo> &params);

/// Initialises `params` as PyTorch's reset_parameters would (uniform in
/// +-1/sqrt(fan_in) for Conv2d and Linear, ones and zeros for BatchNorm),
/// from a generator seeded with `seed` and each tensor's name, so the values
/// do not depend on the order of the layers.
WeightSet initializeWeights(const std::vector<nn::ParameterInfo> &params,
                            uint64_t seed);

} // namespace runtime
} // namespace netc

#endif // NETC_RUNTIME_WEIGHTS_H
