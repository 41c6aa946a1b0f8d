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
// compiles each module in its own LLVM context). Their parallel loops run on
// netc's SpinningThreadPool. Halide reports errors by throwing; every call
// into Halide is inside a try block.
//
//===----------------------------------------------------------------------===//

#include "netc/Runtime/JITSession.h"
#include "netc/Runtime/SpinningThreadPool.h"

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
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

#ifdef __linux__
#include <sys/mman.h>
#endif

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
  /// The output's sizes (PyTorch order, NCHW even when blocked), as
  /// expressions of the inputs' extents.
  std::vector<Halide::Expr> outputSizes;
  /// How its operands and result are stored.
  nn::KernelLayout layout;
};

/// Memory for an activation of `bytes`, aligned to 64 bytes; from 4 MiB on,
/// to 2 MiB, and advised to use transparent huge pages (Linux): a kernel
/// that streams a large input from memory then misses the TLB once per
/// 2 MiB, not once per 4 KiB page. ResNet-50's 1x1 layers at 56x56 and
/// batch 8 (25.7 MiB of input), three interleaved runs of 3-4 x 10: the
/// median time of 256->64 and 256->128 3-14% lower in five of six, the
/// fastest time from 12% lower to 2% higher; smaller inputs unchanged.
/// The benchmark gives oneDNN's buffers huge pages too (bench/README.md).
/// Free it with std::free.
static void *allocateActivation(size_t bytes) {
  constexpr size_t kHugePage = size_t(2) << 20;
  bool huge = bytes >= 2 * kHugePage;
  size_t align = huge ? kHugePage : 64;
  bytes = (std::max<size_t>(bytes, 1) + align - 1) / align * align;
  void *data = std::aligned_alloc(align, bytes);
#ifdef __linux__
  if (data && huge)
    madvise(data, bytes, MADV_HUGEPAGE); // advice only: failure is harmless
#endif
  return data;
}

/// allocateActivation for a Halide buffer, which does not check for null.
static void *allocateActivationOrThrow(size_t bytes) {
  if (void *data = allocateActivation(bytes))
    return data;
  throw std::bad_alloc();
}

