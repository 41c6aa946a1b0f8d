//===- OpSchema.cpp - The ops and arguments of the model format -----------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file holds the table of ops (torch.nn names, PyTorch 1.13 arguments
// and defaults) and binds a layer's YAML map against it. The format is
// stricter than Python on purpose: a boolean is true/false, a size an
// integer.
//
//===----------------------------------------------------------------------===//

#include "OpSchema.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace netc;
using llvm::formatv;

static const std::vector<OpSpec> &opTable() {
  static const ArgSpec inplace{"inplace", ArgType::Bool, "false"};
  static const std::vector<OpSpec> table = {
      {"Conv2d",
       {{"in_channels", ArgType::Int, nullptr},
        {"out_channels", ArgType::Int, nullptr},
        {"kernel_size", ArgType::IntOrPair, nullptr},
        {"stride", ArgType::IntOrPair, "1"},
        {"padding", ArgType::Padding, "0"},
        {"dilation", ArgType::IntOrPair, "1"},
        {"groups", ArgType::Int, "1"},
        {"bias", ArgType::Bool, "true"},
        {"padding_mode", ArgType::Choice, "zeros",
         {"zeros", "reflect", "replicate", "circular"}}}},
      {"BatchNorm2d",
       {{"num_features", ArgType::Int, nullptr},
        {"eps", ArgType::Float, "1e-5"},
        {"momentum", ArgType::OptFloat, "0.1"},
        {"affine", ArgType::Bool, "true"},
        {"track_running_stats", ArgType::Bool, "true"}}},
      {"ReLU", {inplace}},
      {"ReLU6", {inplace}},
      {"SiLU", {inplace}},
      {"Hardswish", {inplace}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"GELU", {{"approximate", ArgType::String, "none"}}},
      {"LeakyReLU", {{"negative_slope", ArgType::Float, "0.01"}, inplace}},
      {"Identity", {}, {}, /*ignoresArguments=*/true},
      {"Dropout", {{"p", ArgType::Float, "0.5"}, inplace}},
      {"MaxPool2d",
       {{"kernel_size", ArgType::IntOrPair, nullptr},
        {"stride", ArgType::OptIntOrPair, "null"},
        {"padding", ArgType::IntOrPair, "0"},
        {"dilation", ArgType::IntOrPair, "1"},
        {"return_indices", ArgType::Bool, "false"},
        {"ceil_mode", ArgType::Bool, "false"}}},
      {"AvgPool2d",
       {{"kernel_size", ArgType::IntOrPair, nullptr},
        {"stride", ArgType::OptIntOrPair, "null"},
        {"padding", ArgType::IntOrPair, "0"},
        {"ceil_mode", ArgType::Bool, "false"},
        {"count_include_pad", ArgType::Bool, "true"},
        {"divisor_override", ArgType::OptInt, "null"}}},
      {"AdaptiveAvgPool2d", {{"output_size", ArgType::OutputSize, nullptr}}},
      {"Flatten",
       {{"start_dim", ArgType::Int, "1"}, {"end_dim", ArgType::Int, "-1"}}},
      {"Linear",
       {{"in_features", ArgType::Int, nullptr},
        {"out_features", ArgType::Int, nullptr},
        {"bias", ArgType::Bool, "true"}}},
      {"Softmax", {{"dim", ArgType::OptInt, "null"}}},
      {"Add", {}, {2, ~0u}},
      {"Cat", {{"dim", ArgType::Int, "1"}}, {1, ~0u}},
  };
  return table;
}

const OpSpec *netc::lookupOp(llvm::StringRef name) {
  for (const OpSpec &op : opTable())
    if (name == op.name)
      return &op;
  return nullptr;
}

std::vector<llvm::StringRef> netc::opNames() {
  std::vector<llvm::StringRef> names;
  for (const OpSpec &op : opTable())
    names.push_back(op.name);
  return names;
}

const BoundArg &LayerArgs::get(llvm::StringRef name) const {
  auto it = args.find(name);
  assert(it != args.end() && "argument not in the op's schema");
  return it->second;
}

