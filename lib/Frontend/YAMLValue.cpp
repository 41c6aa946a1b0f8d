//===- YAMLValue.cpp - Typed YAML values with locations -------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file converts yaml-cpp's node tree into YValues. It is the only place
// that calls yaml-cpp, and catches every exception yaml-cpp throws.
//
//===----------------------------------------------------------------------===//

#include "YAMLValue.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/FormatVariadic.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace netc;

/// The most values a model file may hold, aliases expanded: far beyond any
/// real network (ResNet-50 written flat has about 3,000).
static constexpr uint64_t kMaxNodes = 1'000'000;

const YValue *YValue::lookup(llvm::StringRef key) const {
  for (const auto &[k, v] : entries)
    if (k.kind == Kind::String && k.text == key)
      return &v;
  return nullptr;
}

std::string YValue::describe() const {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return llvm::formatv("{0} (a boolean)", boolean ? "true" : "false");
  case Kind::Int:
    return llvm::formatv("{0} (an integer)", text);
  case Kind::Float:
    return llvm::formatv("{0} (a float)", text);
  case Kind::String:
    return llvm::formatv("\"{0}\" (a string)", text);
  case Kind::Seq:
    if (items.empty())
      return "an empty list";
    return llvm::formatv("a list of {0} {1}", items.size(),
                         items.size() == 1 ? "item" : "items");
  case Kind::Map:
    return entries.empty() ? "an empty map" : "a map";
  }
  return "a value";
}

static SourcePos toPos(const YAML::Mark &m) {
  if (m.line < 0 || m.column < 0)
    return {};
  return {unsigned(m.line) + 1, unsigned(m.column) + 1};
}

static bool isDigits(llvm::StringRef s, bool (*ok)(char)) {
  return !s.empty() && llvm::all_of(s, ok);
}
static bool isDec(char c) { return c >= '0' && c <= '9'; }
static bool isOct(char c) { return c >= '0' && c <= '7'; }
static bool isHex(char c) { return llvm::isHexDigit(c); }

/// Matches the core schema's float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
static bool isCoreFloat(llvm::StringRef s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+'))
    s = s.drop_front();
  size_t i = 0, n = s.size();
  size_t intDigits = 0, fracDigits = 0;
  while (i < n && isDec(s[i]))
    ++i, ++intDigits;
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && isDec(s[i]))
      ++i, ++fracDigits;
  }
  if (intDigits == 0 && fracDigits == 0)
    return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+'))
      ++i;
    if (i == n)
      return false;
    while (i < n && isDec(s[i]))
      ++i;
  }
  return i == n;
}

/// Types a plain (unquoted) scalar by the YAML 1.2 core schema.
static void typePlainScalar(YValue &v) {
  llvm::StringRef s = v.text;
  llvm::StringRef unsignedPart = s;
  if (!s.empty() && (s[0] == '-' || s[0] == '+'))
    unsignedPart = s.drop_front();
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    v.kind = YValue::Kind::Null;
  } else if (s == "true" || s == "True" || s == "TRUE" || s == "false" ||
             s == "False" || s == "FALSE") {
    v.kind = YValue::Kind::Bool;
    v.boolean = s[0] == 't' || s[0] == 'T';
  } else if (isDigits(unsignedPart, isDec) ||
             (s.startswith("0o") && isDigits(s.drop_front(2), isOct)) ||
             (s.startswith("0x") && isDigits(s.drop_front(2), isHex))) {
    v.kind = YValue::Kind::Int;
    int base = 10;
    const char *begin = v.text.c_str();
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
      base = s[1] == 'o' ? 8 : 16;
      begin += 2;
    }
    errno = 0;
    long long n = std::strtoll(begin, nullptr, base);
    v.integer = n;
    v.outOfRange = errno == ERANGE;
  } else if (isCoreFloat(s)) {
    v.kind = YValue::Kind::Float;
    v.real = std::strtod(v.text.c_str(), nullptr);
  } else if (unsignedPart == ".inf" || unsignedPart == ".Inf" ||
             unsignedPart == ".INF") {
    v.kind = YValue::Kind::Float;
    v.real = s[0] == '-' ? -INFINITY : INFINITY;
  } else if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    v.kind = YValue::Kind::Float;
    v.real = NAN;
  } else {
    v.kind = YValue::Kind::String;
  }
}

