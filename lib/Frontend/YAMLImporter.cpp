//===- YAMLImporter.cpp - Read and check a YAML model ---------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file walks the structure of a model file: the top-level keys, the
// inputs, block definitions and their instances (with `$param`
// substitution), layer names and `from:` references, and the outputs. Each
// leaf layer goes to LayerChecker.cpp. Every problem is reported at its YAML
// key and the walk goes on, so one run reports all of them.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "netc/Dialect/NN/IR/NNDialect.h"
#include "netc/Dialect/NN/IR/NNOps.h"

#include "mlir/Dialect/StandardOps/IR/Ops.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <set>

using namespace netc;
using llvm::formatv;

/// Keys of a layer map that are not op arguments.
static const llvm::StringRef reservedKeys[] = {"name", "op", "from", "repeat",
                                               "repeat_from"};

static bool isIdentifier(llvm::StringRef s) {
  if (s.empty() || !(llvm::isAlpha(s[0]) || s[0] == '_'))
    return false;
  return llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

Importer::Importer(llvm::SourceMgr &sourceMgr, unsigned bufferId,
                   mlir::MLIRContext *context, const ImportOptions &options)
    : sourceMgr(sourceMgr), bufferId(bufferId), context(context),
      options(options), builder(context) {
  fileName = sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier().str();
}

mlir::Location Importer::loc(SourcePos pos) {
  if (pos.line == 0)
    return mlir::FileLineColLoc::get(context, fileName, 1, 1);
  return mlir::FileLineColLoc::get(context, fileName, pos.line, pos.column);
}

mlir::Location Importer::namedLoc(llvm::StringRef name, SourcePos pos) {
  return mlir::NameLoc::get(mlir::StringAttr::get(context, name), loc(pos));
}

void Importer::emit(bool isError, SourcePos pos, const llvm::Twine &message,
                    llvm::ArrayRef<Note> notes) {
  bool asError = isError || options.warningsAsErrors;
  mlir::InFlightDiagnostic diag =
      asError ? mlir::emitError(loc(pos)) : mlir::emitWarning(loc(pos));
  diag << message;
  if (!isError && asError)
    diag << " [-Werror]";
  for (const Note &note : notes)
    diag.attachNote(loc(note.first.line ? note.first : pos)) << note.second;
  if (currentStack)
    for (const Instantiation &inst : llvm::reverse(*currentStack))
      diag.attachNote(loc(inst.pos)) << inst.text;
  if (currentProblems) {
    currentProblems->push_back(
        ((asError ? "error: " : "warning: ") + message).str());
    for (const Note &note : notes)
      currentProblems->push_back("  note: " + note.second);
  }
  if (asError)
    ++errors;
  if (isError)
    ++hardErrors;
}

void Importer::error(SourcePos pos, const llvm::Twine &message,
                     llvm::ArrayRef<Note> notes) {
  emit(true, pos, message, notes);
}

void Importer::warning(SourcePos pos, const llvm::Twine &message,
                       llvm::ArrayRef<Note> notes) {
  emit(false, pos, message, notes);
}

/// Reports keys that appear twice in `map`.
static void checkDuplicateKeys(Importer &im, const YValue &map,
                               llvm::StringRef what) {
  llvm::StringMap<SourcePos> seen;
  for (const auto &entry : map.entries) {
    const YValue &key = entry.first;
    if (!key.isString() && !key.isInt())
      continue;
    auto [it, inserted] = seen.try_emplace(key.text, key.pos);
    if (!inserted)
      im.error(key.pos, formatv("duplicate key '{0}' in {1}", key.text, what),
               {{it->second, "previous definition is here"}});
  }
}

/// Reports keys of `map` not in `allowed`, with the closest allowed one.
static void checkKnownKeys(Importer &im, const YValue &map,
                           llvm::ArrayRef<llvm::StringRef> allowed,
                           llvm::StringRef what) {
  for (const auto &entry : map.entries) {
    const YValue &key = entry.first;
    if (key.isString() && llvm::is_contained(allowed, key.text))
      continue;
    std::vector<Importer::Note> notes;
    std::string guess = nn::closestName(key.text, allowed);
    if (!guess.empty())
      notes.push_back({key.pos, formatv("did you mean '{0}'?", guess)});
    else
      notes.push_back(
          {key.pos, formatv("expected one of: {0}", llvm::join(allowed, ", "))});
    im.error(key.pos, formatv("unknown key '{0}' in {1}", key.text, what),
             notes);
  }
}

//===----------------------------------------------------------------------===//
// Top level and inputs
//===----------------------------------------------------------------------===//

mlir::OwningOpRef<mlir::ModuleOp> Importer::run(NetworkSummary *summary) {
  context->getOrLoadDialect<nn::NNDialect>();
  context->getOrLoadDialect<mlir::StandardOpsDialect>();
  llvm::StringRef text = sourceMgr.getMemoryBuffer(bufferId)->getBuffer();
  // The line and column of the byte at `offset`.
  auto positionOf = [&](size_t offset) -> SourcePos {
    llvm::StringRef before = text.take_front(offset);
    return {unsigned(1 + before.count('\n')),
            unsigned(1 + before.size() - (before.rfind('\n') + 1))};
  };
  // YAML is UTF-8; other bytes would also end up in JSON and SARIF output.
  size_t badByte = 0;
  if (!llvm::json::isUTF8(text, &badByte)) {
    error(positionOf(badByte), "the file is not valid UTF-8 (byte " +
                                   std::to_string(badByte) + ")");
    return nullptr;
  }
  // YAML allows tab, line feed and carriage return among the C0 controls,
  // and not DEL. yaml-cpp would read a file that starts with a NUL as UTF-16
  // or UTF-32 and report garbage, so these are reported here.
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char byte = text[i];
    if ((byte >= 0x20 && byte != 0x7f) || byte == '\t' || byte == '\n' ||
        byte == '\r')
      continue;
    std::string message;
    llvm::raw_string_ostream(message)
        << "the file contains the control character U+"
        << llvm::format_hex_no_prefix(byte, 4, /*Upper=*/true) << " (byte "
        << i << "), which YAML does not allow";
    error(positionOf(i), message);
    return nullptr;
  }
  YAMLParseResult parsed = parseYAML(text);
  if (!parsed.root) {
    error(parsed.errorPos, "invalid YAML: " + parsed.error);
    return nullptr;
  }
  root = std::move(parsed.root);
  module = mlir::ModuleOp::create(loc({1, 1}));
  if (checkTopLevel(*root)) {
    if (const YValue *blockDefs = root->lookup("blocks"))
      readBlocks(*blockDefs);
    Scope top;
    for (size_t i = 0; i < inputNames.size(); ++i)
      top.names[inputNames[i]] = inputValues[i];
    readLayerList(*root->lookup("layers"), top);
    lastLayerValue = top.last;
    readOutputs(root->lookup("outputs"));
    // After an error the outputs may be missing or cut off from the layers
    // that lead to them; the warnings would be follow-ons.
    if (hardErrors == 0)
      warnUnreachable();
    finishFunction();
  }
  if (summary)
    *summary = std::move(info);
  if (errors)
    return nullptr;
  return std::move(module);
}

