//===- HalideLowering.cpp - Lower an nn function to Halide ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file walks an nn function in order and hands each op to its family's
// lowering (Lowering/*.cpp). It owns the model inputs (ImageParams with a
// free batch and fixed other sizes) and nothing else: no Func is scheduled
// here.
//
//===----------------------------------------------------------------------===//

#include "LoweringPatterns.h"

#include "netc/Dialect/NN/Analysis/ValueNames.h"
#include "netc/Dialect/NN/IR/NNOps.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace netc;
using namespace netc::halide;
using Halide::Expr;

Halide::Expr Tensor::at(std::vector<Halide::Expr> index) const {
  std::reverse(index.begin(), index.end());
  return func(index);
}

/// Names a generated symbol must not take: a Func named after a layer
/// called `tanh` would be the symbol `tanh` in the object.
static bool isReservedName(llvm::StringRef name) {
  static const llvm::StringRef reserved[] = {
      // libm
      "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt",
      "ceil", "copysign", "cos", "cosh", "erf", "erfc", "exp", "exp2",
      "expm1", "fabs", "fdim", "floor", "fma", "fmax", "fmin", "fmod",
      "frexp", "hypot", "ldexp", "lgamma", "log", "log10", "log1p", "log2",
      "lround", "modf", "nearbyint", "pow", "rint", "round", "sin", "sinh",
      "sqrt", "tan", "tanh", "tgamma", "trunc", "abs",
      // libc and the Halide runtime's dependencies
      "abort", "calloc", "exit", "free", "malloc", "memcmp", "memcpy",
      "memmove", "memset", "printf", "puts", "realloc", "strlen", "write",
      "main",
      // C and C++ keywords (the header declares these names)
      "auto", "bool", "break", "case", "char", "class", "const", "continue",
      "default", "delete", "do", "double", "else", "enum", "extern", "false",
      "float", "for", "goto", "if", "inline", "int", "long", "new",
      "register", "restrict", "return", "short", "signed", "sizeof",
      "static", "struct", "switch", "template", "this", "true", "typedef",
      "union", "unsigned", "void", "volatile", "while"};
  return llvm::is_contained(reserved, name) || name.startswith("halide_");
}

std::string halide::funcName(llvm::StringRef name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) ? c : '_';
  if (out.empty() || llvm::isDigit(out[0]) || isReservedName(out))
    out = "l_" + out;
  return out;
}

Halide::Func LoweringContext::makeFunc(llvm::StringRef layer,
                                       llvm::StringRef role) {
  std::string base = funcName(layer);
  if (!role.empty())
    base += "_" + role.str();
  std::string name = base;
  for (int i = 2; !used.insert(name).second; ++i)
    name = base + "_" + std::to_string(i);
  return Halide::Func(name);
}

std::vector<Halide::Var> halide::varsForRank(size_t rank) {
  static const char *names4[] = {"x", "y", "c", "n"};
  std::vector<Halide::Var> vars;
  for (size_t i = 0; i < rank; ++i) {
    if (rank >= 3 && i < 4)
      vars.emplace_back(names4[i]);
    else if (rank == 2)
      vars.emplace_back(i == 0 ? "i" : "n");
    else
      vars.emplace_back("d" + std::to_string(i));
  }
  return vars;
}

std::vector<Expr> halide::exprsOf(const std::vector<Halide::Var> &vars) {
  return std::vector<Expr>(vars.begin(), vars.end());
}

LoweredLayer
halide::makeLayer(mlir::Operation *op, std::vector<Halide::Var> vars,
                  std::vector<std::pair<Halide::Func, FuncRole>> funcs,
                  Tensor output, Halide::RDom reduction) {
  LoweredLayer layer;
  layer.name = op->getAttrOfType<mlir::StringAttr>("name").getValue().str();
  layer.op = op;
  layer.vars = std::move(vars);
  layer.funcs = std::move(funcs);
  layer.output = std::move(output);
  layer.reduction = reduction;
  return layer;
}