/// Converts a node; `depth` bounds recursion on hostile input and `budget`
/// the number of nodes (an alias is copied, so a small file can stand for
/// billions of nodes).
static YValue convert(const YAML::Node &node, unsigned depth,
                      std::string &error, SourcePos &errorPos,
                      uint64_t &budget) {
  YValue v;
  v.pos = toPos(node.Mark());
  if (budget == 0) {
    if (error.empty()) {
      error = "the document has more than " + std::to_string(kMaxNodes) +
              " values once its aliases are expanded";
      errorPos = v.pos;
    }
    return v;
  }
  --budget;
  if (depth > 256) {
    if (error.empty()) {
      error = "YAML nesting deeper than 256 levels is not supported";
      errorPos = v.pos;
    }
    return v;
  }
  switch (node.Type()) {
  case YAML::NodeType::Undefined:
  case YAML::NodeType::Null:
    v.kind = YValue::Kind::Null;
    break;
  case YAML::NodeType::Scalar:
    v.text = node.Scalar();
    // yaml-cpp tags a quoted scalar "!" and a plain one "?".
    if (node.Tag() == "?")
      typePlainScalar(v);
    else
      v.kind = YValue::Kind::String;
    break;
  case YAML::NodeType::Sequence:
    v.kind = YValue::Kind::Seq;
    for (const YAML::Node &item : node)
      v.items.push_back(convert(item, depth + 1, error, errorPos, budget));
    break;
  case YAML::NodeType::Map:
    v.kind = YValue::Kind::Map;
    for (auto it = node.begin(); it != node.end(); ++it) {
      YValue key = convert(it->first, depth + 1, error, errorPos, budget);
      YValue value = convert(it->second, depth + 1, error, errorPos, budget);
      // An empty value has no mark of its own: use the key's.
      if (value.pos.line == 0)
        value.pos = key.pos;
      v.entries.emplace_back(std::move(key), std::move(value));
    }
    break;
  }
  return v;
}

/// The line (one-based) of a second YAML document in `text`: a `---` marker,
/// or content after a `...` end marker, once the first document has begun;
/// 0 if there is none.
static unsigned secondDocumentLine(llvm::StringRef text) {
  bool inDocument = false, ended = false;
  unsigned number = 0;
  while (!text.empty()) {
    auto [line, rest] = text.split('\n');
    text = rest;
    ++number;
    llvm::StringRef trimmed = line.rtrim();
    bool start = trimmed == "---" || line.startswith("--- ") ||
                 line.startswith("---\t");
    if (trimmed == "...") {
      ended = inDocument;
      continue;
    }
    bool blank = trimmed.ltrim().empty() || trimmed.ltrim().startswith("#");
    if (inDocument && (start || (ended && !blank)))
      return number;
    if (start || (!blank && !line.startswith("%")))
      inDocument = true;
  }
  return 0;
}

/// yaml-cpp's `message` with every byte that is not part of a whole UTF-8
/// character written as \xNN: "unknown escape character: " quotes one byte
/// of the character after the backslash.
static std::string printableMessage(llvm::StringRef message) {
  std::string out;
  const auto *p = reinterpret_cast<const llvm::UTF8 *>(message.begin());
  const auto *end = reinterpret_cast<const llvm::UTF8 *>(message.end());
  while (p < end) {
    unsigned size = llvm::getNumBytesForUTF8(*p);
    if (size <= unsigned(end - p) && llvm::isLegalUTF8Sequence(p, p + size)) {
      out.append(reinterpret_cast<const char *>(p), size);
      p += size;
      continue;
    }
    out += "\\x" + llvm::utohexstr(*p, /*LowerCase=*/false);
    ++p;
  }
  return out;
}

YAMLParseResult netc::parseYAML(llvm::StringRef text) {
  YAMLParseResult result;
  // Not YAML::LoadAll: on a stray ',' at the top level it returns empty
  // documents forever (yaml-cpp 0.7, found by fuzzing). A second document
  // is found by its marker instead.
  if (unsigned line = secondDocumentLine(text)) {
    result.error = "expected one YAML document, but the file has another";
    result.errorPos = {line, 1};
    return result;
  }
  try {
    YAML::Node doc = YAML::Load(text.str());
    uint64_t budget = kMaxNodes;
    auto root = std::make_unique<YValue>(
        convert(doc, 0, result.error, result.errorPos, budget));
    if (result.error.empty())
      result.root = std::move(root);
  } catch (const YAML::Exception &e) {
    result.error = printableMessage(e.msg);
    result.errorPos = toPos(e.mark);
  } catch (const std::exception &e) {
    result.error = e.what();
  }
  return result;
}
