//===- Subcommands.cpp - netc's subcommands -------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements check, summary, explain and the compile form on top
// of the front end: reading the file, choosing the diagnostic handler
// (text, JSON, SARIF, or the expected-* verifier for tests), splitting test
// files, and printing results.
//
//===----------------------------------------------------------------------===//

#include "netc/Driver/Subcommands.h"

#include "ModelLoading.h"

#include "netc/Dialect/NN/Analysis/ActivationLayout.h"
#include "netc/Dialect/NN/Analysis/Fusion.h"
#include "netc/Dialect/NN/Analysis/ValueNames.h"
#include "netc/Driver/DiagnosticFormats.h"
#include "netc/Frontend/YAMLImporter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/ToolUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <limits>
#include <map>
#include <set>

using namespace netc;
using llvm::formatv;

int netc::processModels(const NetcOptions &options, const ModelAction &action,
                        bool withErrors) {
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file =
      mlir::openInputFile(options.inputFile, &error);
  if (!file) {
    llvm::errs() << "netc: error: " << error << "\n";
    return ExitUsageError;
  }

  int status = ExitSuccess;
  std::vector<CollectedDiagnostic> collected;
  ImportOptions importOptions;
  importOptions.warningsAsErrors = options.warningsAsErrors;
  importOptions.modelFileName = options.inputFile;

  auto processChunk = [&](std::unique_ptr<llvm::MemoryBuffer> chunk,
                          llvm::raw_ostream &) -> mlir::LogicalResult {
    llvm::SourceMgr sourceMgr;
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(chunk), llvm::SMLoc());
    mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
    context.printOpOnDiagnostic(false);
    NetworkSummary summary;
    if (options.verifyDiagnostics) {
      mlir::SourceMgrDiagnosticVerifierHandler handler(sourceMgr, &context);
      (void)importNetwork(sourceMgr, id, &context, importOptions, &summary);
      return handler.verify();
    }
    mlir::OwningOpRef<mlir::ModuleOp> module;
    if (options.diagnosticsFormat == DiagnosticsFormat::Text) {
      mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
      module = importNetwork(sourceMgr, id, &context, importOptions, &summary);
    } else {
      CollectingDiagnosticHandler handler(&context);
      module = importNetwork(sourceMgr, id, &context, importOptions, &summary);
      collected.insert(collected.end(), handler.diagnostics().begin(),
                       handler.diagnostics().end());
    }
    if (!module) {
      status = std::max<int>(status, ExitModelError);
      if (withErrors)
        status = std::max(status, action(nullptr, summary));
      return mlir::success();
    }
    status = std::max(status, action(*module, summary));
    return mlir::success();
  };

  mlir::LogicalResult result =
      options.splitInputFile
          ? mlir::splitAndProcessBuffer(std::move(file), processChunk,
                                        llvm::outs())
          : processChunk(std::move(file), llvm::outs());
  if (options.diagnosticsFormat == DiagnosticsFormat::JSON)
    printJSONDiagnostics(collected, llvm::errs());
  else if (options.diagnosticsFormat == DiagnosticsFormat::SARIF)
    printSARIFDiagnostics(collected, llvm::errs());
  if (options.verifyDiagnostics)
    return mlir::succeeded(result) ? ExitSuccess : ExitModelError;
  return status;
}

/// Prints the IR (`--emit=mlir`), or the kernels that code generation
/// compiles, in the order they run, with the values each reads
/// (`--emit=kernels`); a value passed in channel blocks (the tuned
/// schedule's layout, nn::assignActivationLayouts) is marked `[16c]`.
static int maybeEmit(const NetcOptions &options, mlir::ModuleOp module) {
  if (options.emit == "mlir")
    module.print(llvm::outs());
  if (options.emit != "kernels")
    return ExitSuccess;
  for (mlir::FuncOp func : module.getOps<mlir::FuncOp>()) {
    std::vector<nn::FusedLayer> layers = nn::fuseLayers(func, !options.noFuse);
    std::vector<nn::KernelLayout> layouts =
        nn::assignActivationLayouts(func, layers);
    auto mark = [](int block) {
      return block ? " [" + std::to_string(block) + "c]" : std::string();
    };
    for (size_t l = 0; l < layers.size(); ++l) {
      std::vector<std::string> reads;
      for (size_t i = 0; i < layers[l].operands.size(); ++i)
        reads.push_back(nn::valueName(layers[l].operands[i]) +
                        mark(layouts[l].operandBlock(i)));
      llvm::outs() << layers[l].name() << mark(layouts[l].resultBlock)
                   << " <- " << llvm::join(reads, ", ") << "\n";
    }
  }
  return ExitSuccess;
}