/// Memory for the layers' results, kept between steps and between runs: a
/// block is back on the free list once no live value reads it, and a later
/// result of about its size (at most twice as large) takes it. Page faults
/// and allocations are paid once, on the first run; the memory held is
/// about the largest set of values alive at once.
class BlockPool {
public:
  /// A block of at least `elements` floats (allocateActivation); its
  /// reference count is 1.
  unsigned take(size_t elements) {
    auto it = freeBlocks.lower_bound(elements);
    if (it != freeBlocks.end() && it->first <= 2 * std::max<size_t>(elements, 1)) {
      unsigned id = it->second;
      freeBlocks.erase(it);
      blocks[id].refs = 1;
      return id;
    }
    void *data =
        allocateActivation(std::max<size_t>(elements, 1) * sizeof(float));
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
  /// Per model input: the channel block the layers read it in (0: as
  /// given). Only a layer compiled on its own reads its inputs in blocks.
  std::vector<int> inputBlocks;
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
  size_t threads = std::min<size_t>(halide::availableCPUs(), count);
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
compileKernel(const nn::FusedLayer &layer, const nn::KernelLayout &layout,
              Schedule schedule, const Halide::Target &target,
              int64_t batchEstimate) {
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
      halide::lowerFusedLayer(layer, provider, layout);
  if (!net)
    return net.takeError();
  if (net->layers.size() == 1 && net->layers.front().funcs.empty())
    return nullptr;
  kernel->layout = layout;
  if (!autoscheduler)
    halide::applySchedule(*net,
                          schedule == Schedule::Reference
                              ? halide::ScheduleKind::Reference
                              : halide::ScheduleKind::Tuned,
                          target);
  kernel->inputs = net->inputs;
  halide::constrainOutputChannels(net->outputs.front());
  kernel->outputSizes = net->outputs.front().sizes;
  kernel->pipeline = Halide::Pipeline(net->outputs.front().storage());
  if (autoscheduler)
    if (llvm::Error e = halide::applyAutoschedule(
            *net, kernel->pipeline, *autoscheduler, batchEstimate,
            halide::plannedThreads(), target))
      return std::move(e);
  // Parallel loops run on netc's spinning pool, unless
  // NETC_HALIDE_THREAD_POOL is set (to compare with Halide's own).
  if (!std::getenv("NETC_HALIDE_THREAD_POOL"))
    kernel->pipeline.jit_handlers().custom_do_par_for = spinningParallelFor;
  kernel->pipeline.compile_jit(target);
  return std::move(kernel);
}

/// Compiles the kernels of `layers` (one per distinct key, in parallel on
/// up to the machine's cores) into `byKey`.
static llvm::Error
compileKernels(JITSession::Impl &impl, llvm::ArrayRef<nn::FusedLayer> layers,
               llvm::ArrayRef<nn::KernelLayout> layouts, Schedule schedule,
               std::map<std::string, Kernel *> &byKey) {
  std::vector<std::pair<std::string, size_t>> work;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string key = layers[i].key() + layouts[i].key();
    if (byKey.emplace(key, nullptr).second)
      work.push_back({key, i});
  }
  // An autoscheduler's plugin loads (and sets its environment) before the
  // threads start.
  if (llvm::Optional<halide::Autoscheduler> a = autoschedulerOf(schedule))
    if (llvm::Error e = halide::loadAutoscheduler(*a))
      return e;
  std::vector<std::unique_ptr<Kernel>> kernels(work.size());
  if (llvm::Error e = forEachInParallel(work.size(), [&](size_t i) {
        size_t l = work[i].second;
        llvm::Expected<std::unique_ptr<Kernel>> k =
            compileKernel(layers[l], layouts[l], schedule, impl.target,
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
                    const nn::KernelLayout &layout,
                    std::vector<unsigned> operands,
                    const std::map<std::string, Kernel *> &byKey,
                    unsigned &result) {
  Step step;
  step.operands = std::move(operands);
  step.result = result = impl.numValues++;
  step.kernel = byKey.at(layer.key() + layout.key());
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
        halide::PlannedBatchScope planned(batchEstimate);
        std::vector<nn::FusedLayer> layers = nn::fuseLayers(func, fuse);
        // The tuned schedule passes values in channel blocks where that
        // pays; the others keep NCHW.
        std::vector<nn::KernelLayout> layouts =
            schedule == Schedule::Tuned
                ? nn::assignActivationLayouts(func, layers)
                : std::vector<nn::KernelLayout>(layers.size());
        if (schedule == Schedule::Tuned)
          halide::chooseFlatMaps(layers, layouts, impl.target);
        if (llvm::Error e =
                compileKernels(impl, layers, layouts, schedule, byKey))
          return e;
        llvm::DenseMap<mlir::Value, unsigned> ids;
        for (unsigned i = 0; i < func.getNumArguments(); ++i) {
          ids[func.getArgument(i)] = impl.numValues++;
          impl.inputNames.push_back(nn::inputName(func, i));
          impl.inputBlocks.push_back(0);
        }
        for (size_t l = 0; l < layers.size(); ++l) {
          std::vector<unsigned> operands;
          for (mlir::Value v : layers[l].operands) {
            assert(ids.count(v) && "a layer runs after its operands");
            operands.push_back(ids.lookup(v));
          }
          unsigned result;
          addStep(impl, layers[l], layouts[l], operands, byKey, result);
          ids[layers[l].result()] = result;
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
                         int64_t batchEstimate,
                         const nn::KernelLayout *givenLayout) {
  return compileSteps(
      std::move(weights), schedule, target,
      [&](Impl &impl, std::map<std::string, Kernel *> &byKey) -> llvm::Error {
        impl.batchEstimate = batchEstimate;
        halide::PlannedBatchScope planned(batchEstimate);
        nn::KernelLayout layout = givenLayout ? *givenLayout
                                  : schedule == Schedule::Tuned
                                      ? nn::preferredLayout(layer)
                                      : nn::KernelLayout();
        if (schedule == Schedule::Tuned)
          layout.flatMap = halide::prefersFlatMap(layer, layout, impl.target);
        std::vector<unsigned> operands;
        for (unsigned i = 0; i < layer.operands.size(); ++i) {
          operands.push_back(impl.numValues++);
          impl.inputNames.push_back("input" + std::to_string(i));
          impl.inputBlocks.push_back(layout.operandBlock(i));
        }
        if (llvm::Error e =
                compileKernels(impl, {layer}, {layout}, schedule, byKey))
          return e;
        unsigned result;
        addStep(impl, layer, layout, operands, byKey, result);
        impl.outputs.push_back(result);
        impl.outputNames.push_back(layer.name());
        return llvm::Error::success();
      });
}

/// The sizes of a step's output buffer (Halide order; in channel blocks
/// when the kernel writes them), from its inputs' extents.
static llvm::Expected<std::vector<int>>
outputSizes(const Kernel &kernel, const std::vector<Halide::Buffer<float>> &in) {
  std::map<std::string, Halide::Expr> extents;
  for (size_t i = 0; i < kernel.inputs.size(); ++i)
    for (int d = 0; d < in[i].dimensions(); ++d)
      extents[kernel.inputs[i].name() + ".extent." + std::to_string(d)] =
          in[i].dim(d).extent();
  std::vector<int> sizes;
  for (const Halide::Expr &size :
       nn::storageShape(kernel.outputSizes, kernel.layout.resultBlock)) {
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

/// An NCHW buffer (Halide dimensions (w, h, c, n)) in channel blocks of
/// `block`: (c % block, w, h, c / block, n).
static Halide::Buffer<float> toBlocks(const Halide::Buffer<float> &nchw,
                                      int block) {
  int w = nchw.dim(0).extent(), h = nchw.dim(1).extent(),
      c = nchw.dim(2).extent(), n = nchw.dim(3).extent();
  Halide::Runtime::Buffer<float> storage(nullptr, {block, w, h, c / block, n});
  storage.allocate(allocateActivationOrThrow, std::free);
  Halide::Buffer<float> blocked(std::move(storage));
  blocked.for_each_element([&](int ci, int x, int y, int cb, int b) {
    blocked(ci, x, y, cb, b) = nchw(x, y, cb * block + ci, b);
  });
  return blocked;
}

/// `b`, a dense buffer in channel blocks (c % block, x, y, c / block, n),
/// as a kernel on a flat map sees it (nn::KernelLayout::flatMap):
/// (c % block, x + y * width, 0, c / block, n), the same memory.
static Halide::Buffer<float> flatView(const Halide::Buffer<float> &b) {
  halide_buffer_t raw = *b.raw_buffer();
  std::vector<halide_dimension_t> dims(raw.dim, raw.dim + raw.dimensions);
  assert(dims.size() == 5 &&
         dims[2].stride == dims[1].stride * dims[1].extent &&
         "a value in blocks is dense");
  dims[1].extent *= dims[2].extent;
  dims[2].extent = 1;
  raw.dim = dims.data();
  return Halide::Buffer<float>(Halide::Runtime::Buffer<float>(raw));
}

/// A tensor from a result buffer, NCHW or in channel blocks.
static io::Tensor tensorOf(const Halide::Buffer<float> &b, int block) {
  io::Tensor t;
  if (!block) {
    for (int d = b.dimensions() - 1; d >= 0; --d)
      t.shape.push_back(b.dim(d).extent());
    t.data.assign(b.data(), b.data() + b.number_of_elements());
    return t;
  }
  int w = b.dim(1).extent(), h = b.dim(2).extent(),
      c = b.dim(3).extent() * block, n = b.dim(4).extent();
  t.shape = {n, c, h, w};
  t.data.resize(b.number_of_elements());
  Halide::Buffer<float> nchw(t.data.data(), w, h, c, n);
  nchw.for_each_element([&](int x, int y, int ch, int i) {
    nchw(x, y, ch, i) = b(ch % block, x, y, ch / block, i);
  });
  return t;
}

namespace {
/// The values of one forward pass: a buffer per value, and the pool block
/// behind each result (-1: none, or released). Releases every block when
/// it goes.
struct PassValues {
  JITSession::Impl &impl;
  std::vector<Halide::Buffer<float>> buffers;
  std::vector<int> blockOf;

  PassValues(JITSession::Impl &impl)
      : impl(impl), buffers(impl.numValues), blockOf(impl.numValues, -1) {}
  ~PassValues() {
    for (unsigned v = 0; v < buffers.size(); ++v)
      release(v);
  }
  void release(unsigned v) {
    buffers[v] = Halide::Buffer<float>();
    if (blockOf[v] >= 0)
      impl.pool.release(unsigned(blockOf[v]));
    blockOf[v] = -1;
  }
};
} // namespace

/// The model inputs as the layers read them: in place, or converted to
/// channel blocks. Fails for the wrong number of inputs.
static llvm::Expected<std::vector<Halide::Buffer<float>>>
inputBuffers(JITSession::Impl &impl,
             const std::vector<const io::Tensor *> &inputs) {
  if (inputs.size() != impl.inputNames.size())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("the model has {0} inputs, but {1} were given",
                      impl.inputNames.size(), inputs.size()));
  std::vector<std::vector<int64_t>> shapes;
  for (const io::Tensor *t : inputs)
    shapes.push_back(t->shape);
  if (shapes != impl.sizedFor) {
    impl.sizedFor = shapes;
    impl.stepSizes.assign(impl.steps.size(), {});
  }
  // No kernel writes to its inputs.
  std::vector<Halide::Buffer<float>> buffers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Halide::Buffer<float> b = bufferOf(const_cast<io::Tensor &>(*inputs[i]));
    buffers.push_back(impl.inputBlocks[i] ? toBlocks(b, impl.inputBlocks[i])
                                          : b);
  }
  return std::move(buffers);
}

/// Runs the layers in order on `values` (the model inputs filled in); each
/// result lives in a block of the pool until no live value reads it.
static llvm::Error runSteps(JITSession::Impl &impl, PassValues &values) {
  try {
    for (size_t s = 0; s < impl.steps.size(); ++s) {
      Step &step = impl.steps[s];
      if (!step.kernel) {
        unsigned from = step.operands.front();
        values.buffers[step.result] = values.buffers[from];
        values.blockOf[step.result] = values.blockOf[from];
        if (values.blockOf[from] >= 0)
          impl.pool.retain(unsigned(values.blockOf[from]));
      } else {
        Kernel &k = *step.kernel;
        std::vector<Halide::Buffer<float>> in;
        for (size_t i = 0; i < step.operands.size(); ++i) {
          in.push_back(values.buffers[step.operands[i]]);
          if (k.layout.flatMap)
            in.back() = flatView(in.back());
          k.inputs[i].set(in.back());
        }
        for (size_t w = 0; w < k.weights.size(); ++w)
          k.weights[w].param.set(step.weights[w]);
        std::vector<int> &sizes = impl.stepSizes[s];
        if (sizes.empty()) {
          llvm::Expected<std::vector<int>> computed = outputSizes(k, in);
          if (!computed)
            return computed.takeError();
          sizes = std::move(*computed);
          // On a flat map, the result is stored on its operands' map.
          if (k.layout.flatMap) {
            const Halide::Buffer<float> &first =
                values.buffers[step.operands.front()];
            sizes[1] = first.dim(1).extent();
            sizes[2] = first.dim(2).extent();
          }
        }
        size_t elements = 1;
        for (int size : sizes)
          elements *= size_t(size);
        unsigned block = impl.pool.take(elements);
        values.blockOf[step.result] = int(block);
        Halide::Buffer<float> out(impl.pool.data(block), sizes);
        Halide::Buffer<float> written = k.layout.flatMap ? flatView(out) : out;
        k.pipeline.realize(written, impl.target);
        values.buffers[step.result] = out;
      }
      for (unsigned v : step.operands)
        if (impl.lastUse[v] == int(s))
          values.release(v);
    }
  } catch (const Halide::Error &e) {
    return halideError(e);
  }
  return llvm::Error::success();
}

/// The channel block of value `v` as stored: that of the step writing it,
/// or of the model input.
static int blockOfValue(const JITSession::Impl &impl, unsigned v) {
  if (v < impl.inputBlocks.size())
    return impl.inputBlocks[v];
  for (const Step &step : impl.steps)
    if (step.result == v)
      return step.kernel ? step.kernel->layout.resultBlock
                         : blockOfValue(impl, step.operands.front());
  return 0;
}

llvm::Expected<std::vector<io::Tensor>>
JITSession::run(const std::vector<const io::Tensor *> &inputs) {
  llvm::Expected<std::vector<Halide::Buffer<float>>> in =
      inputBuffers(*impl, inputs);
  if (!in)
    return in.takeError();
  PassValues values(*impl);
  std::copy(in->begin(), in->end(), values.buffers.begin());
  if (llvm::Error e = runSteps(*impl, values))
    return std::move(e);
  std::vector<io::Tensor> results;
  for (unsigned v : impl->outputs)
    results.push_back(tensorOf(values.buffers[v], blockOfValue(*impl, v)));
  return std::move(results);
}

llvm::Expected<std::vector<double>>
runtime::timeRepeated(int repetitions, llvm::function_ref<llvm::Error()> body) {
  std::vector<double> times;
  for (int i = 0; i <= std::max(repetitions, 1); ++i) {
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error e = body())
      return std::move(e);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (i > 0)
      times.push_back(ms);
  }
  return times;
}

llvm::Expected<std::vector<double>>
JITSession::timeLayers(const std::vector<const io::Tensor *> &inputs,
                       int repetitions) {
  llvm::Expected<std::vector<Halide::Buffer<float>>> in =
      inputBuffers(*impl, inputs);
  if (!in)
    return in.takeError();
  return timeRepeated(repetitions, [&]() -> llvm::Error {
    PassValues values(*impl);
    std::copy(in->begin(), in->end(), values.buffers.begin());
    return runSteps(*impl, values);
  });
}
