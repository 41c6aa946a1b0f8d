//===- JITSession.cpp - Compile and run a network in-process --------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the JIT session. Each distinct layer (same op,
// arguments and input type: nn::layerKey) is lowered on its own into a Halide
// pipeline whose inputs and weights are parameters, and JIT-compiled once; a
// forward pass calls the layers in order, passing buffers. Every layer's
// output is computed at root in both schedules, so nothing is lost against
// one pipeline for the whole network, and compile time grows with the number
// of distinct layers instead of superlinearly with the network (one
// MobileNetV2 pipeline took about 230 s to compile). Intermediate buffers are
// freed after their last use. Distinct layers compile in parallel (Halide
// compiles each module in its own LLVM context). Halide reports errors by
// throwing; every call into Halide is inside a try block.
//
//===----------------------------------------------------------------------===//

#include "netc/Runtime/JITSession.h"

#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/Dialect/NN/Analysis/ValueNames.h"
#include "netc/Target/Halide/LoweredNetwork.h"
#include "netc/Target/Halide/Schedule.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

using namespace netc;
using namespace netc::runtime;

namespace {
/// A weight parameter of a kernel: the state_dict suffix ("weight",
/// "running_mean", ...) of which op of the fused layer, and the layout the
/// kernel reads it in (packed once, when the session is made).
struct KernelWeight {
  unsigned op;
  std::string suffix;
  Halide::ImageParam param;
  halide::WeightRequest request;
};

/// One compiled layer kind: its operands and weights are parameters.
struct Kernel {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> inputs;
  /// The weight parameters, in order.
  std::vector<KernelWeight> weights;
  /// The output's sizes, as expressions of the inputs' extents.
  std::vector<Halide::Expr> outputSizes;
};

/// Memory for the layers' results, kept between steps and between runs: a
/// block is back on the free list once no live value reads it, and a later
/// result of about its size (at most twice as large) takes it. Page faults
/// and allocations are paid once, on the first run; the memory held is
/// about the largest set of values alive at once.
class BlockPool {
public:
  /// A block of at least `elements` floats, aligned to 64 bytes; its
  /// reference count is 1.
  unsigned take(size_t elements) {
    auto it = freeBlocks.lower_bound(elements);
    if (it != freeBlocks.end() && it->first <= 2 * std::max<size_t>(elements, 1)) {
      unsigned id = it->second;
      freeBlocks.erase(it);
      blocks[id].refs = 1;
      return id;
    }
    size_t bytes = (std::max<size_t>(elements, 1) * sizeof(float) + 63) / 64 * 64;
    void *data = std::aligned_alloc(64, bytes);
    if (!data)
      throw std::bad_alloc();
    blocks.push_back({std::unique_ptr<float, FreeDeleter>(static_cast<float *>(data)),
                      elements, 1});
    return unsigned(blocks.size() - 1);
  }
  float *data(unsigned id) { return blocks[id].data.get(); }
  void retain(unsigned id) { ++blocks[id].refs; }
  void release(unsigned id) {
    if (--blocks[id].refs == 0)
      freeBlocks.emplace(blocks[id].elements, id);
  }

private:
  struct FreeDeleter {
    void operator()(float *p) const { std::free(p); }
  };
  struct Block {
    std::unique_ptr<float, FreeDeleter> data;
    size_t elements;
    int refs;
  };
  std::vector<Block> blocks;
  /// Free blocks by size.
  std::multimap<size_t, unsigned> freeBlocks;
};

/// One layer of the network.
struct Step {
  /// Null for a layer that computes nothing (Dropout, Identity).
  Kernel *kernel = nullptr;
  std::vector<unsigned> operands;
  unsigned result = 0;
  /// The layer's weights, in the kernel's order.
  std::vector<Halide::Buffer<float>> weights;
};
} // namespace

