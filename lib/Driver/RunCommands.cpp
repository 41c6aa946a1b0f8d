//===- RunCommands.cpp - netc run and netc bench --------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the subcommands that JIT-compile a checked network:
// `run` binds .npy inputs to the model's declared inputs (a symbolic batch
// takes its size from the data), loads or initialises the weights, runs one
// forward pass and writes the outputs; `bench` times the forward pass;
// `tune` measures the schedule candidates of each Conv2d and writes the
// fastest into a tuning cache, which the others read.
// Exit statuses: 1 for data that does not fit the model (shapes, weights),
// 2 for files that cannot be read and for usage errors.
//
//===----------------------------------------------------------------------===//

#include "netc/Driver/RunCommands.h"

#include "ModelLoading.h"

#include "netc/AOT/ObjectEmitter.h"
#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/Dialect/NN/Analysis/LayerKey.h"
#include "netc/Dialect/NN/Analysis/Parameters.h"
#include "netc/Dialect/NN/IR/NNOps.h"
#include "netc/Runtime/JITSession.h"
#include "netc/Target/Halide/TuningCache.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

using namespace netc;
using llvm::formatv;

/// Shows "compiling layers k/n" on a terminal while layers compile; silent
/// when stderr is not a terminal.
static void showProgressOnTerminal() {
  if (!llvm::errs().is_displayed())
    return;
  runtime::setCompileProgress([](size_t done, size_t total) {
    llvm::errs() << "\rnetc: compiling layers " << done << "/" << total;
    if (done == total)
      llvm::errs() << "\r\x1b[K"; // clear the line when finished
    llvm::errs().flush();
  });
}

/// Prints `netc: error: message` and returns `status`.
static int fail(int status, const llvm::Twine &message) {
  llvm::errs() << "netc: error: " << message << "\n";
  return status;
}

/// Reports an error from the IO library or the weights check with the exit
/// status its kind calls for.
static int reportError(llvm::Error error) {
  int status = ExitModelError;
  llvm::handleAllErrors(
      std::move(error),
      [&](const io::FileError &e) {
        status = e.getKind() == io::FileError::Kind::WrongType
                     ? ExitModelError
                     : ExitUsageError;
        llvm::errs() << "netc: error: " << e.getPath() << ": "
                     << e.getMessage() << "\n";
      },
      [&](const runtime::WeightMismatchError &e) {
        for (const std::string &p : e.getProblems())
          llvm::errs() << "netc: error: " << p << "\n";
        status = ExitModelError;
      },
      [&](const llvm::ErrorInfoBase &e) {
        llvm::errs() << "netc: error: " << e.message() << "\n";
      });
  return status;
}

/// Splits `NAME=path` (or a bare path) into its parts.
static std::pair<std::string, std::string> splitBinding(llvm::StringRef s) {
  auto [name, path] = s.split('=');
  if (path.empty() && !s.contains('='))
    return {"", s.str()};
  return {name.str(), path.str()};
}

/// Pairs each of `names` with one binding; returns false (after reporting)
/// on unknown, repeated or missing names. A single unnamed binding is
/// allowed when there is one name.
static bool bindNames(const std::vector<std::string> &bindings,
                      const std::vector<std::string> &names,
                      llvm::StringRef what, bool required,
                      std::map<std::string, std::string> &bound) {
  for (const std::string &b : bindings) {
    auto [name, path] = splitBinding(b);
    if (name.empty()) {
      if (names.size() != 1) {
        fail(ExitUsageError,
             formatv("the model has {0} {1}s ({2}): write --{1} NAME=FILE",
                     names.size(), what, llvm::join(names, ", ")));
        return false;
      }
      name = names.front();
    }
    if (!llvm::is_contained(names, name)) {
      fail(ExitUsageError, formatv("the model has no {0} '{1}' (its {0}s: "
                                   "{2})",
                                   what, name, llvm::join(names, ", ")));
      return false;
    }
    if (!bound.emplace(name, path).second) {
      fail(ExitUsageError, formatv("{0} '{1}' is given twice", what, name));
      return false;
    }
  }
  if (required)
    for (const std::string &n : names)
      if (!bound.count(n)) {
        fail(ExitUsageError,
             formatv("missing --input for '{0}' (write --input {0}=x.npy)", n));
        return false;
      }
  return true;
}

/// Checks a tensor against an input's declared shape; symbolic sizes bind
/// to the data, consistently across inputs. Returns an empty string or the
/// problem.
static std::string matchShape(llvm::StringRef input, llvm::StringRef file,
                              const nn::Shape &declared,
                              const std::vector<int64_t> &actual,
                              std::map<std::string, int64_t> &symbols) {
  auto mismatch = [&] {
    std::vector<std::string> dims;
    for (int64_t d : actual)
      dims.push_back(std::to_string(d));
    return formatv("input '{0}' has shape {1}, but '{2}' holds [{3}]", input,
                   nn::formatShape(declared), file, llvm::join(dims, ", "))
        .str();
  };
  if (declared.size() != actual.size())
    return mismatch();
  for (size_t i = 0; i < declared.size(); ++i) {
    const nn::Dim &d = declared[i];
    if (d.isKnown()) {
      if (d.value() != actual[i])
        return mismatch();
      continue;
    }
    auto [it, inserted] = symbols.emplace(d.str(), actual[i]);
    if (!inserted && it->second != actual[i])
      return formatv("'{0}' binds {1}={2}, but an earlier input bound "
                     "{1}={3}",
                     file, d.str(), actual[i], it->second);
  }
  return "";
}

