//===- NNOps.cpp - nn dialect ops -----------------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements result-type inference for the nn ops. Each op reads
// its attributes into the ShapeUtils attribute struct and calls the same
// shape function the front end used, so verification re-checks the model
// with exactly PyTorch's rules. Problems become errors on the op.
//
//===----------------------------------------------------------------------===//

#include "netc/Dialect/NN/IR/NNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace netc;
using namespace netc::nn;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

Shape nn::shapeOf(Type type) {
  Shape shape;
  auto ranked = type.dyn_cast<RankedTensorType>();
  if (!ranked)
    return shape;
  for (int64_t d : ranked.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? Dim::unknown() : Dim::known(d));
  return shape;
}

RankedTensorType nn::tensorTypeOf(llvm::ArrayRef<Dim> shape,
                                  MLIRContext *ctx) {
  SmallVector<int64_t, 4> dims;
  for (const Dim &d : shape)
    dims.push_back(d.isKnown() ? d.value() : ShapedType::kDynamicSize);
  return RankedTensorType::get(dims, FloatType::getF32(ctx));
}

namespace {
/// Turns ShapeUtils problems into errors (and warnings) on an op's location.
class VerifierDiagnostics : public ShapeDiagnostics {
public:
  VerifierDiagnostics(Optional<Location> loc, StringRef opName)
      : loc(loc), opName(opName) {}

protected:
  void handle(const ShapeProblem &p) override {
    if (!loc)
      return;
    // As emitOpError words it; the messages name their argument.
    if (p.severity == ShapeProblem::Severity::Error)
      mlir::emitError(*loc) << "'" << opName << "' op " << p.message;
  }

private:
  Optional<Location> loc;
  StringRef opName;
};
} // namespace

static Pair pairOf(ArrayAttr attr) {
  auto values = attr.getAsRange<IntegerAttr>();
  auto it = values.begin();
  int64_t first = (*it).getInt();
  ++it;
  return {first, (*it).getInt()};
}

/// Finishes inference: flushes problems and returns the result type.
static LogicalResult finish(VerifierDiagnostics &diag, const Shape &out,
                            MLIRContext *ctx,
                            SmallVectorImpl<Type> &inferred) {
  diag.flush();
  if (diag.hadError())
    return failure();
  inferred.push_back(tensorTypeOf(out, ctx));
  return success();
}

/// Checks the ODS constraints first: inference may run before them, and the
/// adaptor's getters assume the attributes are present.
#define NN_VERIFY_ADAPTOR(OpT)                                                 \
  OpT##Adaptor adaptor(operands, attributes, regions);                         \
  if (failed(adaptor.verify(location ? *location : UnknownLoc::get(context)))) \
    return failure();                                                          \
  VerifierDiagnostics diag(location, OpT::getOperationName());

//===----------------------------------------------------------------------===//
// Conv family
//===----------------------------------------------------------------------===//

static Optional<PaddingMode> parsePaddingMode(StringRef s) {
  return llvm::StringSwitch<Optional<PaddingMode>>(s)
      .Case("zeros", PaddingMode::Zeros)
      .Case("reflect", PaddingMode::Reflect)
      .Case("replicate", PaddingMode::Replicate)
      .Case("circular", PaddingMode::Circular)
      .Default(llvm::None);
}

