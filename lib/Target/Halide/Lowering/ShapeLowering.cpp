//===- ShapeLowering.cpp - Flatten and Cat to Halide ----------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file lowers the ops that only move elements: Flatten (index
// arithmetic over C order) and Cat (a select over the inputs' ranges).
//
//===----------------------------------------------------------------------===//

#include "../LoweringPatterns.h"

using namespace netc;
using namespace netc::halide;
using Halide::Expr;
using Halide::Func;
using Halide::Var;

LoweredLayer halide::lowerFlatten(nn::FlattenOp op, const Tensor &input,
                                  LoweringContext &ctx) {
  std::string name = op.getName().str();
  size_t rank = input.rank();
  int64_t r = std::max<int64_t>(rank, 1);
  int64_t start = op.getStartDimAttr().getInt(), end = op.getEndDimAttr().getInt();
  if (start < 0)
    start += r;
  if (end < 0)
    end += r;
  size_t outRank = rank - size_t(end - start);
  std::vector<Var> v = varsForRank(outRank);

  // PyTorch-order output index -> PyTorch-order input index.
  std::vector<Expr> outIndex(outRank);
  for (size_t i = 0; i < outRank; ++i)
    outIndex[i] = v[outRank - 1 - i];
  std::vector<Expr> inIndex(rank);
  for (int64_t i = 0; i < start; ++i)
    inIndex[i] = outIndex[i];
  for (size_t i = end + 1; i < rank; ++i)
    inIndex[i] = outIndex[i - (end - start)];
  Expr flat = outIndex[start];
  for (int64_t i = end; i > start; --i) {
    inIndex[i] = flat % input.sizes[i];
    flat = flat / input.sizes[i];
  }
  inIndex[start] = flat;

  Func out = ctx.makeFunc(name);
  out(v) = input.at(inIndex);
  std::vector<Expr> sizes(input.sizes.begin(), input.sizes.begin() + start);
  Expr merged = 1;
  for (int64_t i = start; i <= end; ++i)
    merged = merged * input.sizes[i];
  sizes.push_back(Halide::Internal::simplify(merged));
  sizes.insert(sizes.end(), input.sizes.begin() + end + 1, input.sizes.end());

  return makeLayer(op, v, {{out, FuncRole::Output}},
                   {out, sizes});
}

LoweredLayer halide::lowerCat(nn::CatOp op, llvm::ArrayRef<Tensor> inputs,
                              LoweringContext &ctx) {
  std::string name = op.getName().str();
  size_t rank = inputs.front().rank();
  int64_t dim = op.getDimAttr().getInt();
  if (dim < 0)
    dim += int64_t(rank);
  size_t axis = rank - 1 - size_t(dim);
  std::vector<Var> v = varsForRank(rank);

  // Build the select from the last input backwards.
  std::vector<Expr> offsets;
  Expr offset = 0;
  for (const Tensor &t : inputs) {
    offsets.push_back(offset);
    offset = Halide::Internal::simplify(offset + t.sizes[dim]);
  }
  Expr value;
  for (size_t k = inputs.size(); k-- > 0;) {
    std::vector<Expr> at = exprsOf(v);
    at[axis] = Halide::clamp(v[axis] - offsets[k], 0,
                             inputs[k].sizes[dim] - 1);
    Expr here = inputs[k].func(at);
    value = value.defined() ? Halide::select(v[axis] < offsets[k] +
                                                         inputs[k].sizes[dim],
                                             here, value)
                            : here;
  }
  Func out = ctx.makeFunc(name);
  out(v) = value;

  std::vector<Expr> sizes = inputs.front().sizes;
  sizes[dim] = offset;
  return makeLayer(op, v, {{out, FuncRole::Output}}, {out, sizes});
}
