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
#include "llvm/Support/MemoryBuffer.h"

#include <atomic>
#include <fstream>
#include <mutex>

using namespace netc;
using namespace netc::halide;

/// The first line TuningCache::print writes.
static constexpr llvm::StringLiteral kHeader =
    "# netc tuning cache: KEY<TAB>CHOICE per line, written by `netc tune` "
    "(docs/Tuning.md)";

llvm::Expected<TuningCache> TuningCache::load(llvm::StringRef path,
                                              std::vector<unsigned> &badLines) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(
        buffer.getError(),
        ("cannot read '" + path + "': " + buffer.getError().message()).str());
  TuningCache cache;
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    llvm::StringRef line = lines[i].rtrim("\r");
    if (line.trim().empty())
      continue;
    if (line.ltrim().startswith("#")) {
      if (line.trim() != kHeader)
        cache.comments.push_back(line.trim().str());
      continue;
    }
    auto [key, choice] = line.split('\t');
    key = key.trim();
    choice = choice.trim();
    if (key.empty() || choice.empty() || choice.contains('\t')) {
      badLines.push_back(unsigned(i + 1));
      continue;
    }
    cache.entries[key.str()] = choice.str();
  }
  return cache;
}

void TuningCache::print(llvm::raw_ostream &os) const {
  os << kHeader << '\n';
  for (const std::string &comment : comments)
    os << comment << '\n';
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

std::shared_ptr<const TuningCache> halide::activeTuningCache() {
  std::lock_guard<std::mutex> lock(activeMutex);
  return activeCache;
}

static std::atomic<TuningProbe *> currentProbe{nullptr};

void halide::setTuningProbe(TuningProbe *probe) { currentProbe = probe; }
TuningProbe *halide::tuningProbe() { return currentProbe; }

/// Reads /proc/cpuinfo for hostCPUKey.
static std::string readCPUKey() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, vendor, family, model;
  while (std::getline(cpuinfo, line)) {
    auto [name, value] = llvm::StringRef(line).split(':');
    name = name.trim();
    value = value.trim();
    if ((name == "vendor_id" || name == "CPU implementer") && vendor.empty())
      vendor = value.str();
    else if ((name == "cpu family" || name == "CPU architecture") &&
             family.empty())
      family = value.str();
    else if ((name == "model" || name == "CPU part") && model.empty())
      model = value.str();
    if (!vendor.empty() && !family.empty() && !model.empty())
      return vendor + "-" + family + "-" + model;
  }
  return "unknown-cpu";
}

std::string halide::hostCPUKey() {
  // Read once: every convolution's key asks for it.
  static const std::string key = readCPUKey();
  return key;
}
