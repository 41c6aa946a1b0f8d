//===- NetworkAssembly.cpp - A network library from layer kernels ---------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file writes the whole-network library from per-layer kernels, the
// way the JIT runs a network, instead of compiling the network as one Halide
// pipeline, whose compile time grows superlinearly with its size (ResNet-50
// took about 125 s on 2 cores).
//
// 1. Each distinct layer (nn::FusedLayer::key: a Conv2d with the
//    BatchNorm2d, residual Add and activation fused into its epilogue, or
//    one op) is lowered on its own, its operands and weights buffer
//    arguments of fixed sizes (but a free batch), given the tuned schedule
//    and compiled to an object without the Halide runtime: the kernel the
//    JIT compiles for it, which checks the shape of every buffer it is
//    passed. Identical layers share one kernel.
// 2. The top-level function is written directly in Halide's IR (a
//    LoweredFunc): it checks the model's inputs, allocates each layer's
//    result on the heap, calls the layers' kernels in order, frees each
//    result after its last reader, and copies each network output into its
//    output buffer with a small copy kernel (the output Funcs of the
//    one-pipeline library). The weights are its arguments, or Buffer
//    constants embedded in its object. Halide writes its header, argv
//    wrapper and metadata, which are those of the one-pipeline library.
//    A Halide pipeline of extern stages would do the same, but Halide's
//    lowering of one takes time quadratic in the number of stages (20 s for
//    40 stages; ResNet-50 has 175).
// 3. The kernels, the copies, the top-level function and the Halide runtime
//    compile in parallel; all objects go into `<name>.a`.
//
//===----------------------------------------------------------------------===//

#include "NetworkAssembly.h"

#include "EmitterSupport.h"

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/Dialect/NN/Analysis/Parameters.h"
#include "netc/Dialect/NN/Analysis/ValueNames.h"
#include "netc/Runtime/JITSession.h"
#include "netc/Target/Halide/LoweredNetwork.h"
#include "netc/Target/Halide/Schedule.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/IPO/AlwaysInliner.h"

#include <unistd.h>

#include <iostream>
#include <map>
#include <sstream>

using namespace netc;
using namespace netc::aot;

namespace {
/// The compiled function of one distinct layer.
struct LayerKernel {
  /// The first (fused) layer with this key, which the kernel is lowered
  /// from, and how its operands and result are stored.
  nn::FusedLayer layer;
  nn::KernelLayout layout;
  /// The kernel's symbol: `<model>_k<index>_<layer>`, unique in the library
  /// with its `_argv` and `_metadata` companions.
  std::string function;
  /// False for a layer that computes nothing (Dropout, Identity): its
  /// result is its operand, and no kernel is compiled.
  bool computes = true;
  /// The names of the kernel's operand ImageParams, in argument order.
  std::vector<std::string> inputNames;
  /// Its weights in argument order, after the operands: which op of the
  /// fused layer owns each (FusedLayer::ownerOf), their state_dict suffixes
  /// ("weight", "running_mean"...) and PyTorch-order shapes.
  std::vector<unsigned> weightOwners;
  std::vector<std::string> weightSuffixes;
  /// What the kernel asked for: the shape and the packed layout it reads
  /// (the top-level function supplies each weight stored so).
  std::vector<halide::WeightRequest> weightRequests;
  /// The result's sizes in PyTorch order (NCHW even when it is stored in
  /// blocks), as expressions of the operands' extents (`input.extent.3`
  /// for a free batch).
  std::vector<Halide::Expr> outputSizes;
  /// The scheduled pipeline and its arguments.
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> arguments;
  /// The object file.
  std::string objectPath;
};

/// Removes a temporary directory and everything in it when it goes.
struct TemporaryDirectory {
  llvm::SmallString<128> path;
  ~TemporaryDirectory() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
};

/// Removes the files named, those that still exist, when it goes.
struct TemporaryFiles {
  std::vector<std::string> paths;
  ~TemporaryFiles() {
    for (const std::string &path : paths)
      llvm::sys::fs::remove(path);
  }
};
} // namespace

