//===- ObjectEmitter.h - Static libraries and headers -----------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// Ahead-of-time compilation: a checked network becomes a static library and
// a C header with one function, for a C or C++ program to link with no
// Python and no netc at run time (pthreads and libdl only).
//
//===----------------------------------------------------------------------===//

#ifndef NETC_AOT_OBJECTEMITTER_H
#define NETC_AOT_OBJECTEMITTER_H

#include "netc/Runtime/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace netc {
namespace aot {

struct EmitOptions {
  /// Where the files go; created if missing.
  std::string outputDir = ".";
  /// A Halide target string. `host` uses every ISA extension of the
  /// building machine: such objects may not run on an older CPU.
  std::string target = "host";
  /// Weights to embed in the object. Without them, every parameter and
  /// buffer is an extra argument named after its state_dict key.
  std::optional<runtime::WeightSet> weights;
  /// One function per Conv2d (identical convolutions share one compiled
  /// function), plus one shared Halide runtime library.
  bool perLayer = false;
  /// The whole-network library: a Conv2d and the BatchNorm2d, residual Add
  /// and activation after it are one kernel (nn::fuseLayers).
  bool fuse = true;
};

/// Compiles `func` and writes `<name>.a` and `<name>.h` (per layer:
/// `<name>_<layer>.h` and the libraries they name) into the output
/// directory. Files are written under temporary names and renamed when
/// complete, so a failure leaves earlier outputs untouched. Returns the
/// paths written.
llvm::Expected<std::vector<std::string>> emitLibrary(mlir::FuncOp func,
                                                     const EmitOptions &opts);

/// Prints a stage of `func`'s compilation with the tuned schedule, for
/// each kernel the library and the JIT run (`fuse` as EmitOptions):
/// `loop-nest` (Halide's loop nest: the loop kinds a schedule makes) or
/// `halide-stmt` (Halide's lowered statement).
llvm::Error printStage(mlir::FuncOp func, llvm::StringRef stage,
                       llvm::StringRef target, bool fuse,
                       llvm::raw_ostream &os);

} // namespace aot
} // namespace netc

#endif // NETC_AOT_OBJECTEMITTER_H