static const char *expectedType(const ArgSpec &spec) {
  switch (spec.type) {
  case ArgType::Int:
    return "an integer";
  case ArgType::IntOrPair:
    return "an integer or a pair of integers";
  case ArgType::OptIntOrPair:
    return "an integer, a pair of integers or null";
  case ArgType::Bool:
    return "true or false";
  case ArgType::Float:
    return "a number";
  case ArgType::OptFloat:
    return "a number or null";
  case ArgType::String:
    return "a string";
  case ArgType::Choice:
    return "one of the listed strings";
  case ArgType::Padding:
    return "an integer, a pair of integers, 'same' or 'valid'";
  case ArgType::OutputSize:
    return "an integer or a pair of integers or nulls";
  case ArgType::OptInt:
    return "an integer or null";
  }
  return "a value";
}

namespace {
/// Converts one YAML value to one argument, or says why it cannot.
class ArgConverter {
public:
  ArgConverter(const ArgSpec &spec, BoundArg &out) : spec(spec), out(out) {}

  /// Returns an empty string on success, else the problem.
  std::string convert(const YValue &v) {
    out.isNull = v.isNull();
    switch (spec.type) {
    case ArgType::Int:
      return integer(v, out.integer);
    case ArgType::OptInt:
      return v.isNull() ? "" : integer(v, out.integer);
    case ArgType::IntOrPair:
      return pair(v);
    case ArgType::OptIntOrPair:
      return v.isNull() ? "" : pair(v);
    case ArgType::Bool:
      if (v.kind != YValue::Kind::Bool)
        return mismatch(v);
      out.boolean = v.boolean;
      return "";
    case ArgType::OptFloat:
      if (v.isNull())
        return "";
      [[fallthrough]];
    case ArgType::Float:
      if (v.kind == YValue::Kind::Int)
        out.real = double(v.integer);
      else if (v.kind == YValue::Kind::Float)
        out.real = v.real;
      else
        return mismatch(v);
      return "";
    case ArgType::String:
      if (!v.isString())
        return mismatch(v);
      out.text = v.text;
      return "";
    case ArgType::Choice:
      return choice(v);
    case ArgType::Padding:
      if (v.isString()) {
        if (v.text == "same" || v.text == "valid") {
          out.padding = v.text == "same" ? nn::PaddingKind::Same
                                         : nn::PaddingKind::Valid;
          return "";
        }
        return mismatch(v);
      }
      return pair(v);
    case ArgType::OutputSize:
      return outputSize(v);
    }
    return "";
  }

private:
  std::string mismatch(const YValue &v) {
    return formatv("'{0}' expects {1}, but got {2}", spec.name,
                   expectedType(spec), v.describe());
  }

  /// For a pair with an item of the wrong type: names that item.
  std::string itemMismatch(const YValue &v, unsigned index) {
    return formatv("'{0}' expects {1}, but its {2} item is {3}", spec.name,
                   expectedType(spec), index == 0 ? "first" : "second",
                   v.items[index].describe());
  }

  std::string integer(const YValue &v, int64_t &into) {
    if (!v.isInt())
      return mismatch(v);
    if (v.outOfRange)
      return formatv("'{0}' is {1}, which does not fit in 64 bits",
                     spec.name, v.text);
    into = v.integer;
    return "";
  }

  std::string pair(const YValue &v) {
    if (v.isInt()) {
      std::string e = integer(v, out.pair[0]);
      out.pair[1] = out.pair[0];
      return e;
    }
    if (!v.isSeq() || v.items.size() != 2)
      return mismatch(v);
    for (unsigned i = 0; i < 2; ++i)
      if (!v.items[i].isInt())
        return itemMismatch(v, i);
    for (unsigned i = 0; i < 2; ++i)
      if (std::string e = integer(v.items[i], out.pair[i]); !e.empty())
        return e;
    return "";
  }