/// Whether two paths name the same existing file.
static bool sameFile(llvm::StringRef a, llvm::StringRef b) {
  bool equal = false;
  return !llvm::sys::fs::equivalent(a, b, equal) && equal;
}

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::vector<std::string> dims;
  for (int64_t d : shape)
    dims.push_back(std::to_string(d));
  return "[" + llvm::join(dims, ", ") + "]";
}

/// The weights the options ask for: from a file, or initialised.
static llvm::Expected<runtime::WeightSet>
weightsFor(const RunOptions &options, mlir::FuncOp func) {
  std::vector<nn::ParameterInfo> params = nn::collectParameters(func);
  if (!options.weightsFile.empty())
    return runtime::loadWeights(options.weightsFile, params);
  return runtime::initializeWeights(params, options.seed);
}

/// The schedule `--autoschedule=NAME` asks for, or none for an unknown name.
static llvm::Optional<runtime::Schedule> autoschedulerNamed(llvm::StringRef name) {
  return llvm::StringSwitch<llvm::Optional<runtime::Schedule>>(name.lower())
      .Case("mullapudi2016", runtime::Schedule::Mullapudi2016)
      .Case("adams2019", runtime::Schedule::Adams2019)
      .Default(llvm::None);
}

/// The schedule the options ask for (checkSchedule accepted them).
static runtime::Schedule scheduleOf(const RunOptions &options) {
  if (options.referenceSchedule)
    return runtime::Schedule::Reference;
  if (options.autoschedule.empty())
    return runtime::Schedule::Tuned;
  return *autoschedulerNamed(options.autoschedule);
}

/// 0, or the usage error for an unknown or conflicting --autoschedule.
static int checkSchedule(const RunOptions &options) {
  if (options.autoschedule.empty())
    return 0;
  if (!autoschedulerNamed(options.autoschedule))
    return fail(ExitUsageError,
                "unknown autoscheduler '" + options.autoschedule +
                    "' (expected: mullapudi2016, adams2019)");
  if (options.referenceSchedule || options.compareReference)
    return fail(ExitUsageError, "--autoschedule cannot be combined with "
                                "--reference-schedule or --compare-reference");
  return 0;
}

/// Reads the tuning cache the options name, if any, warning about lines it
/// skips. Returns an error for a file that cannot be read.
static llvm::Expected<halide::TuningCache>
readTuningCache(llvm::StringRef path) {
  std::vector<unsigned> badLines;
  llvm::Expected<halide::TuningCache> cache =
      halide::TuningCache::load(path, badLines);
  for (unsigned line : badLines)
    llvm::errs() << formatv("netc: warning: {0}:{1}: not a tuning cache "
                            "entry (KEY<TAB>CHOICE); line skipped\n",
                            path, line);
  return cache;
}

/// Makes the tuning cache the options name, if any, the one the tuned
/// schedule reads. Returns 0, or the status for a cache that cannot be read.
static int useTuningCache(const RunOptions &options) {
  if (options.tuningCache.empty())
    return 0;
  // NETC_TUNING_CACHE may name a cache that `netc tune` has not written
  // yet: netc's rules, with a warning. A --tuning-cache that does not exist
  // is an error.
  if (options.tuningCacheFromEnvironment &&
      !llvm::sys::fs::exists(options.tuningCache)) {
    llvm::errs() << formatv("netc: warning: NETC_TUNING_CACHE names '{0}', "
                            "which does not exist; using netc's rules\n",
                            options.tuningCache);
    return 0;
  }
  llvm::Expected<halide::TuningCache> cache =
      readTuningCache(options.tuningCache);
  if (!cache)
    return fail(ExitUsageError,
                "tuning cache: " + llvm::toString(cache.takeError()));
  halide::setActiveTuningCache(
      std::make_shared<const halide::TuningCache>(std::move(*cache)));
  return 0;
}

static mlir::FuncOp modelFunction(mlir::ModuleOp module) {
  return *module.getOps<mlir::FuncOp>().begin();
}

//===----------------------------------------------------------------------===//
// The compile form
//===----------------------------------------------------------------------===//

