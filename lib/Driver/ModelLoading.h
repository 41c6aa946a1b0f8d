//===- ModelLoading.h - Read and check models for a subcommand --*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The common start of every subcommand: read the file (exit 2 if it cannot
// be read), check the model with the chosen diagnostic format, and hand a
// clean model to the subcommand. Private to lib/Driver.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_DRIVER_MODELLOADING_H
#define NETC_LIB_DRIVER_MODELLOADING_H

#include "netc/Driver/Subcommands.h"
#include "netc/Frontend/YAMLImporter.h"

#include <functional>

namespace netc {

/// What a subcommand does with a model that checked cleanly; returns the
/// exit status.
using ModelAction =
    std::function<int(mlir::ModuleOp, const NetworkSummary &)>;

/// Reads and checks `options.inputFile` (each split of it with
/// --split-input-file) and runs `action` on each clean model, and with
/// `withErrors` also on a model with errors (with a null module and the
/// summary as far as it could be checked). Returns the exit status, at
/// least 1 for a model with errors.
int processModels(const NetcOptions &options, const ModelAction &action,
                  bool withErrors = false);

} // namespace netc

#endif // NETC_LIB_DRIVER_MODELLOADING_H
