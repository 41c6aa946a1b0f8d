//===- YAMLImportFuzzer.cpp - Fuzz the YAML front end and summary --------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the netc-fuzz-yaml target: each input is a model
// file. It goes through importNetwork twice from memory, once with the text
// diagnostic handler (file:line:col, source line and caret, written to a
// null stream) and once with the collecting handler behind --diagnostics-
// format=json/sarif, both printed. A model that checks without any
// diagnostic also goes through the driver's `summary`, `summary --json` and
// `explain` (stdout goes to /dev/null), which add up parameters and MACs.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "netc/Driver/DiagnosticFormats.h"
#include "netc/Driver/Subcommands.h"
#include "netc/Frontend/YAMLImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace netc;

/// The buffer name diagnostics and the default model name use.
static constexpr const char *bufferName = "fuzz.yaml";

/// Imports `text` with the text diagnostic handler writing to a null stream.
/// Returns whether the model checked cleanly and produced no diagnostic at
/// all; fills `summary`.
static bool importWithTextHandler(llvm::StringRef text,
                                  NetworkSummary &summary) {
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), llvm::SMLoc());
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, llvm::nulls());
  unsigned diagnostics = 0;
  // Registered after `handler`, so it runs first; failure() passes the
  // diagnostic on to `handler`.
  mlir::DiagnosticEngine::HandlerID counter =
      context.getDiagEngine().registerHandler([&](mlir::Diagnostic &) {
        ++diagnostics;
        return mlir::failure();
      });
  ImportOptions options;
  options.modelFileName = bufferName;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importNetwork(sourceMgr, id, &context, options, &summary);
  bool clean = module && diagnostics == 0;
  if (module) {
    // A module the front end accepts must verify and print.
    if (mlir::failed(mlir::verify(*module)))
      fuzz::oracleFailure("importNetwork returned a module that does not "
                          "verify");
    module->print(llvm::nulls());
  }
  context.getDiagEngine().eraseHandler(counter);
  return clean;
}

/// Imports `text` as --diagnostics-format=json and sarif do, and prints both.
static void importWithCollectingHandler(llvm::StringRef text) {
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), llvm::SMLoc());
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  CollectingDiagnosticHandler handler(&context);
  ImportOptions options;
  options.warningsAsErrors = true;
  (void)importNetwork(sourceMgr, id, &context, options);
  printJSONDiagnostics(handler.diagnostics(), llvm::nulls());
  printSARIFDiagnostics(handler.diagnostics(), llvm::nulls());
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // summary and explain print to stdout; libFuzzer reports on stderr.
  int devNull = ::open("/dev/null", O_WRONLY);
  if (devNull >= 0) {
    ::dup2(devNull, STDOUT_FILENO);
    ::close(devNull);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  NetworkSummary summary;
  bool clean = importWithTextHandler(text, summary);
  importWithCollectingHandler(text);
  if (!clean)
    return 0;

  // The driver reads files; a clean model prints nothing to stderr.
  static const fuzz::ScratchFile model(".yaml");
  model.write(data, size);
  NetcOptions options;
  options.inputFile = model.path;
  if (runSummary(options) != ExitSuccess)
    fuzz::oracleFailure("summary failed on a model that checks cleanly");
  options.json = true;
  if (runSummary(options) != ExitSuccess)
    fuzz::oracleFailure("summary --json failed on a model that checks "
                        "cleanly");
  if (!summary.layers.empty()) {
    options.layer = summary.layers.back().name;
    if (runExplain(options) != ExitSuccess)
      fuzz::oracleFailure("explain failed on a layer of the summary");
  }
  llvm::outs().flush();
  return 0;
}
