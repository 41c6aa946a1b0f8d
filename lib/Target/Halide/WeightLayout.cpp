//===- WeightLayout.cpp - Weights stored the way a kernel reads them ------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#include "netc/Target/Halide/WeightLayout.h"

#include "netc/Target/Halide/LoweredNetwork.h"

#include <cassert>

using namespace netc;
using namespace netc::halide;

std::vector<int> WeightRequest::storageOrder() const {
  if (isPacked())
    return packing;
  std::vector<int> order;
  for (int d = int(shape.size()) - 1; d >= 0; --d)
    order.push_back(d);
  return order;
}

std::vector<int> WeightRequest::storageExtents() const {
  std::vector<int> extents;
  for (int d : storageOrder())
    extents.push_back(int(shape[d]));
  return extents;
}

/// The Func reading `stored` (a buffer or parameter of the packed layout
/// when `prepacked`, of PyTorch's otherwise) in the storage order.
template <typename Stored>
static WeightFunc readInStorageOrder(const WeightRequest &request,
                                     Stored &stored, bool prepacked) {
  std::vector<int> order = request.storageOrder();
  size_t rank = order.size();
  std::vector<Halide::Var> vars(rank);
  std::vector<Halide::Expr> at(rank);
  for (size_t j = 0; j < rank; ++j)
    // Halide dimension rank-1-p of the PyTorch layout is PyTorch's p.
    at[prepacked ? j : rank - 1 - order[j]] = vars[j];
  Halide::Func f(funcName(request.name) + "_w");
  f(vars) = stored(at);
  return {f, prepacked || !request.isPacked()};
}

WeightParam halide::makeWeightParam(const WeightRequest &request,
                                    bool prepacked) {
  prepacked &= request.isPacked();
  size_t rank = request.shape.size();
  Halide::ImageParam param(Halide::Float(32), int(rank),
                           funcName(request.name));
  // The sizes are fixed: say so, so that the header documents them and the
  // kernel checks them. A packed buffer is made dense by netc: its strides
  // are constants too.
  std::vector<int> extents = request.storageExtents();
  if (!prepacked)
    extents.assign(request.shape.rbegin(), request.shape.rend());
  int stride = 1;
  for (size_t d = 0; d < rank; ++d) {
    param.dim(int(d)).set_bounds(0, extents[d]);
    if (prepacked)
      param.dim(int(d)).set_stride(stride);
    stride *= extents[d];
  }
  WeightFunc weight = readInStorageOrder(request, param, prepacked);
  return {param, weight};
}

WeightFunc halide::makeWeightFunc(const WeightRequest &request,
                                  const Halide::Buffer<float> &buffer,
                                  bool prepacked) {
  prepacked &= request.isPacked();
  return readInStorageOrder(request, buffer, prepacked);
}

Halide::Buffer<float> halide::packWeight(const WeightRequest &request,
                                         const float *data,
                                         const std::string &name) {
  size_t rank = request.shape.size();
  std::vector<int> sizes(request.shape.rbegin(), request.shape.rend());
  Halide::Runtime::Buffer<float> natural(const_cast<float *>(data), sizes);
  // Dimension j of the view is PyTorch's order[j], which is the natural
  // buffer's rank-1-order[j]. Halide's transposed() takes where each
  // dimension goes: the inverse.
  std::vector<int> order = request.storageOrder(), view(rank);
  for (size_t j = 0; j < rank; ++j)
    view[rank - 1 - order[j]] = int(j);
  Halide::Buffer<float> packed(request.storageExtents(), name);
  packed.get()->copy_from(natural.transposed(view));
  return packed;
}

Halide::Pipeline halide::packingPipeline(const std::vector<int> &packing,
                                         const Halide::ImageParam &input) {
  size_t rank = packing.size();
  std::vector<Halide::Var> vars(rank);
  std::vector<Halide::Expr> at(rank);
  for (size_t j = 0; j < rank; ++j)
    at[rank - 1 - packing[j]] = vars[j];
  Halide::Func packed("packed");
  packed(vars) = input(at);
  // A gather per element either way; a plain parallel loop is enough for
  // work done once per call.
  if (rank > 1)
    packed.parallel(vars[rank - 1]);
  return Halide::Pipeline(packed);
}
