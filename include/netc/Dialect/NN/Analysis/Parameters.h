//===- Parameters.h - The tensors a network's layers own --------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The parameters and buffers of an nn function, named as in a PyTorch
// state_dict (`<layer>.weight`, `.bias`, `.running_mean`, `.running_var`)
// with their shapes. Weight files are checked against this list, the code
// generators read weights by these names, and the AOT header lists them.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_ANALYSIS_PARAMETERS_H
#define NETC_DIALECT_NN_ANALYSIS_PARAMETERS_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc {
namespace nn {

/// How a tensor is initialised when no weights file is given, as PyTorch's
/// reset_parameters does.
enum class ParameterInit {
  /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): Conv2d and Linear weights and
  /// biases (kaiming_uniform with a=sqrt(5), and the bias rule).
  FanInUniform,
  Zeros, ///< BatchNorm bias and running_mean
  Ones,  ///< BatchNorm weight and running_var
};

/// One tensor of a layer.
struct ParameterInfo {
  std::string name;           ///< state_dict key
  std::vector<int64_t> shape; ///< PyTorch order
  ParameterInit init;
  int64_t fanIn = 1;          ///< for FanInUniform
  bool isBuffer = false;      ///< running statistics
};

/// The tensors of every layer of `func`, in layer order.
std::vector<ParameterInfo> collectParameters(mlir::FuncOp func);

/// The tensors of one op (empty for ops without any).
std::vector<ParameterInfo> parametersOf(mlir::Operation *op);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_ANALYSIS_PARAMETERS_H
