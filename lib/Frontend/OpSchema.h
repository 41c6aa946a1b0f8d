//===- OpSchema.h - The ops and arguments of the model format ---*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// One table lists every op of the model format with its PyTorch arguments,
// their types and defaults. Binding a layer's YAML map against it reports
// unknown arguments (with the closest real one), wrong types (with the
// expected type) and missing required arguments. Private to lib/Frontend.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_FRONTEND_OPSCHEMA_H
#define NETC_LIB_FRONTEND_OPSCHEMA_H

#include "YAMLValue.h"

#include "netc/Dialect/NN/IR/ShapeUtils.h"

#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>

namespace netc {

/// The type of a PyTorch argument as the model format spells it.
enum class ArgType {
  Int,        ///< an integer (sizes, channels, groups)
  IntOrPair,  ///< `3` or `[3, 5]`
  OptIntOrPair, ///< IntOrPair or null (pooling stride: null = kernel_size)
  Bool,
  Float,      ///< a float or an integer
  OptFloat,   ///< Float or null (BatchNorm momentum)
  String,     ///< any string, checked later (GELU approximate)
  Choice,     ///< one of a fixed set of strings
  Padding,    ///< IntOrPair, `same` or `valid`
  OutputSize, ///< an integer, or a pair whose items may be null
  OptInt,     ///< an integer or null
};

struct ArgSpec {
  const char *name;
  ArgType type;
  /// The default as YAML text; nullptr for a required argument.
  const char *defaultValue;
  /// For Choice: the allowed strings.
  std::vector<const char *> choices = {};
};

/// How many inputs an op reads through `from:`.
struct Arity {
  unsigned least = 1, most = 1;
};

struct OpSpec {
  const char *name;
  std::vector<ArgSpec> args;
  Arity arity = {};
  /// Identity takes any arguments and ignores them.
  bool ignoresArguments = false;
};

/// The op named `name` (case-sensitive, as torch.nn spells it), or null.
const OpSpec *lookupOp(llvm::StringRef name);
/// The names of all ops, for did-you-mean.
std::vector<llvm::StringRef> opNames();

/// One argument after binding: its value and where it was written (the
/// layer's position when defaulted).
struct BoundArg {
  const YValue *node = nullptr; ///< null when defaulted
  SourcePos pos;
  bool isNull = false;
  int64_t integer = 0;
  nn::Pair pair{0, 0};
  bool boolean = false;
  double real = 0;
  std::string text;
  nn::PaddingKind padding = nn::PaddingKind::Explicit;
  std::array<std::optional<int64_t>, 2> outputSize;
  /// An IntOrPair or OutputSize written as one integer.
  bool scalar = false;
};

/// The arguments of one layer, by PyTorch name.
class LayerArgs {
public:
  const BoundArg &get(llvm::StringRef name) const;
  BoundArg &set(llvm::StringRef name) { return args[name]; }
  bool has(llvm::StringRef name) const { return args.count(name); }

private:
  llvm::StringMap<BoundArg> args;
};

/// Where binding reports problems: a message at a position, with notes.
using BindError = std::function<void(SourcePos, const std::string &,
                                     const std::vector<std::string> &notes)>;

/// Binds the arguments in `layer` (a map) against `spec`. Keys in
/// `reserved` (name, op, from, ...) are skipped. Reports every problem
/// through `error` and returns false if there was one.
bool bindArguments(const OpSpec &spec, const YValue &layer,
                   llvm::ArrayRef<llvm::StringRef> reserved,
                   llvm::StringRef layerName, const BindError &error,
                   LayerArgs &args);

} // namespace netc

#endif // NETC_LIB_FRONTEND_OPSCHEMA_H
