//===- ConvLowering.cpp - Conv2d to Halide --------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lowers Conv2d with every argument PyTorch has: stride, dilation,
// groups (depthwise included), resolved padding (asymmetric for `same` with
// an even kernel) and the four padding modes. The padded input is its own
// Func so a schedule can materialise it per tile, and so is the weight with
// the output channel as its innermost dimension (`packed`, stored so once
// by the weights' supplier where it can), so a schedule can load a vector
// of output channels from it.
//
//===----------------------------------------------------------------------===//

#include "../LoweringPatterns.h"

using namespace netc;
using namespace netc::halide;
using Halide::Expr;
using Halide::Func;
using Halide::Var;

/// Maps a coordinate of the padded input to the input, or says it is
/// outside for zero padding. PyTorch pads with F.pad before the conv for the
/// non-zero modes; negative padding crops, which the same index arithmetic
/// covers.
static Expr sourceIndex(Expr i, int64_t size, llvm::StringRef mode) {
  Expr n = static_cast<int>(size);
  if (mode == "reflect") {
    // The clamp changes no value (the checker requires padding < size); it
    // bounds the read for Halide, which takes the union of both branches.
    Expr mirrored =
        Halide::select(i < 0, -i, Halide::select(i >= n, 2 * n - 2 - i, i));
    return Halide::clamp(mirrored, 0, n - 1);
  }
  if (mode == "circular")
    return i % n; // Halide's % is Euclidean: never negative.
  // replicate, and zeros inside. `likely` (a value-preserving hint, as in
  // Halide's BoundaryConditions) lets Halide split the loops that compute
  // the padded input into borders and an interior of dense loads.
  return Halide::clamp(Halide::likely(i), 0, n - 1);
}