int netc::runCheck(const NetcOptions &options) {
  return processModels(options,
                       [&](mlir::ModuleOp module, const NetworkSummary &) {
                         return maybeEmit(options, module);
                       });
}

//===----------------------------------------------------------------------===//
// summary
//===----------------------------------------------------------------------===//

static llvm::json::Value dimToJSON(const nn::Dim &d) {
  if (d.isKnown())
    return d.value();
  return d.str();
}

static llvm::json::Array shapeToJSON(llvm::ArrayRef<nn::Dim> shape) {
  llvm::json::Array a;
  for (const nn::Dim &d : shape)
    a.push_back(dimToJSON(d));
  return a;
}

/// a + b, or the largest int64_t where it would overflow: counts of layers
/// that each fit 64 bits can sum past them.
static int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum))
    return std::numeric_limits<int64_t>::max();
  return sum;
}

struct Totals {
  int64_t params = 0, buffers = 0;
  std::optional<int64_t> macs = 0;
};

static Totals totalsOf(const NetworkSummary &s) {
  Totals t;
  for (const LayerSummary &l : s.layers) {
    t.params = saturatingAdd(t.params, l.stats.params);
    t.buffers = saturatingAdd(t.buffers, l.stats.buffers);
    if (t.macs && l.stats.macs)
      t.macs = saturatingAdd(*t.macs, *l.stats.macs);
    else
      t.macs = std::nullopt;
  }
  return t;
}

/// The size of `params` float32 parameters in MB, exactly (1 MB = 10^6
/// bytes, so 6 decimal places are one byte): 112 -> "0.000448".
static std::string megabytes(int64_t params) {
  uint64_t n = params < 0 ? 0 - uint64_t(params) : uint64_t(params);
  uint64_t whole = n / 250000, bytes = n % 250000 * 4;
  std::string s = std::to_string(whole);
  if (bytes) {
    std::string frac = std::to_string(bytes);
    frac.insert(0, 6 - frac.size(), '0');
    s += "." + llvm::StringRef(frac).rtrim('0').str();
  }
  return params < 0 ? "-" + s : s;
}

static void printSummaryJSON(const NetworkSummary &s) {
  using namespace llvm::json;
  Array inputs, layers, outputs;
  for (const auto &[name, shape] : s.inputs)
    inputs.push_back(Object{{"name", name}, {"shape", shapeToJSON(shape)}});
  for (const LayerSummary &l : s.layers) {
    const nn::LayerStats &st = l.stats;
    layers.push_back(Object{
        {"name", l.name},
        {"op", l.op},
        {"shape", shapeToJSON(l.shape)},
        {"params", st.params},
        {"buffers", st.buffers},
        {"macs", st.macs ? Value(*st.macs) : Value(nullptr)},
        {"receptive_field",
         Array{st.receptiveField[0], st.receptiveField[1]}},
        {"jump", Array{st.jump[0], st.jump[1]}}});
  }
  for (const std::string &o : s.outputs)
    outputs.push_back(o);
  Totals t = totalsOf(s);
  Object root{{"name", s.name},
              {"inputs", std::move(inputs)},
              {"layers", std::move(layers)},
              {"outputs", std::move(outputs)},
              {"total_params", t.params},
              {"total_buffers", t.buffers},
              {"total_macs", t.macs ? Value(*t.macs) : Value(nullptr)}};
  // params_mb is written as a decimal with at most 6 places (one byte): a
  // double would print as 0.00044799999999999999.
  std::vector<std::string> keys;
  for (const auto &entry : root)
    keys.push_back(entry.first.str());
  keys.push_back("params_mb");
  llvm::sort(keys);
  OStream out(llvm::outs(), 2);
  out.object([&] {
    for (const std::string &key : keys) {
      if (key != "params_mb") {
        out.attribute(key, std::move(*root.get(key)));
        continue;
      }
      out.attributeBegin(key);
      out.rawValue([&](llvm::raw_ostream &os) { os << megabytes(t.params); });
      out.attributeEnd();
    }
  });
  llvm::outs() << "\n";
}

