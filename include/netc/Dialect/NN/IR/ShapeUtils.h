//===- ShapeUtils.h - PyTorch shape rules for nn ops ------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file declares the shape formulas and the validity predicates of every
// op netc knows, as PyTorch 1.13 applies them at construction and at the
// first forward pass. They live here once: the YAML front end, the dialect's
// verifiers and type inference, and the summary all call these functions, so
// they cannot disagree. The functions know nothing about YAML or MLIR; they
// report problems through ShapeDiagnostics, naming the argument to blame and
// the input dimension the other number came from, and each caller turns that
// into a diagnostic at its own location.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_IR_SHAPEUTILS_H
#define NETC_DIALECT_NN_IR_SHAPEUTILS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netc {
namespace nn {

//===----------------------------------------------------------------------===//
// Dim and Shape
//===----------------------------------------------------------------------===//

/// One dimension of a tensor: a known size, a symbolic size (a product of
/// dimension names times a constant, such as `N*48`, or an opaque expression
/// such as `(H-3)//2+1`), or unknown. Unknown is what a layer with an error
/// produces so that later layers are checked without follow-on errors: every
/// check involving an unknown dimension passes.
class Dim {
public:
  /// A known size.
  static Dim known(int64_t value);
  /// A dimension name from the model's inputs. A batch symbol must work
  /// for every size, so it never equals a known size other than by
  /// broadcasting.
  static Dim symbol(llvm::StringRef name, bool isBatch = false);
  /// An opaque symbolic expression, printed as given.
  static Dim expression(llvm::StringRef text);
  /// A dimension nothing is known about.
  static Dim unknown();

  /// A known size of 0.
  Dim() = default;

  bool isKnown() const { return kind == Kind::Known; }
  bool isUnknown() const { return kind == Kind::Unknown; }
  bool isSymbolic() const { return !isKnown() && !isUnknown(); }
  /// The size; only valid when isKnown().
  int64_t value() const { return coef; }

  /// Prints the dimension as the summary shows it: `16`, `N`, `N*48`, `?`.
  std::string str() const;

  /// Whether both are provably equal (true), provably different (false), or
  /// undecidable because one is symbolic or unknown (nullopt). A size that
  /// depends on a batch symbol differs from every known size: it cannot
  /// equal it for every batch.
  std::optional<bool> sameAs(const Dim &other) const;

