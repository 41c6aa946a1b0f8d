//===- WeightLayoutTest.cpp - Packed weight layouts -----------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A packed weight must hold the same values as PyTorch's layout, whichever
// way a supplier provides it: packed once on the host (packWeight), packed
// by a pipeline at run time (packingPipeline), or read in PyTorch's layout
// through the Func of a request.
//
//===----------------------------------------------------------------------===//

#include "netc/Target/Halide/WeightLayout.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace netc::halide;

namespace {
/// A Conv2d weight [O=5, I=3, KH=2, KW=4] holding its own C-order offsets,
/// packed with the output channel innermost, then kw, kh and i (ConvLowering).
struct ConvWeight : ::testing::Test {
  WeightRequest request{"conv.weight", {5, 3, 2, 4}, {0, 3, 2, 1}};
  std::vector<float> data = std::vector<float>(5 * 3 * 2 * 4);
  ConvWeight() { std::iota(data.begin(), data.end(), 0.0f); }
  /// PyTorch's weight[o][i][ky][kx].
  float at(int o, int i, int ky, int kx) const {
    return data[((o * 3 + i) * 2 + ky) * 4 + kx];
  }
};
} // namespace

TEST_F(ConvWeight, StorageOrderAndExtents) {
  EXPECT_EQ(request.storageOrder(), (std::vector<int>{0, 3, 2, 1}));
  EXPECT_EQ(request.storageExtents(), (std::vector<int>{5, 4, 2, 3}));
  WeightRequest natural{"fc.weight", {7, 9}, {}};
  EXPECT_EQ(natural.storageOrder(), (std::vector<int>{1, 0}));
  EXPECT_EQ(natural.storageExtents(), (std::vector<int>{9, 7}));
}

TEST_F(ConvWeight, PackedOnTheHostIsDenseInStorageOrder) {
  Halide::Buffer<float> packed = packWeight(request, data.data(), "w");
  ASSERT_EQ(packed.dimensions(), 4);
  // Dense, innermost first: (o, kx, ky, i).
  EXPECT_EQ(packed.dim(0).stride(), 1);
  EXPECT_EQ(packed.dim(1).stride(), 5);
  EXPECT_EQ(packed.dim(2).stride(), 20);
  EXPECT_EQ(packed.dim(3).stride(), 40);
  for (int o = 0; o < 5; ++o)
    for (int i = 0; i < 3; ++i)
      for (int ky = 0; ky < 2; ++ky)
        for (int kx = 0; kx < 4; ++kx)
          ASSERT_EQ(packed(o, kx, ky, i), at(o, i, ky, kx))
              << "o=" << o << " i=" << i << " ky=" << ky << " kx=" << kx;
}

TEST_F(ConvWeight, EveryWayOfSupplyingReadsTheSameValues) {
  Halide::Buffer<float> natural(data.data(), {4, 2, 3, 5});
  // The Func over PyTorch's layout, the Func over the packed buffer, and
  // the run-time packing pipeline.
  WeightFunc viewed = makeWeightFunc(request, natural, false);
  WeightFunc stored = makeWeightFunc(
      request, packWeight(request, data.data(), "w"), true);
  EXPECT_FALSE(viewed.prepacked);
  EXPECT_TRUE(stored.prepacked);
  Halide::ImageParam input(Halide::Float(32), 4, "input");
  input.set(natural);
  Halide::Buffer<float> fromPipeline =
      packingPipeline(request.packing, input).realize({5, 4, 2, 3});
  Halide::Buffer<float> fromView = viewed.func.realize({5, 4, 2, 3});
  Halide::Buffer<float> fromStored = stored.func.realize({5, 4, 2, 3});
  for (int o = 0; o < 5; ++o)
    for (int kx = 0; kx < 4; ++kx)
      for (int ky = 0; ky < 2; ++ky)
        for (int i = 0; i < 3; ++i) {
          float want = at(o, i, ky, kx);
          ASSERT_EQ(fromView(o, kx, ky, i), want);
          ASSERT_EQ(fromStored(o, kx, ky, i), want);
          ASSERT_EQ(fromPipeline(o, kx, ky, i), want);
        }
}

TEST_F(ConvWeight, ParametersFixTheirShape) {
  WeightParam packed = makeWeightParam(request, true);
  EXPECT_TRUE(packed.weight.prepacked);
  EXPECT_EQ(packed.param.dimensions(), 4);
  WeightParam natural = makeWeightParam(request, false);
  EXPECT_FALSE(natural.weight.prepacked);
  // A packed parameter takes a packed buffer; one of PyTorch's layout does
  // not fit its fixed extents, and the pipeline reports it.
  Halide::Func copy;
  Halide::Var a, b, c, d;
  copy(a, b, c, d) = packed.weight.func(a, b, c, d);
  packed.param.set(packWeight(request, data.data(), "w"));
  Halide::Buffer<float> out = copy.realize({5, 4, 2, 3});
  EXPECT_EQ(out(4, 3, 1, 2), at(4, 2, 1, 3));
  Halide::Buffer<float> wrong(data.data(), {4, 2, 3, 5});
  packed.param.set(wrong);
  EXPECT_THROW(copy.realize({5, 4, 2, 3}), Halide::RuntimeError);
}
