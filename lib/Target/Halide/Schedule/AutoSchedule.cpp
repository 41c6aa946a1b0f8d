//===- AutoSchedule.cpp - Halide's own autoschedulers ---------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The benchmark compares netc's tuned schedule with Halide 14's
// autoschedulers on the same algorithm (the issue asks for Mullapudi2016 and
// for Adams2019 with a beam of 1). The plugins come with Halide's package
// and are loaded on first use.
//
//===----------------------------------------------------------------------===//

#include "netc/Target/Halide/Schedule.h"

#include "llvm/ADT/StringSwitch.h"

#include <cstdlib>
#include <map>
#include <mutex>

using namespace netc;
using namespace netc::halide;

llvm::Optional<Autoscheduler> halide::autoschedulerNamed(llvm::StringRef name) {
  return llvm::StringSwitch<llvm::Optional<Autoscheduler>>(name.lower())
      .Case("mullapudi2016", Autoscheduler::Mullapudi2016)
      .Case("adams2019", Autoscheduler::Adams2019)
      .Default(llvm::None);
}

/// Loads the plugin of `which` once; returns Halide's name for it.
static llvm::Expected<std::string> loadPlugin(Autoscheduler which) {
  static std::mutex mutex;
  static bool loaded[2] = {false, false};
  const char *path = which == Autoscheduler::Mullapudi2016
                         ? NETC_MULLAPUDI2016_PLUGIN
                         : NETC_ADAMS2019_PLUGIN;
  std::lock_guard<std::mutex> lock(mutex);
  bool &done = loaded[int(which)];
  if (!done) {
    try {
      Halide::load_plugin(path);
    } catch (const Halide::Error &e) {
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot load Halide's autoscheduler " +
                                         std::string(path) + ": " + e.what());
    }
    done = true;
  }
  return std::string(which == Autoscheduler::Mullapudi2016 ? "Mullapudi2016"
                                                           : "Adams2019");
}

/// Estimates for `param` from its fixed extents (a free one: `batch`),
/// PyTorch-order `shape` given when known.
static void estimateFrom(Halide::ImageParam param,
                         const std::vector<int64_t> &shape, int64_t batch) {
  int rank = param.dimensions();
  for (int d = 0; d < rank; ++d) {
    int64_t extent = shape.empty() ? -1 : shape[size_t(rank - 1 - d)];
    param.dim(d).set_estimate(0, int(extent < 0 ? batch : extent));
  }
}

llvm::Error halide::applyAutoschedule(LoweredNetwork &net,
                                      Halide::Pipeline &pipeline,
                                      Autoscheduler which, int64_t batch,
                                      int threads,
                                      const Halide::Target &target) {
  llvm::Expected<std::string> name = loadPlugin(which);
  if (!name)
    return name.takeError();
  for (size_t i = 0; i < net.inputs.size(); ++i)
    estimateFrom(net.inputs[i], net.inputShapes[i], batch);
  // The weights' estimates are set by their supplier (makeWeightParam).
  // The output's extents for those inputs.
  Tensor &out = net.outputs.front();
  Halide::Region region;
  std::map<std::string, Halide::Expr> extents;
  for (size_t i = 0; i < net.inputs.size(); ++i)
    for (int d = 0; d < net.inputs[i].dimensions(); ++d) {
      const std::vector<int64_t> &shape = net.inputShapes[i];
      int64_t extent = shape[shape.size() - 1 - size_t(d)];
      extents[net.inputs[i].name() + ".extent." + std::to_string(d)] =
          int(extent < 0 ? batch : extent);
    }
  for (size_t d = out.rank(); d-- > 0;)
    region.push_back(Halide::Range(
        0, Halide::Internal::simplify(
               Halide::Internal::substitute(extents, out.sizes[d]))));
  out.func.set_estimates(region);
  // Adams2019 searches with a beam of 32 by default; the row is
  // the greedy one.
  if (which == Autoscheduler::Adams2019)
    ::setenv("HL_BEAM_SIZE", "1", /*overwrite=*/0);
  try {
    pipeline.auto_schedule(
        *name, target, Halide::MachineParams(threads, 16 * 1024 * 1024, 40));
  } catch (const Halide::Error &e) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   std::string("Halide's ") + *name +
                                       " autoscheduler failed: " + e.what());
  }
  return llvm::Error::success();
}
