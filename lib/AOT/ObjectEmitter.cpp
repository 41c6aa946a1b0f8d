//===- ObjectEmitter.cpp - Static libraries and headers -------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file compiles a network with Halide's ahead-of-time path. The whole
// network is assembled from per-layer kernels (NetworkAssembly.cpp); here
// are the per-layer libraries (`--per-layer`) and the printed stages, which
// lower the network as one pipeline. Halide writes the libraries and
// headers; netc writes them under temporary names and renames them when
// both are complete.
//
//===----------------------------------------------------------------------===//

#include "netc/AOT/ObjectEmitter.h"

#include "EmitterSupport.h"
#include "NetworkAssembly.h"

#include "netc/Dialect/NN/Analysis/LayerKey.h"
#include "netc/Dialect/NN/Analysis/Parameters.h"
#include "netc/Dialect/NN/IR/NNOps.h"
#include "netc/Runtime/JITSession.h"
#include "netc/Target/Halide/LoweredNetwork.h"
#include "netc/Target/Halide/Schedule.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

using namespace netc;
using namespace netc::aot;
using llvm::formatv;

namespace {
/// Builds the weight Funcs: embedded buffers, or ImageParams that become
/// arguments.
class WeightArguments {
public:
  /// Embeds `weights` when given; otherwise weights become arguments.
  explicit WeightArguments(const runtime::WeightSet *weights)
      : weights(weights) {}

  halide::WeightProvider provider() {
    return [this](const halide::WeightRequest &request) -> halide::WeightFunc {
      if (!weights) {
        // The caller passes PyTorch's layout; the kernel packs it.
        halide::WeightParam w = halide::makeWeightParam(request, false);
        params.push_back(w.param);
        return w.weight;
      }
      runtime::WeightSet::const_iterator it = weights->find(request.name);
      assert(it != weights->end() && "weights were checked");
      // Embedded: stored in the kernel's layout.
      return halide::makeWeightFunc(
          request,
          halide::packWeight(request, it->second.data.data(),
                             halide::funcName(request.name)),
          true);
    };
  }

  std::vector<Halide::ImageParam> params;

private:
  const runtime::WeightSet *weights;
};
} // namespace