/// 1234567 -> "1,234,567".
static std::string withCommas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

/// 4110000000 -> "4.11G".
static std::string humanCount(std::optional<int64_t> n) {
  if (!n)
    return "?";
  double v = double(*n);
  const char *suffix[] = {"", "K", "M", "G", "T"};
  unsigned i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  return i == 0 ? std::to_string(*n) : formatv("{0:f2}{1}", v, suffix[i]).str();
}

/// The dotted prefixes of `name`: "a.b.c" -> "a", "a.b".
static std::vector<std::string> groupPrefixes(llvm::StringRef name) {
  std::vector<std::string> prefixes;
  for (size_t dot = name.find('.'); dot != llvm::StringRef::npos;
       dot = name.find('.', dot + 1))
    prefixes.push_back(name.take_front(dot).str());
  return prefixes;
}

/// A group of the name hierarchy (a block instance, a repeat, a dotted
/// prefix) as one summary row: its output is its last layer's, its counts
/// are its layers' sums.
struct GroupRow {
  const LayerSummary *last = nullptr;
  int64_t params = 0;
  std::optional<int64_t> macs = 0;
};

static void printSummaryTable(const NetworkSummary &s, unsigned depth) {
  struct Row {
    std::string cells[6];
  };
  auto receptiveField = [](const nn::LayerStats &st) {
    return formatv("{0}x{1}", st.receptiveField[0], st.receptiveField[1])
        .str();
  };
  std::map<std::string, GroupRow> groups;
  for (const LayerSummary &l : s.layers)
    for (const std::string &prefix : groupPrefixes(l.name)) {
      GroupRow &g = groups[prefix];
      g.last = &l;
      g.params = saturatingAdd(g.params, l.stats.params);
      g.macs = g.macs && l.stats.macs
                   ? std::optional<int64_t>(saturatingAdd(*g.macs, *l.stats.macs))
                   : std::nullopt;
    }

  // Rows in file order: a group's row comes before its first layer, each
  // level indented by two spaces. Groups at `depth` are folded: one row
  // with their sums; a group above it is a heading ("--": its layers
  // below carry the counts).
  std::vector<Row> rows;
  rows.push_back({{"Layer", "Op", "Output shape", "Params", "MACs", "RF"}});
  std::set<std::string> shown;
  for (const LayerSummary &l : s.layers) {
    std::vector<std::string> prefixes = groupPrefixes(l.name);
    for (size_t k = 0; k < prefixes.size(); ++k) {
      unsigned level = k + 1;
      if ((depth && level > depth) || !shown.insert(prefixes[k]).second)
        continue;
      const GroupRow &g = groups[prefixes[k]];
      auto op = s.groups.find(prefixes[k]);
      bool folded = depth && level == depth;
      rows.push_back(
          {{std::string(2 * k, ' ') + prefixes[k],
            op == s.groups.end() ? std::string("-") : op->second,
            nn::formatShape(g.last->shape),
            folded ? withCommas(g.params) : std::string("--"),
            folded ? humanCount(g.macs) : std::string("--"),
            receptiveField(g.last->stats)}});
    }
    if (depth && prefixes.size() + 1 > depth)
      continue;
    rows.push_back({{std::string(2 * prefixes.size(), ' ') + l.name, l.op,
                     nn::formatShape(l.shape), withCommas(l.stats.params),
                     humanCount(l.stats.macs), receptiveField(l.stats)}});
  }
  size_t width[6] = {0};
  for (const Row &r : rows)
    for (unsigned c = 0; c < 6; ++c)
      width[c] = std::max(width[c], r.cells[c].size());
  auto rule = [&] {
    size_t total = 0;
    for (size_t w : width)
      total += w + 2;
    llvm::outs() << std::string(total - 2, '-') << "\n";
  };
  llvm::outs() << "Model '" << s.name << "'";
  for (const auto &[name, shape] : s.inputs)
    llvm::outs() << formatv(", input '{0}' {1}", name, nn::formatShape(shape));
  llvm::outs() << "\n";
  rule();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row &r = rows[i];
    for (unsigned c = 0; c < 6; ++c) {
      // Numbers are right-aligned, text left-aligned.
      bool right = c >= 3;
      std::string pad(width[c] - r.cells[c].size(), ' ');
      llvm::outs() << (right ? pad + r.cells[c] : r.cells[c] + pad)
                   << (c < 5 ? "  " : "");
    }
    llvm::outs() << "\n";
    if (i == 0)
      rule();
  }
  rule();
  Totals t = totalsOf(s);
  llvm::outs() << formatv("Total params: {0} ({1:f2} MB as float32)\n",
                          withCommas(t.params), double(t.params) * 4 / 1e6);
  if (t.buffers)
    llvm::outs() << formatv("Buffers (running statistics): {0}\n",
                            withCommas(t.buffers));
  llvm::outs() << formatv("MACs per sample: {0} ({1} FLOPs)\n",
                          humanCount(t.macs),
                          humanCount(t.macs ? std::optional<int64_t>(
                                                  *t.macs * 2)
                                            : std::nullopt));
  llvm::outs() << "Outputs: ";
  llvm::interleave(s.outputs, llvm::outs(), ", ");
  llvm::outs() << "\n";
}

