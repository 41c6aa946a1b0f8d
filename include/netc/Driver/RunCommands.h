//===- RunCommands.h - netc run and netc bench ------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The subcommands that compile a network for this machine and run it:
// `netc run` (one forward pass on .npy inputs), `netc bench` (timing) and
// `netc tune` (schedule choices measured on this machine).
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
  /// The tuning cache: where `tune` writes its choices, and which the
  /// other commands read (TuningCache.h); empty: NETC_TUNING_CACHE, if set.
  std::string tuningCache;
  /// Whether tuningCache came from NETC_TUNING_CACHE (a missing file is
  /// then a warning, not an error).
  bool tuningCacheFromEnvironment = false;
  /// tune: the batches to measure each candidate at. Batch 1 and the
  /// larger batches get a choice each, the fastest over the batches of
  /// their kind.
  std::vector<int64_t> tuneBatches = {1};
  /// tune: list each Conv2d's key and candidates instead of measuring.
  bool tuneList = false;
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
/// `netc tune FILE --tuning-cache C [--batches 1,8]`: measures each
/// Conv2d's schedule candidates on this machine and writes the fastest to C.
int runTune(const RunOptions &options);

} // namespace netc

#endif // NETC_DRIVER_RUNCOMMANDS_H
