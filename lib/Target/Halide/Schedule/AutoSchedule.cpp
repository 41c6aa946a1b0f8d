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

#include <cstdlib>
#include <map>
#include <mutex>

using namespace netc;
using namespace netc::halide;

/// Halide's name for `which`.
static std::string nameOf(Autoscheduler which) {
  return which == Autoscheduler::Mullapudi2016 ? "Mullapudi2016" : "Adams2019";
}

llvm::Error halide::loadAutoscheduler(Autoscheduler which) {
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
    // Adams2019 searches with a beam of 32 by default; the row
    // is the greedy one.
    if (which == Autoscheduler::Adams2019)
      ::setenv("HL_BEAM_SIZE", "1", /*overwrite=*/0);
    done = true;
  }
  return llvm::Error::success();
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
  if (llvm::Error e = loadAutoscheduler(which))
    return e;
  std::string name = nameOf(which);
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
  try {
    pipeline.auto_schedule(
        name, target, Halide::MachineParams(threads, 16 * 1024 * 1024, 40));
  } catch (const Halide::Error &e) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "Halide's " + name +
                                       " autoscheduler failed: " + e.what());
  }
  return llvm::Error::success();
}
