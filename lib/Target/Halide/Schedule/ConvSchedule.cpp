//===- ConvSchedule.cpp - Schedules for Conv2d and pooling ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file schedules the sliding-window layers on NCHW tensors, whose
// innermost dimension is the width. A Conv2d output tile is a few vectors
// of the width by a few output channels, accumulated in registers with the
// whole reduction (input channels, kernel rows, kernel columns) inside it:
// each input vector loaded is reused for every channel of the tile and each
// weight is one broadcast. The padded input is materialised once per layer
// (reading through the border condition in the inner loop was about 10x
// slower in the toolchain notes). Tiles run in parallel over output-channel
// blocks and rows. Issue 4 replaces this with blocked layouts and packed
// weights; this schedule is the correct, reasonably fast baseline.
//
//===----------------------------------------------------------------------===//

#include "ScheduleUtils.h"

#include "netc/Dialect/NN/IR/NNOps.h"

using namespace netc;
using namespace netc::halide;
using Halide::TailStrategy;
using Halide::Var;

Halide::Func halide::findFunc(const LoweredLayer &layer, FuncRole role) {
  for (const auto &[func, r] : layer.funcs)
    if (r == role)
      return func;
  return Halide::Func();
}

/// The vector width for a row of `width` elements: the target's natural
/// width, halved while half a vector still covers the row (at least 4).
static int rowVector(int64_t width, const Halide::Target &target) {
  int vec = target.natural_vector_size<float>();
  while (vec > 4 && vec / 2 >= width)
    vec /= 2;
  return vec;
}

void halide::scheduleConv(LoweredLayer &layer, const Halide::Target &target) {
  Halide::Func out = findFunc(layer, FuncRole::Output);
  Halide::Func acc = findFunc(layer, FuncRole::Accumulate);
  Halide::Func padded = findFunc(layer, FuncRole::Padded);
  auto type = layer.op->getResult(0).getType().cast<mlir::RankedTensorType>();
  int64_t rank = type.getRank();
  int64_t width = type.getDimSize(rank - 1);
  int64_t channels = type.getDimSize(rank - 3);
  Var x = layer.vars[0], y = layer.vars[1], c = layer.vars[2];
  Halide::RDom r = layer.reduction;

  int vec = rowVector(width, target);
  // Two vectors of the row when the row is long enough, by four output
  // channels: 8 accumulators, each input load feeding 4 FMAs.
  int xTile = width >= 2 * vec ? 2 * vec : vec;
  int cTile = channels >= 4 ? 4 : int(channels);

  Var xo("xo"), xi("xi"), co("co"), ci("ci");
  out.compute_root()
      .split(x, xo, xi, xTile, TailStrategy::GuardWithIf)
      .split(c, co, ci, cTile, TailStrategy::GuardWithIf)
      .reorder(xi, ci, xo, y, co)
      .vectorize(xi, vec, TailStrategy::GuardWithIf);
  // Parallel over output-channel blocks, and over the batch when there is
  // one.
  if (rank == 4)
    out.parallel(layer.vars[3]);
  out.parallel(co);

  // The tile's accumulators stay in registers: every vector and channel of
  // the tile is unrolled inside the reduction.
  Var xv("xv"), xu("xu");
  acc.compute_at(out, xo)
      .split(x, xu, xv, vec)
      .vectorize(xv)
      .unroll(xu)
      .unroll(c);
  acc.update()
      .split(x, xu, xv, vec)
      .reorder(xv, c, xu, r.x, r.y, r.z, y)
      .vectorize(xv)
      .unroll(c)
      .unroll(xu);

  padded.compute_root().parallel(c);
  int64_t inWidth = width; // a lower bound is enough to pick the width
  padded.vectorize(x, rowVector(inWidth, target),
                   TailStrategy::GuardWithIf);
}

void halide::schedulePool(LoweredLayer &layer, const Halide::Target &target) {
  auto type = layer.op->getResult(0).getType().cast<mlir::RankedTensorType>();
  int64_t width = type.getDimSize(type.getRank() - 1);
  int vec = rowVector(width, target);
  Var x = layer.vars[0], c = layer.vars[2];
  for (auto &[func, role] : layer.funcs) {
    func.compute_root();
    if (role == FuncRole::Padded)
      func.parallel(c).vectorize(x, vec, TailStrategy::GuardWithIf);
    if (role == FuncRole::Output)
      func.parallel(c).vectorize(x, vec, TailStrategy::GuardWithIf);
  }
}