static std::string layerName(mlir::Operation *op) {
  return op->getAttrOfType<mlir::StringAttr>("name").getValue().str();
}

static llvm::Error errorOf(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Lowers `kernel.layer` alone with its weights as ImageParams and
/// schedules it for `target`, filling in `kernel`. Every size but a free batch is
/// fixed, so the kernel checks the shape of every buffer it is passed.
/// Returns an error message, or an empty string.
static std::string lowerKernel(LayerKernel &kernel,
                               const Halide::Target &target) {
  std::vector<Halide::ImageParam> weights;
  halide::WeightProvider provider =
      [&](const halide::WeightRequest &request) -> halide::WeightFunc {
    unsigned owner = kernel.layer.ownerOf(request.name);
    kernel.weightOwners.push_back(owner);
    kernel.weightSuffixes.push_back(
        request.name.substr(layerName(kernel.layer.ops[owner]).size() + 1));
    kernel.weightRequests.push_back(request);
    halide::WeightParam w = halide::makeWeightParam(request, true);
    weights.push_back(w.param);
    return w.weight;
  };
  llvm::Expected<halide::LoweredNetwork> net =
      halide::lowerFusedLayer(kernel.layer, provider, kernel.layout);
  if (!net)
    return llvm::toString(net.takeError());
  if (net->layers.size() == 1 && net->layers.front().funcs.empty()) {
    kernel.computes = false;
    return "";
  }
  halide::applyTunedSchedule(*net, target);
  for (size_t i = 0; i < net->inputs.size(); ++i) {
    Halide::ImageParam &input = net->inputs[i];
    std::vector<int64_t> shape = nn::storageShape(
        net->inputShapes[i], kernel.layout.operandBlock(i));
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] >= 0)
        input.dim(int(shape.size() - 1 - d)).set_bounds(0, int(shape[d]));
    kernel.inputNames.push_back(input.name());
    kernel.arguments.push_back(input);
  }
  kernel.arguments.insert(kernel.arguments.end(), weights.begin(),
                          weights.end());
  halide::constrainOutputChannels(net->outputs.front());
  kernel.outputSizes = net->outputs.front().sizes;
  kernel.pipeline = Halide::Pipeline(net->outputs.front().storage());
  return "";
}

/// Compiles the function copying a float tensor of `rank` into an output
/// buffer (the output Funcs of the one-pipeline library, with the same
/// schedule) to `path`. Returns an empty error message.
static std::string compileCopyKernel(int rank, const std::string &function,
                                     const std::string &path,
                                     const Halide::Target &target) {
  Halide::ImageParam input(Halide::Float(32), rank, "input");
  halide::LoweredNetwork copy;
  halide::Tensor tensor;
  tensor.func = input;
  for (int d = rank - 1; d >= 0; --d)
    tensor.sizes.push_back(input.dim(d).extent());
  copy.outputs.push_back(tensor);
  copy.outputNames.push_back("copy");
  Halide::Pipeline(halide::makeOutputFuncs(copy, target))
      .compile_to_object(path, {input}, function, target);
  return "";
}

/// Compiles the top-level `module` to the object `path`. Halide optimizes
/// the IR as usual, but LLVM's code generator at Halide's -O3 took 14 s on
/// ResNet-50's one long function of calls (and 18 s at -O1); at -O0 (fast
/// instruction selection and register allocation) it takes 2 s. The
/// function has no loop to speak of: it only checks and calls.
static std::string compileTopLevel(const Halide::Module &module,
                                   const std::string &path) {
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> ir =
      Halide::compile_module_to_llvm_module(module, context);
  std::unique_ptr<llvm::TargetMachine> machine =
      Halide::Internal::make_target_machine(*ir);
  machine->setOptLevel(llvm::CodeGenOpt::None);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return "cannot write '" + path + "': " + ec.message();
  llvm::legacy::PassManager passes;
  passes.add(llvm::createAlwaysInlinerLegacyPass());
  if (machine->addPassesToEmitFile(passes, os, nullptr, llvm::CGFT_ObjectFile))
    return "LLVM cannot write an object for this target";
  passes.run(*ir);
  return "";
}