std::vector<int64_t> halide::intsOf(mlir::ArrayAttr attr) {
  std::vector<int64_t> v;
  for (mlir::Attribute a : attr)
    v.push_back(a.cast<mlir::IntegerAttr>().getInt());
  return v;
}

int64_t halide::staticSize(const Expr &size) {
  const int64_t *value = Halide::Internal::as_const_int(size);
  assert(value && "the lowering checked that this size is static");
  return *value;
}

/// Lowers one op with its inputs through its family's lowering.
static LoweredLayer lowerOp(mlir::Operation *op, llvm::ArrayRef<Tensor> ins,
                            LoweringContext &ctx) {
  return llvm::TypeSwitch<mlir::Operation *, LoweredLayer>(op)
      .Case([&](nn::Conv2dOp o) { return lowerConv2d(o, ins[0], ctx); })
      .Case([&](nn::BatchNorm2dOp o) {
        return lowerBatchNorm2d(o, ins[0], ctx);
      })
      .Case([&](nn::SoftmaxOp o) { return lowerSoftmax(o, ins[0], ctx); })
      .Case([&](nn::MaxPool2dOp o) { return lowerMaxPool2d(o, ins[0], ctx); })
      .Case([&](nn::AvgPool2dOp o) { return lowerAvgPool2d(o, ins[0], ctx); })
      .Case([&](nn::AdaptiveAvgPool2dOp o) {
        return lowerAdaptiveAvgPool2d(o, ins[0], ctx);
      })
      .Case([&](nn::LinearOp o) { return lowerLinear(o, ins[0], ctx); })
      .Case([&](nn::FlattenOp o) { return lowerFlatten(o, ins[0], ctx); })
      .Case([&](nn::CatOp o) { return lowerCat(o, ins, ctx); })
      .Case([&](nn::AddOp o) { return lowerAdd(o, ins, ctx); })
      .Default([&](mlir::Operation *o) {
        return lowerElementwise(o, ins[0], ctx);
      });
}

/// The PyTorch-order shape of `type`, -1 for a dynamic size.
static std::vector<int64_t> shapeOf(mlir::RankedTensorType type) {
  std::vector<int64_t> shape;
  for (int64_t d : type.getShape())
    shape.push_back(mlir::ShapedType::isDynamic(d) ? -1 : d);
  return shape;
}

/// A tensor stored in channel blocks of `block`: its logical (x, y, c, n)
/// view of `blocked`, a Func of (c % block, x, y, c / block, n).
static Tensor blockedTensor(Halide::Func blocked, std::vector<Expr> sizes,
                            int block, LoweringContext &ctx) {
  Tensor t;
  t.sizes = std::move(sizes);
  t.block = block;
  t.blocked = blocked;
  t.func = ctx.makeFunc(blocked.name(), "nchw");
  std::vector<Halide::Var> v = varsForRank(4);
  t.func(v) = blocked(v[2] % block, v[0], v[1], v[2] / block, v[3]);
  return t;
}

/// An ImageParam for a value of `type` (dimension 0 may be dynamic), in
/// channel blocks of `block` when not 0, and the Tensor reading it; fails
/// for another dynamic size.
static llvm::Expected<Tensor> inputTensor(mlir::RankedTensorType type,
                                          const std::string &name, int block,
                                          Halide::ImageParam &param,
                                          LoweringContext &ctx) {
  int rank = int(type.getRank());
  assert((!block || rank == 4) && "only 4-D tensors are stored in blocks");
  param = Halide::ImageParam(Halide::Float(32), block ? 5 : rank,
                             funcName(name));
  std::vector<Expr> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (!type.isDynamicDim(d)) {
      sizes.push_back(int(type.getDimSize(d)));
      continue;
    }
    if (d != 0)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "code generation needs every size of '" + name +
              "' but the batch to be a number");
    sizes.push_back(param.dim(param.dimensions() - 1).extent());
  }
  if (block)
    return blockedTensor(Halide::Func(param), std::move(sizes), block, ctx);
  Tensor t;
  t.func = Halide::Func(param);
  t.sizes = std::move(sizes);
  return t;
}