struct runtime::JITSession::Impl {
  WeightSet weights;
  Halide::Target target;
  /// The batch an autoscheduler plans for.
  int64_t batchEstimate = 1;
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::vector<Step> steps;
  unsigned numValues = 0;
  std::vector<std::string> inputNames, outputNames;
  std::vector<unsigned> outputs;
  /// Per value: the last step that reads it (-1: an output, kept).
  std::vector<int> lastUse;
  BlockPool pool;
  /// Each step's output sizes (Halide order) for inputs of `sizedFor`'s
  /// shapes: worked out on the first run with those shapes.
  std::vector<std::vector<int64_t>> sizedFor;
  std::vector<std::vector<int>> stepSizes;
};

static CompileProgress progressCallback;
static std::mutex progressMutex;

void runtime::setCompileProgress(CompileProgress progress) {
  std::lock_guard<std::mutex> lock(progressMutex);
  progressCallback = std::move(progress);
}

void runtime::reportCompileProgress(size_t done, size_t total) {
  std::lock_guard<std::mutex> lock(progressMutex);
  if (progressCallback)
    progressCallback(done, total);
}

llvm::Error
runtime::forEachInParallel(size_t count,
                           llvm::function_ref<std::string(size_t index)> work) {
  std::vector<std::string> errors(count);
  std::atomic<size_t> next{0}, done{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) {
      try {
        errors[i] = work(i);
      } catch (const Halide::Error &e) {
        errors[i] = "Halide: " + std::string(e.what());
      }
      reportCompileProgress(++done, count);
    }
  };
  size_t threads = std::min<size_t>(
      std::max(1u, std::thread::hardware_concurrency()), count);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool)
    t.join();
  for (const std::string &error : errors)
    if (!error.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(), error);
  return llvm::Error::success();
}

JITSession::JITSession(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
JITSession::~JITSession() = default;

const std::vector<std::string> &JITSession::inputNames() const {
  return impl->inputNames;
}
const std::vector<std::string> &JITSession::outputNames() const {
  return impl->outputNames;
}

static llvm::Error halideError(const Halide::Error &e) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "Halide: " + std::string(e.what()));
}

/// A Halide buffer over a C-order tensor: Halide's dimensions are reversed.
static Halide::Buffer<float> bufferOf(io::Tensor &t) {
  std::vector<int> sizes(t.shape.rbegin(), t.shape.rend());
  if (sizes.empty())
    sizes.push_back(1);
  return Halide::Buffer<float>(t.data.data(), sizes);
}

/// The Halide autoscheduler `schedule` names, if it names one.
static llvm::Optional<halide::Autoscheduler> autoschedulerOf(Schedule schedule) {
  if (schedule == Schedule::Mullapudi2016)
    return halide::Autoscheduler::Mullapudi2016;
  if (schedule == Schedule::Adams2019)
    return halide::Autoscheduler::Adams2019;
  return llvm::None;
}

/// Lowers `layer` alone with its weights as parameters, schedules it and
/// JIT-compiles it. Returns null for a layer that computes nothing.
static llvm::Expected<std::unique_ptr<Kernel>>
compileKernel(const nn::FusedLayer &layer, Schedule schedule,
              const Halide::Target &target, int64_t batchEstimate) {
  llvm::Optional<halide::Autoscheduler> autoscheduler =
      autoschedulerOf(schedule);
  auto kernel = std::make_unique<Kernel>();
  // Every weight is stored as the kernel asks (see addStep).
  halide::WeightProvider provider =
      [&](const halide::WeightRequest &request) -> halide::WeightFunc {
    unsigned owner = layer.ownerOf(request.name);
    size_t ownerName = layer.ops[owner]
                           ->getAttrOfType<mlir::StringAttr>("name")
                           .getValue()
                           .size();
    halide::WeightParam w = halide::makeWeightParam(request, true);
    kernel->weights.push_back(
        {owner, request.name.substr(ownerName + 1), w.param, request});
    return w.weight;
  };
  llvm::Expected<halide::LoweredNetwork> net =
      halide::lowerFusedLayer(layer, provider);
  if (!net)
    return net.takeError();
  if (net->layers.size() == 1 && net->layers.front().funcs.empty())
    return nullptr;
  if (!autoscheduler)
    halide::applySchedule(*net,
                          schedule == Schedule::Reference
                              ? halide::ScheduleKind::Reference
                              : halide::ScheduleKind::Tuned,
                          target);
  kernel->inputs = net->inputs;
  halide::constrainOutputChannels(net->outputs.front());
  kernel->outputSizes = net->outputs.front().sizes;
  kernel->pipeline = Halide::Pipeline(net->outputs.front().func);
  if (autoscheduler)
    if (llvm::Error e = halide::applyAutoschedule(
            *net, kernel->pipeline, *autoscheduler, batchEstimate,
            int(std::thread::hardware_concurrency()), target))
      return std::move(e);
  kernel->pipeline.compile_jit(target);
  return std::move(kernel);
}

