//===- JITLayoutTest.cpp - Layers run alone with blocked operands ---------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// JITSession::compileLayer with the tuned schedule stores a layer's
// operands and result as they would be inside a network (channel blocks of
// 16 where nn::preferredLayout says so), and run() converts the inputs to
// blocks and the result back. Nothing in the driver calls run() on such a
// session (netc bench times it with timeLayers), so this test checks both
// conversions: every layer of a small model, blocked, must give the NCHW
// reference schedule's numbers.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/Dialect/NN/Analysis/Parameters.h"
#include "netc/Frontend/YAMLImporter.h"
#include "netc/Runtime/JITSession.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace netc;

namespace {

// c1 reads NCHW and writes blocks; dw and c2 read and write blocks; c2
// takes a blocked residual too; c3 writes NCHW (8 channels).
const char *kModel = R"(name: layouts
inputs:
  x: [N, 16, 9, 7]
layers:
  - {name: c1, op: Conv2d, in_channels: 16, out_channels: 32, kernel_size: 3, padding: 1}
  - {name: dw, op: Conv2d, in_channels: 32, out_channels: 32, kernel_size: 3, padding: 1, groups: 32}
  - {name: c2, op: Conv2d, in_channels: 32, out_channels: 32, kernel_size: 1}
  - {name: a2, op: Add, from: [c2, c1]}
  - {name: c3, op: Conv2d, in_channels: 32, out_channels: 8, kernel_size: 3, padding: 1}
)";

io::Tensor randomTensor(mlir::Value v, int64_t batch, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  io::Tensor t;
  for (int64_t d : v.getType().cast<mlir::RankedTensorType>().getShape())
    t.shape.push_back(mlir::ShapedType::isDynamic(d) ? batch : d);
  t.data.resize(size_t(io::getNumElements(t.shape)));
  for (float &x : t.data)
    x = uniform(rng);
  return t;
}

/// Runs `layer` alone with `schedule` on `inputs`.
io::Tensor runLayer(const nn::FusedLayer &layer, runtime::Schedule schedule,
                    const std::vector<const io::Tensor *> &inputs) {
  std::vector<nn::ParameterInfo> params;
  for (mlir::Operation *op : layer.ops)
    llvm::append_range(params, nn::parametersOf(op));
  auto session = runtime::JITSession::compileLayer(
      layer, runtime::initializeWeights(params, 7), schedule);
  EXPECT_TRUE(bool(session)) << llvm::toString(session.takeError());
  auto results = (*session)->run(inputs);
  EXPECT_TRUE(bool(results)) << llvm::toString(results.takeError());
  return std::move(results->front());
}

TEST(JITLayout, LayersAloneInBlocksMatchTheReference) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(kModel, "layouts.yaml"), llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importNetwork(sourceMgr, id, &context, ImportOptions());
  ASSERT_TRUE(bool(module));
  mlir::FuncOp func = *module->getOps<mlir::FuncOp>().begin();

  std::mt19937 rng(3);
  int blockedOperands = 0, blockedResults = 0;
  for (const nn::FusedLayer &layer : nn::fuseLayers(func)) {
    nn::KernelLayout layout = nn::preferredLayout(layer);
    blockedResults += layout.resultBlock != 0;
    std::vector<io::Tensor> inputs;
    std::vector<const io::Tensor *> pointers;
    for (mlir::Value v : layer.operands)
      inputs.push_back(randomTensor(v, 3, rng));
    for (size_t i = 0; i < inputs.size(); ++i) {
      pointers.push_back(&inputs[i]);
      blockedOperands += layout.operandBlock(i) != 0;
    }
    io::Tensor tuned = runLayer(layer, runtime::Schedule::Tuned, pointers);
    io::Tensor reference =
        runLayer(layer, runtime::Schedule::Reference, pointers);
    ASSERT_EQ(tuned.shape, reference.shape) << layer.name();
    float scale = 1, worst = 0;
    for (size_t i = 0; i < reference.data.size(); ++i) {
      scale = std::max(scale, std::fabs(reference.data[i]));
      worst = std::max(worst, std::fabs(tuned.data[i] - reference.data[i]));
    }
    EXPECT_LE(worst, 1e-5f * scale) << layer.name();
  }
  // The model exercises both conversions.
  EXPECT_GE(blockedOperands, 3);
  EXPECT_GE(blockedResults, 3);
}

} // namespace
