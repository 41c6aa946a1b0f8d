//===- Subcommands.h - netc's subcommands -----------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The subcommands of the netc tool as functions returning the process exit
// status: 0 success (warnings allowed), 1 model errors, 2 usage errors or
// unreadable files. tools/netc parses the command line into NetcOptions.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DRIVER_SUBCOMMANDS_H
#define NETC_DRIVER_SUBCOMMANDS_H

#include <string>

namespace netc {

/// Exit statuses of the spec.
enum ExitStatus { ExitSuccess = 0, ExitModelError = 1, ExitUsageError = 2 };

/// How diagnostics are printed.
enum class DiagnosticsFormat { Text, JSON, SARIF };

/// Everything the command line can say.
struct NetcOptions {
  std::string inputFile;
  DiagnosticsFormat diagnosticsFormat = DiagnosticsFormat::Text;
  bool verifyDiagnostics = false;
  bool splitInputFile = false;
  bool warningsAsErrors = false;
  /// `--emit=mlir` prints the checked IR.
  std::string emit;
  /// `summary --json`.
  bool json = false;
  /// `summary --depth`: the deepest level of the name hierarchy shown as
  /// rows; deeper layers are folded into their group's row. 0: all.
  unsigned depth = 0;
  /// Compile every layer on its own, with no Conv2d epilogue fusion
  /// (nn::fuseLayers): run, bench, the compile form, `--emit=kernels`.
  bool noFuse = false;
  /// `explain`'s layer.
  std::string layer;
  /// The compile form's output directory.
  std::string outputDir = ".";
};

/// `netc check FILE`: verify only.
int runCheck(const NetcOptions &options);
/// `netc summary FILE [--json] [--depth N]`.
int runSummary(const NetcOptions &options);
/// `netc explain FILE LAYER`.
int runExplain(const NetcOptions &options);

} // namespace netc

#endif // NETC_DRIVER_SUBCOMMANDS_H