namespace {
namespace HI = Halide::Internal;

/// The body of the top-level function: straight-line code, recorded front
/// to back and nested (lets and allocations scope what follows) back to
/// front. Each allocation is freed after the last statement that uses it.
class TopLevelBody {
public:
  /// The halide_buffer_t of the buffer argument `name`.
  static Halide::Expr argument(const std::string &name) {
    return HI::Variable::make(Halide::type_of<halide_buffer_t *>(),
                              name + ".buffer");
  }

  /// Fails unless `buffer` (an argument called `name`) is a float buffer of
  /// `sizes` (PyTorch order; undefined: any extent) with memory. The kernels
  /// check the rest (strides, the regions they read and write).
  void checkTensor(const std::string &name, const Halide::Expr &buffer,
                   const std::vector<Halide::Expr> &sizes, bool isOutput) {
    using namespace Halide;
    std::string what = (isOutput ? "Output buffer " : "Input buffer ") + name;
    int rank = int(sizes.size());
    check(reinterpret(UInt(64), buffer) != HI::make_zero(UInt(64)),
          "halide_error_buffer_argument_is_null", {name});
    Expr host = HI::Call::make(Handle(), HI::Call::buffer_get_host, {buffer},
                               HI::Call::Extern);
    check(reinterpret(UInt(64), host) != HI::make_zero(UInt(64)),
          "halide_error_host_is_null", {what});
    Expr type = HI::Call::make(UInt(32), HI::Call::buffer_get_type, {buffer},
                               HI::Call::Extern);
    // halide_type_t{halide_type_float, 32, 1} as a uint32.
    Expr float32 = HI::make_const(UInt(32), 2 + (32 << 8) + (1 << 16));
    check(type == float32, "halide_error_bad_type", {what, type, float32});
    Expr dims = HI::Call::make(Int(32), HI::Call::buffer_get_dimensions,
                               {buffer}, HI::Call::Extern);
    check(dims == rank, "halide_error_bad_dimensions", {what, dims, rank});
    for (int d = 0; d < rank; ++d) {
      const Expr &size = sizes[rank - 1 - d];
      if (!size.defined())
        continue;
      Expr extent = HI::Call::make(Int(32), HI::Call::buffer_get_extent,
                                   {buffer, d}, HI::Call::Extern);
      check(extent == size, "halide_error_constraint_violated",
            {name + ".extent." + std::to_string(d), extent,
             std::to_string(*HI::as_const_int(size)), size});
    }
  }

  /// Binds `name` to `value` for the rest of the function.
  void let(const std::string &name, const Halide::Expr &value) {
    items.push_back({Item::Let, HI::Stmt(), name, value, {}});
  }

  /// Allocates a dense float tensor of `sizes` (PyTorch order) on the heap;
  /// returns its halide_buffer_t.
  Halide::Expr allocate(const std::string &name,
                        const std::vector<Halide::Expr> &sizes) {
    std::vector<Halide::Expr> extents(sizes.rbegin(), sizes.rend());
    items.push_back(
        {Item::Allocate, HI::Stmt(), name, Halide::Expr(), extents});
    return denseBuffer(name + ".buffer",
                       HI::Variable::make(Halide::Handle(), name), sizes);
  }

  /// The memory of `buffer` seen as a dense float tensor of `sizes`
  /// (PyTorch order), bound to `name`; returns its halide_buffer_t.
  Halide::Expr view(const std::string &name, const Halide::Expr &buffer,
                    const std::vector<Halide::Expr> &sizes) {
    return denseBuffer(name,
                       HI::Call::make(Halide::Handle(),
                                      HI::Call::buffer_get_host, {buffer},
                                      HI::Call::Extern),
                       sizes);
  }

