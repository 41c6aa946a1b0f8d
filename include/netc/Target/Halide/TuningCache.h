//===- TuningCache.h - Measured schedule choices ---------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The tuned schedule chooses a convolution's register tile, whether its
// reduction runs in chunks that stay in L1, and where its channel blocks
// loop, by rules measured on a few machines (ConvSchedule.cpp). `netc tune`
// measures the candidates of each convolution of a model on this machine
// and writes the fastest into a tuning cache; compiles given that cache
// (--tuning-cache, or NETC_TUNING_CACHE) take its choice instead of the
// rule's. A choice only changes the schedule, never what is computed, and
// `netc tune` checks each candidate's result against the rule's.
//
// An entry's key names everything the choice depends on: the convolution
// (channels, input size, kernel, stride, padding, dilation, groups), how
// its input and result are stored, the batch (1, or N for larger ones), the
// threads, the Halide target and the CPU (vendor, family, model); another
// machine, target or thread count looks its choices up under other keys.
// docs/Tuning.md has the format.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_TARGET_HALIDE_TUNINGCACHE_H
#define NETC_TARGET_HALIDE_TUNINGCACHE_H

#include "llvm/ADT/Optional.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace netc {
namespace halide {

/// Schedule choices by key, as `netc tune` writes them: one line per entry,
/// `KEY<TAB>CHOICE`; `#` starts a comment line.
class TuningCache {
public:
  /// Reads `path`. A line that is neither an entry nor a comment is
  /// skipped and its number (from 1) added to `badLines`; a file that
  /// cannot be read is an error.
  static llvm::Expected<TuningCache> load(llvm::StringRef path,
                                          std::vector<unsigned> &badLines);
  /// Prints the header, the comments load() read (other than a header) and
  /// every entry, in the format load() reads.
  void print(llvm::raw_ostream &os) const;

  llvm::Optional<std::string> lookup(llvm::StringRef key) const;
  void set(const std::string &key, const std::string &choice);

private:
  std::map<std::string, std::string> entries;
  std::vector<std::string> comments;
};

/// The choice that names netc's rule, whatever a later netc's rule is: what
/// `netc tune` writes when no candidate beat the rule.
inline constexpr const char *kRuleChoice = "rule";

/// The cache the tuned schedule reads, or none (netc's rules alone).
void setActiveTuningCache(std::shared_ptr<const TuningCache> cache);
std::shared_ptr<const TuningCache> activeTuningCache();

/// What `netc tune` learns from compiling one layer, and which candidate
/// the layer's convolution is to use. Tune compiles one kernel at a time.
struct TuningProbe {
  /// The candidate to schedule with (an index into `candidates`), or -1
  /// for the rule's choice.
  int force = -1;
  /// Set by the schedule: the convolution's key, or empty when it has no
  /// choices to tune.
  std::string key;
  /// Set by the schedule: every candidate's choice; the first is the rule's.
  std::vector<std::string> candidates;
  /// Set by the schedule: whether the kernel runs on a flat map
  /// (nn::KernelLayout::flatMap, which its key names too).
  bool flatMap = false;
};

/// Installs `probe` for the compiles that follow (null: none), on any
/// thread. While one is installed, the active cache is not read.
void setTuningProbe(TuningProbe *probe);
TuningProbe *tuningProbe();

/// This machine in a key: the CPU's vendor, family and model as Linux
/// reports them ("AuthenticAMD-26-2"; on AArch64 the implementer,
/// architecture and part), or "unknown-cpu".
std::string hostCPUKey();

} // namespace halide
} // namespace netc

#endif // NETC_TARGET_HALIDE_TUNINGCACHE_H
