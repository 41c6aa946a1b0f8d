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
  if (block) {
    assert(extents[0] % block == 0 && "a block divides its dimension");
    extents.push_back(extents[0] / block);
    extents[0] = block;
  }
  return extents;
}

/// Where the element at `index` (in storage order, as a WeightFunc reads
/// it) is in the stored buffer: the blocked dimension split in two.
static std::vector<Halide::Expr> storedIndex(const WeightRequest &request,
                                             std::vector<Halide::Expr> index) {
  if (request.block) {
    Halide::Expr whole = index[0];
    index[0] = whole % request.block;
    index.push_back(whole / request.block);
  }
  return index;
}

/// The Func reading `stored` (a buffer or parameter of the packed layout
/// when `prepacked`, of PyTorch's otherwise) in the storage order.
template <typename Stored>
static WeightFunc readInStorageOrder(const WeightRequest &request,
                                     Stored &stored, bool prepacked) {
  std::vector<int> order = request.storageOrder();
  size_t rank = order.size();
  std::vector<Halide::Var> vars(rank);
  std::vector<Halide::Expr> at(vars.begin(), vars.end());
  if (prepacked) {
    at = storedIndex(request, at);
  } else {
    // Halide dimension rank-1-p of the PyTorch layout is PyTorch's p.
    for (size_t j = 0; j < rank; ++j)
      at[rank - 1 - order[j]] = vars[j];
  }
  Halide::Func f(funcName(request.name) + "_w");
  f(vars) = stored(at);
  return {f, prepacked || !request.isPacked()};
}

WeightParam halide::makeWeightParam(const WeightRequest &request,
                                    bool prepacked) {
  prepacked &= request.isPacked();
  // The sizes are fixed: say so, so that the header documents them, the
  // kernel checks them and an autoscheduler knows them. A packed buffer is made
  // dense by netc: its strides are constants too.
  std::vector<int> extents = request.storageExtents();
  if (!prepacked)
    extents.assign(request.shape.rbegin(), request.shape.rend());
  Halide::ImageParam param(Halide::Float(32), int(extents.size()),
                           funcName(request.name));
  int stride = 1;
  for (size_t d = 0; d < extents.size(); ++d) {
    param.dim(int(d)).set_bounds(0, extents[d]).set_estimate(0, extents[d]);
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
  std::vector<int> order = request.storageOrder();
  std::vector<int> extents = request.storageExtents();
  Halide::Buffer<float> packed(extents, name);
  std::vector<int64_t> strides(extents.size(), 1);
  for (size_t d = 1; d < extents.size(); ++d)
    strides[d] = strides[d - 1] * extents[d - 1];
  // The stride of each PyTorch dimension in the packed buffer; a blocked
  // one steps 1 inside a block and strides.back() from block to block.
  size_t rank = request.shape.size();
  std::vector<int64_t> strideOf(rank);
  for (size_t j = 0; j < rank; ++j)
    strideOf[order[j]] = strides[j];
  int blocked = request.block ? order[0] : -1;
  int64_t block = request.block, blockStride = strides.back();
  // Every element in PyTorch's (C) order, its index counted up as it goes
  // (ResNet-50's weights are packed when a session is made: no allocation
  // per element).
  std::vector<int64_t> index(rank, 0);
  int64_t elements = 1;
  for (int64_t size : request.shape)
    elements *= size;
  float *out = packed.data();
  for (int64_t e = 0; e < elements; ++e) {
    int64_t offset = 0;
    for (size_t p = 0; p < rank; ++p)
      offset += int(p) == blocked
                    ? index[p] % block + index[p] / block * blockStride
                    : index[p] * strideOf[p];
    out[offset] = data[e];
    for (size_t p = rank; p-- > 0;) {
      if (++index[p] < request.shape[p])
        break;
      index[p] = 0;
    }
  }
  return packed;
}

Halide::Pipeline halide::packingPipeline(const WeightRequest &request,
                                         const Halide::ImageParam &input) {
  std::vector<int> order = request.storageOrder();
  size_t rank = order.size();
  // One variable per stored dimension; the blocked one is rebuilt whole.
  std::vector<Halide::Var> vars(rank + (request.block ? 1 : 0));
  std::vector<Halide::Expr> at(rank);
  for (size_t j = 0; j < rank; ++j)
    at[rank - 1 - order[j]] = vars[j];
  if (request.block)
    at[rank - 1 - order[0]] = vars[0] + request.block * vars[rank];
  Halide::Func packed("packed");
  packed(vars) = input(at);
  // A gather per element either way; a plain parallel loop is enough for
  // work done once per call.
  if (vars.size() > 1)
    packed.parallel(vars.back());
  return Halide::Pipeline(packed);
}