int netc::runCompileToLibrary(const RunOptions &options) {
  if (int status = useTuningCache(options))
    return status;
  showProgressOnTerminal();
  return processModels(options.common, [&](mlir::ModuleOp module,
                                            const NetworkSummary &) {
    mlir::FuncOp func = modelFunction(module);
    if (!options.common.emit.empty()) {
      if (llvm::Error e =
              aot::printStage(func, options.common.emit, options.target,
                              !options.common.noFuse, llvm::outs()))
        return fail(ExitModelError, "code generation failed: " +
                                        llvm::toString(std::move(e)));
      return int(ExitSuccess);
    }
    aot::EmitOptions emit;
    emit.fuse = !options.common.noFuse;
    emit.outputDir = options.common.outputDir;
    emit.target = options.target;
    emit.perLayer = options.perLayer;
    if (!options.weightsFile.empty()) {
      llvm::Expected<runtime::WeightSet> weights = weightsFor(options, func);
      if (!weights)
        return reportError(weights.takeError());
      emit.weights = std::move(*weights);
    }
    llvm::Expected<std::vector<std::string>> written =
        aot::emitLibrary(func, emit);
    if (!written)
      return fail(ExitModelError, "code generation failed: " +
                                      llvm::toString(written.takeError()));
    for (const std::string &path : *written)
      llvm::outs() << "wrote " << path << "\n";
    return int(ExitSuccess);
  });
}

int netc::runInitWeights(const RunOptions &options) {
  return processModels(options.common, [&](mlir::ModuleOp module,
                                            const NetworkSummary &) {
    mlir::FuncOp func = modelFunction(module);
    std::vector<nn::ParameterInfo> params = nn::collectParameters(func);
    runtime::WeightSet weights =
        runtime::initializeWeights(params, options.seed);
    std::vector<std::pair<std::string, const io::Tensor *>> tensors;
    for (const nn::ParameterInfo &p : params)
      tensors.push_back({p.name, &weights.at(p.name)});
    const std::string &path = options.common.outputDir;
    if (path == "." || path == options.common.inputFile)
      return fail(ExitUsageError,
                  "init-weights needs -o FILE.safetensors (not the model)");
    if (llvm::Error e = io::writeSafeTensors(path, tensors))
      return reportError(std::move(e));
    return int(ExitSuccess);
  });
}

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

