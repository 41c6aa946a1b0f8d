//===- DiagnosticFormats.h - Machine-readable diagnostics -------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// `--diagnostics-format=json|sarif`: a diagnostic handler that collects every
// diagnostic with its notes and prints them as one JSON document (a netc
// array, or SARIF 2.1.0 as clang and GitHub code scanning read it).
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DRIVER_DIAGNOSTICFORMATS_H
#define NETC_DRIVER_DIAGNOSTICFORMATS_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace netc {

/// One diagnostic or note, flattened.
struct CollectedDiagnostic {
  std::string severity; ///< "error", "warning", "note", "remark"
  std::string file;
  unsigned line = 0, column = 0;
  std::string message;
  std::vector<CollectedDiagnostic> notes;
};

/// Collects diagnostics while registered with a context.
class CollectingDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  explicit CollectingDiagnosticHandler(mlir::MLIRContext *ctx);
  const std::vector<CollectedDiagnostic> &diagnostics() const {
    return collected;
  }

private:
  std::vector<CollectedDiagnostic> collected;
};

/// Prints `diags` as a JSON array of objects with severity, file, line,
/// column, message and notes.
void printJSONDiagnostics(llvm::ArrayRef<CollectedDiagnostic> diags,
                          llvm::raw_ostream &os);

/// Prints `diags` as a SARIF 2.1.0 log with one run of tool "netc".
void printSARIFDiagnostics(llvm::ArrayRef<CollectedDiagnostic> diags,
                           llvm::raw_ostream &os);

} // namespace netc

#endif // NETC_DRIVER_DIAGNOSTICFORMATS_H
