//===- WeightLayout.h - Weights stored as kernels read them ----*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A layer may ask for a weight in a packed layout: a permutation of its
// PyTorch dimensions, so that the kernel's innermost loop reads it densely
// (a Conv2d wants its output channels innermost, to load a vector of them).
// Whoever supplies the weights either stores them that way once, at load
// or compile time (the kernel then reads the buffer directly), or hands out
// a view in the PyTorch layout (the kernel's schedule then packs it on every
// call). This header has the request, the answer, and the helpers every
// supplier shares.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_TARGET_HALIDE_WEIGHTLAYOUT_H
#define NETC_TARGET_HALIDE_WEIGHTLAYOUT_H

#include <Halide.h>

#include <functional>
#include <string>
#include <vector>

namespace netc {
namespace halide {

/// A layer's request for one of its parameters or buffers.
struct WeightRequest {
  /// The state_dict name ("layer1.0.conv1.weight").
  std::string name;
  /// Its PyTorch-order shape.
  std::vector<int64_t> shape;
  /// The packed layout: the PyTorch dimensions from the innermost (dense)
  /// one outwards. Empty: PyTorch's own layout, whose innermost dimension
  /// is the last.
  std::vector<int> packing;
  /// When not 0, the packing's innermost dimension is stored in blocks of
  /// `block` (which divides it): the block index becomes an extra,
  /// outermost dimension, so that a kernel working on one block reads one
  /// contiguous run of memory.
  int block = 0;

  bool isPacked() const { return !packing.empty(); }
  /// The PyTorch dimensions in the order the layer reads them, innermost
  /// first: the packing, or PyTorch's dimensions reversed.
  std::vector<int> storageOrder() const;
  /// The extents of the stored buffer, innermost first: those of the
  /// storage order, with the innermost one split into `block` and the
  /// number of blocks (last) when blocked.
  std::vector<int> storageExtents() const;
};

/// The answer: a Func with one argument per dimension of the storage order
/// (innermost first; the blocked dimension whole), and whether the memory
/// behind it really is laid out that way. When it is not, the Func reads
/// PyTorch's layout (a packed request then gathers) and the layer's schedule
/// packs it itself.
struct WeightFunc {
  Halide::Func func;
  bool prepacked = false;
};

/// Supplies a parameter or buffer. Every supplier answers every request;
/// it need not honour the packing.
using WeightProvider = std::function<WeightFunc(const WeightRequest &)>;

/// A float ImageParam named after `request`, with the dimensions of the
/// storage order and their extents fixed when `prepacked` (the packed
/// layout) or the PyTorch layout otherwise, and the Func reading it in the
/// storage order.
struct WeightParam {
  Halide::ImageParam param;
  WeightFunc weight;
};
WeightParam makeWeightParam(const WeightRequest &request, bool prepacked);

/// A Func over `buffer` (PyTorch's layout, or the packed one when
/// `prepacked`) that reads it in the storage order of `request`.
WeightFunc makeWeightFunc(const WeightRequest &request,
                          const Halide::Buffer<float> &buffer, bool prepacked);

/// The PyTorch-layout tensor at `data` (of `request.shape`) copied into a
/// dense buffer of `request`'s storage order, named `name`.
Halide::Buffer<float> packWeight(const WeightRequest &request,
                                 const float *data, const std::string &name);

/// A pipeline that packs `input`, a PyTorch-layout buffer of any extents
/// of the request's rank, as `request` asks. For suppliers that get the
/// weights only when the network runs.
Halide::Pipeline packingPipeline(const WeightRequest &request,
                                 const Halide::ImageParam &input);

} // namespace halide
} // namespace netc

#endif // NETC_TARGET_HALIDE_WEIGHTLAYOUT_H
