//===- Importer.h - State of one model import -------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The state of the front end while it reads one model: the values computed
// so far with their symbolic shapes and where each size came from, the name
// scopes of the main layer list and of block instances, and the helpers that
// turn a YAML position into a located diagnostic. YAMLImporter.cpp walks the
// file's structure; LayerChecker.cpp checks one layer. Private to
// lib/Frontend.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_FRONTEND_IMPORTER_H
#define NETC_LIB_FRONTEND_IMPORTER_H

#include "OpSchema.h"
#include "YAMLValue.h"

#include "netc/Frontend/YAMLImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

#include <deque>
#include <map>
#include <set>

namespace netc {

/// Where a size came from, for the note on a mismatch: "layer 'conv1'
/// outputs 16 channels" at its `out_channels`.
struct Origin {
  SourcePos pos;
  std::string text;
};

/// A tensor the network computes: a model input or a layer's output.
struct ValueInfo {
  std::string producer;
  SourcePos producerPos;
  nn::Shape shape;
  /// Per dimension, where its size came from (empty text: unknown).
  std::vector<Origin> origins;
  /// Whether dimension 0 is a batch (for per-sample counts).
  bool batched = true;
  nn::Pair receptiveField{1, 1}, jump{1, 1};
  /// The SSA value, while the IR is still being built.
  mlir::Value value;
  /// The leaf layer that produced it, or -1 for an input.
  int layer = -1;
  /// Set when the producer could not be checked (an unknown op): layers
  /// reading it skip their shape checks instead of reporting follow-ons.
  bool poisoned = false;
  /// The producer is a Conv2d with a bias (for the BatchNorm2d warning).
  bool convBias = false;
  SourcePos biasPos;
  /// For a stride-1 Conv2d with an odd kernel: the padding that keeps its
  /// input's size, that input's size, and where `padding` is written (for
  /// the fix-it on a residual Add or Cat whose sizes differ).
  std::optional<nn::Pair> keepPadding;
  nn::Shape convInput;
  SourcePos paddingPos;
};

/// A note for diagnostics inside a block instance.
struct Instantiation {
  SourcePos pos;
  std::string text;
};

/// The names a layer list can read.
struct Scope {
  /// Local name to value id.
  llvm::StringMap<unsigned> names;
  /// Prefix of full layer names ("layer1.0.").
  std::string prefix;
  /// The block's `input` value inside a block instance.
  std::optional<unsigned> blockInput;
  /// Parameter values inside a block instance.
  const std::map<std::string, YValue> *params = nullptr;
  /// Innermost last: the uses that instantiated this scope.
  std::vector<Instantiation> stack;
  /// Names of the blocks being instantiated, for recursion.
  std::vector<std::string> blockPath;
  /// The value of the last layer read in this scope.
  std::optional<unsigned> last;
  /// Whether this is the model's top-level list.
  bool isTop() const { return stack.empty(); }
};

/// A block definition from `blocks:`.
struct BlockDef {
  std::string name;
  SourcePos pos;
  /// Parameter names in order, with their defaults (null: required).
  std::vector<std::pair<std::string, const YValue *>> params;
  const YValue *layers = nullptr;
  const YValue *output = nullptr;
};

/// One leaf layer as parsed, before checking.
struct LayerDecl {
  const OpSpec *spec = nullptr;
  std::string name;     ///< full name
  const YValue *node = nullptr;
  SourcePos fromPos;    ///< position of `from:`, or the layer's
  std::vector<unsigned> inputs;
  /// Where each input is named in `from:` (the layer's position if not).
  std::vector<SourcePos> inputPos;
};

/// The diagnostics and values of one import.
class Importer {
public:
  Importer(llvm::SourceMgr &sourceMgr, unsigned bufferId,
           mlir::MLIRContext *context, const ImportOptions &options);

  /// Runs the import; see importNetwork().
  mlir::OwningOpRef<mlir::ModuleOp> run(NetworkSummary *summary);

  //===--------------------------------------------------------------------===//
  // Diagnostics
  //===--------------------------------------------------------------------===//

  /// A note to attach: a position (line 0: no location) and a text.
  using Note = std::pair<SourcePos, std::string>;

  /// Emits an error at `pos` with `notes`, then the instantiation notes of
  /// the current scope.
  void error(SourcePos pos, const llvm::Twine &message,
             llvm::ArrayRef<Note> notes = {});
  /// Emits a warning (an error under --Werror) the same way.
  void warning(SourcePos pos, const llvm::Twine &message,
               llvm::ArrayRef<Note> notes = {});
  unsigned errorCount() const { return errors; }
  mlir::Location loc(SourcePos pos);
  mlir::Location namedLoc(llvm::StringRef name, SourcePos pos);

