//===- Schedule.h - Schedules for a lowered network -------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// How a LoweredNetwork is computed. The reference schedule computes every
// Func at root, in order, with no other directive: it is slow and obviously
// faithful to the algorithm. The tuned schedule is chosen per layer family
// from the shapes and the target.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_TARGET_HALIDE_SCHEDULE_H
#define NETC_TARGET_HALIDE_SCHEDULE_H

#include "netc/Target/Halide/LoweredNetwork.h"

namespace netc {
namespace halide {

enum class ScheduleKind { Reference, Tuned };

/// Computes every Func at root: the reference every schedule is checked
/// against.
void applyReferenceSchedule(LoweredNetwork &net);

/// Tiles, vectorizes and parallelizes each layer for `target`.
void applyTunedSchedule(LoweredNetwork &net, const Halide::Target &target);

/// Whether the kernel of `layer`, stored as `layout` says, runs faster on
/// its map flattened into one row (nn::KernelLayout::flatMap) on `target`:
/// a 1x1 Conv2d with stride 1 and no padding, its epilogue and every
/// value in channel blocks, whose register tiles do not divide the rows.
bool prefersFlatMap(const nn::FusedLayer &layer, const nn::KernelLayout &layout,
                    const Halide::Target &target);

/// Sets each layout's flatMap to prefersFlatMap.
void chooseFlatMaps(llvm::ArrayRef<nn::FusedLayer> layers,
                    llvm::MutableArrayRef<nn::KernelLayout> layouts,
                    const Halide::Target &target);

/// The pipeline's output Funcs: one `<output name>_output` Func per network
/// output, copying it (an output may be an input or an alias), computed at
/// root, parallel over its outermost and vectorized along its innermost
/// dimension.
std::vector<Halide::Func> makeOutputFuncs(const LoweredNetwork &net,
                                          const Halide::Target &target);

/// Halide's own autoschedulers, for comparison with the tuned schedule.
enum class Autoscheduler { Mullapudi2016, Adams2019 };

/// Loads `which`'s plugin, once per process. Adams2019 is set to a beam of
/// 1 (greedy) unless HL_BEAM_SIZE says otherwise: Halide 14 reads it from
/// the environment, so this must run before threads compile in parallel.
llvm::Error loadAutoscheduler(Autoscheduler which);

/// Schedules `pipeline`, whose only output is `net`'s first output, with a
/// Halide autoscheduler, after giving it estimates: every input's fixed
/// extents, a free batch of `batch`, and the output's extents for them
/// (weights made by makeWeightParam carry theirs); the machine is `threads`
/// cores. Loads the plugin if loadAutoscheduler has not. Returns an error
/// when the plugin cannot be loaded or fails.
llvm::Error applyAutoschedule(LoweredNetwork &net, Halide::Pipeline &pipeline,
                              Autoscheduler which, int64_t batch, int threads,
                              const Halide::Target &target);

/// The threads the kernels will run on: HL_NUM_THREADS, which Halide's
/// runtime and netc's JIT pool read, or else the CPUs this process may run
/// on (an AOT library assumes the compiling machine's).
int plannedThreads();

/// The CPUs this process may run on (its affinity mask: taskset, a
/// container's cpuset), at least 1.
int availableCPUs();

/// The batch that kernels whose batch is known only at run time are
/// planned for: it picks their tuning cache choices, which `netc tune`
/// measures apart for batch 1 and for larger batches (docs/Tuning.md). 0,
/// unknown, is planned as a batch above 1. A JIT session plans for the
/// batch it is compiled for; an AOT library with a symbolic batch does not
/// know one.
int64_t plannedBatch();

/// Sets plannedBatch() for the compilations during its lifetime (one
/// compilation at a time: the driver's), then restores it.
class PlannedBatchScope {
public:
  explicit PlannedBatchScope(int64_t batch);
  ~PlannedBatchScope();
  PlannedBatchScope(const PlannedBatchScope &) = delete;
  PlannedBatchScope &operator=(const PlannedBatchScope &) = delete;

private:
  int64_t previous;
};

/// Applies `kind`.
void applySchedule(LoweredNetwork &net, ScheduleKind kind,
                   const Halide::Target &target);

} // namespace halide
} // namespace netc

#endif // NETC_TARGET_HALIDE_SCHEDULE_H
