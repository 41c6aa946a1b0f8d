//===- WeightLayoutTest.cpp - Packed weight layouts -----------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A packed weight must hold the same values as PyTorch's layout, whichever
// way a supplier provides it: packed once on the host (packWeight), packed
// by a pipeline at run time (packingPipeline), or read in PyTorch's layout
// through the Func of a request; blocked or not.
//
//===----------------------------------------------------------------------===//

#include "netc/Target/Halide/WeightLayout.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace netc::halide;

namespace {
constexpr int O = 8, I = 3, KH = 2, KW = 5;

/// A Conv2d weight [O, I, KH, KW] holding its own C-order offsets, packed
/// as ConvLowering asks: the output channel innermost, then kw, kh and i;
/// the parameter is the block size (0: not blocked).
struct ConvWeight : ::testing::TestWithParam<int> {
  WeightRequest request{
      "conv.weight", {O, I, KH, KW}, {0, 3, 2, 1}, GetParam()};
  std::vector<float> data = std::vector<float>(O * I * KH * KW);
  ConvWeight() { std::iota(data.begin(), data.end(), 0.0f); }
  /// PyTorch's weight[o][i][ky][kx].
  float at(int o, int i, int ky, int kx) const {
    return data[((o * I + i) * KH + ky) * KW + kx];
  }
};
} // namespace

TEST_P(ConvWeight, StorageOrderAndExtents) {
  EXPECT_EQ(request.storageOrder(), (std::vector<int>{0, 3, 2, 1}));
  if (request.block)
    EXPECT_EQ(request.storageExtents(),
              (std::vector<int>{request.block, KW, KH, I, O / request.block}));
  else
    EXPECT_EQ(request.storageExtents(), (std::vector<int>{O, KW, KH, I}));
  WeightRequest natural{"fc.weight", {7, 9}, {}};
  EXPECT_EQ(natural.storageOrder(), (std::vector<int>{1, 0}));
  EXPECT_EQ(natural.storageExtents(), (std::vector<int>{9, 7}));
}

TEST_P(ConvWeight, PackedOnTheHostIsDenseInStorageOrder) {
  Halide::Buffer<float> packed = packWeight(request, data.data(), "w");
  int b = request.block ? request.block : O;
  ASSERT_EQ(packed.dimensions(), request.block ? 5 : 4);
  // Dense, innermost first: (o % b, kx, ky, i, o / b).
  EXPECT_EQ(packed.dim(0).stride(), 1);
  EXPECT_EQ(packed.dim(1).stride(), b);
  EXPECT_EQ(packed.dim(2).stride(), b * KW);
  EXPECT_EQ(packed.dim(3).stride(), b * KW * KH);
  for (int o = 0; o < O; ++o)
    for (int i = 0; i < I; ++i)
      for (int ky = 0; ky < KH; ++ky)
        for (int kx = 0; kx < KW; ++kx) {
          float got = request.block ? packed(o % b, kx, ky, i, o / b)
                                    : packed(o, kx, ky, i);
          ASSERT_EQ(got, at(o, i, ky, kx))
              << "o=" << o << " i=" << i << " ky=" << ky << " kx=" << kx;
        }
}

TEST_P(ConvWeight, EveryWayOfSupplyingReadsTheSameValues) {
  Halide::Buffer<float> natural(data.data(), {KW, KH, I, O});
  // The Func over PyTorch's layout, the Func over the packed buffer, and
  // the Func over the run-time packing pipeline's result.
  WeightFunc viewed = makeWeightFunc(request, natural, false);
  WeightFunc stored =
      makeWeightFunc(request, packWeight(request, data.data(), "w"), true);
  EXPECT_FALSE(viewed.prepacked);
  EXPECT_TRUE(stored.prepacked);
  Halide::ImageParam input(Halide::Float(32), 4, "input");
  input.set(natural);
  WeightFunc piped = makeWeightFunc(
      request,
      packingPipeline(request, input).realize(request.storageExtents()), true);
  std::vector<int> sizes = {O, KW, KH, I};
  Halide::Buffer<float> fromView = viewed.func.realize(sizes);
  Halide::Buffer<float> fromStored = stored.func.realize(sizes);
  Halide::Buffer<float> fromPipeline = piped.func.realize(sizes);
  for (int o = 0; o < O; ++o)
    for (int kx = 0; kx < KW; ++kx)
      for (int ky = 0; ky < KH; ++ky)
        for (int i = 0; i < I; ++i) {
          float want = at(o, i, ky, kx);
          ASSERT_EQ(fromView(o, kx, ky, i), want);
          ASSERT_EQ(fromStored(o, kx, ky, i), want);
          ASSERT_EQ(fromPipeline(o, kx, ky, i), want);
        }
}

TEST_P(ConvWeight, ParametersFixTheirShape) {
  WeightParam packed = makeWeightParam(request, true);
  EXPECT_TRUE(packed.weight.prepacked);
  EXPECT_EQ(packed.param.dimensions(), request.block ? 5 : 4);
  WeightParam natural = makeWeightParam(request, false);
  EXPECT_FALSE(natural.weight.prepacked);
  EXPECT_EQ(natural.param.dimensions(), 4);
  // A packed parameter takes a packed buffer; a buffer of PyTorch's layout
  // does not fit its fixed extents, and the pipeline reports it.
  Halide::Func copy;
  Halide::Var a, b, c, d;
  copy(a, b, c, d) = packed.weight.func(a, b, c, d);
  packed.param.set(packWeight(request, data.data(), "w"));
  Halide::Buffer<float> out = copy.realize({O, KW, KH, I});
  EXPECT_EQ(out(6, 3, 1, 2), at(6, 2, 1, 3));
  if (!request.block) {
    Halide::Buffer<float> wrong(data.data(), {KW, KH, I, O});
    packed.param.set(wrong);
    EXPECT_THROW(copy.realize({O, KW, KH, I}), Halide::RuntimeError);
  }
}

INSTANTIATE_TEST_SUITE_P(Blocks, ConvWeight, ::testing::Values(0, 4),
                         [](const ::testing::TestParamInfo<int> &info) {
                           return info.param
                                      ? "BlocksOf" + std::to_string(info.param)
                                      : std::string("Unblocked");
                         });