int netc::runSummary(const NetcOptions &options) {
  return processModels(options,
                       [&](mlir::ModuleOp, const NetworkSummary &summary) {
                         if (options.json)
                           printSummaryJSON(summary);
                         else
                           printSummaryTable(summary, options.depth);
                         return ExitSuccess;
                       });
}

//===----------------------------------------------------------------------===//
// explain
//===----------------------------------------------------------------------===//

/// Prints what `netc explain` knows of one layer: its problems first (a
/// layer with errors is explained as far as it could be checked), then
/// shapes, PyTorch's formulas with its numbers, tensors and counts.
static void printExplanation(llvm::StringRef file,
                             const NetworkSummary &summary,
                             const LayerSummary &layer) {
  const nn::LayerStats &st = layer.stats;
  llvm::raw_ostream &os = llvm::outs();
  os << formatv("layer '{0}' ({1}) at {2}:{3}:{4}\n", layer.name, layer.op,
                file, layer.line, layer.column);
  if (layer.instantiation >= 0)
    for (const auto &[text, line] :
         summary.instantiations[size_t(layer.instantiation)])
      os << formatv("  {0}, line {1}\n", text, line);
  for (const std::string &p : layer.problems)
    os << "  " << p << "\n";
  os << "  input:  " << nn::formatShape(layer.inputShape) << "\n";
  os << "  output: "
     << (layer.shape.empty() ? std::string("unknown until the errors above "
                                           "are fixed")
                             : nn::formatShape(layer.shape))
     << "\n";
  for (const std::string &f : layer.formulas)
    os << "  " << f << "\n";
  for (const std::string &t : layer.tensors)
    os << "  " << t << "\n";
  os << formatv("  params: {0}\n", withCommas(st.params));
  if (st.buffers)
    os << formatv("  buffers: {0}\n", withCommas(st.buffers));
  os << formatv("  receptive field: {0}x{1}; stride so far (jump): "
                "{2}x{3}\n",
                st.receptiveField[0], st.receptiveField[1], st.jump[0],
                st.jump[1]);
  os << formatv("  MACs per sample: {0}\n",
                st.macs ? withCommas(*st.macs)
                        : std::string("depends on a symbolic size"));
}

int netc::runExplain(const NetcOptions &options) {
  return processModels(
      options,
      [&](mlir::ModuleOp, const NetworkSummary &summary) {
        const LayerSummary *layer = nullptr;
        std::vector<llvm::StringRef> names;
        for (const LayerSummary &l : summary.layers) {
          names.push_back(l.name);
          if (l.name == options.layer)
            layer = &l;
        }
        if (!layer) {
          llvm::errs() << formatv("netc: error: the model has no layer '{0}'",
                                  options.layer);
          std::string guess = nn::closestName(options.layer, names);
          if (!guess.empty())
            llvm::errs() << formatv("; did you mean '{0}'?", guess);
          llvm::errs() << "\n";
          return ExitUsageError;
        }
        printExplanation(options.inputFile, summary, *layer);
        return ExitSuccess;
      },
      /*withErrors=*/true);
}
