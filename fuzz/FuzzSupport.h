//===- FuzzSupport.h - Helpers shared by netc's fuzz targets ----*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The tensor readers only take a path (netc::io has no from-memory entry
// point), so the fuzz targets write each input to a per-process scratch
// file, in /dev/shm when it exists so that no disk is involved. A failed
// oracle check aborts, which libFuzzer reports as a crash.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_FUZZ_FUZZSUPPORT_H
#define NETC_FUZZ_FUZZSUPPORT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace netc::fuzz {

/// Returns a scratch path unique to this process, ending in `suffix`.
inline std::string scratchPath(llvm::StringRef suffix) {
  const char *dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : nullptr;
  if (!dir)
    dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  return std::string(dir) + "/netc-fuzz-" + std::to_string(::getpid()) +
         suffix.str();
}

/// Replaces the contents of `path` with `size` bytes at `data`; aborts if
/// that fails (the harness, not netc, is broken then).
inline void writeScratch(const std::string &path, const uint8_t *data,
                         size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    done += size_t(n);
  }
  ::close(fd);
}

/// A scratch file that is removed when the process exits normally (libFuzzer
/// ends a -runs or -max_total_time session with exit(), which runs this).
class ScratchFile {
public:
  /// Creates the name of a scratch file ending in `suffix`.
  explicit ScratchFile(llvm::StringRef suffix) : path(scratchPath(suffix)) {}
  ~ScratchFile() { ::unlink(path.c_str()); }
  /// Replaces the file's contents with `size` bytes at `data`.
  void write(const uint8_t *data, size_t size) const {
    writeScratch(path, data, size);
  }
  /// The file's path.
  const std::string path;
};

/// Aborts with `message` when an oracle check fails.
[[noreturn]] inline void oracleFailure(const char *message) {
  llvm::errs() << "netc-fuzz: oracle failed: " << message << "\n";
  llvm::errs().flush();
  std::abort();
}

} // namespace netc::fuzz

#endif // NETC_FUZZ_FUZZSUPPORT_H