  std::string choice(const YValue &v) {
    if (v.isString() && llvm::is_contained(spec.choices, v.text)) {
      out.text = v.text;
      return "";
    }
    std::string list;
    llvm::interleave(
        spec.choices, [&](const char *c) { list += formatv("'{0}'", c); },
        [&] { list += ", "; });
    return formatv("'{0}' expects one of {1}, but got {2}", spec.name, list,
                   v.describe());
  }

  std::string outputSize(const YValue &v) {
    if (v.isInt()) {
      out.scalar = true;
      out.outputSize = {v.integer, v.integer};
      return v.outOfRange ? mismatch(v) : "";
    }
    if (!v.isSeq() || v.items.size() != 2)
      return mismatch(v);
    for (unsigned i = 0; i < 2; ++i) {
      const YValue &item = v.items[i];
      if (item.isNull())
        out.outputSize[i] = std::nullopt;
      else if (item.isInt() && !item.outOfRange)
        out.outputSize[i] = item.integer;
      else
        return itemMismatch(v, i);
    }
    return "";
  }

  const ArgSpec &spec;
  BoundArg &out;
};
} // namespace

/// The parsed default `text`, cached: defaults are few and layers many.
static const YValue &defaultValue(const char *text) {
  static llvm::StringMap<YValue> cache;
  auto it = cache.find(text);
  if (it == cache.end()) {
    YAMLParseResult parsed = parseYAML(text);
    assert(parsed.root && "schema defaults are valid YAML");
    it = cache.try_emplace(text, *parsed.root).first;
  }
  return it->second;
}

bool netc::bindArguments(const OpSpec &spec, const YValue &layer,
                         llvm::ArrayRef<llvm::StringRef> reserved,
                         llvm::StringRef layerName, const BindError &error,
                         LayerArgs &args) {
  bool ok = true;
  std::vector<llvm::StringRef> known;
  for (const ArgSpec &a : spec.args)
    known.push_back(a.name);
  // Arguments that an unknown key was taken for ("did you mean"): their
  // absence is that key's misspelling, reported once.
  std::vector<std::string> guessed;

  for (const auto &[key, value] : layer.entries) {
    if (!key.isString() || llvm::is_contained(reserved, key.text))
      continue;
    if (spec.ignoresArguments)
      continue;
    const ArgSpec *arg = nullptr;
    for (const ArgSpec &a : spec.args)
      if (key.text == a.name)
        arg = &a;
    if (!arg) {
      std::vector<std::string> notes;
      std::string guess = nn::closestName(key.text, known);
      if (!guess.empty()) {
        notes.push_back(formatv("did you mean '{0}'?", guess));
        guessed.push_back(guess);
      } else if (known.empty())
        notes.push_back(formatv("{0} takes no arguments", spec.name));
      else
        notes.push_back(formatv("{0} takes: {1}", spec.name,
                                llvm::join(known, ", ")));
      error(key.pos,
            formatv("layer '{0}' has unknown argument '{1}' for {2}",
                    layerName, key.text, spec.name),
            notes);
      ok = false;
      continue;
    }
    BoundArg &bound = args.set(arg->name);
    bound.node = &value;
    bound.pos = value.pos;
    if (std::string problem = ArgConverter(*arg, bound).convert(value);
        !problem.empty()) {
      error(value.pos, formatv("layer '{0}': {1}", layerName, problem), {});
      ok = false;
    }
  }

  // Defaults and required arguments.
  for (const ArgSpec &a : spec.args) {
    if (args.has(a.name))
      continue;
    BoundArg &bound = args.set(a.name);
    bound.pos = layer.pos;
    if (!a.defaultValue) {
      if (!llvm::is_contained(guessed, a.name))
        error(layer.pos,
              formatv("layer '{0}' is missing required argument '{1}'",
                      layerName, a.name),
              {});
      ok = false;
      continue;
    }
    std::string problem =
        ArgConverter(a, bound).convert(defaultValue(a.defaultValue));
    assert(problem.empty() && "schema defaults have the argument's type");
    (void)problem;
  }
  return ok;
}
