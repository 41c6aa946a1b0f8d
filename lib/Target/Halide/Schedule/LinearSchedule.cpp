//===- LinearSchedule.cpp - The schedule of Linear ------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file schedules Linear. Its weight is [out_features, in_features]:
// contiguous along the reduction, so each output is a dot product
// vectorized along in_features (an rfactor into vector-wide partial sums),
// and output features run in parallel. Packing the weight to vectorize
// across outputs instead would cost a pass over the weight every run.
//
//===----------------------------------------------------------------------===//

#include "ScheduleUtils.h"

#include "netc/Dialect/NN/IR/NNOps.h"

using namespace netc;
using namespace netc::halide;
using Halide::Var;

void halide::scheduleLinear(LoweredLayer &layer,
                            const Halide::Target &target) {
  Halide::Func out = findFunc(layer, FuncRole::Output);
  Halide::Func acc = findFunc(layer, FuncRole::Accumulate);
  auto linear = llvm::cast<nn::LinearOp>(layer.op);
  int64_t in = linear.getInFeaturesAttr().getInt();
  int vec = target.natural_vector_size<float>();
  Var i = layer.vars[0];
  Halide::RDom r = layer.reduction;

  out.compute_root().parallel(i, 8, Halide::TailStrategy::GuardWithIf);
  acc.compute_at(out, i);
  if (in < 4 * vec)
    return;
  Halide::RVar ro("ro"), ri("ri");
  Var u("u");
  // Partial sums of `vec` lanes, summed at the end: floating-point
  // addition is reordered, within the tolerance the tests hold netc to.
  Halide::Func partial =
      acc.update().split(r.x, ro, ri, vec, Halide::TailStrategy::GuardWithIf)
          .rfactor(ri, u);
  partial.compute_at(acc, i).vectorize(u);
  partial.update().vectorize(u);
}
