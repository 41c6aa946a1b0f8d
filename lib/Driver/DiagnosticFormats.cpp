//===- DiagnosticFormats.cpp - Machine-readable diagnostics ---------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the JSON and SARIF diagnostic outputs with LLVM's
// JSON writer.
//
//===----------------------------------------------------------------------===//

#include "netc/Driver/DiagnosticFormats.h"

#include "netc/Driver/Version.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/JSON.h"

using namespace netc;
namespace json = llvm::json;

static const char *severityName(mlir::DiagnosticSeverity s) {
  switch (s) {
  case mlir::DiagnosticSeverity::Error:
    return "error";
  case mlir::DiagnosticSeverity::Warning:
    return "warning";
  case mlir::DiagnosticSeverity::Note:
    return "note";
  case mlir::DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

/// The file position inside `loc` (through names and fusions), or null.
static mlir::FileLineColLoc filePosition(mlir::Location loc) {
  if (auto file = loc.dyn_cast<mlir::FileLineColLoc>())
    return file;
  if (auto name = loc.dyn_cast<mlir::NameLoc>())
    return filePosition(name.getChildLoc());
  if (auto fused = loc.dyn_cast<mlir::FusedLoc>())
    for (mlir::Location inner : fused.getLocations())
      if (mlir::FileLineColLoc file = filePosition(inner))
        return file;
  return {};
}

static CollectedDiagnostic collect(const mlir::Diagnostic &diag) {
  CollectedDiagnostic c;
  c.severity = severityName(diag.getSeverity());
  // JSON strings must be UTF-8; the front end rejects other input, and this
  // keeps any byte that still gets through (a file name, say) from
  // breaking the JSON writer.
  c.message = llvm::json::fixUTF8(diag.str());
  if (mlir::FileLineColLoc loc = filePosition(diag.getLocation())) {
    c.file = llvm::json::fixUTF8(loc.getFilename().strref());
    c.line = loc.getLine();
    c.column = loc.getColumn();
  }
  for (const mlir::Diagnostic &note : diag.getNotes())
    c.notes.push_back(collect(note));
  return c;
}

CollectingDiagnosticHandler::CollectingDiagnosticHandler(
    mlir::MLIRContext *ctx)
    : ScopedDiagnosticHandler(ctx) {
  setHandler([this](mlir::Diagnostic &diag) {
    collected.push_back(collect(diag));
    return mlir::success();
  });
}

static json::Object toJSON(const CollectedDiagnostic &d) {
  json::Array notes;
  for (const CollectedDiagnostic &n : d.notes)
    notes.push_back(toJSON(n));
  return json::Object{{"severity", d.severity}, {"file", d.file},
                      {"line", int64_t(d.line)}, {"column", int64_t(d.column)},
                      {"message", d.message}, {"notes", std::move(notes)}};
}

void netc::printJSONDiagnostics(llvm::ArrayRef<CollectedDiagnostic> diags,
                                llvm::raw_ostream &os) {
  json::Array all;
  for (const CollectedDiagnostic &d : diags)
    all.push_back(toJSON(d));
  os << llvm::formatv("{0:2}", json::Value(std::move(all))) << "\n";
}

static json::Object sarifLocation(const CollectedDiagnostic &d) {
  json::Object region{{"startLine", int64_t(d.line)},
                      {"startColumn", int64_t(d.column)}};
  return json::Object{
      {"physicalLocation",
       json::Object{{"artifactLocation", json::Object{{"uri", d.file}}},
                    {"region", std::move(region)}}}};
}

void netc::printSARIFDiagnostics(llvm::ArrayRef<CollectedDiagnostic> diags,
                                 llvm::raw_ostream &os) {
  json::Array results;
  for (const CollectedDiagnostic &d : diags) {
    json::Array related;
    for (const CollectedDiagnostic &n : d.notes) {
      json::Object loc = sarifLocation(n);
      loc["message"] = json::Object{{"text", n.message}};
      related.push_back(std::move(loc));
    }
    json::Object result{
        {"ruleId", d.severity == "warning" ? "netc-warning" : "netc-error"},
        {"level", d.severity == "remark" ? "note" : d.severity},
        {"message", json::Object{{"text", d.message}}},
        {"locations", json::Array{sarifLocation(d)}}};
    if (!related.empty())
      result["relatedLocations"] = std::move(related);
    results.push_back(std::move(result));
  }
  json::Object driver{{"name", "netc"},
                      {"version", NETC_VERSION}
                      };
  json::Object log{
      {"version", "2.1.0"},
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"runs", json::Array{json::Object{
                   {"tool", json::Object{{"driver", std::move(driver)}}},
                   {"results", std::move(results)}}}}};
  os << llvm::formatv("{0:2}", json::Value(std::move(log))) << "\n";
}