LogicalResult Conv2dOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(Conv2dOp)
  Conv2dAttrs a;
  a.inChannels = adaptor.getInChannelsAttr().getInt();
  a.outChannels = adaptor.getOutChannelsAttr().getInt();
  a.kernel = pairOf(adaptor.getKernelSize());
  a.stride = pairOf(adaptor.getStride());
  a.dilation = pairOf(adaptor.getDilation());
  a.groups = adaptor.getGroupsAttr().getInt();
  a.bias = adaptor.getBias();
  SmallVector<int64_t, 4> pad;
  for (IntegerAttr p : adaptor.getPadding().getAsRange<IntegerAttr>())
    pad.push_back(p.getInt());
  // The IR holds resolved padding; only symmetric padding round-trips
  // through Conv2dAttrs, so check asymmetric (`same`) padding's window here.
  a.paddingKind = PaddingKind::Explicit;
  a.padding = {std::max(pad[0], pad[1]), std::max(pad[2], pad[3])};
  Optional<PaddingMode> mode = parsePaddingMode(adaptor.getPaddingMode());
  if (!mode) {
    if (location)
      mlir::emitError(*location) << "'nn.conv2d' op unknown padding_mode '"
                           << adaptor.getPaddingMode() << "'";
    return failure();
  }
  a.paddingMode = *mode;
  Shape in = shapeOf(adaptor.getInput().getType());
  Shape out = inferConv2d(a, in, diag);
  // Recompute the spatial sizes with the exact (possibly asymmetric) padding.
  for (unsigned i = 0; i < 2 && out.size() >= 3; ++i) {
    Dim &o = out[out.size() - 2 + i];
    const Dim &d = in[in.size() - 2 + i];
    if (!o.isKnown() || !d.isKnown())
      continue;
    int64_t span = d.value() + pad[2 * i] + pad[2 * i + 1] -
                   a.dilation[i] * (a.kernel[i] - 1) - 1;
    o = Dim::known(span / a.stride[i] + 1);
  }
  return finish(diag, out, context, inferredReturnTypes);
}

//===----------------------------------------------------------------------===//
// Norm family
//===----------------------------------------------------------------------===//

LogicalResult BatchNorm2dOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(BatchNorm2dOp)
  BatchNorm2dAttrs a;
  a.numFeatures = adaptor.getNumFeaturesAttr().getInt();
  a.eps = adaptor.getEps().convertToDouble();
  a.momentum = adaptor.getMomentum().convertToDouble();
  a.affine = adaptor.getAffine();
  a.trackRunningStats = adaptor.getTrackRunningStats();
  Shape out = inferBatchNorm2d(a, shapeOf(adaptor.getInput().getType()), diag);
  return finish(diag, out, context, inferredReturnTypes);
}

LogicalResult SoftmaxOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(SoftmaxOp)
  int64_t resolved = 0;
  Shape out = inferSoftmax(adaptor.getDimAttr().getInt(),
                           shapeOf(adaptor.getInput().getType()), resolved,
                           diag);
  return finish(diag, out, context, inferredReturnTypes);
}

//===----------------------------------------------------------------------===//
// Pool family
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(MaxPool2dOp)
  Pool2dAttrs a;
  a.kind = PoolKind::Max;
  a.kernel = pairOf(adaptor.getKernelSize());
  a.stride = pairOf(adaptor.getStride());
  a.padding = pairOf(adaptor.getPadding());
  a.dilation = pairOf(adaptor.getDilation());
  a.ceilMode = adaptor.getCeilMode();
  Shape out = inferPool2d(a, shapeOf(adaptor.getInput().getType()), diag);
  return finish(diag, out, context, inferredReturnTypes);
}

LogicalResult AvgPool2dOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(AvgPool2dOp)
  Pool2dAttrs a;
  a.kind = PoolKind::Avg;
  a.kernel = pairOf(adaptor.getKernelSize());
  a.stride = pairOf(adaptor.getStride());
  a.padding = pairOf(adaptor.getPadding());
  a.ceilMode = adaptor.getCeilMode();
  a.countIncludePad = adaptor.getCountIncludePad();
  if (IntegerAttr d = adaptor.getDivisorOverrideAttr())
    a.divisorOverride = d.getInt();
  Shape out = inferPool2d(a, shapeOf(adaptor.getInput().getType()), diag);
  return finish(diag, out, context, inferredReturnTypes);
}

LogicalResult AdaptiveAvgPool2dOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(AdaptiveAvgPool2dOp)
  AdaptiveAvgPool2dAttrs a;
  Pair size = pairOf(adaptor.getOutputSize());
  for (unsigned i = 0; i < 2; ++i)
    if (size[i] != -1)
      a.outputSize[i] = size[i];
  Shape out =
      inferAdaptiveAvgPool2d(a, shapeOf(adaptor.getInput().getType()), diag);
  return finish(diag, out, context, inferredReturnTypes);
}