  /// Calls `function(args)`, which uses the allocations `uses`, and fails
  /// with its result if that is not zero.
  void call(const std::string &function, const std::vector<Halide::Expr> &args,
            const std::vector<std::string> &uses) {
    std::string result = "result" + std::to_string(items.size());
    Halide::Expr resultVar = HI::Variable::make(Halide::Int(32), result);
    HI::Stmt checkResult = HI::AssertStmt::make(
        resultVar == 0,
        HI::Call::make(Halide::Int(32), "halide_error_extern_stage_failed",
                       {function, resultVar}, HI::Call::Extern));
    items.push_back({Item::Statement,
                     HI::LetStmt::make(result,
                                       HI::Call::make(Halide::Int(32), function,
                                                      args, HI::Call::Extern),
                                       checkResult),
                     "",
                     Halide::Expr(),
                     {}});
    for (const std::string &allocation : uses)
      lastUse[allocation] = items.size() - 1;
  }

  /// The function body.
  HI::Stmt build() const {
    std::map<size_t, std::vector<std::string>> freesAfter;
    for (const auto &[allocation, item] : lastUse)
      freesAfter[item].push_back(allocation);
    HI::Stmt body = HI::Evaluate::make(0);
    for (size_t i = items.size(); i-- > 0;) {
      auto frees = freesAfter.find(i);
      if (frees != freesAfter.end())
        for (const std::string &allocation : frees->second)
          body = HI::Block::make(HI::Free::make(allocation), body);
      const Item &item = items[i];
      switch (item.kind) {
      case Item::Statement:
        body = HI::Block::make(item.stmt, body);
        break;
      case Item::Let:
        body = HI::LetStmt::make(item.name, item.value, body);
        break;
      case Item::Allocate:
        body = HI::Allocate::make(item.name, Halide::Float(32),
                                  Halide::MemoryType::Heap, item.extents,
                                  Halide::Internal::const_true(), body);
        break;
      }
    }
    return body;
  }

private:
  struct Item {
    enum Kind { Statement, Let, Allocate } kind;
    HI::Stmt stmt;
    std::string name;
    Halide::Expr value;
    std::vector<Halide::Expr> extents;
  };

  /// A halide_buffer_t for a dense float tensor of `sizes` (PyTorch order)
  /// at `host`, bound to `name`.
  Halide::Expr denseBuffer(const std::string &name, const Halide::Expr &host,
                           const std::vector<Halide::Expr> &sizes) {
    std::vector<Halide::Expr> extents(sizes.rbegin(), sizes.rend());
    HI::BufferBuilder builder;
    builder.host = host;
    builder.type = Halide::Float(32);
    builder.dimensions = int(extents.size());
    Halide::Expr stride = 1;
    for (const Halide::Expr &extent : extents) {
      builder.mins.push_back(0);
      builder.extents.push_back(extent);
      builder.strides.push_back(stride);
      stride = HI::simplify(stride * extent);
    }
    let(name, builder.build());
    return HI::Variable::make(Halide::type_of<halide_buffer_t *>(), name);
  }

  /// Fails with `error(args)` unless `condition` holds.
  void check(const Halide::Expr &condition, const std::string &error,
             const std::vector<Halide::Expr> &args) {
    items.push_back({Item::Statement,
                     HI::AssertStmt::make(
                         condition, HI::Call::make(Halide::Int(32), error, args,
                                                   HI::Call::Extern)),
                     "",
                     Halide::Expr(),
                     {}});
  }

  std::vector<Item> items;
  /// Per allocation, the last item that uses it.
  std::map<std::string, size_t> lastUse;
};

/// A tensor of the network in the top-level function.
struct NetworkValue {
  /// Its halide_buffer_t.
  Halide::Expr buffer;
  /// Its sizes, PyTorch order (NCHW even when stored in blocks).
  std::vector<Halide::Expr> sizes;
  /// The allocation holding it; empty for a model input.
  std::string allocation;
};
} // namespace

