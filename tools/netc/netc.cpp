//===- netc.cpp - The netc command-line tool ------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The thin driver: picks the subcommand from the first argument, parses the
// options, and calls lib/Driver. Exit statuses: 0 success, 1 model errors,
// 2 usage errors or unreadable files.
//
//===----------------------------------------------------------------------===//

#include "netc/Driver/Subcommands.h"
#include "netc/Driver/Version.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace netc;

static cl::OptionCategory netcCategory("netc options");

static cl::list<std::string> positionals(cl::Positional, cl::ZeroOrMore,
                                         cl::desc("<model.yaml> [LAYER]"),
                                         cl::cat(netcCategory));
static cl::opt<std::string> outputDir("o", cl::desc("Output directory"),
                                      cl::value_desc("dir"), cl::init("."),
                                      cl::cat(netcCategory));
static cl::opt<bool> json("json", cl::desc("summary: print one JSON object"),
                          cl::cat(netcCategory));
static cl::opt<DiagnosticsFormat> diagnosticsFormat(
    "diagnostics-format", cl::desc("How to print diagnostics"),
    cl::values(clEnumValN(DiagnosticsFormat::Text, "text", "clang style"),
               clEnumValN(DiagnosticsFormat::JSON, "json", "a JSON array"),
               clEnumValN(DiagnosticsFormat::SARIF, "sarif", "SARIF 2.1.0")),
    cl::init(DiagnosticsFormat::Text), cl::cat(netcCategory));
static cl::opt<bool> warningsAsErrors("Werror",
                                      cl::desc("Treat warnings as errors"),
                                      cl::cat(netcCategory));
static cl::opt<bool> verifyDiagnostics(
    "verify-diagnostics",
    cl::desc("Check diagnostics against expected-* comments (for tests)"),
    cl::cat(netcCategory));
static cl::opt<bool> splitInputFile(
    "split-input-file",
    cl::desc("Check each chunk between '# // -----' lines on its own"),
    cl::cat(netcCategory));
static cl::opt<std::string>
    emit("emit", cl::desc("Print a stage instead of compiling (mlir)"),
         cl::value_desc("stage"), cl::cat(netcCategory));

static const char *overview = R"(netc: a static-analysis compiler for neural networks written as YAML

usage:
  netc MODEL.yaml [-o DIR]           verify, then compile
  netc check MODEL.yaml              verify only
  netc summary MODEL.yaml [--json]   shapes, parameters, MACs, receptive field
  netc explain MODEL.yaml LAYER      one layer's formulas with its numbers

exit status: 0 success (warnings allowed), 1 model errors, 2 usage errors
)";

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(netcCategory);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "netc " << NETC_VERSION << " (LLVM/MLIR 14)\n";
  });

  // The subcommand, if any, is the first argument.
  std::string command = "compile";
  std::vector<const char *> args(argv, argv + argc);
  if (argc > 1) {
    StringRef first = argv[1];
    if (first == "check" || first == "summary" || first == "explain") {
      command = first.str();
      args.erase(args.begin() + 1);
    } else if (first == "run" || first == "bench") {
      errs() << "netc: error: '" << first
             << "' needs code generation, which is not available in this "
                "build yet\n";
      return ExitUsageError;
    }
  }
  if (!cl::ParseCommandLineOptions(args.size(), args.data(), overview,
                                   &errs()))
    return ExitUsageError;

  unsigned wanted = command == "explain" ? 2 : 1;
  if (positionals.size() != wanted) {
    errs() << "netc: error: " << (command == "compile" ? "netc" : command)
           << " expects " << (wanted == 2 ? "a model file and a layer name"
                                          : "one model file")
           << ", but got " << positionals.size() << " arguments\n"
           << "run 'netc --help' for usage\n";
    return ExitUsageError;
  }

  NetcOptions options;
  options.inputFile = positionals[0];
  if (wanted == 2)
    options.layer = positionals[1];
  options.diagnosticsFormat = diagnosticsFormat;
  options.verifyDiagnostics = verifyDiagnostics;
  options.splitInputFile = splitInputFile;
  options.warningsAsErrors = warningsAsErrors;
  options.emit = emit;
  options.json = json;
  options.outputDir = outputDir;
  if (!options.emit.empty() && options.emit != "mlir") {
    errs() << "netc: error: unknown --emit stage '" << options.emit
           << "' (expected: mlir)\n";
    return ExitUsageError;
  }
  if (command == "check")
    return runCheck(options);
  if (command == "summary")
    return runSummary(options);
  if (command == "explain")
    return runExplain(options);
  return runCompile(options);
}
