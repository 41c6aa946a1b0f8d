//===- ConvSchedule.cpp - Schedules for Conv2d and pooling ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file schedules the sliding-window layers on NCHW tensors. Conv2d has
// two kernels, chosen from the shape:
//
// - Channel tiles, for convolutions with one group: a register tile of
//   one or two vectors of output channels by up to 14 output pixels (AVX-512;
//   fewer on 16-register targets), with the whole reduction (input channels,
//   kernel rows, kernel columns) inside it. Each step loads the tile's
//   weights as vectors from `packed` (the weight with output channels
//   innermost, packed per channel block), broadcasts one input value per
//   pixel and issues one FMA per accumulator. The tile is stored channels
//   innermost and then written to the NCHW output along the width. 1x1
//   convolutions are the GEMM special case of the same kernel (the padded
//   input is then inlined: it is the input itself). The tiles of a channel
//   block run in parallel over rows, the blocks in parallel too.
// - Row tiles, for depthwise convolutions, other groups and layers with
//   fewer than 4 output channels: vectors along
//   the output width, the kernel taps unrolled, one channel plane per task,
//   the padded plane materialised per channel. Depthwise layers are memory
//   bound: this reads each input plane once.
//
// Tiles never leave the tensor: a tile that does not divide a dimension is
// shifted inwards (it recomputes a few outputs) rather than guarded, so the
// register tile always has constant extents.
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

/// The vector width for tiles of a row of `width` elements: the target's
/// natural width, halved while longer than the row (at least 4).
static int fitVector(int64_t width, const Halide::Target &target) {
  int vec = target.natural_vector_size<float>();
  while (vec > 4 && vec > width)
    vec /= 2;
  return vec;
}

/// The number of vector registers of `target`.
static int vectorRegisters(const Halide::Target &target) {
  // Every AVX-512 flavour (and only AVX-512) has 16-lane float vectors.
  if (target.arch == Halide::Target::X86)
    return target.natural_vector_size<float>() >= 16 ? 32 : 16;
  return 32; // AArch64 NEON/SVE
}

/// The tile size, at most `maxTile`, for a dimension of `extent`: the one
/// with the least work, counting `overhead` per tile (shifted tiles
/// recompute outputs; every tile reloads its weights).
static int64_t pickTile(int64_t extent, int64_t maxTile, int64_t unit,
                        int64_t overhead) {
  if (extent <= maxTile)
    return extent;
  int64_t best = maxTile, bestCost = INT64_MAX;
  for (int64_t t = maxTile; t >= (maxTile + 1) / 2; --t) {
    int64_t cost = (extent + t - 1) / t * (t * unit + overhead);
    if (cost < bestCost)
      best = t, bestCost = cost;
  }
  return best;
}

namespace {
/// What the conv schedules need to know about a Conv2d.
struct ConvShape {
  int64_t outW, outH, outC, groups, cpg;
  std::vector<int64_t> kernel;
  bool padded; ///< whether any padding is non-zero
  int64_t rank;

  explicit ConvShape(const LoweredLayer &layer) {
    auto conv = llvm::cast<nn::Conv2dOp>(layer.op);
    auto type = conv.getType().cast<mlir::RankedTensorType>();
    rank = type.getRank();
    outW = type.getDimSize(rank - 1);
    outH = type.getDimSize(rank - 2);
    outC = conv.getOutChannelsAttr().getInt();
    groups = conv.getGroupsAttr().getInt();
    cpg = conv.getInChannelsAttr().getInt() / groups;
    for (mlir::Attribute a : conv.getKernelSize())
      kernel.push_back(a.cast<mlir::IntegerAttr>().getInt());
    padded = false;
    for (mlir::Attribute a : conv.getPadding())
      padded |= a.cast<mlir::IntegerAttr>().getInt() != 0;
  }
};
} // namespace

/// The lanes of an output-channel vector for `shape`, or 0 when the channel
/// tile does not apply: several groups (Halide 14 does not see that a
/// vector of channels inside one group reads one input channel, and
/// gathers), or fewer than 4 output channels.
static int channelVector(const ConvShape &shape, const Halide::Target &target) {
  if (shape.groups != 1)
    return 0;
  int vec = target.natural_vector_size<float>();
  while (vec > 4 && vec > shape.outC)
    vec /= 2;
  return vec <= shape.outC ? vec : 0;
}