llvm::Error aot::emitAssembledNetwork(mlir::FuncOp func,
                                      const EmitOptions &opts,
                                      const Halide::Target &target,
                                      std::vector<std::string> &written) {
  std::string model = func.getName().str();
  mlir::Operation *ret = func.front().getTerminator();

  // Every size must be static but a batch (dimension 0).
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto type = func.getArgument(i).getType().cast<mlir::RankedTensorType>();
    for (int64_t d = 1; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        return errorOf("code generation needs every size of '" +
                       nn::inputName(func, i) +
                       "' but the batch to be a number");
  }
  for (mlir::Operation &op : func.front()) {
    if (&op == ret)
      continue;
    auto type = op.getResult(0).getType().cast<mlir::RankedTensorType>();
    for (int64_t d = 1; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        return errorOf("code generation needs static sizes except the "
                       "batch, but layer '" +
                       layerName(&op) + "' has a symbolic size at dimension " +
                       std::to_string(d));
  }

  // One kernel per distinct layer and one copy per output rank, compiled
  // in parallel into a temporary directory.
  TemporaryDirectory objects;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("netc-" + model, objects.path))
    return llvm::createStringError(ec, "cannot create a temporary directory");
  auto objectPath = [&](const std::string &function) {
    llvm::SmallString<128> path(objects.path);
    llvm::sys::path::append(path, function + ".o");
    return std::string(path);
  };
  // The kernels are only called by the top-level function, with buffers
  // (never bounds queries), and share its Halide runtime.
  Halide::Target kernelTarget =
      target.with_feature(Halide::Target::NoRuntime)
          .with_feature(Halide::Target::NoBoundsQuery);
  std::vector<nn::FusedLayer> layers = nn::fuseLayers(func, opts.fuse);
  std::vector<nn::KernelLayout> layouts =
      nn::assignActivationLayouts(func, layers);
  halide::chooseFlatMaps(layers, layouts, target);
  std::vector<LayerKernel> kernels;
  std::map<std::string, size_t> kernelOfKey;
  for (size_t l = 0; l < layers.size(); ++l) {
    const nn::FusedLayer &layer = layers[l];
    if (!kernelOfKey.emplace(layer.key() + layouts[l].key(), kernels.size())
             .second)
      continue;
    LayerKernel kernel;
    kernel.layer = layer;
    kernel.layout = layouts[l];
    kernel.function =
        llvm::formatv("{0}_k{1}_{2}", model, kernels.size(),
                      halide::funcName(layerName(layer.ops.front())));
    kernel.objectPath = objectPath(kernel.function);
    kernels.push_back(std::move(kernel));
  }
  std::map<int, std::string> copyOfRank;
  for (mlir::Value v : ret->getOperands()) {
    int rank = int(v.getType().cast<mlir::RankedTensorType>().getRank());
    copyOfRank.emplace(rank, model + "_copy" + std::to_string(rank));
  }
  std::vector<std::pair<int, std::string>> copies(copyOfRank.begin(),
                                                  copyOfRank.end());
  for (LayerKernel &kernel : kernels)
    if (std::string error = lowerKernel(kernel, kernelTarget); !error.empty())
      return errorOf(error);

  // The top-level function: check the arguments, then call the layers in
  // order, copying each network output into its buffer once computed.
  std::vector<Halide::Argument> arguments;
  TopLevelBody body;
  llvm::DenseMap<mlir::Value, NetworkValue> values;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    mlir::BlockArgument arg = func.getArgument(i);
    auto type = arg.getType().cast<mlir::RankedTensorType>();
    std::string name = nn::inputName(func, i);
    std::string param = halide::funcName(name);
    arguments.emplace_back(param, Halide::Argument::InputBuffer,
                           Halide::Float(32), int(type.getRank()),
                           Halide::ArgumentEstimates());
    NetworkValue value;
    value.buffer = TopLevelBody::argument(param);
    for (int64_t d = 0; d < type.getRank(); ++d)
      value.sizes.push_back(type.isDynamicDim(d)
                                ? Halide::Expr()
                                : Halide::Expr(int(type.getDimSize(d))));
    body.checkTensor(param, value.buffer, value.sizes, false);
    // A symbolic batch is the buffer's.
    if (!value.sizes.empty() && !value.sizes[0].defined()) {
      std::string batch =
          param + ".extent." + std::to_string(type.getRank() - 1);
      body.let(batch,
               HI::Call::make(Halide::Int(32), HI::Call::buffer_get_extent,
                              {value.buffer, int(type.getRank() - 1)},
                              HI::Call::Extern));
      value.sizes[0] = HI::Variable::make(Halide::Int(32), batch);
    }
    values[arg] = value;
  }

  // The weights: constants in the object, stored as each kernel reads
  // them; or arguments in PyTorch's layout, which the function packs into
  // a temporary buffer (with one packing kernel per layout) before the
  // kernel that reads them.
  Halide::Module module(model, target.with_feature(Halide::Target::NoRuntime));
  std::map<std::pair<std::vector<int>, int>, std::string> packingOfLayout;
  auto weightBuffer = [&](const halide::WeightRequest &request,
                          std::vector<std::string> &uses) -> Halide::Expr {
    std::string param = halide::funcName(request.name);
    if (opts.weights) {
      Halide::Buffer<float> buffer = halide::packWeight(
          request, opts.weights->at(request.name).data.data(), param);
      module.append(buffer);
      return HI::Variable::make(Halide::type_of<halide_buffer_t *>(),
                                param + ".buffer", buffer);
    }
    arguments.emplace_back(param, Halide::Argument::InputBuffer,
                           Halide::Float(32), int(request.shape.size()),
                           Halide::ArgumentEstimates());
    Halide::Expr argument = TopLevelBody::argument(param);
    // A weight read as it is: the kernel checks it.
    if (!request.isPacked())
      return argument;
    std::vector<Halide::Expr> sizes;
    for (int64_t size : request.shape)
      sizes.push_back(int(size));
    body.checkTensor(param, argument, sizes, false);
    auto [it, added] = packingOfLayout.emplace(
        std::make_pair(request.packing, request.block), "");
    if (added)
      it->second = model + "_pack" + std::to_string(packingOfLayout.size());
    std::vector<int> extents = request.storageExtents();
    std::string allocation = param + ".packed";
    Halide::Expr packed = body.allocate(
        allocation,
        std::vector<Halide::Expr>(extents.rbegin(), extents.rend()));
    body.call(it->second, {argument, packed}, {allocation});
    uses.push_back(allocation);
    return packed;
  };

  // The outputs: each is copied once its value exists.
  std::vector<std::string> outputParams;
  for (mlir::Value v : ret->getOperands()) {
    outputParams.push_back(halide::funcName(nn::valueName(v)) + "_output");
  }
  auto copyOutputs = [&](mlir::Value v) {
    NetworkValue value = values.lookup(v);
    for (unsigned i = 0; i < ret->getNumOperands(); ++i) {
      if (ret->getOperand(i) != v)
        continue;
      // The copy checks the output buffer.
      Halide::Expr out = TopLevelBody::argument(outputParams[i]);
      std::vector<std::string> uses;
      if (!value.allocation.empty())
        uses.push_back(value.allocation);
      body.call(copyOfRank.at(int(value.sizes.size())), {value.buffer, out},
                uses);
    }
  };
  for (mlir::BlockArgument arg : func.getArguments())
    copyOutputs(arg);

  unsigned allocations = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const nn::FusedLayer &layer = layers[l];
    const LayerKernel &kernel =
        kernels[kernelOfKey.at(layer.key() + layouts[l].key())];
    mlir::Value result = layer.result();
    if (!kernel.computes) {
      values[result] = values.lookup(layer.operands.front());
      copyOutputs(result);
      continue;
    }
    // The kernel's arguments: the operands, the weights, the result.
    std::vector<Halide::Expr> args;
    std::vector<std::string> uses;
    std::map<std::string, Halide::Expr> operandExtents;
    // A kernel on a flat map sees every value as [N, C, 1, H*W]: views of
    // the same memory (values in blocks are allocated here, dense).
    bool flat = kernel.layout.flatMap;
    auto seen = [&](const std::vector<Halide::Expr> &sizes) {
      return flat ? nn::flatMapShape(sizes) : sizes;
    };
    for (unsigned i = 0; i < layer.operands.size(); ++i) {
      NetworkValue operand = values.lookup(layer.operands[i]);
      if (!operand.allocation.empty())
        uses.push_back(operand.allocation);
      assert((!flat || !operand.allocation.empty()) &&
             "a value in blocks is allocated by the top-level function");
      // The kernel's sizes are expressions of its arguments' extents: in
      // blocks, the batch is dimension 4.
      std::vector<Halide::Expr> stored =
          nn::storageShape(seen(operand.sizes), kernel.layout.operandBlock(i));
      args.push_back(flat ? body.view(operand.allocation + ".flat" +
                                          std::to_string(l) + "_" +
                                          std::to_string(i),
                                      operand.buffer, stored)
                          : operand.buffer);
      size_t rank = stored.size();
      for (size_t d = 0; d < rank; ++d)
        operandExtents[kernel.inputNames[i] + ".extent." + std::to_string(d)] =
            stored[rank - 1 - d];
    }
    for (size_t w = 0; w < kernel.weightSuffixes.size(); ++w) {
      halide::WeightRequest request = kernel.weightRequests[w];
      request.name = layerName(layer.ops[kernel.weightOwners[w]]) + "." +
                     kernel.weightSuffixes[w];
      args.push_back(weightBuffer(request, uses));
    }
    NetworkValue value;
    for (const Halide::Expr &size : kernel.outputSizes)
      value.sizes.push_back(HI::simplify(HI::substitute(operandExtents, size)));
    // On a flat map, the result is stored on its operands' map.
    if (flat) {
      const std::vector<Halide::Expr> &map =
          values.lookup(layer.operands.front()).sizes;
      value.sizes[2] = map[2];
      value.sizes[3] = map[3];
    }
    // A dotted name, unlike every argument's.
    value.allocation = halide::funcName(layerName(layer.last())) + ".value" +
                       std::to_string(allocations++);
    value.buffer = body.allocate(
        value.allocation,
        nn::storageShape(value.sizes, kernel.layout.resultBlock));
    args.push_back(flat ? body.view(value.allocation + ".flat", value.buffer,
                                    nn::storageShape(seen(value.sizes),
                                                     kernel.layout.resultBlock))
                        : value.buffer);
    uses.push_back(value.allocation);
    body.call(kernel.function, args, uses);
    values[result] = value;
    copyOutputs(result);
  }
  for (unsigned i = 0; i < ret->getNumOperands(); ++i)
    arguments.emplace_back(outputParams[i], Halide::Argument::OutputBuffer,
                           Halide::Float(32),
                           int(values.lookup(ret->getOperand(i)).sizes.size()),
                           Halide::ArgumentEstimates());

  // The top-level function and its header, the Halide runtime, the kernels
  // and the copies compile in parallel; then all objects go into one
  // library.
  module.append(HI::LoweredFunc(model, arguments, body.build(),
                                Halide::LinkageType::ExternalPlusMetadata));
  llvm::SmallString<128> tmp;
  llvm::sys::path::append(tmp, opts.outputDir,
                          "." + model + ".tmp" + std::to_string(::getpid()));
  std::string prefix(tmp);
  TemporaryFiles unfinished{{prefix + ".a", prefix + ".h"}};
  std::vector<std::string> members{objectPath(model),
                                   objectPath(model + "_runtime")};
  // Each job compiles one object.
  std::vector<std::function<std::string()>> jobs;
  jobs.push_back([&] {
    module.compile({{Halide::OutputFileType::c_header, prefix + ".h"}});
    return compileTopLevel(module, objectPath(model));
  });
  jobs.push_back([&] {
    Halide::compile_standalone_runtime(objectPath(model + "_runtime"), target);
    return std::string();
  });
  for (LayerKernel &kernel : kernels)
    if (kernel.computes) {
      members.push_back(kernel.objectPath);
      jobs.push_back([&] {
        kernel.pipeline.compile_to_object(kernel.objectPath, kernel.arguments,
                                          kernel.function, kernelTarget);
        return std::string();
      });
    }
  for (auto &[rank, function] : copies) {
    members.push_back(objectPath(function));
    jobs.push_back([&, rank = rank, function = function] {
      return compileCopyKernel(rank, function, objectPath(function),
                               kernelTarget);
    });
  }
  for (auto &[layout, function] : packingOfLayout) {
    members.push_back(objectPath(function));
    halide::WeightRequest request;
    std::tie(request.packing, request.block) = layout;
    jobs.push_back([&, request, function = function] {
      Halide::ImageParam input(Halide::Float(32), int(request.packing.size()),
                               "input");
      halide::packingPipeline(request, input)
          .compile_to_object(objectPath(function), {input}, function,
                             kernelTarget);
      return std::string();
    });
  }
  if (llvm::Error e = runtime::forEachInParallel(
          jobs.size(), [&](size_t i) { return jobs[i](); }))
    return e;
  Halide::create_static_library(members, target, prefix + ".a");
  for (const char *ext : {".a", ".h"}) {
    llvm::SmallString<128> final;
    llvm::sys::path::append(final, opts.outputDir, model + ext);
    if (llvm::Error e = moveInto(prefix + ext, std::string(final)))
      return e;
    written.push_back(std::string(final));
  }
  return llvm::Error::success();
}