/// Compiles the kernels of `layers` (one per distinct key, in parallel on
/// up to the machine's cores) into `byKey`.
static llvm::Error compileKernels(JITSession::Impl &impl,
                                  llvm::ArrayRef<nn::FusedLayer> layers,
                                  Schedule schedule,
                                  std::map<std::string, Kernel *> &byKey) {
  std::vector<std::pair<std::string, const nn::FusedLayer *>> work;
  for (const nn::FusedLayer &layer : layers) {
    std::string key = layer.key();
    if (byKey.emplace(key, nullptr).second)
      work.push_back({key, &layer});
  }
  // An autoscheduler's plugin loads (and sets its environment) before the
  // threads start.
  if (llvm::Optional<halide::Autoscheduler> a = autoschedulerOf(schedule))
    if (llvm::Error e = halide::loadAutoscheduler(*a))
      return e;
  std::vector<std::unique_ptr<Kernel>> kernels(work.size());
  if (llvm::Error e = forEachInParallel(work.size(), [&](size_t i) {
        llvm::Expected<std::unique_ptr<Kernel>> k =
            compileKernel(*work[i].second, schedule, impl.target,
                          impl.batchEstimate);
        if (!k)
          return llvm::toString(k.takeError());
        kernels[i] = std::move(*k);
        return std::string();
      }))
    return e;
  for (size_t i = 0; i < work.size(); ++i) {
    byKey[work[i].first] = kernels[i].get();
    if (kernels[i])
      impl.kernels.push_back(std::move(kernels[i]));
  }
  return llvm::Error::success();
}

/// Adds `layer` as a step reading `operands` and writing a new value, with
/// the kernel compiled for its key (null: it computes nothing).
static void addStep(JITSession::Impl &impl, const nn::FusedLayer &layer,
                    std::vector<unsigned> operands,
                    const std::map<std::string, Kernel *> &byKey,
                    unsigned &result) {
  Step step;
  step.operands = std::move(operands);
  step.result = result = impl.numValues++;
  step.kernel = byKey.at(layer.key());
  if (step.kernel)
    for (const KernelWeight &w : step.kernel->weights) {
      std::string owner = layer.ops[w.op]
                              ->getAttrOfType<mlir::StringAttr>("name")
                              .getValue()
                              .str();
      io::Tensor &tensor = impl.weights.at(owner + "." + w.suffix);
      step.weights.push_back(
          w.request.isPacked()
              ? halide::packWeight(w.request, tensor.data.data(),
                                   w.param.name())
              : bufferOf(tensor));
    }
  impl.steps.push_back(std::move(step));
}