  //===--------------------------------------------------------------------===//
  // Layers (LayerChecker.cpp)
  //===--------------------------------------------------------------------===//

  /// Checks one leaf layer whose arguments are bound, records its output
  /// value and summary row, and builds its op while the model is still
  /// error-free. Returns the output value id.
  unsigned checkLayer(const LayerDecl &decl, const LayerArgs &args);

  /// Describes dimension `dim` of `shape` by its role: "16 channels".
  static std::string describeDim(llvm::ArrayRef<nn::Dim> shape, unsigned dim,
                                 bool batched);

private:
  void emit(bool isError, SourcePos pos, const llvm::Twine &message,
            llvm::ArrayRef<Note> notes);

  // YAMLImporter.cpp: the file's structure.
  bool checkTopLevel(const YValue &root);
  void readInputs(const YValue &inputs);
  void readBlocks(const YValue &blocks);
  void readLayerList(const YValue &list, Scope &scope);
  void readLayer(const YValue &layer, unsigned index, Scope &scope,
                 llvm::ArrayRef<std::pair<std::string, SourcePos>> later,
                 std::optional<unsigned> &previous);
  std::optional<unsigned> instantiateBlock(const BlockDef &block,
                                           const YValue &use,
                                           const std::string &fullName,
                                           unsigned input, Scope &outer);
  bool resolveInputs(const YValue &layer, const OpSpec *spec,
                     llvm::StringRef name, Scope &scope,
                     llvm::ArrayRef<std::pair<std::string, SourcePos>> later,
                     std::optional<unsigned> previous,
                     std::vector<unsigned> &inputs,
                     std::vector<SourcePos> &inputPos, SourcePos &fromPos);
  std::optional<unsigned> lookupName(llvm::StringRef name, Scope &scope);
  bool defineName(const std::string &local, const std::string &full,
                  unsigned value, SourcePos pos, Scope &scope);
  /// Substitutes the block parameters of `scope` into a copy of `node`;
  /// `ok` is false if a `$` value could not be evaluated (reported).
  const YValue &substitute(const YValue &node, const Scope &scope, bool &ok);
  /// Defines a layer that could not be checked: its value is poisoned, so
  /// that later layers reading it report no follow-on errors.
  void definePoisoned(const std::string &local, const std::string &full,
                      SourcePos pos, Scope &scope);
  YValue substituteValue(const YValue &node, const Scope &scope, bool &ok);
  void readOutputs(const YValue *outputs);
  /// Reports (once) and returns true when the model has reached kMaxLayers
  /// leaf layers: nested `repeat`s could otherwise ask for billions.
  bool tooManyLayers(SourcePos pos);
  static constexpr size_t kMaxLayers = 200'000;
  bool layerLimitReported = false;
  void warnUnreachable();
  void finishFunction();

  llvm::SourceMgr &sourceMgr;
  unsigned bufferId;
  mlir::MLIRContext *context;
  ImportOptions options;
  std::string fileName;
  /// Errors, counting warnings under --Werror.
  unsigned errors = 0;
  /// Errors other than warnings under --Werror.
  unsigned hardErrors = 0;
  /// The instantiation notes of the scope being read.
  const std::vector<Instantiation> *currentStack = nullptr;
  /// currentStack's index in the summary's instantiations, once a layer
  /// of it was checked; -1 before.
  int currentStackId = -1;
  /// While a layer is checked: its summary row's problem list, which
  /// collects the diagnostics for `netc explain`.
  std::vector<std::string> *currentProblems = nullptr;

  std::unique_ptr<YValue> root;
  /// Substituted copies of block layers; a deque keeps pointers stable.
  std::deque<YValue> substituted;

  std::vector<ValueInfo> values;
  std::vector<unsigned> inputValues;
  std::vector<std::string> inputNames;
  /// Full names of inputs and layers (dotted) to value ids, with positions.
  llvm::StringMap<std::pair<unsigned, SourcePos>> globalNames;
  std::map<std::string, BlockDef> blocks;
  /// Blocks whose definition had an error: their uses are not reported again
  /// as unknown ops.
  std::set<std::string> brokenBlocks;
  std::vector<unsigned> outputValues;
  std::optional<unsigned> lastLayerValue;

  /// Leaf layers in order: their declared inputs, for reachability.
  std::vector<std::vector<unsigned>> layerInputs;
  std::vector<SourcePos> layerPos;

  NetworkSummary info;

  mlir::OpBuilder builder;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::FuncOp function;
  /// False once the model has an error: no more IR is built.
  bool building = true;
};

} // namespace netc

#endif // NETC_LIB_FRONTEND_IMPORTER_H