/// The largest absolute difference between two results, relative to the
/// larger's largest magnitude.
static double relativeDifference(const io::Tensor &a, const io::Tensor &b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.data.size() && i < b.data.size(); ++i) {
    diff = std::max(diff, double(std::fabs(a.data[i] - b.data[i])));
    scale = std::max(scale, double(std::fabs(b.data[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

int netc::runRun(const RunOptions &options) {
  if (int status = checkSchedule(options))
    return status;
  if (int status = useTuningCache(options))
    return status;
  showProgressOnTerminal();
  return processModels(options.common, [&](mlir::ModuleOp module,
                                            const NetworkSummary &summary) {
    mlir::FuncOp func = modelFunction(module);
    std::vector<std::string> inputNames, outputNames;
    for (const auto &[name, shape] : summary.inputs)
      inputNames.push_back(name);
    outputNames = summary.outputs;

    std::map<std::string, std::string> inputFiles, outputFiles;
    if (!bindNames(options.inputs, inputNames, "input", true, inputFiles) ||
        !bindNames(options.outputs, outputNames, "output", false,
                   outputFiles))
      return int(ExitUsageError);
    // Never write over a file netc reads.
    for (const auto &[name, out] : outputFiles) {
      std::vector<std::string> reads = {options.common.inputFile,
                                        options.weightsFile};
      for (const auto &[n, in] : inputFiles)
        reads.push_back(in);
      for (const std::string &r : reads)
        if (!r.empty() && (r == out || sameFile(r, out)))
          return fail(ExitUsageError,
                      formatv("refusing to write output '{0}' over '{1}', "
                              "which netc reads",
                              name, out));
    }

    // Inputs, checked against the declared shapes.
    std::vector<io::Tensor> inputs;
    std::map<std::string, int64_t> symbols;
    for (const auto &[name, shape] : summary.inputs) {
      const std::string &path = inputFiles[name];
      llvm::Expected<io::Tensor> t = io::readNpy(path);
      if (!t)
        return reportError(t.takeError());
      std::string problem = matchShape(name, path, shape, t->shape, symbols);
      if (!problem.empty())
        return fail(ExitModelError, problem);
      inputs.push_back(std::move(*t));
    }

    llvm::Expected<runtime::WeightSet> weights = weightsFor(options, func);
    if (!weights)
      return reportError(weights.takeError());
    runtime::Schedule schedule = scheduleOf(options);
    runtime::WeightSet weightsCopy =
        options.compareReference ? *weights : runtime::WeightSet();
    // A batch known only at run time is planned as the first input's.
    int64_t batch = 1;
    if (!inputs.empty() && inputs.front().shape.size() == 4)
      batch = inputs.front().shape.front();
    auto session = runtime::JITSession::compile(func, std::move(*weights),
                                                schedule, options.target,
                                                !options.common.noFuse, batch);
    if (!session)
      return fail(ExitModelError,
                  "code generation failed: " +
                      llvm::toString(session.takeError()));
    std::vector<const io::Tensor *> inputPtrs;
    for (const io::Tensor &t : inputs)
      inputPtrs.push_back(&t);
    auto results = (*session)->run(inputPtrs);
    if (!results)
      return fail(ExitModelError, "running the network failed: " +
                                      llvm::toString(results.takeError()));

    if (options.compareReference) {
      // The reference runs every layer on its own, unfused.
      auto reference = runtime::JITSession::compile(
          func, std::move(weightsCopy), runtime::Schedule::Reference,
          options.target, /*fuse=*/false);
      if (!reference)
        return fail(ExitModelError, llvm::toString(reference.takeError()));
      auto expected = (*reference)->run(inputPtrs);
      if (!expected)
        return fail(ExitModelError, llvm::toString(expected.takeError()));
      for (size_t i = 0; i < results->size(); ++i)
        llvm::outs() << formatv("output '{0}': largest difference from the "
                                "reference schedule: {1:e} (relative to the "
                                "output's scale)\n",
                                outputNames[i],
                                relativeDifference((*results)[i],
                                                   (*expected)[i]));
    }

    int status = ExitSuccess;
    for (size_t i = 0; i < results->size(); ++i) {
      const io::Tensor &r = (*results)[i];
      auto file = outputFiles.find(outputNames[i]);
      if (file != outputFiles.end()) {
        if (llvm::Error e = io::writeNpy(file->second, r))
          status = std::max(status, reportError(std::move(e)));
        continue;
      }
      if (options.compareReference)
        continue;
      // Without --output, show the result.
      llvm::outs() << formatv("output '{0}' {1}:", outputNames[i],
                              shapeText(r.shape));
      size_t shown = std::min<size_t>(r.data.size(), 8);
      for (size_t k = 0; k < shown; ++k)
        llvm::outs() << llvm::format(" %.6g", double(r.data[k]));
      if (shown < r.data.size())
        llvm::outs() << formatv(" ... ({0} values)", r.data.size());
      llvm::outs() << "\n";
    }
    return status;
  });
}

//===----------------------------------------------------------------------===//
// bench
//===----------------------------------------------------------------------===//

static double medianOf(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times.empty() ? 0 : times[times.size() / 2];
}

/// Random values for a tensor of `type` with a dynamic batch of `batch`.
static io::Tensor randomTensor(mlir::Type type, int64_t batch,
                               std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  io::Tensor t;
  for (int64_t d : type.cast<mlir::RankedTensorType>().getShape())
    t.shape.push_back(mlir::ShapedType::isDynamic(d) ? batch : d);
  t.data.resize(size_t(std::max<int64_t>(io::getNumElements(t.shape), 0)));
  for (float &v : t.data)
    v = uniform(rng);
  return t;
}

/// Times `session` on `inputs`: one warm-up run, then `repetitions` runs.
static llvm::Expected<std::vector<double>>
timeRuns(runtime::JITSession &session,
         const std::vector<const io::Tensor *> &inputs, int repetitions) {
  return runtime::timeRepeated(repetitions, [&]() -> llvm::Error {
    auto results = session.run(inputs);
    return results ? llvm::Error::success() : results.takeError();
  });
}

namespace {
struct LayerTiming {
  std::string name;
  double ms = 0, gflops = 0;
  double minMs = 0; ///< the fastest run: least disturbed on a shared machine
};
} // namespace

/// Times each layer compiled on its own on random inputs of its operand
/// shapes. Identical layers compile once. Dropout and Identity compute
/// nothing and are not listed.
static int timeLayers(mlir::FuncOp func, const NetworkSummary &summary,
                      const RunOptions &options,
                      std::vector<LayerTiming> &layers) {
  std::map<std::string, int64_t> macsByName;
  for (const LayerSummary &l : summary.layers)
    macsByName[l.name] = l.stats.macs.value_or(0);
  std::map<std::string, std::unique_ptr<runtime::JITSession>> compiled;
  std::mt19937 rng(unsigned(options.seed) + 1);
  for (const nn::FusedLayer &layer : nn::fuseLayers(func, !options.common.noFuse)) {
    mlir::Operation *first = layer.ops.front();
    if (layer.ops.size() == 1 && llvm::isa<nn::DropoutOp, nn::IdentityOp>(first))
      continue;
    std::string key = layer.key();
    auto it = compiled.find(key);
    if (it == compiled.end()) {
      std::vector<nn::ParameterInfo> params;
      for (mlir::Operation *op : layer.ops)
        llvm::append_range(params, nn::parametersOf(op));
      auto session = runtime::JITSession::compileLayer(
          layer, runtime::initializeWeights(params, options.seed),
          scheduleOf(options), options.target, options.batch);
      if (!session)
        return fail(ExitModelError, "code generation failed: " +
                                        llvm::toString(session.takeError()));
      it = compiled.emplace(key, std::move(*session)).first;
    }
    std::vector<io::Tensor> inputs;
    for (mlir::Value v : layer.operands)
      inputs.push_back(randomTensor(v.getType(), options.batch, rng));
    std::vector<const io::Tensor *> ptrs;
    for (const io::Tensor &t : inputs)
      ptrs.push_back(&t);
    // The layer's kernel alone, its inputs stored as it reads them in a
    // network (oneDNN's benchmark leaves its reorders out the same way).
    auto times = it->second->timeLayers(ptrs, options.repetitions);
    if (!times)
      return fail(ExitModelError, llvm::toString(times.takeError()));
    LayerTiming timing;
    timing.name = layer.name();
    timing.ms = medianOf(*times);
    timing.minMs = times->empty() ? 0 : *std::min_element(times->begin(),
                                                          times->end());
    int64_t macs = 0;
    for (mlir::Operation *op : layer.ops)
      macs += macsByName[op->getAttrOfType<mlir::StringAttr>("name")
                             .getValue()
                             .str()];
    timing.gflops = 2.0 * double(macs) * double(options.batch) /
                    (timing.ms * 1e-3) / 1e9;
    layers.push_back(std::move(timing));
  }
  return int(ExitSuccess);
}

int netc::runBench(const RunOptions &options) {
  if (int status = checkSchedule(options))
    return status;
  if (int status = useTuningCache(options))
    return status;
  showProgressOnTerminal();
  return processModels(options.common, [&](mlir::ModuleOp module,
                                            const NetworkSummary &summary) {
    mlir::FuncOp func = modelFunction(module);
    if (options.batch < 1)
      return fail(ExitUsageError, "--batch must be at least 1");
    // Random inputs with the symbolic batch bound to --batch.
    std::mt19937 rng(unsigned(options.seed));
    std::vector<io::Tensor> inputs;
    for (mlir::Type t : func.getArgumentTypes())
      inputs.push_back(randomTensor(t, options.batch, rng));
    llvm::Expected<runtime::WeightSet> weights = weightsFor(options, func);
    if (!weights)
      return reportError(weights.takeError());
    auto session = runtime::JITSession::compile(
        func, std::move(*weights), scheduleOf(options), options.target,
        !options.common.noFuse, options.batch);
    if (!session)
      return fail(ExitModelError, "code generation failed: " +
                                      llvm::toString(session.takeError()));
    std::vector<const io::Tensor *> inputPtrs;
    for (const io::Tensor &t : inputs)
      inputPtrs.push_back(&t);
    auto timed = timeRuns(**session, inputPtrs, options.repetitions);
    if (!timed)
      return fail(ExitModelError, llvm::toString(timed.takeError()));
    std::vector<double> times = std::move(*timed);
    double median = medianOf(times);
    int64_t macs = 0;
    for (const LayerSummary &l : summary.layers)
      macs += l.stats.macs.value_or(0);
    double gflops = 2.0 * double(macs) * double(options.batch) /
                    (median * 1e-3) / 1e9;
    std::vector<LayerTiming> layers;
    if (int status = timeLayers(func, summary, options, layers))
      return status;
    if (options.json) {
      llvm::json::Array layerArray;
      for (const LayerTiming &l : layers)
        layerArray.push_back(llvm::json::Object{
            {"name", l.name},
            {"ms", l.ms},
            {"min_ms", l.minMs},
            {"gflops", l.gflops}});
      llvm::json::Object root{{"compile_s", (*session)->compileSeconds()},
                              {"total_ms", median},
                              {"gflops", gflops},
                              {"batch", options.batch},
                              {"repetitions", int64_t(times.size())},
                              {"layers", std::move(layerArray)}};
      llvm::outs() << formatv("{0:2}", llvm::json::Value(std::move(root)))
                   << "\n";
      return int(ExitSuccess);
    }
    size_t width = 5;
    for (const LayerTiming &l : layers)
      width = std::max(width, l.name.size());
    llvm::outs() << formatv("{0}  {1,10}  {2,8}\n",
                            llvm::left_justify("layer", width), "ms",
                            "GFLOP/s");
    for (const LayerTiming &l : layers)
      llvm::outs() << formatv("{0}  {1,10:f3}  {2,8:f1}\n",
                              llvm::left_justify(l.name, width), l.ms,
                              l.gflops);
    llvm::outs() << formatv("model '{0}', batch {1}\n", summary.name,
                            options.batch);
    llvm::outs() << formatv("compile: {0:f2} s\n",
                            (*session)->compileSeconds());
    llvm::outs() << formatv("forward: {0:f3} ms (median of {1}), {2:f1} "
                            "GFLOP/s\n",
                            median, times.size(), gflops);
    return int(ExitSuccess);
  });
}

//===----------------------------------------------------------------------===//
// tune
//===----------------------------------------------------------------------===//

namespace {
/// One Conv2d kernel to tune: a fused layer (its Conv2d) in one of its
/// layouts.
struct TuneTarget {
  const nn::FusedLayer *layer;
  nn::Conv2dOp conv;
  nn::KernelLayout layout;
};

/// A candidate being measured: its compiled kernel and its fastest time at
/// each batch.
struct MeasuredCandidate {
  std::string choice;
  std::unique_ptr<runtime::JITSession> session;
  std::vector<double> bestMs;
  bool agrees = true; ///< its result matches the rule's
};

/// A tuned kernel: its key (empty when it has no choices to tune), whether
/// it runs on a flat map, and its candidates, the rule's first.
struct MeasuredKernel {
  std::string key;
  bool flatMap = false;
  std::vector<MeasuredCandidate> candidates;
};
} // namespace

/// The geometric mean of `values`.
static double geomean(llvm::ArrayRef<double> values) {
  double sum = 0;
  for (double v : values)
    sum += std::log(v);
  return values.empty() ? 0 : std::exp(sum / double(values.size()));
}

/// Reads the tuning cache tune is to update into `cache`: none yet, or a
/// file of entries and comments. Returns 0, or the status after refusing a
/// path that is the model, a directory, unreadable, or not a tuning cache
/// (a line that is not an entry: tune never writes over such a file).
static int readCacheToUpdate(const RunOptions &options,
                             halide::TuningCache &cache) {
  llvm::StringRef path = options.tuningCache;
  if (!llvm::sys::fs::exists(path))
    return 0;
  auto refuse = [&](const llvm::Twine &why) {
    return fail(ExitUsageError, "refusing to write the tuning cache over '" +
                                    path + "', " + why);
  };
  if (path == options.common.inputFile ||
      sameFile(path, options.common.inputFile))
    return refuse("which is the model");
  if (llvm::sys::fs::is_directory(path))
    return refuse("which is a directory");
  std::vector<unsigned> badLines;
  llvm::Expected<halide::TuningCache> old =
      halide::TuningCache::load(path, badLines);
  if (!old)
    return fail(ExitUsageError,
                "tuning cache: " + llvm::toString(old.takeError()));
  if (!badLines.empty())
    return refuse(formatv("which is not a tuning cache (line {0} is not "
                          "KEY<TAB>CHOICE)",
                          badLines.front()));
  cache = std::move(*old);
  return 0;
}

/// The shape of a Conv2d for tune's report: "256x28x28 -> 256, 3x3/2".
static std::string convSummary(nn::Conv2dOp conv) {
  auto in = conv.getInput().getType().cast<mlir::RankedTensorType>();
  int64_t r = in.getRank();
  auto first = [](mlir::ArrayAttr a) {
    return a[0].cast<mlir::IntegerAttr>().getInt();
  };
  std::string text = formatv(
      "{0}x{1}x{2} -> {3}, {4}x{5}", in.getDimSize(r - 3), in.getDimSize(r - 2),
      in.getDimSize(r - 1), conv.getOutChannels(), first(conv.getKernelSize()),
      conv.getKernelSize()[1].cast<mlir::IntegerAttr>().getInt());
  if (first(conv.getStride()) > 1)
    text += formatv("/{0}", first(conv.getStride()));
  return text;
}

/// Whether `a` equals `b` to 1e-4 of `b`'s scale, NaN where `b` has NaN.
static bool sameResult(const io::Tensor &a, const io::Tensor &b) {
  if (a.shape != b.shape || a.data.size() != b.data.size())
    return false;
  for (size_t i = 0; i < a.data.size(); ++i)
    if (std::isnan(a.data[i]) != std::isnan(b.data[i]))
      return false;
  return relativeDifference(a, b) <= 1e-4;
}

/// Batches as tune prints them: "1,8".
static std::string batchList(llvm::ArrayRef<int64_t> batches) {
  return llvm::join(
      llvm::map_range(batches, [](int64_t b) { return std::to_string(b); }),
      ",");
}

/// How a tune target's operand and result are stored: "blocks>nchw", or
/// "blocks>blocks, flat map" when the kernel runs on a flat map
/// (nn::KernelLayout::flatMap, which the code generator chooses).
static std::string layoutText(const nn::KernelLayout &layout, bool flatMap) {
  auto text = [](int block) { return block ? "blocks" : "nchw"; };
  return std::string(text(layout.operandBlock(0))) + ">" +
         text(layout.resultBlock) + (flatMap ? ", flat map" : "");
}

/// Compiles every candidate of `target`'s convolution for `batches` (all 1,
/// or all larger: the kernel's key names which), checks each result
/// against the rule's, times them interleaved (`rounds` rounds of
/// `repetitions` runs at each batch, the fastest run kept) and returns the
/// kernel's key and candidates; no key if it has no choices to tune.
static llvm::Expected<MeasuredKernel>
measureCandidates(const TuneTarget &target, const RunOptions &options,
                  llvm::ArrayRef<int64_t> batches,
                  const std::set<std::string> &tunedKeys) {
  std::vector<nn::ParameterInfo> params;
  for (mlir::Operation *op : target.layer->ops)
    llvm::append_range(params, nn::parametersOf(op));
  runtime::WeightSet weights = runtime::initializeWeights(params, options.seed);
  int64_t batchEstimate = batches.back();

  halide::TuningProbe probe;
  halide::setTuningProbe(&probe);
  auto unsetProbe =
      llvm::make_scope_exit([] { halide::setTuningProbe(nullptr); });
  std::vector<MeasuredCandidate> candidates;
  auto compile = [&](int force) {
    probe.force = force;
    return runtime::JITSession::compileLayer(
        *target.layer, weights, runtime::Schedule::Tuned, options.target,
        batchEstimate, &target.layout);
  };
  auto rule = compile(-1);
  if (!rule)
    return rule.takeError();
  candidates.push_back({"", std::move(*rule), {}, true});
  std::string key = probe.key;
  bool flatMap = probe.flatMap;
  std::vector<std::string> choices = probe.candidates;
  if (key.empty() || tunedKeys.count(key))
    return MeasuredKernel();
  candidates.front().choice = choices.front();
  if (options.tuneList) {
    // Only the candidates, unmeasured.
    for (size_t i = 1; i < choices.size(); ++i)
      candidates.push_back({choices[i], nullptr, {}, true});
    return MeasuredKernel{key, flatMap, std::move(candidates)};
  }
  // A candidate that does not compile is a bug in netc's schedules, but
  // the others can still be measured.
  for (size_t i = 1; i < choices.size(); ++i) {
    auto session = compile(int(i));
    if (!session) {
      llvm::errs() << formatv("netc: warning: candidate '{0}' does not "
                              "compile; not used: {1}\n",
                              choices[i], llvm::toString(session.takeError()));
      continue;
    }
    candidates.push_back({choices[i], std::move(*session), {}, true});
  }

  // The same random inputs for every candidate, one set per batch.
  std::mt19937 rng(unsigned(options.seed) + 1);
  std::vector<std::vector<io::Tensor>> inputs;
  for (int64_t batch : batches) {
    inputs.emplace_back();
    for (mlir::Value v : target.layer->operands)
      inputs.back().push_back(randomTensor(v.getType(), batch, rng));
  }
  auto pointers = [](std::vector<io::Tensor> &tensors) {
    std::vector<const io::Tensor *> p;
    for (const io::Tensor &t : tensors)
      p.push_back(&t);
    return p;
  };

  // Every candidate computes what the rule's does, at every batch (a
  // schedule changes the order of the sums, not their terms; a batch may
  // take another version of the loops).
  for (std::vector<io::Tensor> &batchInputs : inputs) {
    auto reference = candidates.front().session->run(pointers(batchInputs));
    if (!reference)
      return reference.takeError();
    for (size_t i = 1; i < candidates.size(); ++i) {
      auto result = candidates[i].session->run(pointers(batchInputs));
      if (!result)
        return result.takeError();
      for (size_t o = 0; o < result->size(); ++o)
        if (!sameResult((*result)[o], (*reference)[o]))
          candidates[i].agrees = false;
    }
  }

  // Interleaved rounds, alternating the order, so that a slow spell of the
  // machine falls on several candidates.
  const int rounds = 3;
  for (MeasuredCandidate &c : candidates)
    c.bestMs.assign(batches.size(), HUGE_VAL);
  for (int round = 0; round < rounds; ++round)
    for (size_t k = 0; k < candidates.size(); ++k) {
      MeasuredCandidate &c =
          candidates[round % 2 ? candidates.size() - 1 - k : k];
      if (!c.agrees)
        continue;
      for (size_t b = 0; b < inputs.size(); ++b) {
        auto times =
            c.session->timeLayers(pointers(inputs[b]), options.repetitions);
        if (!times)
          return times.takeError();
        for (double t : *times)
          c.bestMs[b] = std::min(c.bestMs[b], t);
      }
    }
  return MeasuredKernel{key, flatMap, std::move(candidates)};
}

/// Prints `--list`'s entry for one kernel: its key and its candidates.
static void listCandidates(const std::string &title, const std::string &key,
                           const std::vector<MeasuredCandidate> &candidates) {
  llvm::outs() << title << "\n  key: " << key << "\n";
  for (size_t i = 0; i < candidates.size(); ++i)
    llvm::outs() << formatv("  {0}: {1}{2}\n", i, candidates[i].choice,
                            i ? "" : " (the rule)");
}

/// Picks the fastest of `candidates` that agree with the rule's result (the
/// rule's own, the first, unless another is clearly faster), prints every
/// candidate's score with the chosen one marked, and returns the chosen
/// index and its speed-up over the rule.
static std::pair<size_t, double>
chooseCandidate(const std::string &title,
                const std::vector<MeasuredCandidate> &candidates) {
  size_t best = 0;
  std::vector<double> scores;
  for (const MeasuredCandidate &c : candidates)
    scores.push_back(c.agrees ? geomean(c.bestMs) : HUGE_VAL);
  for (size_t i = 1; i < candidates.size(); ++i)
    if (scores[i] < scores[best])
      best = i;
  // Another plan only when it is clearly faster: measurements on a shared
  // machine differ by a few percent from run to run.
  if (scores[best] > 0.97 * scores[0])
    best = 0;
  llvm::outs() << formatv("{0}: rule {1:f3} ms, chosen {2:f3} ms ({3:f2}x)\n",
                          title, scores[0], scores[best],
                          scores[0] / scores[best]);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const MeasuredCandidate &c = candidates[i];
    if (!c.agrees)
      llvm::errs() << "netc: warning: candidate '" << c.choice
                   << "' disagrees with the rule's result; not used\n";
    llvm::outs() << formatv("  {0} {1,9} {2}{3}\n", i == best ? '*' : ' ',
                            c.agrees ? formatv("{0:f3} ms", scores[i]).str()
                                     : std::string("wrong"),
                            c.choice, i ? "" : " (the rule)");
  }
  llvm::outs().flush();
  return {best, scores[0] / scores[best]};
}

int netc::runTune(const RunOptions &options) {
  if (options.tuningCache.empty() && !options.tuneList)
    return fail(ExitUsageError, "tune needs --tuning-cache FILE (or "
                                "NETC_TUNING_CACHE): where the measured "
                                "choices go");
  for (int64_t batch : options.tuneBatches)
    if (batch < 1)
      return fail(ExitUsageError, "--batches must be at least 1");
  if (options.repetitions < 1)
    return fail(ExitUsageError, "--repetitions must be at least 1");
  halide::TuningCache cache;
  if (!options.tuneList)
    if (int status = readCacheToUpdate(options, cache))
      return status;
  return processModels(options.common, [&](mlir::ModuleOp module,
                                            const NetworkSummary &) {
    mlir::FuncOp func = modelFunction(module);
    std::vector<nn::FusedLayer> layers =
        nn::fuseLayers(func, !options.common.noFuse);
    std::vector<nn::KernelLayout> layouts =
        nn::assignActivationLayouts(func, layers);
    // Each Conv2d kernel in the layout the network gives it and in the one
    // it prefers alone (what `netc bench` times per layer).
    std::vector<TuneTarget> targets;
    std::set<std::string> kernels;
    for (size_t l = 0; l < layers.size(); ++l) {
      auto conv = llvm::find_if(layers[l].ops, [](mlir::Operation *op) {
        return llvm::isa<nn::Conv2dOp>(op);
      });
      if (conv == layers[l].ops.end())
        continue;
      for (const nn::KernelLayout &layout :
           {layouts[l], nn::preferredLayout(layers[l])})
        if (kernels.insert(layers[l].key() + "|" + layout.key()).second)
          targets.push_back(
              {&layers[l], llvm::cast<nn::Conv2dOp>(*conv), layout});
    }

    // Batch 1 and larger batches are tuned apart, each kernel's choice
    // keyed by which (halide::plannedBatch): a plan may win at batch 8,
    // where the images run apart, and lose at batch 1.
    std::vector<int64_t> single, larger;
    for (int64_t batch : options.tuneBatches)
      (batch == 1 ? single : larger).push_back(batch);
    std::set<std::string> tunedKeys;
    std::set<const TuneTarget *> tunedTargets;
    std::vector<double> gains;
    size_t changed = 0;
    for (size_t t = 0; t < targets.size(); ++t)
      for (llvm::ArrayRef<int64_t> batches : {single, larger}) {
        if (batches.empty())
          continue;
        auto measured =
            measureCandidates(targets[t], options, batches, tunedKeys);
        if (!measured)
          return fail(ExitModelError,
                      "tuning failed: " + llvm::toString(measured.takeError()));
        auto &[key, flatMap, candidates] = *measured;
        if (key.empty())
          continue;
        tunedKeys.insert(key);
        tunedTargets.insert(&targets[t]);
        std::string title =
            formatv("{0} ({1}, {2}) at batch {3}", targets[t].layer->name(),
                    convSummary(targets[t].conv),
                    layoutText(targets[t].layout, flatMap), batchList(batches));
        if (options.tuneList) {
          listCandidates(title, key, candidates);
          continue;
        }
        auto [best, gain] = chooseCandidate(title, candidates);
        // The rule's plan is written as `rule`, so that a later netc whose
        // rule differs uses its own.
        cache.set(key, best ? candidates[best].choice : halide::kRuleChoice);
        gains.push_back(gain);
        changed += best != 0;
      }
    if (tunedKeys.empty())
      llvm::outs() << formatv("netc: nothing to tune: no Conv2d of '{0}' has "
                              "schedule choices\n",
                              options.common.inputFile);
    if (options.tuneList)
      return int(ExitSuccess);
    // A cache that is a link stays one: the file it names is rewritten.
    llvm::SmallString<256> path(options.tuningCache);
    if (llvm::sys::fs::exists(path))
      if (llvm::sys::fs::real_path(options.tuningCache, path))
        path = options.tuningCache;
    if (llvm::Error e = io::writeFileAtomically(
            path, [&](llvm::raw_ostream &os) { cache.print(os); }))
      return reportError(std::move(e));
    if (tunedKeys.empty())
      return int(ExitSuccess);
    llvm::outs() << formatv(
        "tuned {0} convolution kernels at batch {1}: {2} of {3} choices "
        "differ from the rule, {4:f2}x faster (geomean); wrote {5}\n",
        tunedTargets.size(), batchList(options.tuneBatches), changed,
        gains.size(), geomean(gains), options.tuningCache);
    return int(ExitSuccess);
  });
}