/// Compiles every layer of `ops` (reading values by `ids`), timing it.
static llvm::Expected<std::unique_ptr<JITSession>>
compileSteps(WeightSet weights, Schedule schedule, llvm::StringRef targetName,
             const std::function<llvm::Error(
                 JITSession::Impl &, std::map<std::string, Kernel *> &)>
                 &build) {
  auto start = std::chrono::steady_clock::now();
  auto impl = std::make_unique<JITSession::Impl>();
  impl->weights = std::move(weights);
  try {
    impl->target = targetName == "host" ? Halide::get_host_target()
                                        : Halide::Target(targetName.str());
    std::map<std::string, Kernel *> byKey;
    if (llvm::Error e = build(*impl, byKey))
      return std::move(e);
  } catch (const Halide::Error &e) {
    return halideError(e);
  }
  // Each value can go after the last step that reads it.
  impl->lastUse.assign(impl->numValues, 0);
  for (size_t s = 0; s < impl->steps.size(); ++s)
    for (unsigned v : impl->steps[s].operands)
      impl->lastUse[v] = int(s);
  for (unsigned v : impl->outputs)
    impl->lastUse[v] = -1;
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  return JITSession::create(std::move(impl), seconds);
}

std::unique_ptr<JITSession>
JITSession::create(std::unique_ptr<Impl> impl, double seconds) {
  std::unique_ptr<JITSession> session(new JITSession(std::move(impl)));
  session->seconds = seconds;
  return session;
}

llvm::Expected<std::unique_ptr<JITSession>>
JITSession::compile(mlir::FuncOp func, WeightSet weights, Schedule schedule,
                    llvm::StringRef target, bool fuse, int64_t batchEstimate) {
  return compileSteps(
      std::move(weights), schedule, target,
      [&](Impl &impl, std::map<std::string, Kernel *> &byKey) -> llvm::Error {
        impl.batchEstimate = batchEstimate;
        std::vector<nn::FusedLayer> layers = nn::fuseLayers(func, fuse);
        if (llvm::Error e = compileKernels(impl, layers, schedule, byKey))
          return e;
        llvm::DenseMap<mlir::Value, unsigned> ids;
        for (unsigned i = 0; i < func.getNumArguments(); ++i) {
          ids[func.getArgument(i)] = impl.numValues++;
          impl.inputNames.push_back(nn::inputName(func, i));
        }
        for (const nn::FusedLayer &layer : layers) {
          std::vector<unsigned> operands;
          for (mlir::Value v : layer.operands) {
            assert(ids.count(v) && "a layer runs after its operands");
            operands.push_back(ids.lookup(v));
          }
          unsigned result;
          addStep(impl, layer, operands, byKey, result);
          ids[layer.result()] = result;
        }
        for (mlir::Value v : func.front().getTerminator()->getOperands()) {
          impl.outputs.push_back(ids.lookup(v));
          impl.outputNames.push_back(nn::valueName(v));
        }
        return llvm::Error::success();
      });
}

llvm::Expected<std::unique_ptr<JITSession>>
JITSession::compileLayer(const nn::FusedLayer &layer, WeightSet weights,
                         Schedule schedule, llvm::StringRef target,
                         int64_t batchEstimate) {
  return compileSteps(
      std::move(weights), schedule, target,
      [&](Impl &impl, std::map<std::string, Kernel *> &byKey) -> llvm::Error {
        impl.batchEstimate = batchEstimate;
        std::vector<unsigned> operands;
        for (unsigned i = 0; i < layer.operands.size(); ++i) {
          operands.push_back(impl.numValues++);
          impl.inputNames.push_back("input" + std::to_string(i));
        }
        if (llvm::Error e = compileKernels(impl, {layer}, schedule, byKey))
          return e;
        unsigned result;
        addStep(impl, layer, operands, byKey, result);
        impl.outputs.push_back(result);
        impl.outputNames.push_back(layer.name());
        return llvm::Error::success();
      });
}