  /// Product of two dimensions. Returns unknown and sets `overflow` when a
  /// known product does not fit in 64 bits.
  static Dim multiply(const Dim &lhs, const Dim &rhs, bool &overflow);

private:
  enum class Kind { Known, Monomial, Expression, Unknown };
  Kind kind = Kind::Known;
  int64_t coef = 0;
  std::vector<std::string> symbols; // sorted, for Monomial
  std::string text;                 // for Expression
  bool dependsOnBatch = false;
};

/// A tensor shape, outermost dimension first.
using Shape = llvm::SmallVector<Dim, 4>;

/// Prints `[N, 16, 32, 32]`.
std::string formatShape(llvm::ArrayRef<Dim> shape);

using Pair = std::array<int64_t, 2>;
/// Padding as [top, bottom, left, right].
using Padding4 = std::array<int64_t, 4>;

//===----------------------------------------------------------------------===//
// Problems
//===----------------------------------------------------------------------===//

/// One thing wrong (or worth a warning) with a layer.
struct ShapeProblem {
  enum class Severity { Error, Warning };
  Severity severity = Severity::Error;
  /// The argument to blame, by its PyTorch name; empty blames the layer, and
  /// "from" blames its input.
  std::string arg;
  /// The message, in LLVM style (lower case, no trailing period).
  std::string message;
  /// The input operand and dimension whose size is the "other number" in the
  /// message, so the caller can add a note at the place that produced it.
  int operand = -1;
  int operandDim = -1;
  /// Suggested fixes, each a short imperative ("set `padding: 1`").
  std::vector<std::string> fixits;
};

/// Receives the problems a shape function finds.
class ShapeDiagnostics {
public:
  virtual ~ShapeDiagnostics();
  /// Records one problem.
  void report(ShapeProblem problem);
  /// Shorthand for an error blaming `arg`.
  ShapeProblem &error(llvm::StringRef arg, std::string message);
  /// Shorthand for a warning blaming `arg`.
  ShapeProblem &warning(llvm::StringRef arg, std::string message);
  /// Delivers the problems gathered by error()/warning() to handle().
  void flush();
  bool hadError() const { return errorCount != 0; }

protected:
  virtual void handle(const ShapeProblem &problem) = 0;

private:
  std::vector<ShapeProblem> pending;
  unsigned errorCount = 0;
};

//===----------------------------------------------------------------------===//
// Op attributes, as PyTorch's constructor arguments after defaulting
//===----------------------------------------------------------------------===//

enum class PaddingMode { Zeros, Reflect, Replicate, Circular };
/// How the user wrote Conv2d's padding.
enum class PaddingKind { Explicit, Same, Valid };

struct Conv2dAttrs {
  int64_t inChannels = 0, outChannels = 0;
  Pair kernel{0, 0}, stride{1, 1}, dilation{1, 1};
  PaddingKind paddingKind = PaddingKind::Explicit;
  Pair padding{0, 0}; // for PaddingKind::Explicit: (height, width)
  int64_t groups = 1;
  bool bias = true;
  PaddingMode paddingMode = PaddingMode::Zeros;
};

struct BatchNorm2dAttrs {
  int64_t numFeatures = 0;
  double eps = 1e-5, momentum = 0.1;
  bool affine = true, trackRunningStats = true;
};

enum class PoolKind { Max, Avg };
struct Pool2dAttrs {
  PoolKind kind = PoolKind::Max;
  Pair kernel{0, 0}, stride{0, 0}, padding{0, 0}, dilation{1, 1};
  bool ceilMode = false;
  /// The stride was not given (PyTorch's None) and is kernel_size: a bad
  /// kernel_size is reported once, not again as the stride.
  bool strideIsKernel = false;
  bool countIncludePad = true;                 // AvgPool2d
  std::optional<int64_t> divisorOverride;      // AvgPool2d
};

struct AdaptiveAvgPool2dAttrs {
  /// A missing item keeps the input's size (PyTorch's None).
  std::array<std::optional<int64_t>, 2> outputSize;
  /// Written as one integer rather than a pair.
  bool scalar = false;
};

struct LinearAttrs {
  int64_t inFeatures = 0, outFeatures = 0;
  bool bias = true;
};

struct FlattenAttrs {
  int64_t startDim = 1, endDim = -1;
};

//===----------------------------------------------------------------------===//
// Shape functions
//===----------------------------------------------------------------------===//
// Each checks what PyTorch checks and returns the output shape. After an
// error the result still has the declared parts (out_channels, ...) and
// unknown dimensions where the error leaves the size undetermined.

/// The padding Conv2d applies, as [top, bottom, left, right]: `same` puts the
/// smaller half first, as PyTorch does.
Padding4 resolveConvPadding(const Conv2dAttrs &attrs);

/// Conv2d's checks at construction (groups, divisibility, negative sizes,
/// `same` with stride) and its output shape for `input`.
Shape inferConv2d(const Conv2dAttrs &attrs, llvm::ArrayRef<Dim> input,
                  ShapeDiagnostics &diag);
Shape inferBatchNorm2d(const BatchNorm2dAttrs &attrs,
                       llvm::ArrayRef<Dim> input, ShapeDiagnostics &diag);
Shape inferPool2d(const Pool2dAttrs &attrs, llvm::ArrayRef<Dim> input,
                  ShapeDiagnostics &diag);
Shape inferAdaptiveAvgPool2d(const AdaptiveAvgPool2dAttrs &attrs,
                             llvm::ArrayRef<Dim> input,
                             ShapeDiagnostics &diag);
Shape inferLinear(const LinearAttrs &attrs, llvm::ArrayRef<Dim> input,
                  ShapeDiagnostics &diag);
Shape inferFlatten(const FlattenAttrs &attrs, llvm::ArrayRef<Dim> input,
                   ShapeDiagnostics &diag);
/// Softmax over `dim`; `dim` is nullopt for PyTorch's implicit choice, which
/// is resolved into `resolvedDim` with a warning.
Shape inferSoftmax(std::optional<int64_t> dim, llvm::ArrayRef<Dim> input,
                   int64_t &resolvedDim, ShapeDiagnostics &diag);
/// Elementwise sum of two or more tensors with PyTorch broadcasting.
Shape inferAdd(llvm::ArrayRef<Shape> inputs, ShapeDiagnostics &diag);
/// Concatenation along `dim`.
Shape inferCat(int64_t dim, llvm::ArrayRef<Shape> inputs,
               ShapeDiagnostics &diag);
/// Dropout's probability check; the shape passes through.
void checkDropout(double p, ShapeDiagnostics &diag);
/// GELU's `approximate` check.
void checkGelu(llvm::StringRef approximate, ShapeDiagnostics &diag);

//===----------------------------------------------------------------------===//
// Counting
//===----------------------------------------------------------------------===//

/// Parameters as PyTorch's `sum(p.numel() for p in module.parameters())`.
int64_t countConv2dParams(const Conv2dAttrs &attrs);
int64_t countBatchNorm2dParams(const BatchNorm2dAttrs &attrs);
/// running_mean and running_var elements (num_batches_tracked excluded).
int64_t countBatchNorm2dBuffers(const BatchNorm2dAttrs &attrs);
int64_t countLinearParams(const LinearAttrs &attrs);

/// The element count of `shape` without its batch dimension (dimension 0
/// when `batched`), or nullopt when a non-batch dimension is not known.
std::optional<int64_t> elementsPerSample(llvm::ArrayRef<Dim> shape,
                                         bool batched);

/// Normalises a possibly negative dimension index for a tensor of `rank`, or
/// returns nullopt when it is out of range, as PyTorch's maybe_wrap_dim.
std::optional<int64_t> wrapDim(int64_t dim, int64_t rank);

/// Returns the names in `candidates` closest to `name` by edit distance, for
/// "did you mean" notes; empty if none is close.
std::string closestName(llvm::StringRef name,
                        llvm::ArrayRef<llvm::StringRef> candidates);

} // namespace nn
} // namespace netc

#endif // NETC_DIALECT_NN_IR_SHAPEUTILS_H
