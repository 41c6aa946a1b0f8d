//===- RunCommands.h - netc run and netc bench ------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The subcommands that compile a network for this machine and run it:
// `netc run` (one forward pass on .npy inputs) and `netc bench` (timing).
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DRIVER_RUNCOMMANDS_H
#define NETC_DRIVER_RUNCOMMANDS_H

#include "netc/Driver/Subcommands.h"

#include <string>
#include <vector>

namespace netc {

/// The options of run and bench on top of the common ones.
struct RunOptions {
  NetcOptions common;
  std::string weightsFile;
  /// `NAME=path.npy`, or `path.npy` for a model with one input.
  std::vector<std::string> inputs;
  /// `NAME=path.npy`, or `path.npy` for a model with one output.
  std::vector<std::string> outputs;
  uint64_t seed = 0;
  /// Developer flags: compile with the reference schedule; or run both and
  /// print the largest difference.
  bool referenceSchedule = false;
  bool compareReference = false;
  /// Developer flag: schedule with one of Halide's autoschedulers
  /// ("mullapudi2016", "adams2019") instead of netc's tuned schedule.
  std::string autoschedule;
  /// bench: the batch for a symbolic batch, and the repetitions.
  int64_t batch = 1;
  int repetitions = 10;
  bool json = false;
  std::string target = "host";
  /// The compile form: one function per Conv2d.
  bool perLayer = false;
};

/// `netc FILE [-o DIR] [--target T] [--weights W] [--per-layer]`: verify,
/// then write a static library and a C header.
int runCompileToLibrary(const RunOptions &options);
/// `netc init-weights FILE -o W.safetensors [--seed S]`: writes PyTorch's
/// default initialisation, deterministically seeded, as a weights file.
int runInitWeights(const RunOptions &options);
/// `netc run FILE [--weights W] --input NAME=x.npy ... [--output ...]`.
int runRun(const RunOptions &options);
/// `netc bench FILE [--batch N] [--json]`.
int runBench(const RunOptions &options);

} // namespace netc

#endif // NETC_DRIVER_RUNCOMMANDS_H