/// Compiles `net` to `<dir>/<fnName>.a/.h` through temporary files.
static llvm::Error compileNetwork(halide::LoweredNetwork &net,
                                  std::vector<Halide::ImageParam> &weights,
                                  const std::string &fnName,
                                  const std::string &dir,
                                  const Halide::Target &target,
                                  std::vector<std::string> &written) {
  std::vector<Halide::Argument> args;
  for (size_t i = 0; i < net.inputs.size(); ++i) {
    // Every size but a symbolic batch is fixed: the function checks them
    // and returns an error instead of reading out of bounds.
    Halide::ImageParam &p = net.inputs[i];
    const std::vector<int64_t> &shape = net.inputShapes[i];
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] >= 0)
        p.dim(int(shape.size() - 1 - d)).set_bounds(0, int(shape[d]));
    args.push_back(p);
  }
  for (Halide::ImageParam &p : weights)
    args.push_back(p);
  std::vector<Halide::Func> outputs = halide::makeOutputFuncs(net, target);
  // Halide appends the extensions to the prefix.
  llvm::SmallString<128> tmp;
  llvm::sys::path::append(tmp, dir, "." + fnName + ".tmp");
  std::string prefix = std::string(tmp) + std::to_string(::getpid());
  Halide::Pipeline(outputs).compile_to_static_library(prefix, args, fnName,
                                                      target);
  for (const char *ext : {".a", ".h"}) {
    llvm::SmallString<128> final;
    llvm::sys::path::append(final, dir, fnName + ext);
    if (llvm::Error e = moveInto(prefix + ext, std::string(final)))
      return e;
    written.push_back(std::string(final));
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<std::string>>
aot::emitLibrary(mlir::FuncOp func, const EmitOptions &opts) {
  std::vector<std::string> written;
  if (std::error_code ec = llvm::sys::fs::create_directories(opts.outputDir))
    return llvm::createStringError(ec, "cannot create '%s': %s",
                                   opts.outputDir.c_str(),
                                   ec.message().c_str());
  try {
    Halide::Target target = opts.target == "host" ? Halide::get_host_target()
                                                  : Halide::Target(opts.target);
    std::string model = func.getName().str();
    // The whole network: per-layer kernels called by a top-level pipeline.
    if (!opts.perLayer) {
      if (llvm::Error e = emitAssembledNetwork(func, opts, target, written))
        return std::move(e);
      return written;
    }

    // Per layer: one function per distinct Conv2d, without the Halide
    // runtime, which goes once into <model>_runtime.a.
    Halide::Target noRuntime = target.with_feature(Halide::Target::NoRuntime);
    // First decide what compiles and what forwards, then compile the
    // distinct layers in parallel (each Halide module has its own LLVM
    // context), then write the forwarding headers.
    std::map<std::string, std::string> compiled; // signature -> function
    std::vector<std::pair<mlir::Operation *, std::string>> toCompile;
    std::vector<std::tuple<nn::Conv2dOp, std::string, std::string>> aliases;
    for (mlir::Operation &op : func.front()) {
      auto conv = llvm::dyn_cast<nn::Conv2dOp>(op);
      if (!conv)
        continue;
      std::string fn = model + "_" + halide::funcName(conv.getName());
      std::string signature = nn::layerKey(&op);
      auto found = compiled.find(signature);
      if (opts.weights || found == compiled.end()) {
        compiled[signature] = fn;
        toCompile.push_back({&op, fn});
      } else {
        aliases.push_back({conv, fn, found->second});
      }
    }
    std::vector<std::vector<std::string>> files(toCompile.size());
    if (llvm::Error e =
            runtime::forEachInParallel(toCompile.size(), [&](size_t i) -> std::string {
              WeightArguments weights(opts.weights ? &*opts.weights : nullptr);
              llvm::Expected<halide::LoweredNetwork> net =
                  halide::lowerLayer(toCompile[i].first, weights.provider());
              if (!net)
                return llvm::toString(net.takeError());
              halide::applyTunedSchedule(*net, target);
              if (llvm::Error e =
                      compileNetwork(*net, weights.params, toCompile[i].second,
                                     opts.outputDir, noRuntime, files[i]))
                return llvm::toString(std::move(e));
              return "";
            }))
      return std::move(e);
    for (const std::vector<std::string> &layerFiles : files)
      written.insert(written.end(), layerFiles.begin(), layerFiles.end());
    for (auto &[conv, fn, original] : aliases) {
      // An identical convolution (weights as arguments): a header that
      // forwards to the function already compiled.
      llvm::SmallString<128> path;
      llvm::sys::path::append(path, opts.outputDir, fn + ".h");
      std::string tmp = std::string(path) + ".tmp";
      {
        std::error_code ec;
        llvm::raw_fd_ostream os(tmp, ec);
        if (ec)
          return llvm::createStringError(ec, "cannot write '%s'", tmp.c_str());
        std::string guard = llvm::StringRef(fn).upper() + "_H";
        os << formatv("// Generated by netc: layer '{0}' is identical to the "
                      "layer compiled as {1}.\n",
                      conv.getName(), original)
           << "#ifndef " << guard << "\n#define " << guard << "\n"
           << "#include \"" << original << ".h\"\n"
           << "#define " << fn << " " << original << "\n"
           << "#endif\n";
      }
      if (llvm::Error e = moveInto(tmp, std::string(path)))
        return std::move(e);
      written.push_back(std::string(path));
    }
    llvm::SmallString<128> runtimePath;
    llvm::sys::path::append(runtimePath, opts.outputDir, model + "_runtime.a");
    std::string tmp = std::string(runtimePath) + ".tmp.a";
    Halide::compile_standalone_runtime(tmp, target);
    if (llvm::Error e = moveInto(tmp, std::string(runtimePath)))
      return std::move(e);
    written.push_back(std::string(runtimePath));
  } catch (const Halide::Error &e) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "Halide: " + std::string(e.what()));
  }
  return written;
}

llvm::Error aot::printStage(mlir::FuncOp func, llvm::StringRef stage,
                            llvm::StringRef targetName, bool fuse,
                            llvm::raw_ostream &os) {
  try {
    Halide::Target target = targetName == "host"
                                ? Halide::get_host_target()
                                : Halide::Target(targetName.str());
    return printKernelStages(func, stage, fuse, target, os);
  } catch (const Halide::Error &e) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "Halide: " + std::string(e.what()));
  }
}
