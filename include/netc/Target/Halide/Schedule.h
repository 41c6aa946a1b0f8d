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

/// The pipeline's output Funcs: one `<output name>_output` Func per network
/// output, copying it (an output may be an input or an alias), computed at
/// root, parallel over its outermost and vectorized along its innermost
/// dimension.
std::vector<Halide::Func> makeOutputFuncs(const LoweredNetwork &net,
                                          const Halide::Target &target);

/// Applies `kind`.
void applySchedule(LoweredNetwork &net, ScheduleKind kind,
                   const Halide::Target &target);

} // namespace halide
} // namespace netc

#endif // NETC_TARGET_HALIDE_SCHEDULE_H
