//===- FileSupport.h - Shared helpers of the tensor files -------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// Private to lib/IO: a shorthand for making FileErrors.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_LIB_IO_FILESUPPORT_H
#define NETC_LIB_IO_FILESUPPORT_H

#include "netc/IO/TensorFile.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace netc::io {

/// Returns a FileError of `kind` about `path`.
inline llvm::Error makeFileError(FileError::Kind kind, llvm::StringRef path,
                                 const llvm::Twine &message) {
  return llvm::make_error<FileError>(kind, path, message);
}

/// Returns a Corrupt FileError about `path`.
inline llvm::Error makeCorrupt(llvm::StringRef path,
                               const llvm::Twine &message) {
  return makeFileError(FileError::Kind::Corrupt, path, message);
}

/// Returns `shape` as `[2, 3]` (`[]` for a scalar), for messages.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Returns `text` in single quotes with non-printable bytes escaped, for
/// messages that repeat what a file holds.
std::string quote(llvm::StringRef text);

/// Copies `count` little-endian float32 values from `src` (any alignment)
/// to `dst`.
void readLittleEndianFloats(const uint8_t *src, size_t count, float *dst);

/// Writes `values` to `os` as little-endian float32.
void writeLittleEndianFloats(llvm::raw_ostream &os,
                             llvm::ArrayRef<float> values);

} // namespace netc::io

#endif // NETC_LIB_IO_FILESUPPORT_H