bool Importer::checkTopLevel(const YValue &top) {
  if (!top.isMap()) {
    error(top.pos, "expected a model: a map with 'inputs' and 'layers', but "
                   "got " + top.describe());
    return false;
  }
  checkDuplicateKeys(*this, top, "the model");
  checkKnownKeys(*this, top, {"name", "inputs", "layers", "outputs", "blocks"},
                 "the model");

  // The model's name names the generated C function. A chunk of a split
  // test file has a buffer name of its own; the file's name is in options.
  std::string name =
      llvm::sys::path::stem(options.modelFileName.empty()
                                ? llvm::StringRef(fileName)
                                : llvm::StringRef(options.modelFileName))
          .str();
  for (char &c : name)
    if (!llvm::isAlnum(c))
      c = '_';
  if (name.empty() || llvm::isDigit(name[0]))
    name = "net_" + name;
  if (const YValue *n = top.lookup("name")) {
    if (n->isString() && isIdentifier(n->text))
      name = n->text;
    else
      error(n->pos, "'name' must be an identifier (letters, digits, _), "
                    "but got " + n->describe(),
            {{n->pos, "it names the generated C function"}});
  }
  info.name = name;

  const YValue *inputs = top.lookup("inputs");
  const YValue *layers = top.lookup("layers");
  if (!inputs)
    error(top.pos, "the model is missing required key 'inputs'");
  if (!layers)
    error(top.pos, "the model is missing required key 'layers'");
  if (!inputs || !layers)
    return false;
  if (!layers->isSeq()) {
    error(layers->pos, "'layers' must be a list of layers, but got " +
                           layers->describe());
    return false;
  }
  auto funcType = builder.getFunctionType({}, {});
  function = mlir::FuncOp::create(loc(top.pos), name, funcType);
  module->push_back(function);
  builder.setInsertionPointToEnd(function.addEntryBlock());
  readInputs(*inputs);
  return !inputValues.empty();
}

std::string Importer::describeDim(llvm::ArrayRef<nn::Dim> shape, unsigned dim,
                                  bool batched) {
  std::string size = shape[dim].str();
  size_t rank = shape.size();
  unsigned first = batched ? 1 : 0;
  if (batched && dim == 0)
    return "batch " + size;
  if (rank - first >= 3 && dim == rank - 3)
    return size + (size == "1" ? " channel" : " channels");
  if (rank - first >= 2 && dim == rank - 2)
    return "height " + size;
  if (rank - first >= 3 && dim == rank - 1)
    return "width " + size;
  if (dim == rank - 1)
    return size + (size == "1" ? " feature" : " features");
  return formatv("size {0} at dimension {1}", size, dim);
}

