//===- TuningCache.cpp - Schedule choices measured on this machine --------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the tuning cache's file format, the active cache and
// the probe `netc tune` installs, and the CPU part of a key.
//
//===----------------------------------------------------------------------===//

#include "netc/Target/Halide/TuningCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <fstream>
#include <mutex>

using namespace netc;
using namespace netc::halide;

llvm::Expected<TuningCache>
TuningCache::load(llvm::StringRef path, std::vector<std::string> &warnings) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read '%s': %s",
                                   path.str().c_str(),
                                   buffer.getError().message().c_str());
  TuningCache cache;
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    llvm::StringRef line = lines[i].rtrim("\r");
    if (line.trim().empty() || line.ltrim().startswith("#"))
      continue;
    auto [key, choice] = line.split('\t');
    key = key.trim();
    choice = choice.trim();
    if (key.empty() || choice.empty() || choice.contains('\t')) {
      warnings.push_back(llvm::formatv("{0}:{1}: not a tuning cache entry "
                                       "(KEY<TAB>CHOICE); line skipped",
                                       path, i + 1));
      continue;
    }
    cache.entries[key.str()] = choice.str();
  }
  return cache;
}

void TuningCache::print(llvm::raw_ostream &os) const {
  os << "# netc tuning cache: KEY<TAB>CHOICE per line, written by `netc "
        "tune` (docs/Tuning.md)\n";
  for (const auto &[key, choice] : entries)
    os << key << '\t' << choice << '\n';
}

llvm::Optional<std::string> TuningCache::lookup(llvm::StringRef key) const {
  auto it = entries.find(key.str());
  if (it == entries.end())
    return llvm::None;
  return it->second;
}

void TuningCache::set(const std::string &key, const std::string &choice) {
  entries[key] = choice;
}

static std::mutex activeMutex;
static std::shared_ptr<const TuningCache> activeCache;

void halide::setActiveTuningCache(std::shared_ptr<const TuningCache> cache) {
  std::lock_guard<std::mutex> lock(activeMutex);
  activeCache = std::move(cache);
}

const TuningCache *halide::activeTuningCache() {
  std::lock_guard<std::mutex> lock(activeMutex);
  return activeCache.get();
}

static thread_local TuningProbe *currentProbe = nullptr;

void halide::setTuningProbe(TuningProbe *probe) { currentProbe = probe; }
TuningProbe *halide::tuningProbe() { return currentProbe; }

std::string halide::hostCPUKey() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, vendor, family, model;
  while (std::getline(cpuinfo, line)) {
    auto [name, value] = llvm::StringRef(line).split(':');
    name = name.trim();
    value = value.trim();
    if (name == "vendor_id" && vendor.empty())
      vendor = value.str();
    else if (name == "cpu family" && family.empty())
      family = value.str();
    else if (name == "model" && model.empty())
      model = value.str();
    if (!vendor.empty() && !family.empty() && !model.empty())
      return vendor + "-" + family + "-" + model;
  }
  return "unknown-cpu";
}
