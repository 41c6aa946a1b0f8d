//===- ScheduleUtils.h - Per-family schedules -------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The per-family schedules the tuned schedule dispatches to. A schedule
// only schedules Funcs of a LoweredLayer; it never changes what they
// compute. Private to lib/Target/Halide.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_TARGET_HALIDE_SCHEDULE_SCHEDULEUTILS_H
#define NETC_LIB_TARGET_HALIDE_SCHEDULE_SCHEDULEUTILS_H

#include "netc/Target/Halide/Schedule.h"

namespace netc {
namespace halide {

/// Root, parallel over the outermost and vectorized over the innermost
/// dimension: for layers without a schedule of their own.
void scheduleDefault(LoweredLayer &layer, const Halide::Target &target);
/// Conv2d: register-blocked tiles (ConvSchedule.cpp).
void scheduleConv(LoweredLayer &layer, const Halide::Target &target);
/// A fused layer: the Conv2d's schedule computes the last layer's output,
/// the layers between inline into it (EpilogueSchedule.cpp).
void scheduleFusedConv(LoweredNetwork &net, const Halide::Target &target);
/// Linear: vectorized dot products, output features in parallel.
void scheduleLinear(LoweredLayer &layer, const Halide::Target &target);
/// MaxPool2d and AvgPool2d: materialised border, vectorized rows.
void schedulePool(LoweredLayer &layer, const Halide::Target &target);

/// The Func with `role` in `layer`, or an undefined Func.
Halide::Func findFunc(const LoweredLayer &layer, FuncRole role);

} // namespace halide
} // namespace netc

#endif // NETC_LIB_TARGET_HALIDE_SCHEDULE_SCHEDULEUTILS_H