llvm::Error aot::printKernelStages(mlir::FuncOp func, llvm::StringRef stage,
                                   bool fuse, const Halide::Target &target,
                                   llvm::raw_ostream &os) {
  // The kernels of the library (and of the JIT): one per distinct layer,
  // with the target the library compiles them for.
  Halide::Target kernelTarget =
      target.with_feature(Halide::Target::NoRuntime)
          .with_feature(Halide::Target::NoBoundsQuery);
  std::vector<nn::FusedLayer> layers = nn::fuseLayers(func, fuse);
  std::vector<nn::KernelLayout> layouts =
      nn::assignActivationLayouts(func, layers);
  halide::chooseFlatMaps(layers, layouts, target);
  std::map<std::string, std::vector<size_t>> layersOfKey;
  std::vector<std::string> keys;
  for (size_t l = 0; l < layers.size(); ++l) {
    std::string key = layers[l].key() + layouts[l].key();
    std::vector<size_t> &same = layersOfKey[key];
    if (same.empty())
      keys.push_back(key);
    same.push_back(l);
  }
  bool first = true;
  for (const std::string &key : keys) {
    const std::vector<size_t> &same = layersOfKey[key];
    LayerKernel kernel;
    kernel.layer = layers[same.front()];
    kernel.layout = layouts[same.front()];
    if (std::string error = lowerKernel(kernel, kernelTarget); !error.empty())
      return errorOf(error);
    if (!kernel.computes)
      continue;
    if (!first)
      os << "\n";
    first = false;
    os << "kernel " << kernel.layer.name();
    // Which values are stored in channel blocks (ActivationLayout.h).
    std::vector<std::string> inBlocks;
    for (size_t i = 0; i < kernel.layer.operands.size(); ++i)
      if (kernel.layout.operandBlock(i))
        inBlocks.push_back(i == 0 ? "input" : "input" + std::to_string(i));
    if (kernel.layout.resultBlock)
      inBlocks.push_back("result");
    if (!inBlocks.empty())
      os << " [in channel blocks of " << nn::kActivationBlock << ": "
         << llvm::join(inBlocks, ", ")
         << (kernel.layout.flatMap ? "; on a flat map" : "") << "]";
    if (same.size() > 1) {
      std::vector<std::string> others;
      for (size_t i = 1; i < same.size(); ++i)
        others.push_back(layers[same[i]].name());
      os << " (also runs " << llvm::join(others, ", ") << ")";
    }
    os << "\n";
    if (stage == "loop-nest") {
      // Halide prints the loop nest to std::cerr.
      std::stringstream captured;
      std::streambuf *saved = std::cerr.rdbuf(captured.rdbuf());
      kernel.pipeline.print_loop_nest();
      std::cerr.rdbuf(saved);
      os << captured.str();
      continue;
    }
    llvm::SmallString<128> path;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("netc", "stmt", path))
      return llvm::createStringError(ec, "cannot create a temporary file");
    kernel.pipeline.compile_to_lowered_stmt(std::string(path),
                                            kernel.arguments, Halide::Text,
                                            kernelTarget);
    auto buffer = llvm::MemoryBuffer::getFile(path);
    llvm::sys::fs::remove(path);
    if (!buffer)
      return llvm::createStringError(buffer.getError(),
                                     "cannot read the statement");
    os << (*buffer)->getBuffer();
  }
  return llvm::Error::success();
}