LoweredLayer halide::lowerConv2d(nn::Conv2dOp op, const Tensor &input,
                                 LoweringContext &ctx) {
  std::string name = op.getName().str();
  std::vector<int64_t> k = intsOf(op.getKernelSize()),
                       s = intsOf(op.getStride()), d = intsOf(op.getDilation()),
                       p = intsOf(op.getPadding());
  int64_t groups = op.getGroupsAttr().getInt();
  int64_t outC = op.getOutChannelsAttr().getInt();
  int64_t inC = op.getInChannelsAttr().getInt();
  int64_t cpg = inC / groups, opg = outC / groups;
  llvm::StringRef mode = op.getPaddingMode();
  size_t rank = input.rank();
  int64_t inH = staticSize(input.sizes[rank - 2]);
  int64_t inW = staticSize(input.sizes[rank - 1]);

  std::vector<Var> v = varsForRank(rank);
  Var x = v[0], y = v[1], c = v[2];
  std::vector<Expr> rest(v.begin() + 3, v.end()); // the batch, if any

  // The padded input, in input coordinates shifted by the top/left padding.
  // Without padding the conv reads only inside the input, where the border
  // arithmetic is the identity: leave it out, so that a schedule can inline
  // the Func into the kernel. An input in channel blocks is padded in
  // blocks (`padded` is then a Func of (c % block, x, y, c / block, n),
  // read through `paddedView`).
  Func padded = ctx.makeFunc(name, "padded");
  Func paddedView = padded;
  bool unpadded = p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0;
  bool growsOnly = p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0;
  // A strided 1x1 convolution reads the input at the strided pixels only:
  // `padded` is then the input there (x, y in output coordinates), which a
  // schedule can make dense before the tiles read it.
  bool subsampled = unpadded && k[0] == 1 && k[1] == 1 && (s[0] > 1 || s[1] > 1);
  std::vector<int64_t> step = s;
  if (subsampled)
    step = {1, 1};
  // The padding's variables and source in the input's storage: in blocks,
  // (ci, x, y, cb, n) with the channel block in place of the channel.
  std::vector<Var> pv = v;
  Func source = input.func;
  if (input.block && (!unpadded || subsampled)) {
    pv = {Var("cl"), x, y, Var("cb"), v[3]};
    source = input.blocked;
  }
  // The index of the storage at (column, row), the other dimensions the
  // padded input's own.
  auto storageAt = [&](Expr col, Expr row) {
    std::vector<Expr> at(pv.begin(), pv.end());
    size_t cx = input.block ? 1 : 0;
    at[cx] = col;
    at[cx + 1] = row;
    return at;
  };
  if (subsampled) {
    padded(pv) = source(storageAt(x * int(s[1]), y * int(s[0])));
  } else if (unpadded) {
    padded(v) = input.func(v);
  } else if (mode == "zeros" && growsOnly && !input.block) {
    // On NCHW: zeros, then each row's input copied into its interior: the
    // copy is a dense run of loads, where a select on the column would make
    // each vector that straddles the left or right border a gather. The
    // rows stay a pure variable, so a schedule can pad a band of rows; the
    // select on the row is one scalar test per row. In channel blocks a
    // vector lies along the channels of one pixel, so the select below is
    // one scalar test per vector, and `likely` lets Halide split off the
    // borders: each element is written once, not zeroed first. Measured on
    // MobileNetV2's ten depthwise layers at batch 8 (fastest of 5
    // interleaved runs): geomean 7% faster, from 2% slower to 32% faster
    // (96x112/2); ResNet-50's 3x3 layers unchanged over three runs.
    padded(pv) = 0.0f;
    Halide::RDom in(0, int(inW), funcName(name) + "_in");
    Expr row = Halide::clamp(Halide::likely(y - int(p[0])), 0, int(inH - 1));
    Expr inside = y >= int(p[0]) && y < int(p[0] + inH);
    padded(storageAt(in.x + int(p[2]), y)) = Halide::select(
        inside, Halide::likely(source(storageAt(in.x, row))), 0.0f);
  } else {
    Expr value = source(storageAt(sourceIndex(x - int(p[2]), inW, mode),
                                  sourceIndex(y - int(p[0]), inH, mode)));
    if (mode == "zeros") {
      Expr inside = x >= int(p[2]) && x < int(p[2] + inW) && y >= int(p[0]) &&
                    y < int(p[0] + inH);
      value = Halide::select(inside, Halide::likely(value), 0.0f);
    }
    padded(pv) = value;
  }
  if (input.block && (!unpadded || subsampled)) {
    paddedView = ctx.makeFunc(name, "padded_nchw");
    paddedView(v) = padded(c % input.block, x, y, c / input.block, v[3]);
  }

  // The weight [out, in/groups, kh, kw] as packed(out, kw, kh, in/groups):
  // output channels innermost. Stored that way (once, when the weights are
  // loaded), the kernel reads it directly; otherwise it is a Func of its
  // own, which the schedule computes per block of output channels.
  // With one group, the output channels are stored in blocks of 16 (a
  // vector on AVX-512, two on AVX2): the weights a channel tile reads
  // step after step are then contiguous, not 4*out_channels bytes apart.
  WeightFunc weight = ctx.packedWeight(
      name, "weight", {outC, cpg, k[0], k[1]}, {0, 3, 2, 1},
      groups == 1 && outC % 16 == 0 ? 16 : 0);
  Func packed = weight.func;
  if (!weight.prepacked) {
    packed = ctx.makeFunc(name, "packed");
    Var o("o"), kx("kx"), ky("ky"), i("i");
    packed(o, kx, ky, i) = weight.func(o, kx, ky, i);
  }
  Halide::RDom r(0, int(k[1]), 0, int(k[0]), 0, int(cpg),
                 funcName(name) + "_r");
  // Zero padding adds nothing to the sum, so the sum runs over the taps
  // inside the input only, as oneDNN's direct convolutions do: a 3x3 tap
  // of a 7x7 map is in the padding for 2 of 21 columns and 2 of 21 rows,
  // 18% of the multiply-adds. Only for the convolutions scheduled in
  // channel tiles (one group, at least 4 output channels; scheduleConv),
  // which unroll a row's taps over a map of known size: each tile's
  // predicates then fold to constants, and Halide splits the border tiles
  // off the interior (`likely`). Row tiles vectorize along the row, where
  // the predicate would be a test per vector. Measured at batch 8
  // (interleaved, fastest of 3 x 10 repetitions) on ResNet-50's 3x3
  // layers: 512x7 15%, 256x14 10%, 512x14/2 7%, 128x28 4%, 256x28/2 4%,
  // 128x56/2 5%, 64x56 3% faster; geomean 7%. The gate must match the
  // channel tiles' dispatch (scheduleConv); the other schedules assert
  // that they get no predicate.
  if (mode == "zeros" && growsOnly && !unpadded && groups == 1 && outC >= 4) {
    Expr row = y * int(step[0]) + r.y * int(d[0]);
    Expr col = x * int(step[1]) + r.x * int(d[1]);
    r.where(Halide::likely(row >= int(p[0]) && row < int(p[0] + inH)));
    r.where(Halide::likely(col >= int(p[2]) && col < int(p[2] + inW)));
  }
  // The input channel. With one group it does not depend on the output
  // channel (c / out_channels is 0 for every c the conv computes): saying so
  // lets a schedule vectorize over output channels with one input value.
  Expr inChannel = r.z;
  if (groups > 1)
    inChannel = (c / int(opg)) * int(cpg) + r.z;
  std::vector<Expr> at = {x * int(step[1]) + r.x * int(d[1]),
                          y * int(step[0]) + r.y * int(d[0]), inChannel};
  at.insert(at.end(), rest.begin(), rest.end());

  Func acc = ctx.makeFunc(name, "acc");
  acc(v) = op.getBias() ? ctx.weight(name, "bias", {outC})(c) : Expr(0.0f);
  acc(v) += packed(c, r.x, r.y, r.z) * paddedView(at);

  Func out = ctx.makeFunc(name);
  out(v) = acc(v);

  auto type = op.getType().cast<mlir::RankedTensorType>();
  std::vector<Expr> sizes = input.sizes;
  sizes[rank - 3] = int(outC);
  sizes[rank - 2] = int(type.getDimSize(rank - 2));
  sizes[rank - 1] = int(type.getDimSize(rank - 1));
  std::vector<std::pair<Func, FuncRole>> funcs = {
      {padded, FuncRole::Padded},
      {acc, FuncRole::Accumulate},
      {out, FuncRole::Output}};
  if (!weight.prepacked)
    funcs.push_back({packed, FuncRole::Packed});
  LoweredLayer layer = makeLayer(op, v, std::move(funcs), {out, sizes}, r);
  layer.inputBlock = input.block;
  return layer;
}
