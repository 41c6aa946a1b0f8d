//===- LoweredNetwork.h - An nn function as Halide Funcs --------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The algorithm of a network in Halide: one or more Funcs per layer, with no
// scheduling directive. Schedules (Schedule.h) are applied afterwards to the
// Funcs handed over here, so every tuned schedule can be checked against the
// reference schedule of the same algorithm.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_TARGET_HALIDE_LOWEREDNETWORK_H
#define NETC_TARGET_HALIDE_LOWEREDNETWORK_H

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/Target/Halide/WeightLayout.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <Halide.h>

#include <functional>
#include <string>
#include <vector>

namespace netc {
namespace halide {

/// A tensor as a Halide Func. Halide's first dimension is the innermost, so
/// a PyTorch [N, C, H, W] tensor is a Func of (w, h, c, n); `sizes` are in
/// PyTorch order, static except a symbolic batch.
struct Tensor {
  Halide::Func func;
  std::vector<Halide::Expr> sizes;
  /// When not 0, the tensor is stored with its channels in blocks of
  /// `block` (see ActivationLayout.h), and `blocked` is that storage: a
  /// Func of (channel in block, x, y, block, n). `func` reads it.
  int block = 0;
  Halide::Func blocked;

  size_t rank() const { return sizes.size(); }
  /// The Func a pipeline stores: `blocked` when blocked, else `func`.
  Halide::Func storage() const { return block ? blocked : func; }
  /// The element at a PyTorch-order index.
  Halide::Expr at(std::vector<Halide::Expr> index) const;
};

/// The role of a Func inside its layer, for schedules.
enum class FuncRole {
  Output,     ///< the layer's result
  Padded,     ///< a convolution or pooling input with its border
  Accumulate, ///< a reduction that the output reads
  Packed,     ///< weights rearranged for the kernel
  Helper,     ///< anything else (statistics, scales)
};

/// One layer after lowering.
struct LoweredLayer {
  std::string name;   ///< the layer's name in the model
  mlir::Operation *op = nullptr;
  Tensor output;
  /// The Funcs the layer defines, with their roles; the output is among them
  /// unless the layer is an alias (Dropout, Identity).
  std::vector<std::pair<Halide::Func, FuncRole>> funcs;
  /// Pure variables of the output, innermost first.
  std::vector<Halide::Var> vars;
  /// For reductions: the reduction domain of the Accumulate Func.
  Halide::RDom reduction;
  /// The channel block of the layer's (first) input, 0 for NCHW.
  int inputBlock = 0;
};

/// A network lowered to Halide.
struct LoweredNetwork {
  std::string name;
  std::vector<Halide::ImageParam> inputs;
  std::vector<std::string> inputNames;
  /// The inputs' shapes in PyTorch order; -1 for a symbolic batch.
  std::vector<std::vector<int64_t>> inputShapes;
  std::vector<LoweredLayer> layers;
  std::vector<Tensor> outputs;
  std::vector<std::string> outputNames;
  /// A fused layer (lowerFusedLayer of several ops): the first layer's
  /// schedule computes the last layer's output, the layers between inline.
  bool fused = false;
};

/// Lowers one op on its own: its operands become ImageParams named
/// `input`, `input1`, ... (with a free batch), its result the only output.
/// For per-layer object files and per-layer benchmarks.
llvm::Expected<LoweredNetwork> lowerLayer(mlir::Operation *op,
                                          const WeightProvider &weights);

/// Lowers a fused layer the same way: its operands become the ImageParams
/// `input`, `input1`, ..., each op reads the one before, and the last op's
/// result is the only output. `layout` says which operands arrive in
/// channel blocks (5-D ImageParams) and whether the result leaves in them;
/// the last layer's Output Func is then the blocked one.
llvm::Expected<LoweredNetwork>
lowerFusedLayer(const nn::FusedLayer &layer, const WeightProvider &weights,
                const nn::KernelLayout &layout = nn::KernelLayout());

/// Tells Halide the number of channels of `output` (a tensor of rank 3 or
/// more whose storage is the output of the pipeline about to be compiled):
/// the pipeline then checks it, and a schedule's split of the channels
/// needs no tail when it divides them (blocked weights are then read with
/// dense vectors).
void constrainOutputChannels(const Tensor &output);

/// Makes `name` a valid, unique Halide Func name ("layer1.0.conv1" ->
/// "layer1_0_conv1").
std::string funcName(llvm::StringRef name);

} // namespace halide
} // namespace netc

#endif // NETC_TARGET_HALIDE_LOWEREDNETWORK_H