void Importer::readInputs(const YValue &inputs) {
  if (!inputs.isMap() || inputs.entries.empty()) {
    error(inputs.pos, "'inputs' must map each input's name to its shape, "
                      "such as `image: [N, 3, 32, 32]`");
    return;
  }
  checkDuplicateKeys(*this, inputs, "'inputs'");
  std::vector<mlir::Type> types;
  std::set<std::string> seen;
  for (const auto &[key, spec] : inputs.entries) {
    if (!seen.insert(key.text).second)
      continue;
    const YValue *shape = &spec;
    if (spec.isMap()) {
      checkDuplicateKeys(*this, spec, formatv("input '{0}'", key.text).str());
      checkKnownKeys(*this, spec, {"shape", "dtype"},
                     formatv("input '{0}'", key.text).str());
      if (const YValue *dtype = spec.lookup("dtype"))
        if (!dtype->isString() || dtype->text != "float32")
          error(dtype->pos, "input '" + key.text + "' has dtype " +
                                dtype->describe() +
                                ", but netc supports only float32");
      shape = spec.lookup("shape");
      if (!shape) {
        error(spec.pos, formatv("input '{0}' is missing required key "
                                "'shape'",
                                key.text));
        continue;
      }
    }
    if (!shape->isSeq() || shape->items.empty()) {
      error(shape->pos, formatv("input '{0}' must have a shape: a list of "
                                "sizes and dimension names, but got {1}",
                                key.text, shape->describe()));
      continue;
    }
    ValueInfo v;
    v.producer = key.text;
    v.producerPos = key.pos;
    bool ok = true;
    for (const YValue &d : shape->items) {
      if (d.isInt() && !d.outOfRange && d.integer >= 0) {
        v.shape.push_back(nn::Dim::known(d.integer));
        if (d.integer == 0)
          warning(d.pos, formatv("input '{0}' has a dimension of size 0; "
                                 "PyTorch accepts it where it computes an "
                                 "empty tensor",
                                 key.text));
      } else if (d.isString() && isIdentifier(d.text)) {
        // The first dimension of a batched (rank 4 or 2) input is a batch.
        size_t rank = shape->items.size();
        bool isBatch = v.shape.empty() && (rank == 4 || rank == 2);
        v.shape.push_back(nn::Dim::symbol(d.text, isBatch));
      } else {
        error(d.pos, formatv("input '{0}' has an invalid dimension {1}: "
                             "expected a non-negative integer or a name",
                             key.text, d.describe()));
        ok = false;
      }
    }
    if (!ok)
      continue;
    size_t rank = v.shape.size();
    v.batched = rank != 3 && rank != 1;
    for (unsigned i = 0; i < rank; ++i)
      v.origins.push_back(
          {shape->items[i].pos,
           formatv("input '{0}' declares {1}", key.text,
                   describeDim(v.shape, i, v.batched))});
    mlir::Type type = nn::tensorTypeOf(v.shape, context);
    types.push_back(type);
    v.value = function.front().addArgument(type, loc(key.pos));
    inputValues.push_back(values.size());
    inputNames.push_back(key.text);
    globalNames[key.text] = {unsigned(values.size()), key.pos};
    info.inputs.push_back({key.text, v.shape});
    values.push_back(std::move(v));
  }
  function.setType(builder.getFunctionType(types, {}));
  // The inputs' names, for the generated code's argument names.
  for (size_t i = 0; i < inputNames.size(); ++i)
    function.setArgAttr(i, "nn.name", builder.getStringAttr(inputNames[i]));
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

void Importer::readBlocks(const YValue &defs) {
  if (!defs.isMap()) {
    error(defs.pos, "'blocks' must map block names to definitions, but got " +
                        defs.describe());
    return;
  }
  checkDuplicateKeys(*this, defs, "'blocks'");
  for (const auto &[key, def] : defs.entries) {
    if (!key.isString() || !isIdentifier(key.text)) {
      error(key.pos, "a block name must be an identifier, but got " +
                         key.describe());
      continue;
    }
    if (lookupOp(key.text)) {
      error(key.pos, formatv("block '{0}' has the name of an op", key.text));
      continue;
    }
    if (!def.isMap()) {
      error(def.pos, formatv("block '{0}' must be a map with 'layers', but "
                             "got {1}",
                             key.text, def.describe()));
      brokenBlocks.insert(key.text);
      continue;
    }
    std::string what = formatv("block '{0}'", key.text);
    checkDuplicateKeys(*this, def, what);
    checkKnownKeys(*this, def, {"params", "layers", "output"}, what);
    BlockDef block;
    block.name = key.text;
    block.pos = key.pos;
    block.layers = def.lookup("layers");
    block.output = def.lookup("output");
    if (!block.layers || !block.layers->isSeq() ||
        block.layers->items.empty()) {
      error(block.layers ? block.layers->pos : def.pos,
            formatv("block '{0}' needs 'layers': a non-empty list", key.text));
      brokenBlocks.insert(key.text);
      continue;
    }
    if (block.output && !block.output->isString()) {
      error(block.output->pos, "a block's 'output' must be a layer name");
      block.output = nullptr;
    }
    if (const YValue *params = def.lookup("params")) {
      if (params->isSeq()) {
        for (const YValue &p : params->items) {
          if (p.isString() && isIdentifier(p.text))
            block.params.push_back({p.text, nullptr});
          else
            error(p.pos, "a block parameter must be an identifier, but got " +
                             p.describe());
        }
      } else if (params->isMap()) {
        // `params: {k: 3}` gives k the default 3; a key without a value
        // (`{slope: 0.1, width}`) or with null is required, as in a list.
        checkDuplicateKeys(*this, *params, what + " parameters");
        for (const auto &[pk, pv] : params->entries) {
          if (!pk.isString() || !isIdentifier(pk.text)) {
            error(pk.pos, "a block parameter must be an identifier, but got " +
                              pk.describe());
            continue;
          }
          block.params.push_back({pk.text, pv.isNull() ? nullptr : &pv});
        }
      } else {
        error(params->pos, "'params' must be a list of names or a map of "
                           "names to defaults");
      }
    }
    blocks[block.name] = std::move(block);
  }
}

/// Writes a parameter's value as the model would: `3`, `0.5`, `big`,
/// `[1, 2]`, `{a: 1}`, `null`.
static std::string formatValue(const YValue &v) {
  switch (v.kind) {
  case YValue::Kind::Null:
    return "null";
  case YValue::Kind::Bool:
    return v.boolean ? "true" : "false";
  case YValue::Kind::Int:
  case YValue::Kind::Float:
    return v.text.empty() ? std::to_string(v.integer) : v.text;
  case YValue::Kind::String:
    return v.text;
  case YValue::Kind::Seq: {
    std::vector<std::string> items;
    for (const YValue &item : v.items)
      items.push_back(formatValue(item));
    return "[" + llvm::join(items, ", ") + "]";
  }
  case YValue::Kind::Map: {
    std::vector<std::string> entries;
    for (const auto &[key, value] : v.entries)
      entries.push_back(formatValue(key) + ": " + formatValue(value));
    return "{" + llvm::join(entries, ", ") + "}";
  }
  }
  return "?";
}

namespace {
/// Evaluates `$cout * 4`-style integer expressions of block parameters.
class ParamExpression {
public:
  ParamExpression(llvm::StringRef text, const std::map<std::string, YValue> &p)
      : text(text), params(p) {}

  /// Returns the value, or nullopt with `problem` set.
  std::optional<int64_t> evaluate(std::string &problem) {
    std::optional<int64_t> v = sum();
    skipSpace();
    if (v && pos != text.size())
      fail(formatv("unexpected '{0}'", text.substr(pos, 1)));
    if (!err.empty()) {
      problem = err;
      return std::nullopt;
    }
    return v;
  }

private:
  void skipSpace() {
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
  }
  bool eat(llvm::StringRef token) {
    skipSpace();
    if (!text.substr(pos).startswith(token))
      return false;
    pos += token.size();
    return true;
  }
  std::optional<int64_t> fail(const std::string &message) {
    if (err.empty())
      err = message;
    return std::nullopt;
  }
  std::optional<int64_t> sum() {
    std::optional<int64_t> v = product();
    while (v) {
      int64_t r;
      if (eat("+")) {
        std::optional<int64_t> rhs = product();
        if (!rhs || __builtin_add_overflow(*v, *rhs, &r))
          return rhs ? fail("the value overflows 64 bits") : rhs;
        v = r;
      } else if (eat("-")) {
        std::optional<int64_t> rhs = product();
        if (!rhs || __builtin_sub_overflow(*v, *rhs, &r))
          return rhs ? fail("the value overflows 64 bits") : rhs;
        v = r;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<int64_t> product() {
    std::optional<int64_t> v = atom();
    while (v) {
      if (eat("//")) {
        std::optional<int64_t> rhs = atom();
        if (!rhs)
          return rhs;
        if (*rhs == 0)
          return fail("division by zero");
        // Python's floor division.
        int64_t q = *v / *rhs;
        if ((*v % *rhs != 0) && ((*v < 0) != (*rhs < 0)))
          --q;
        v = q;
      } else if (eat("*")) {
        std::optional<int64_t> rhs = atom();
        int64_t r;
        if (!rhs || __builtin_mul_overflow(*v, *rhs, &r))
          return rhs ? fail("the value overflows 64 bits") : rhs;
        v = r;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<int64_t> atom() {
    skipSpace();
    if (eat("(")) {
      std::optional<int64_t> v = sum();
      if (v && !eat(")"))
        return fail("missing ')'");
      return v;
    }
    if (eat("-")) {
      std::optional<int64_t> v = atom();
      return v ? std::optional<int64_t>(-*v) : v;
    }
    skipSpace();
    if (pos < text.size() && text[pos] == '$') {
      size_t start = ++pos;
      while (pos < text.size() &&
             (llvm::isAlnum(text[pos]) || text[pos] == '_'))
        ++pos;
      std::string name = text.substr(start, pos - start).str();
      auto it = params.find(name);
      if (it == params.end())
        return fail(formatv("unknown parameter '${0}'", name));
      if (!it->second.isInt())
        return fail(formatv("parameter '${0}' is {1}, not an integer", name,
                            it->second.describe()));
      return it->second.integer;
    }
    size_t start = pos;
    while (pos < text.size() && llvm::isDigit(text[pos]))
      ++pos;
    if (start == pos)
      return fail("expected a number, a parameter or '('");
    int64_t v;
    if (text.substr(start, pos - start).getAsInteger(10, v))
      return fail("the number does not fit in 64 bits");
    return v;
  }

  llvm::StringRef text;
  size_t pos = 0;
  const std::map<std::string, YValue> &params;
  std::string err;
};
} // namespace

YValue Importer::substituteValue(const YValue &node, const Scope &scope,
                                 bool &ok) {
  if (node.isString() && llvm::StringRef(node.text).contains('$')) {
    static const std::map<std::string, YValue> noParams;
    const std::map<std::string, YValue> &params =
        scope.params ? *scope.params : noParams;
    llvm::StringRef text = node.text;
    if (text.startswith("$") && isIdentifier(text.drop_front())) {
      auto it = params.find(text.drop_front().str());
      if (it != params.end()) {
        YValue v = it->second;
        v.pos = node.pos;
        return v;
      }
    }
    std::string problem;
    std::optional<int64_t> value =
        ParamExpression(text, params).evaluate(problem);
    if (!value) {
      std::vector<llvm::StringRef> names;
      for (const auto &p : params)
        names.push_back(p.first);
      std::vector<Note> notes;
      if (!scope.params)
        notes.push_back({node.pos, "`$` names a block parameter, and only "
                                   "the layers of a block have parameters"});
      else if (names.empty())
        notes.push_back({node.pos, "this block has no parameters"});
      else
        notes.push_back({node.pos, "the block's parameters are: " +
                                       llvm::join(names, ", ")});
      error(node.pos, formatv("cannot evaluate \"{0}\": {1}", text, problem),
            notes);
      ok = false;
      YValue failed;
      failed.pos = node.pos;
      return failed;
    }
    YValue v;
    v.kind = YValue::Kind::Int;
    v.integer = *value;
    v.text = std::to_string(*value);
    v.pos = node.pos;
    return v;
  }
  YValue copy = node;
  for (YValue &item : copy.items)
    item = substituteValue(item, scope, ok);
  for (auto &entry : copy.entries)
    entry.second = substituteValue(entry.second, scope, ok);
  return copy;
}

const YValue &Importer::substitute(const YValue &node, const Scope &scope,
                                   bool &ok) {
  ok = true;
  substituted.push_back(substituteValue(node, scope, ok));
  return substituted.back();
}

std::optional<unsigned> Importer::instantiateBlock(const BlockDef &block,
                                                   const YValue &use,
                                                   const std::string &fullName,
                                                   unsigned input,
                                                   Scope &outer) {
  if (llvm::is_contained(outer.blockPath, block.name)) {
    error(use.pos, formatv("block '{0}' instantiates itself", block.name),
          {{block.pos, formatv("block '{0}' is defined here", block.name)}});
    return std::nullopt;
  }
  // Bind the parameters: the use's keys other than the reserved ones.
  std::map<std::string, YValue> params;
  std::vector<llvm::StringRef> names;
  for (const auto &p : block.params)
    names.push_back(p.first);
  bool ok = true;
  // Parameters an unknown key was taken for: not reported missing as well.
  std::vector<std::string> guessed;
  for (const auto &[key, value] : use.entries) {
    if (llvm::is_contained(reservedKeys, key.text))
      continue;
    if (!llvm::is_contained(names, key.text)) {
      std::string guess = nn::closestName(key.text, names);
      if (!guess.empty())
        guessed.push_back(guess);
      error(key.pos,
            formatv("layer '{0}' passes unknown parameter '{1}' to block "
                    "'{2}'",
                    fullName, key.text, block.name),
            {{block.pos, guess.empty()
                             ? formatv("block '{0}' takes: {1}", block.name,
                                       llvm::join(names, ", "))
                                   .str()
                             : formatv("did you mean '{0}'?", guess).str()}});
      ok = false;
      continue;
    }
    params[key.text] = value;
  }
  std::vector<std::string> shown;
  for (const auto &[name, def] : block.params) {
    if (!params.count(name)) {
      if (!def) {
        if (!llvm::is_contained(guessed, name))
          error(use.pos,
                formatv("layer '{0}' is missing parameter '{1}' of block "
                        "'{2}'",
                        fullName, name, block.name),
                {{block.pos,
                  formatv("block '{0}' is defined here", block.name)}});
        ok = false;
        continue;
      }
      params[name] = *def;
    }
    shown.push_back(formatv("{0}={1}", name, formatValue(params[name])));
  }
  if (!ok)
    return std::nullopt;

  Scope inner;
  inner.prefix = fullName + ".";
  inner.blockInput = input;
  inner.params = &params;
  inner.stack = outer.stack;
  inner.stack.push_back(
      {use.pos, formatv("in block '{0}' instantiated as '{1}'{2}", block.name,
                        fullName,
                        shown.empty()
                            ? std::string()
                            : " (" + llvm::join(shown, ", ") + ")")});
  inner.blockPath = outer.blockPath;
  inner.blockPath.push_back(block.name);

  const std::vector<Instantiation> *saved = currentStack;
  int savedId = currentStackId;
  currentStack = &inner.stack;
  currentStackId = -1;
  readLayerList(*block.layers, inner);
  std::optional<unsigned> out = inner.last;
  if (block.output) {
    auto it = inner.names.find(block.output->text);
    if (it == inner.names.end()) {
      error(block.output->pos,
            formatv("block '{0}' names output '{1}', which is not one of its "
                    "layers",
                    block.name, block.output->text));
      out = std::nullopt;
    } else {
      out = it->second;
    }
  }
  currentStack = saved;
  currentStackId = savedId;
  return out;
}

//===----------------------------------------------------------------------===//
// Layers and names
//===----------------------------------------------------------------------===//

void Importer::readLayerList(const YValue &list, Scope &scope) {
  if (!list.isSeq()) {
    error(list.pos, "expected a list of layers, but got " + list.describe());
    return;
  }
  // Names defined in this list, for "defined later" messages.
  std::vector<std::pair<std::string, SourcePos>> names;
  for (const YValue &layer : list.items)
    if (const YValue *n = layer.lookup("name"); n && n->isString())
      names.push_back({n->text, n->pos});
  std::optional<unsigned> previous = scope.blockInput;
  if (scope.isTop() && inputValues.size() == 1)
    previous = inputValues.front();
  // Names of the current layer and after it are not readable yet.
  size_t seen = 0;
  for (size_t i = 0; i < list.items.size(); ++i) {
    const YValue &layer = list.items[i];
    readLayer(layer, i, scope, llvm::makeArrayRef(names).drop_front(seen),
              previous);
    if (const YValue *n = layer.lookup("name"); n && n->isString())
      ++seen;
    previous = scope.last;
  }
}

std::optional<unsigned> Importer::lookupName(llvm::StringRef name,
                                             Scope &scope) {
  if (!scope.isTop() && name == "input")
    return scope.blockInput;
  auto it = scope.names.find(name);
  if (it != scope.names.end())
    return it->second;
  if (scope.isTop()) {
    auto g = globalNames.find(name);
    if (g != globalNames.end())
      return g->second.first;
  }
  return std::nullopt;
}

bool Importer::defineName(const std::string &local, const std::string &full,
                          unsigned value, SourcePos pos, Scope &scope) {
  auto previous = globalNames.find(full);
  if (previous != globalNames.end()) {
    bool isInput = previous->second.first < values.size() &&
                   values[previous->second.first].layer < 0 &&
                   llvm::is_contained(inputNames, full);
    error(pos,
          isInput ? formatv("layer name '{0}' is already the name of an "
                            "input",
                            full)
                        .str()
                  : formatv("duplicate layer name '{0}'", full).str(),
          {{previous->second.second, "previous definition is here"}});
    return false;
  }
  globalNames[full] = {value, pos};
  scope.names[local] = value;
  return true;
}

bool Importer::resolveInputs(
    const YValue &layer, const OpSpec *spec, llvm::StringRef name,
    Scope &scope, llvm::ArrayRef<std::pair<std::string, SourcePos>> later,
    std::optional<unsigned> previous, std::vector<unsigned> &inputs,
    std::vector<SourcePos> &inputPos, SourcePos &fromPos) {
  Arity arity = spec ? spec->arity : Arity{1, 1};
  const YValue *from = layer.lookup("from");
  fromPos = layer.pos;
  if (!from) {
    if (arity.least > 1) {
      error(layer.pos,
            formatv("layer '{0}' needs `from:` with the names of its {1} or "
                    "more inputs",
                    name, arity.least));
      return false;
    }
    if (!previous) {
      if (scope.isTop() && inputValues.size() > 1)
        error(layer.pos,
              formatv("layer '{0}' must say `from:`: the model has {1} "
                      "inputs ({2})",
                      name, inputValues.size(), llvm::join(inputNames, ", ")));
      return false;
    }
    inputs.push_back(*previous);
    inputPos.push_back(layer.pos);
    return true;
  }
  fromPos = from->pos;
  std::vector<const YValue *> refs;
  if (from->isString())
    refs.push_back(from);
  else if (from->isSeq() && !from->items.empty())
    for (const YValue &item : from->items)
      refs.push_back(&item);
  if (refs.empty() || llvm::any_of(refs, [](const YValue *r) {
        return !r->isString();
      })) {
    error(from->pos, "`from:` must be a name or a list of names, but got " +
                         from->describe());
    return false;
  }
  if (refs.size() > arity.most) {
    error(from->pos, formatv("layer '{0}' reads one input, but `from:` names "
                             "{1}",
                             name, refs.size()));
    return false;
  }
  if (refs.size() < arity.least) {
    error(from->pos, formatv("layer '{0}' needs at least {1} inputs in "
                             "`from:`, but got {2}",
                             name, arity.least, refs.size()));
    return false;
  }
  bool ok = true;
  for (const YValue *ref : refs) {
    if (std::optional<unsigned> v = lookupName(ref->text, scope)) {
      inputs.push_back(*v);
      inputPos.push_back(ref->pos);
      continue;
    }
    ok = false;
    if (const YValue *own = layer.lookup("name");
        own && own->isString() && own->text == ref->text) {
      error(ref->pos, formatv("layer '{0}' reads itself", name));
      continue;
    }
    auto laterIt = llvm::find_if(
        later, [&](const auto &n) { return n.first == ref->text; });
    if (laterIt != later.end()) {
      error(ref->pos,
            formatv("layer '{0}' reads '{1}', which is defined later; a "
                    "layer can read only inputs and earlier layers",
                    name, ref->text),
            {{laterIt->second, formatv("'{0}' is defined here", ref->text)}});
      continue;
    }
    std::vector<llvm::StringRef> known;
    for (const auto &n : scope.names)
      known.push_back(n.getKey());
    if (!scope.isTop())
      known.push_back("input");
    std::string guess = nn::closestName(ref->text, known);
    std::vector<Note> notes;
    if (!guess.empty())
      notes.push_back({ref->pos, formatv("did you mean '{0}'?", guess)});
    else if (!scope.isTop())
      notes.push_back({ref->pos, "inside a block, `from:` names the block's "
                                 "layers or `input`"});
    error(ref->pos, formatv("layer '{0}' reads undefined name '{1}'", name,
                            ref->text),
          notes);
  }
  return ok;
}

void Importer::definePoisoned(const std::string &local,
                              const std::string &full, SourcePos pos,
                              Scope &scope) {
  ValueInfo v;
  v.producer = full;
  v.producerPos = pos;
  v.poisoned = true;
  values.push_back(std::move(v));
  unsigned id = values.size() - 1;
  defineName(local, full, id, pos, scope);
  scope.last = id;
}

void Importer::readLayer(
    const YValue &node, unsigned index, Scope &scope,
    llvm::ArrayRef<std::pair<std::string, SourcePos>> later,
    std::optional<unsigned> &previous) {
  bool substitutedOk = true;
  const YValue &layer = substitute(node, scope, substitutedOk);
  if (!layer.isMap()) {
    error(layer.pos, "expected a layer: a map with 'op' and its arguments, "
                     "but got " + layer.describe());
    return;
  }
  checkDuplicateKeys(*this, layer, "a layer");
  const YValue *op = layer.lookup("op");
  if (!substitutedOk) {
    // A `$` value that could not be evaluated is reported; the layer is not
    // checked further, and its readers skip their shape checks.
    std::string local = "layer_" + std::to_string(index);
    if (const YValue *n = layer.lookup("name"); n && n->isString() &&
                                                !n->text.empty())
      local = n->text;
    else if (op && op->isString())
      local = llvm::StringRef(op->text).lower() + "_" + std::to_string(index);
    definePoisoned(local, scope.prefix + local, layer.pos, scope);
    return;
  }
  if (!op || !op->isString()) {
    error(op ? op->pos : layer.pos,
          op ? "'op' must be the name of a torch.nn module or a block, but "
               "got " + op->describe()
             : std::string("layer is missing required key 'op'"));
    return;
  }
  const OpSpec *spec = lookupOp(op->text);
  auto blockIt = blocks.find(op->text);
  const BlockDef *block = blockIt == blocks.end() ? nullptr : &blockIt->second;

  std::string local = llvm::StringRef(op->text).lower() + "_" +
                      std::to_string(index);
  if (const YValue *n = layer.lookup("name")) {
    if (n->isString() && !n->text.empty())
      local = n->text;
    else
      error(n->pos, "'name' must be a non-empty string, but got " +
                        n->describe());
  }
  std::string fullName = scope.prefix + local;

  int64_t repeat = 1, repeatFrom = 0;
  const YValue *repeatNode = layer.lookup("repeat");
  const YValue *repeatFromNode = layer.lookup("repeat_from");
  if (repeatNode && (!repeatNode->isInt() || repeatNode->integer < 1 ||
                     repeatNode->integer > 100000)) {
    error(repeatNode->pos, "'repeat' must be an integer from 1 to 100000, but "
                           "got " + repeatNode->describe());
    repeatNode = nullptr;
  }
  if (repeatNode)
    repeat = repeatNode->integer;
  if (repeatFromNode) {
    if (!repeatFromNode->isInt() || repeatFromNode->integer < 0 ||
        repeatFromNode->integer > 100000)
      error(repeatFromNode->pos, "'repeat_from' must be a non-negative "
                                 "integer, but got " +
                                     repeatFromNode->describe());
    else if (!repeatNode)
      error(repeatFromNode->pos, "'repeat_from' needs 'repeat'");
    else
      repeatFrom = repeatFromNode->integer;
  }

  auto poisoned = [&]() {
    definePoisoned(local, fullName, layer.pos, scope);
  };

  if (!spec && !block && brokenBlocks.count(op->text)) {
    // The definition's error is the one to fix.
    poisoned();
    return;
  }
  if (!spec && !block) {
    std::vector<llvm::StringRef> candidates = opNames();
    for (const auto &b : blocks)
      candidates.push_back(b.first);
    std::string guess = nn::closestName(op->text, candidates);
    if (guess.empty())
      for (llvm::StringRef c : candidates)
        if (c.equals_insensitive(op->text))
          guess = c.str();
    error(op->pos, formatv("unknown op '{0}'", op->text),
          guess.empty() ? std::vector<Note>{}
                        : std::vector<Note>{
                              {op->pos, formatv("did you mean '{0}'?", guess)}});
    poisoned();
    return;
  }

  std::vector<unsigned> inputs;
  std::vector<SourcePos> inputPos;
  SourcePos fromPos;
  if (!resolveInputs(layer, spec, fullName, scope, later, previous, inputs,
                     inputPos, fromPos)) {
    poisoned();
    return;
  }

  LayerArgs args;
  bool argsOk = true;
  if (spec)
    argsOk = bindArguments(
        *spec, layer, reservedKeys, fullName,
        [&](SourcePos pos, const std::string &message,
            const std::vector<std::string> &notes) {
          std::vector<Note> located;
          for (const std::string &n : notes)
            located.push_back({pos, n});
          error(pos, message, located);
        },
        args);

  std::optional<unsigned> current = inputs.front();
  if (repeatNode)
    info.groups[fullName] = formatv("{0} x{1}", op->text, repeat);
  for (int64_t r = 0; r < repeat; ++r) {
    if (tooManyLayers(layer.pos)) {
      current = std::nullopt;
      break;
    }
    std::string instance = repeatNode
                               ? fullName + "." + std::to_string(repeatFrom + r)
                               : fullName;
    std::vector<unsigned> ins = inputs;
    std::vector<SourcePos> insPos = inputPos;
    if (r > 0) {
      ins = {*current};
      insPos = {layer.pos};
    }
    if (block) {
      info.groups[instance] = block->name;
      current = instantiateBlock(*block, layer, instance, ins.front(), scope);
      if (!current)
        break;
      if (repeatNode) // Each instance is readable by its full name.
        globalNames.try_emplace(instance, *current, layer.pos);
      continue;
    }
    if (!argsOk) {
      current = std::nullopt;
      break;
    }
    LayerDecl decl;
    decl.spec = spec;
    decl.name = instance;
    decl.node = &layer;
    decl.fromPos = fromPos;
    decl.inputs = ins;
    decl.inputPos = insPos;
    current = checkLayer(decl, args);
    if (repeatNode)
      globalNames.try_emplace(instance, *current, layer.pos);
  }
  if (!current) {
    poisoned();
    return;
  }
  if (defineName(local, fullName, *current, layer.pos, scope))
    scope.last = *current;
  else
    scope.last = *current;
}

bool Importer::tooManyLayers(SourcePos pos) {
  if (layerPos.size() < kMaxLayers)
    return false;
  if (!layerLimitReported)
    error(pos, formatv("the model expands to more than {0} layers, netc's "
                       "limit",
                       kMaxLayers));
  layerLimitReported = true;
  return true;
}

//===----------------------------------------------------------------------===//
// Outputs and the function
//===----------------------------------------------------------------------===//

void Importer::readOutputs(const YValue *outputs) {
  if (!outputs) {
    if (lastLayerValue) {
      outputValues.push_back(*lastLayerValue);
      info.outputs.push_back(values[*lastLayerValue].producer);
    } else {
      error(root->pos, "the model has no layers, so it has no output");
    }
    return;
  }
  std::vector<const YValue *> refs;
  if (outputs->isString())
    refs.push_back(outputs);
  else if (outputs->isSeq())
    for (const YValue &item : outputs->items)
      refs.push_back(&item);
  if (refs.empty()) {
    error(outputs->pos, "'outputs' must be a name or a non-empty list of "
                        "names, but got " + outputs->describe());
    return;
  }
  for (const YValue *ref : refs) {
    auto it = ref->isString() ? globalNames.find(ref->text) : globalNames.end();
    if (it == globalNames.end()) {
      std::vector<llvm::StringRef> known;
      for (const auto &n : globalNames)
        known.push_back(n.getKey());
      std::string guess =
          ref->isString() ? nn::closestName(ref->text, known) : "";
      error(ref->pos,
            ref->isString()
                ? formatv("'outputs' names undefined layer '{0}'", ref->text)
                      .str()
                : "'outputs' must list names, but got " + ref->describe(),
            guess.empty() ? std::vector<Note>{}
                          : std::vector<Note>{{ref->pos,
                                               formatv("did you mean '{0}'?",
                                                       guess)}});
      continue;
    }
    outputValues.push_back(it->second.first);
    info.outputs.push_back(ref->text);
  }
}

void Importer::warnUnreachable() {
  std::vector<bool> reached(values.size(), false);
  std::vector<unsigned> work(outputValues.begin(), outputValues.end());
  while (!work.empty()) {
    unsigned v = work.back();
    work.pop_back();
    if (reached[v])
      continue;
    reached[v] = true;
    int layer = values[v].layer;
    if (layer >= 0)
      for (unsigned in : layerInputs[layer])
        work.push_back(in);
  }
  const std::vector<Instantiation> *saved = currentStack;
  int savedId = currentStackId;
  currentStack = nullptr;
  for (unsigned v = 0; v < values.size(); ++v)
    if (values[v].layer >= 0 && !reached[v])
      warning(values[v].producerPos,
              formatv("layer '{0}' does not reach any output; it is checked "
                      "but not computed",
                      values[v].producer));
  currentStack = saved;
  currentStackId = savedId;
}

void Importer::finishFunction() {
  if (!building || errors)
    return;
  std::vector<mlir::Value> results;
  std::vector<mlir::Type> types;
  for (unsigned v : outputValues) {
    if (!values[v].value)
      return;
    results.push_back(values[v].value);
    types.push_back(values[v].value.getType());
  }
  builder.create<mlir::ReturnOp>(function.getLoc(), results);
  function.setType(
      builder.getFunctionType(function.getArgumentTypes(), types));
  // The verifiers re-check every layer with the same shape rules; a failure
  // here means the front end and the dialect disagree.
  if (failed(mlir::verify(*module)))
    ++errors;
}

mlir::OwningOpRef<mlir::ModuleOp>
netc::importNetwork(llvm::SourceMgr &sourceMgr, unsigned bufferId,
                    mlir::MLIRContext *context, const ImportOptions &options,
                    NetworkSummary *summary) {
  Importer importer(sourceMgr, bufferId, context, options);
  return importer.run(summary);
}
