//===- DefaultSchedule.cpp - The reference schedule -----------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the reference schedule (every Func computed at root,
// in order, with no other directive) and the tuned schedule's dispatch to
// the per-family schedules. Layers without a family schedule of their own
// (shape ops, activations) get a plain parallel, vectorized root schedule.
//
//===----------------------------------------------------------------------===//

#include "ScheduleUtils.h"

#include "netc/Dialect/NN/IR/NNOps.h"

using namespace netc;
using namespace netc::halide;

void halide::applyReferenceSchedule(LoweredNetwork &net) {
  for (LoweredLayer &layer : net.layers)
    for (auto &[func, role] : layer.funcs)
      func.compute_root();
}

void halide::scheduleDefault(LoweredLayer &layer,
                             const Halide::Target &target) {
  for (auto &[func, role] : layer.funcs) {
    func.compute_root();
    if (role != FuncRole::Output)
      continue;
    std::vector<Halide::Var> vars = layer.vars;
    int vec = target.natural_vector_size<float>();
    auto type =
        layer.op->getResult(0).getType().cast<mlir::RankedTensorType>();
    int64_t inner = type.getDimSize(type.getRank() - 1);
    if (inner >= vec)
      func.vectorize(vars.front(), vec, Halide::TailStrategy::GuardWithIf);
    if (vars.size() > 1)
      func.parallel(vars.back());
  }
}

void halide::applyTunedSchedule(LoweredNetwork &net,
                                const Halide::Target &target) {
  if (net.fused) {
    scheduleFusedConv(net, target);
    return;
  }
  for (LoweredLayer &layer : net.layers) {
    if (llvm::isa<nn::Conv2dOp>(layer.op))
      scheduleConv(layer, target);
    else if (llvm::isa<nn::LinearOp>(layer.op))
      scheduleLinear(layer, target);
    else if (llvm::isa<nn::MaxPool2dOp, nn::AvgPool2dOp>(layer.op))
      schedulePool(layer, target);
    else
      scheduleDefault(layer, target);
  }
}

void halide::applySchedule(LoweredNetwork &net, ScheduleKind kind,
                           const Halide::Target &target) {
  if (kind == ScheduleKind::Reference)
    applyReferenceSchedule(net);
  else
    applyTunedSchedule(net, target);
}

std::vector<Halide::Func>
halide::makeOutputFuncs(const LoweredNetwork &net,
                        const Halide::Target &target) {
  std::vector<Halide::Func> outputs;
  for (size_t i = 0; i < net.outputs.size(); ++i) {
    const Tensor &t = net.outputs[i];
    Halide::Func out(funcName(net.outputNames[i]) + "_output");
    std::vector<Halide::Var> vars(t.rank() ? t.rank() : 1);
    out(vars) = t.func(vars);
    out.compute_root();
    if (vars.size() > 1)
      out.parallel(vars.back());
    out.vectorize(vars.front(), target.natural_vector_size<float>(),
                  Halide::TailStrategy::GuardWithIf);
    outputs.push_back(out);
  }
  return outputs;
}