llvm::Expected<LoweredNetwork>
halide::lowerLayer(mlir::Operation *op, const WeightProvider &weights) {
  return lowerFusedLayer(nn::singleLayer(op), weights);
}

llvm::Expected<LoweredNetwork>
halide::lowerFusedLayer(const nn::FusedLayer &layer,
                        const WeightProvider &weights,
                        const nn::KernelLayout &layout) {
  LoweredNetwork net;
  net.name = layer.name();
  net.fused = layer.ops.size() > 1;
  LoweringContext ctx(weights);
  llvm::DenseMap<mlir::Value, Tensor> tensors;
  // On a flat map every value is [N, C, 1, H*W] (KernelLayout::flatMap);
  // the ops are pointwise in space, so each result has its operand's map.
  auto typeSeen = [&](mlir::Value v) {
    auto type = v.getType().cast<mlir::RankedTensorType>();
    if (!layout.flatMap)
      return type;
    return mlir::RankedTensorType::get(
        nn::flatMapShape(std::vector<int64_t>(type.getShape())),
        type.getElementType());
  };
  for (unsigned i = 0; i < layer.operands.size(); ++i) {
    mlir::Value v = layer.operands[i];
    std::string name = i == 0 ? "input" : "input" + std::to_string(i);
    Halide::ImageParam param;
    llvm::Expected<Tensor> t =
        inputTensor(typeSeen(v), name, layout.operandBlock(i), param, ctx);
    if (!t)
      return t.takeError();
    net.inputs.push_back(param);
    net.inputNames.push_back(name);
    net.inputShapes.push_back(shapeOf(typeSeen(v)));
    tensors[v] = *t;
  }
  for (mlir::Operation *op : layer.ops) {
    std::vector<Tensor> ins;
    for (mlir::Value v : op->getOperands())
      ins.push_back(tensors.lookup(v));
    LoweredLayer lowered = lowerOp(op, ins, ctx);
    if (layout.flatMap) {
      lowered.output.sizes[2] = ins.front().sizes[2];
      lowered.output.sizes[3] = ins.front().sizes[3];
    }
    tensors[op->getResult(0)] = lowered.output;
    net.layers.push_back(std::move(lowered));
  }
  if (int block = layout.resultBlock) {
    // The result in blocks: a Func of (c % block, x, y, c / block, n) that
    // takes the last layer's Output role; the NCHW one is inlined into it.
    LoweredLayer &last = net.layers.back();
    assert(last.output.rank() == 4 && "only 4-D results are stored in blocks");
    Halide::Func stored = ctx.makeFunc(last.name, "blocked");
    Halide::Var cl("cl"), x("x"), y("y"), cb("cb"), n("n");
    stored(cl, x, y, cb, n) = last.output.func(x, y, cb * block + cl, n);
    for (auto &[func, role] : last.funcs)
      if (role == FuncRole::Output)
        func = stored;
    last.output.block = block;
    last.output.blocked = stored;
  }
  net.outputs.push_back(net.layers.back().output);
  net.outputNames.push_back(net.name);
  return std::move(net);
}

void halide::constrainOutputChannels(const Tensor &output) {
  // Only the channels: with the height and width fixed as well, Halide 14
  // miscompiles the depthwise stride-2 schedule (its band of padded rows
  // slides out of bounds; the golden case sched_depthwise_bands crashed).
  // The channel tiles that skip zero padding fix them in their own
  // schedule (foldPaddingTests): they slide no window over their input.
  size_t rank = output.rank();
  if (rank < 3)
    return;
  const int64_t *channels =
      Halide::Internal::as_const_int(output.sizes[rank - 3]);
  if (!channels)
    return;
  if (output.block) {
    Halide::OutputImageParam stored = output.blocked.output_buffer();
    stored.dim(0).set_bounds(0, output.block);
    stored.dim(3).set_bounds(0, int(*channels / output.block));
    return;
  }
  output.func.output_buffer().dim(2).set_bounds(0, int(*channels));
}
