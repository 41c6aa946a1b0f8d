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

#include "netc/Driver/RunCommands.h"
#include "netc/Driver/Subcommands.h"
#include "netc/Driver/Version.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>

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
static cl::opt<unsigned>
    depth("depth",
          cl::desc("summary: show the name hierarchy down to this level, "
                   "folding deeper layers into their block's row (default: "
                   "all levels)"),
          cl::value_desc("N"), cl::init(0), cl::cat(netcCategory));
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
    emit("emit",
         cl::desc("Print a stage instead of compiling (mlir, kernels, "
                  "loop-nest, halide-stmt)"),
         cl::value_desc("stage"), cl::cat(netcCategory));

// run and bench.
static cl::opt<std::string> weightsFile(
    "weights", cl::desc("run, bench: weights as safetensors"),
    cl::value_desc("file"), cl::cat(netcCategory));
static cl::list<std::string>
    inputs("input", cl::desc("run: an input, NAME=x.npy (or x.npy)"),
           cl::value_desc("binding"), cl::cat(netcCategory));
static cl::list<std::string>
    outputs("output", cl::desc("run: where an output goes, NAME=y.npy"),
            cl::value_desc("binding"), cl::cat(netcCategory));
static cl::opt<uint64_t>
    seed("seed", cl::desc("run, bench: seed of the initial weights"),
         cl::init(0), cl::cat(netcCategory));
static cl::opt<int64_t> batch("batch",
                              cl::desc("bench: the size of a symbolic batch"),
                              cl::init(1), cl::cat(netcCategory));
static cl::opt<int> repetitions("repetitions",
                                cl::desc("bench: timed runs (median)"),
                                cl::init(10), cl::cat(netcCategory));
static cl::opt<std::string>
    target("target", cl::desc("Halide target string (default: host)"),
           cl::init("host"), cl::cat(netcCategory));
static cl::opt<bool> perLayer(
    "per-layer",
    cl::desc("compile: one function per Conv2d, each with its own header"),
    cl::cat(netcCategory));
static cl::opt<bool> referenceSchedule(
    "reference-schedule",
    cl::desc("run: compile with the reference schedule (developer)"),
    cl::cat(netcCategory));
static cl::opt<std::string> autoschedule(
    "autoschedule",
    cl::desc("run, bench: schedule with Halide's mullapudi2016 or adams2019 "
             "autoscheduler instead of netc's (developer)"),
    cl::value_desc("name"), cl::cat(netcCategory));
static cl::opt<bool> noFuse(
    "no-fuse",
    cl::desc("run, bench, compile: do not fuse a Conv2d with the BatchNorm2d, "
             "residual Add and activation after it (developer)"),
    cl::cat(netcCategory));
static cl::opt<std::string> tuningCache(
    "tuning-cache",
    cl::desc("compile, run, bench: take the schedule choices `netc tune` "
             "measured from this file; tune: write them there (default: "
             "$NETC_TUNING_CACHE)"),
    cl::value_desc("file"), cl::cat(netcCategory));
static cl::list<int64_t>
    tuneBatches("batches", cl::CommaSeparated,
                cl::desc("tune: the batch sizes to measure at (default: 1)"),
                cl::value_desc("N,..."), cl::cat(netcCategory));
static cl::opt<bool> tuneList(
    "list",
    cl::desc("tune: list each Conv2d's key and candidates, measure nothing"),
    cl::cat(netcCategory));
static cl::opt<bool> compareReference(
    "compare-reference",
    cl::desc("run: also run the reference schedule and print the largest "
             "difference (developer)"),
    cl::cat(netcCategory));

static const char *overview = R"(netc: a static-analysis compiler for neural networks written as YAML

usage:
  netc MODEL.yaml [-o DIR]           verify, then compile
  netc check MODEL.yaml              verify only
  netc summary MODEL.yaml [--json] [--depth N]
                                     shapes, parameters, MACs, receptive field
  netc explain MODEL.yaml LAYER      one layer's formulas with its numbers
  netc run MODEL.yaml [--weights W.safetensors] --input NAME=x.npy ... [--output NAME=y.npy ...]
  netc bench MODEL.yaml [--batch N] [--json]
  netc tune MODEL.yaml --tuning-cache FILE [--batches 1,8] [--list]
                                     measure schedule choices on this machine
  netc init-weights MODEL.yaml -o W.safetensors [--seed S]

diagnostics are colored on a terminal; --color=always|never|auto overrides.
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
    if (first == "check" || first == "summary" || first == "explain" ||
        first == "run" || first == "bench" || first == "tune" ||
        first == "init-weights") {
      command = first.str();
      args.erase(args.begin() + 1);
    }
  }
  // --color=auto|always|never, as clang spells it, is LLVM's own --color
  // option (WithColor), which takes true or false.
  for (const char *&arg : args) {
    StringRef a = arg;
    if (a == "--color=always" || a == "-color=always")
      arg = "--color=true";
    else if (a == "--color=never" || a == "-color=never")
      arg = "--color=false";
  }
  args.erase(std::remove_if(args.begin() + 1, args.end(),
                            [](const char *a) {
                              return StringRef(a) == "--color=auto" ||
                                     StringRef(a) == "-color=auto";
                            }),
             args.end());
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
  options.depth = depth;
  options.noFuse = noFuse;
  options.outputDir = outputDir;
  bool codegenStage =
      options.emit == "loop-nest" || options.emit == "halide-stmt";
  if (!options.emit.empty() && options.emit != "mlir" &&
      options.emit != "kernels" && !codegenStage) {
    errs() << "netc: error: unknown --emit stage '" << options.emit
           << "' (expected: mlir, kernels, loop-nest, halide-stmt)\n";
    return ExitUsageError;
  }
  if (command == "check")
    return runCheck(options);
  if (command == "summary")
    return runSummary(options);
  if (command == "explain")
    return runExplain(options);
  if (command == "run" || command == "bench" || command == "tune" ||
      command == "init-weights" ||
      (command == "compile" && (options.emit.empty() || codegenStage))) {
    RunOptions run;
    run.common = options;
    run.weightsFile = weightsFile;
    run.inputs = inputs;
    run.outputs = outputs;
    run.seed = seed;
    run.batch = batch;
    run.repetitions = repetitions;
    run.target = target;
    run.json = json;
    run.referenceSchedule = referenceSchedule;
    run.compareReference = compareReference;
    run.autoschedule = autoschedule;
    run.perLayer = perLayer;
    run.tuneList = tuneList;
    run.tuningCache = tuningCache;
    if (run.tuningCache.empty())
      if (const char *env = std::getenv("NETC_TUNING_CACHE")) {
        run.tuningCache = env;
        run.tuningCacheFromEnvironment = true;
      }
    if (!tuneBatches.empty())
      run.tuneBatches.assign(tuneBatches.begin(), tuneBatches.end());
    if (command == "compile")
      return runCompileToLibrary(run);
    if (command == "init-weights")
      return runInitWeights(run);
    if (command == "tune")
      return runTune(run);
    return command == "run" ? runRun(run) : runBench(run);
  }
  // The compile form with --emit: check, then print the stage.
  return runCheck(options);
}
