//===- YAMLValue.h - Typed YAML values with locations -----------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A YAML document as a tree of typed values, each with its one-based line
// and column. yaml-cpp leaves scalars untyped; this applies the YAML 1.2
// core schema (`true` is a boolean, `1e-3` a float, a quoted "3" a string),
// keeps duplicate map keys so they can be reported, and is the tree that
// block parameters are substituted into. Private to lib/Frontend.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_FRONTEND_YAMLVALUE_H
#define NETC_LIB_FRONTEND_YAMLVALUE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace netc {

/// A one-based source position; line 0 means unknown.
struct SourcePos {
  unsigned line = 0, column = 0;
};

/// One YAML value with its type under the core schema.
struct YValue {
  enum class Kind { Null, Bool, Int, Float, String, Seq, Map };
  Kind kind = Kind::Null;
  SourcePos pos;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;                              // String; source text
  std::vector<YValue> items;                     // Seq
  std::vector<std::pair<YValue, YValue>> entries; // Map, in file order
  /// Set on an integer literal that does not fit in 64 bits.
  bool outOfRange = false;

  bool isNull() const { return kind == Kind::Null; }
  bool isInt() const { return kind == Kind::Int; }
  bool isString() const { return kind == Kind::String; }
  bool isSeq() const { return kind == Kind::Seq; }
  bool isMap() const { return kind == Kind::Map; }
  /// The first value of key `key` in a map, or null.
  const YValue *lookup(llvm::StringRef key) const;
  /// Describes the value for "but got ..." messages: `"3" (a string)`.
  std::string describe() const;
};

/// Result of parsing: the root, or a syntax error with its position.
struct YAMLParseResult {
  std::unique_ptr<YValue> root;
  std::string error;
  SourcePos errorPos;
};

/// Parses `text` (one YAML document). Never throws.
YAMLParseResult parseYAML(llvm::StringRef text);

} // namespace netc

#endif // NETC_LIB_FRONTEND_YAMLVALUE_H
