//===- FileSupport.cpp - FileError and atomic writes ----------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements FileError, the element count of a shape, and the
// atomic writer both tensor formats use: a temporary file in the target's
// directory, synced, then renamed over the target.
//
//===----------------------------------------------------------------------===//

#include "FileSupport.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SwapByteOrder.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

#ifdef LLVM_ON_UNIX
#include <unistd.h>
#endif

using namespace netc::io;

char FileError::ID = 0;

FileError::FileError(Kind kind, const llvm::Twine &path,
                     const llvm::Twine &message)
    : kind(kind), path(path.str()), message(message.str()) {}

void FileError::log(llvm::raw_ostream &os) const {
  os << path << ": " << message;
}

std::error_code FileError::convertToErrorCode() const {
  return std::make_error_code(kind == Kind::Unreadable
                                  ? std::errc::io_error
                                  : std::errc::invalid_argument);
}

int64_t netc::io::getNumElements(llvm::ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t extent : shape)
    if (extent < 0 || __builtin_mul_overflow(count, extent, &count))
      return -1;
  return count;
}

std::string netc::io::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleaveComma(shape, os);
  os << ']';
  return text;
}

std::string netc::io::quote(llvm::StringRef text) {
  std::string quoted;
  llvm::raw_string_ostream os(quoted);
  os << '\'';
  llvm::printEscapedString(text, os);
  os << '\'';
  return quoted;
}

void netc::io::readLittleEndianFloats(const uint8_t *src, size_t count,
                                      float *dst) {
  // An empty tensor may have no storage at all: memcpy(nullptr, ..., 0) is
  // undefined behaviour.
  if (count == 0)
    return;
  if (llvm::sys::IsLittleEndianHost) {
    std::memcpy(dst, src, count * sizeof(float));
    return;
  }
  for (size_t i = 0; i < count; ++i)
    dst[i] = llvm::bit_cast<float>(
        llvm::support::endian::read32le(src + i * sizeof(float)));
}

void netc::io::writeLittleEndianFloats(llvm::raw_ostream &os,
                                       llvm::ArrayRef<float> values) {
  if (llvm::sys::IsLittleEndianHost) {
    os.write(reinterpret_cast<const char *>(values.data()),
             values.size() * sizeof(float));
    return;
  }
  for (float value : values) {
    char bytes[sizeof(float)];
    llvm::support::endian::write32le(bytes, llvm::bit_cast<uint32_t>(value));
    os.write(bytes, sizeof(bytes));
  }
}

/// Returns an Unreadable FileError saying that `what` failed because of `ec`.
static llvm::Error makeWriteError(llvm::StringRef path, llvm::StringRef what,
                                  std::error_code ec) {
  return makeFileError(FileError::Kind::Unreadable, path,
                       "cannot " + what + ": " + ec.message());
}

llvm::Error netc::io::writeFileAtomically(
    llvm::StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> write) {
  if (llvm::sys::fs::is_directory(path))
    return makeFileError(FileError::Kind::Unreadable, path,
                         "cannot write: the path is a directory");

  // The temporary file lives next to `path` so that the rename stays on one
  // file system and is atomic. TempFile removes it on a fatal signal.
  llvm::Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%%%");
  if (!temp)
    return makeWriteError(path, "create a temporary file",
                          llvm::errorToErrorCode(temp.takeError()));

  std::error_code ec;
  {
    llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    write(os);
    os.flush();
    ec = os.error();
    os.clear_error();
  }
#ifdef LLVM_ON_UNIX
  // Without the sync a crash right after the rename could leave the new name
  // pointing at a file whose data never reached the disk.
  if (!ec && ::fsync(temp->FD) != 0)
    ec = std::error_code(errno, std::generic_category());
#endif
  if (ec) {
    llvm::consumeError(temp->discard());
    return makeWriteError(path, "write '" + temp->TmpName + "'", ec);
  }
  if (llvm::Error err = temp->keep(path)) {
    ec = llvm::errorToErrorCode(std::move(err));
    llvm::consumeError(temp->discard());
    return makeWriteError(path, "rename the temporary file", ec);
  }
  return llvm::Error::success();
}
