//===- JITSession.h - Compile and run a network in-process ------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A network JIT-compiled for this machine with its weights embedded: the
// engine behind `netc run` and `netc bench`. Every Halide error is caught
// here and returned as an llvm::Error.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_RUNTIME_JITSESSION_H
#define NETC_RUNTIME_JITSESSION_H

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/IO/TensorFile.h"
#include "netc/Runtime/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace netc {
namespace runtime {

/// Told (from compiling threads, one call at a time) how many of the
/// distinct layers have been compiled; the driver shows it on a terminal.
using CompileProgress = std::function<void(size_t done, size_t total)>;

/// Sets the progress callback of later compilations (JIT and per-layer
/// AOT); an empty one shows nothing.
void setCompileProgress(CompileProgress progress);

/// Reports one more compiled layer out of `total` to the callback.
void reportCompileProgress(size_t done, size_t total);

/// Calls `work` for 0 .. count-1 on up to the CPUs this process may run on
/// (halide::availableCPUs; each Halide module compiles in its own LLVM
/// context) and reports each finished item to the compile-progress
/// callback. `work` returns an error message, or an empty string; a
/// Halide::Error it throws is caught. Returns the first error in index
/// order. The JIT and the AOT emitters compile with it.
llvm::Error
forEachInParallel(size_t count,
                  llvm::function_ref<std::string(size_t index)> work);

/// Runs `body` once to warm up, then `repetitions` times (at least once),
/// and returns the wall time of each timed run in ms, or `body`'s first
/// error.
llvm::Expected<std::vector<double>>
timeRepeated(int repetitions, llvm::function_ref<llvm::Error()> body);

/// Which schedule to compile with: the reference, netc's tuned schedule,
/// or one of Halide's autoschedulers (for comparison in the benchmark).
enum class Schedule { Reference, Tuned, Mullapudi2016, Adams2019 };

/// A compiled network.
class JITSession {
public:
  ~JITSession();

  /// Lowers `func` with `weights`, schedules it and JIT-compiles it for
  /// `target` (a Halide target string; "host" by default). With `fuse`,
  /// a Conv2d and the BatchNorm2d, residual Add and activation after it
  /// run as one kernel (nn::fuseLayers).
  /// An autoscheduler plans for a symbolic batch of `batchEstimate`, and
  /// netc's tuned schedule takes the tuning cache's choices for it
  /// (halide::plannedBatch).
  static llvm::Expected<std::unique_ptr<JITSession>>
  compile(mlir::FuncOp func, WeightSet weights, Schedule schedule,
          llvm::StringRef target = "host", bool fuse = true,
          int64_t batchEstimate = 1);

  /// Compiles one (fused) layer on its own (its operands become inputs),
  /// for per-layer timing. `weights` must hold the layer's parameters. With
  /// the tuned schedule, its operands and result are stored as they would
  /// be inside a network (nn::preferredLayout): run() converts the
  /// inputs and outputs, timeLayers() leaves that out. `layout`, if
  /// given, replaces the preferred one (netc tune passes the network's).
  static llvm::Expected<std::unique_ptr<JITSession>>
  compileLayer(const nn::FusedLayer &layer, WeightSet weights,
               Schedule schedule, llvm::StringRef target = "host",
               int64_t batchEstimate = 1,
               const nn::KernelLayout *layout = nullptr);

  /// The model's inputs and outputs, in order.
  const std::vector<std::string> &inputNames() const;
  const std::vector<std::string> &outputNames() const;

  /// Runs the forward pass on `inputs` (one per model input, in order; the
  /// caller checked their shapes). Returns the outputs in order.
  llvm::Expected<std::vector<io::Tensor>>
  run(const std::vector<const io::Tensor *> &inputs);

  /// Times the layers alone on `inputs`: one warm-up run, then
  /// `repetitions` runs of the layers' kernels, in ms each. The inputs are
  /// converted to the layout the first layer reads once, before, and the
  /// outputs are not copied out.
  llvm::Expected<std::vector<double>>
  timeLayers(const std::vector<const io::Tensor *> &inputs, int repetitions);

  /// Seconds spent lowering and compiling.
  double compileSeconds() const { return seconds; }

  struct Impl;
  /// Wraps a compiled pipeline that took `seconds` to build.
  static std::unique_ptr<JITSession> create(std::unique_ptr<Impl> impl,
                                            double seconds);

private:
  explicit JITSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
  double seconds = 0;
};

} // namespace runtime
} // namespace netc

#endif // NETC_RUNTIME_JITSESSION_H
