//===- YAMLImporter.h - Read and check a YAML model -------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The front end: reads a model file in the netc format, checks every layer
// with PyTorch's rules, reports every problem as an MLIR diagnostic at the
// YAML key it concerns, and builds the nn dialect IR of a correct model.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_FRONTEND_YAMLIMPORTER_H
#define NETC_FRONTEND_YAMLIMPORTER_H

#include "netc/Dialect/NN/Analysis/LayerStats.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace netc {

/// Options of the front end.
struct ImportOptions {
  /// Report warnings as errors (`--Werror`).
  bool warningsAsErrors = false;
  /// The model file's name, for the default model name (its stem). Empty:
  /// the source buffer's name, which for a chunk of a split test file is
  /// not the file's.
  std::string modelFileName;
};

/// One layer as the summary shows it.
struct LayerSummary {
  std::string name;
  std::string op;
  nn::Shape shape;
  nn::LayerStats stats;
  /// The shape of the (first) input.
  nn::Shape inputShape;
  /// PyTorch's formulas written out with this layer's numbers, for
  /// `netc explain`.
  std::vector<std::string> formulas;
  /// The parameter and buffer tensors, as "weight: [64, 3, 5, 5]".
  std::vector<std::string> tensors;
  /// The errors and warnings reported at this layer, with their notes
  /// ("  note: set `in_channels: 1`"), for `netc explain`.
  std::vector<std::string> problems;
  /// For a layer of a block instance: its index in
  /// NetworkSummary::instantiations; -1 outside blocks.
  int instantiation = -1;
  /// The layer's position: file line and column.
  unsigned line = 0, column = 0;
};

/// The checked network as the summary shows it.
struct NetworkSummary {
  std::string name;
  std::vector<std::pair<std::string, nn::Shape>> inputs;
  std::vector<LayerSummary> layers;
  std::vector<std::string> outputs;
  /// The groups of the name hierarchy that a block use or a `repeat`
  /// made, by full name, with what made them: "BasicBlock",
  /// "BasicBlock x2".
  std::map<std::string, std::string> groups;
  /// The instantiation stacks that layers refer to, one per block
  /// instance, innermost first: "in block 'Bottleneck' instantiated as
  /// 'layer1.0' (planes=64)" and the line of that use.
  std::vector<std::vector<std::pair<std::string, unsigned>>> instantiations;
};

/// Reads and checks the model in buffer `bufferId` of `sourceMgr`. Problems
/// are emitted through `context`'s diagnostic engine, all of them, not only
/// the first. Returns the nn IR (a module with one function named after the
/// model) or null if the model has an error. Fills `summary` when given,
/// also for a model with errors (as far as it could be checked).
mlir::OwningOpRef<mlir::ModuleOp>
importNetwork(llvm::SourceMgr &sourceMgr, unsigned bufferId,
              mlir::MLIRContext *context, const ImportOptions &options,
              NetworkSummary *summary = nullptr);

} // namespace netc

#endif // NETC_FRONTEND_YAMLIMPORTER_H
