//===- JITSession.cpp - Compile and run a network in-process --------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the JIT session: weights become Halide buffers
// referenced by the pipeline (so Halide sees their sizes as constants),
// inputs are ImageParams with a free batch, and output sizes are computed
// from the inputs' extents. Halide reports errors by throwing; every call
// into Halide is inside a try block.
//
//===----------------------------------------------------------------------===//

#include "netc/Runtime/JITSession.h"

#include "netc/Target/Halide/LoweredNetwork.h"
#include "netc/Target/Halide/Schedule.h"

#include "llvm/Support/FormatVariadic.h"

#include <chrono>

using namespace netc;
using namespace netc::runtime;

struct runtime::JITSession::Impl {
  WeightSet weights;
  std::vector<Halide::Buffer<float>> weightBuffers;
  halide::LoweredNetwork net;
  Halide::Pipeline pipeline;
  Halide::Target target;
};

JITSession::JITSession(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
JITSession::~JITSession() = default;

const std::vector<std::string> &JITSession::inputNames() const {
  return impl->net.inputNames;
}
const std::vector<std::string> &JITSession::outputNames() const {
  return impl->net.outputNames;
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

using Lowering = std::function<llvm::Expected<halide::LoweredNetwork>(
    const halide::WeightProvider &)>;

/// Lowers with `lower` (weights as embedded buffers), schedules and
/// JIT-compiles.
static llvm::Expected<std::unique_ptr<JITSession::Impl>>
compileWith(const Lowering &lower, WeightSet weights, Schedule schedule,
            llvm::StringRef targetName) {
  auto impl = std::make_unique<JITSession::Impl>();
  impl->weights = std::move(weights);
  try {
    impl->target = targetName == "host"
                       ? Halide::get_host_target()
                       : Halide::Target(targetName.str());
    JITSession::Impl *state = impl.get();
    halide::WeightProvider provider =
        [state](const std::string &name,
                const std::vector<int64_t> &shape) -> Halide::Func {
      io::Tensor &t = state->weights.at(name);
      assert(t.shape == shape && "weights were checked against the model");
      (void)shape;
      state->weightBuffers.push_back(bufferOf(t));
      Halide::Buffer<float> &buffer = state->weightBuffers.back();
      Halide::Func f(halide::funcName(name));
      std::vector<Halide::Var> vars(buffer.dimensions());
      f(vars) = buffer(std::vector<Halide::Expr>(vars.begin(), vars.end()));
      return f;
    };
    llvm::Expected<halide::LoweredNetwork> net = lower(provider);
    if (!net)
      return net.takeError();
    impl->net = std::move(*net);
    halide::applySchedule(impl->net,
                          schedule == Schedule::Reference
                              ? halide::ScheduleKind::Reference
                              : halide::ScheduleKind::Tuned,
                          impl->target);
    std::vector<Halide::Func> outputs =
        halide::makeOutputFuncs(impl->net, impl->target);
    impl->pipeline = Halide::Pipeline(outputs);
    impl->pipeline.compile_jit(impl->target);
  } catch (const Halide::Error &e) {
    return halideError(e);
  }
  return std::move(impl);
}

llvm::Expected<std::unique_ptr<JITSession>>
JITSession::compile(mlir::FuncOp func, WeightSet weights, Schedule schedule,
                    llvm::StringRef target) {
  auto start = std::chrono::steady_clock::now();
  auto impl = compileWith(
      [&](const halide::WeightProvider &p) {
        return halide::lowerNetwork(func, p);
      },
      std::move(weights), schedule, target);
  if (!impl)
    return impl.takeError();
  std::unique_ptr<JITSession> session(new JITSession(std::move(*impl)));
  session->seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  return std::move(session);
}

llvm::Expected<std::unique_ptr<JITSession>>
JITSession::compileLayer(mlir::Operation *op, WeightSet weights,
                         Schedule schedule, llvm::StringRef target) {
  auto start = std::chrono::steady_clock::now();
  auto impl = compileWith(
      [&](const halide::WeightProvider &p) {
        return halide::lowerLayer(op, p);
      },
      std::move(weights), schedule, target);
  if (!impl)
    return impl.takeError();
  std::unique_ptr<JITSession> session(new JITSession(std::move(*impl)));
  session->seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  return std::move(session);
}

llvm::Expected<std::vector<io::Tensor>>
JITSession::run(const std::vector<const io::Tensor *> &inputs) {
  halide::LoweredNetwork &net = impl->net;
  if (inputs.size() != net.inputs.size())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("the model has {0} inputs, but {1} were given",
                      net.inputs.size(), inputs.size()));
  std::vector<io::Tensor> inputCopies;
  for (const io::Tensor *t : inputs)
    inputCopies.push_back(*t);
  try {
    Halide::ParamMap params;
    // Output sizes are Exprs over the inputs' extents: bind and fold them.
    std::map<std::string, Halide::Expr> extents;
    for (size_t i = 0; i < net.inputs.size(); ++i) {
      Halide::Buffer<float> buffer = bufferOf(inputCopies[i]);
      net.inputs[i].set(buffer);
      for (int d = 0; d < buffer.dimensions(); ++d)
        extents[net.inputs[i].name() + ".extent." + std::to_string(d)] =
            buffer.dim(d).extent();
    }
    std::vector<Halide::Buffer<>> buffers;
    std::vector<io::Tensor> results;
    for (const halide::Tensor &t : net.outputs) {
      io::Tensor result;
      for (const Halide::Expr &size : t.sizes) {
        Halide::Expr e = Halide::Internal::simplify(
            Halide::Internal::substitute(extents, size));
        const int64_t *value = Halide::Internal::as_const_int(e);
        if (!value)
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "cannot size an output");
        result.shape.push_back(*value);
      }
      int64_t count = io::getNumElements(result.shape);
      result.data.resize(size_t(std::max<int64_t>(count, 0)));
      results.push_back(std::move(result));
    }
    for (io::Tensor &r : results)
      buffers.push_back(bufferOf(r));
    Halide::Realization realization(buffers);
    impl->pipeline.realize(realization, impl->target);
    return std::move(results);
  } catch (const Halide::Error &e) {
    return halideError(e);
  }
}