/// Conv2d with output-channel vectors: see the file comment.
static void scheduleConvChannels(LoweredLayer &layer, const ConvShape &shape,
                                 int vec, const Halide::Target &target) {
  Halide::Func out = findFunc(layer, FuncRole::Output);
  Halide::Func acc = findFunc(layer, FuncRole::Accumulate);
  Halide::Func padded = findFunc(layer, FuncRole::Padded);
  Halide::Func packed = findFunc(layer, FuncRole::Packed);
  Var x = layer.vars[0], y = layer.vars[1], c = layer.vars[2];
  Halide::RDom r = layer.reduction;

  // Two channel vectors when there are enough channels, and as many pixels
  // as make half the registers accumulators: LLVM keeps the broadcast
  // inputs of neighbouring kernel columns live beside them (14 pixels by 2
  // vectors spilled and ran 1.6x slower than 8 by 2 on AVX-512).
  int cVecs = shape.outC >= 2 * vec ? 2 : 1;
  int cTile = cVecs * vec;
  int64_t maxPixels = vectorRegisters(target) / 2 / cVecs;
  int64_t xTile = pickTile(shape.outW, maxPixels, 1, 2);
  int64_t yTile =
      pickTile(shape.outH, std::max<int64_t>(1, maxPixels / xTile), xTile, 2);

  Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), co("co"), ci("ci");
  out.compute_root()
      .split(x, xo, xi, int(xTile), TailStrategy::ShiftInwards)
      .split(y, yo, yi, int(yTile), TailStrategy::ShiftInwards)
      .split(c, co, ci, cTile, TailStrategy::ShiftInwards)
      .reorder(xi, yi, ci, xo, yo, co)
      .vectorize(xi);
  // Channel blocks in parallel, and within a block the rows (two cores
  // are busy even with two blocks of a 7x7 map); the batch too.
  if (shape.rank == 4)
    out.parallel(layer.vars[3]);
  out.parallel(co).parallel(yo);

  // The register tile: every channel vector and pixel unrolled inside the
  // reduction, stored channels innermost.
  std::vector<Var> storage = {c, x, y};
  if (shape.rank == 4)
    storage.push_back(layer.vars[3]);
  acc.compute_at(out, xo)
      .reorder_storage(storage)
      .reorder(c, x, y)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);
  acc.update()
      .reorder(c, x, y, r.x, r.y, r.z)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);

  // The weights of one channel block, packed once per block.
  std::vector<Var> p = packed.args();
  packed.compute_at(out, co).vectorize(p[0], vec);

  if (shape.padded)
    padded.compute_root().parallel(c).vectorize(
        x, rowVector(shape.outW, target), TailStrategy::GuardWithIf);
}

/// Conv2d with vectors along the output width: see the file comment.
static void scheduleConvRows(LoweredLayer &layer, const ConvShape &shape,
                             const Halide::Target &target) {
  Halide::Func out = findFunc(layer, FuncRole::Output);
  Halide::Func acc = findFunc(layer, FuncRole::Accumulate);
  Halide::Func padded = findFunc(layer, FuncRole::Padded);
  Var x = layer.vars[0], y = layer.vars[1], c = layer.vars[2];
  Halide::RDom r = layer.reduction;

  // Rows shorter than the narrowest vector: scalar code, one plane per
  // task (tiles would read past the input when it is not padded).
  if (shape.outW < 4) {
    out.compute_root().parallel(c);
    if (shape.rank == 4)
      out.parallel(layer.vars[3]);
    acc.compute_at(out, c);
    if (shape.padded)
      padded.compute_root();
    return;
  }
  int vec = fitVector(shape.outW, target);
  int xVecs = shape.outW >= 4 * vec ? 4 : shape.outW >= 2 * vec ? 2 : 1;
  int xTile = xVecs * vec;
  // Channels that share their input (one group) reuse each loaded input
  // vector for several output channels; depthwise channels do not.
  int cTile = shape.groups == 1 ? int(std::min<int64_t>(4, shape.outC)) : 1;

  Var xo("xo"), xi("xi"), co("co"), ci("ci");
  out.compute_root()
      .split(x, xo, xi, xTile, TailStrategy::ShiftInwards)
      .split(c, co, ci, cTile, TailStrategy::ShiftInwards)
      .reorder(xi, ci, xo, y, co)
      .vectorize(xi, vec);
  if (shape.rank == 4)
    out.parallel(layer.vars[3]);
  out.parallel(co);

  Var xv("xv"), xu("xu");
  acc.compute_at(out, xo)
      .split(x, xu, xv, vec)
      .vectorize(xv)
      .unroll(xu)
      .unroll(c);
  Halide::Stage update = acc.update();
  update.split(x, xu, xv, vec)
      .reorder(xv, c, xu, r.x, r.y, r.z, y)
      .vectorize(xv)
      .unroll(c)
      .unroll(xu);
  // The taps of small kernels unrolled.
  if (shape.kernel[0] * shape.kernel[1] <= 25)
    update.unroll(r.x).unroll(r.y);

  if (!shape.padded)
    return;
  // A depthwise channel reads one input plane: pad it per channel, where it
  // stays in cache; wider groups share a padded input computed once.
  if (shape.cpg == 1)
    padded.compute_at(out, co);
  else
    padded.compute_root().parallel(c);
  padded.vectorize(x, rowVector(shape.outW, target), TailStrategy::GuardWithIf);
}

void halide::scheduleConv(LoweredLayer &layer, const Halide::Target &target) {
  ConvShape shape(layer);
  if (int vec = channelVector(shape, target))
    scheduleConvChannels(layer, shape, vec, target);
  else
    scheduleConvRows(layer, shape, target);
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