/// The sizes of a step's output, from its inputs' extents.
static llvm::Expected<std::vector<int>>
outputSizes(const Kernel &kernel, const std::vector<Halide::Buffer<float>> &in) {
  std::map<std::string, Halide::Expr> extents;
  for (size_t i = 0; i < kernel.inputs.size(); ++i)
    for (int d = 0; d < in[i].dimensions(); ++d)
      extents[kernel.inputs[i].name() + ".extent." + std::to_string(d)] =
          in[i].dim(d).extent();
  std::vector<int> sizes;
  for (const Halide::Expr &size : kernel.outputSizes) {
    Halide::Expr e = Halide::Internal::simplify(
        Halide::Internal::substitute(extents, size));
    const int64_t *value = Halide::Internal::as_const_int(e);
    if (!value)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot size a layer's output");
    sizes.push_back(int(*value));
  }
  // Halide's dimensions are PyTorch's reversed.
  std::reverse(sizes.begin(), sizes.end());
  if (sizes.empty())
    sizes.push_back(1);
  return sizes;
}

llvm::Expected<std::vector<io::Tensor>>
JITSession::run(const std::vector<const io::Tensor *> &inputs) {
  if (inputs.size() != impl->inputNames.size())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("the model has {0} inputs, but {1} were given",
                      impl->inputNames.size(), inputs.size()));
  std::vector<std::vector<int64_t>> shapes;
  for (const io::Tensor *t : inputs)
    shapes.push_back(t->shape);
  if (shapes != impl->sizedFor) {
    impl->sizedFor = shapes;
    impl->stepSizes.assign(impl->steps.size(), {});
  }
  // The inputs are read in place (no kernel writes to its inputs); every
  // result lives in a block of the pool until no live value reads it.
  std::vector<Halide::Buffer<float>> values(impl->numValues);
  std::vector<int> blockOf(impl->numValues, -1);
  for (size_t i = 0; i < inputs.size(); ++i)
    values[i] = bufferOf(const_cast<io::Tensor &>(*inputs[i]));
  auto release = [&](unsigned v) {
    values[v] = Halide::Buffer<float>();
    if (blockOf[v] >= 0)
      impl->pool.release(unsigned(blockOf[v]));
    blockOf[v] = -1;
  };
  auto releaseAll = [&] {
    for (unsigned v = 0; v < impl->numValues; ++v)
      release(v);
  };
  try {
    for (size_t s = 0; s < impl->steps.size(); ++s) {
      Step &step = impl->steps[s];
      if (!step.kernel) {
        unsigned from = step.operands.front();
        values[step.result] = values[from];
        blockOf[step.result] = blockOf[from];
        if (blockOf[from] >= 0)
          impl->pool.retain(unsigned(blockOf[from]));
      } else {
        Kernel &k = *step.kernel;
        std::vector<Halide::Buffer<float>> in;
        for (size_t i = 0; i < step.operands.size(); ++i) {
          in.push_back(values[step.operands[i]]);
          k.inputs[i].set(in.back());
        }
        for (size_t w = 0; w < k.weights.size(); ++w)
          k.weights[w].param.set(step.weights[w]);
        std::vector<int> &sizes = impl->stepSizes[s];
        if (sizes.empty()) {
          llvm::Expected<std::vector<int>> computed = outputSizes(k, in);
          if (!computed) {
            releaseAll();
            return computed.takeError();
          }
          sizes = std::move(*computed);
        }
        size_t elements = 1;
        for (int size : sizes)
          elements *= size_t(size);
        unsigned block = impl->pool.take(elements);
        blockOf[step.result] = int(block);
        Halide::Buffer<float> out(impl->pool.data(block), sizes);
        k.pipeline.realize(out, impl->target);
        values[step.result] = out;
      }
      for (unsigned v : step.operands)
        if (impl->lastUse[v] == int(s))
          release(v);
    }
  } catch (const Halide::Error &e) {
    releaseAll();
    return halideError(e);
  }
  std::vector<io::Tensor> results;
  for (unsigned v : impl->outputs) {
    const Halide::Buffer<float> &b = values[v];
    io::Tensor t;
    for (int d = b.dimensions() - 1; d >= 0; --d)
      t.shape.push_back(b.dim(d).extent());
    t.data.assign(b.data(), b.data() + b.number_of_elements());
    results.push_back(std::move(t));
  }
  releaseAll();
  return std::move(results);
}