//===----------------------------------------------------------------------===//
// Linear family
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(LinearOp)
  LinearAttrs a;
  a.inFeatures = adaptor.getInFeaturesAttr().getInt();
  a.outFeatures = adaptor.getOutFeaturesAttr().getInt();
  a.bias = adaptor.getBias();
  Shape out = inferLinear(a, shapeOf(adaptor.getInput().getType()), diag);
  return finish(diag, out, context, inferredReturnTypes);
}

//===----------------------------------------------------------------------===//
// Shape family
//===----------------------------------------------------------------------===//

LogicalResult FlattenOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(FlattenOp)
  FlattenAttrs a;
  a.startDim = adaptor.getStartDimAttr().getInt();
  a.endDim = adaptor.getEndDimAttr().getInt();
  Shape out = inferFlatten(a, shapeOf(adaptor.getInput().getType()), diag);
  return finish(diag, out, context, inferredReturnTypes);
}

/// The shapes of a variadic op's inputs; fails on an empty list.
static LogicalResult variadicShapes(ValueRange inputs, unsigned least,
                                    StringRef opName,
                                    Optional<Location> location,
                                    SmallVectorImpl<Shape> &shapes) {
  if (inputs.size() < least) {
    if (location)
      mlir::emitError(*location) << "'nn." << opName << "' op expects at least " << least
                           << " inputs, but got " << inputs.size();
    return failure();
  }
  for (Value v : inputs)
    shapes.push_back(shapeOf(v.getType()));
  return success();
}

LogicalResult CatOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(CatOp)
  SmallVector<Shape, 2> shapes;
  if (failed(variadicShapes(adaptor.getInputs(), 1, "cat", location, shapes)))
    return failure();
  Shape out = inferCat(adaptor.getDimAttr().getInt(), shapes, diag);
  return finish(diag, out, context, inferredReturnTypes);
}

//===----------------------------------------------------------------------===//
// Elementwise family
//===----------------------------------------------------------------------===//

LogicalResult AddOp::inferReturnTypes(
    MLIRContext *context, Optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  NN_VERIFY_ADAPTOR(AddOp)
  SmallVector<Shape, 2> shapes;
  if (failed(variadicShapes(adaptor.getInputs(), 2, "add", location, shapes)))
    return failure();
  Shape out = inferAdd(shapes, diag);
  return finish(diag, out, context, inferredReturnTypes);
}

/// Ops whose result is their input, after an attribute check.
#define NN_SAME_SHAPE_OP(OpT, CHECK)                                           \
  LogicalResult OpT::inferReturnTypes(                                         \
      MLIRContext *context, Optional<Location> location, ValueRange operands, \
      DictionaryAttr attributes, RegionRange regions,                          \
      SmallVectorImpl<Type> &inferredReturnTypes) {                            \
    NN_VERIFY_ADAPTOR(OpT)                                            \
    CHECK;                                                                     \
    diag.flush();                                                              \
    if (diag.hadError())                                                       \
      return failure();                                                        \
    inferredReturnTypes.push_back(adaptor.getInput().getType());              \
    return success();                                                          \
  }

NN_SAME_SHAPE_OP(ReLUOp, (void)0)
NN_SAME_SHAPE_OP(ReLU6Op, (void)0)
NN_SAME_SHAPE_OP(SiLUOp, (void)0)
NN_SAME_SHAPE_OP(SigmoidOp, (void)0)
NN_SAME_SHAPE_OP(TanhOp, (void)0)
NN_SAME_SHAPE_OP(HardswishOp, (void)0)
NN_SAME_SHAPE_OP(IdentityOp, (void)0)
NN_SAME_SHAPE_OP(LeakyReLUOp, (void)0)
NN_SAME_SHAPE_OP(GELUOp, checkGelu(adaptor.getApproximate(), diag))
NN_SAME_SHAPE_OP(DropoutOp,
                 checkDropout(adaptor.getP().convertToDouble(), diag))

#define GET_OP_CLASSES
#include "netc/Dialect/NN/IR/NNOps.cpp.inc"
