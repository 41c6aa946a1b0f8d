//===- IOTestUtils.h - Helpers of the tensor-file tests ---------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// A fixture with a temporary directory for the files the tests write, byte
// builders for hand-made .npy and safetensors files, and a matcher for the
// FileErrors the readers return.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_TEST_UNIT_IOTESTUTILS_H
#define NETC_TEST_UNIT_IOTESTUTILS_H

#include "netc/IO/TensorFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <string>

namespace netc::io::test {

/// A test with its own temporary directory, removed afterwards.
class TempDirTest : public ::testing::Test {
protected:
  /// Creates the temporary directory.
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("netc-io-test", dir));
  }
  /// Removes the temporary directory and everything in it.
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  /// Returns the path of `name` inside the temporary directory.
  std::string pathTo(llvm::StringRef name) const {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  }

  /// Writes `bytes` to `name` in the temporary directory; returns its path.
  std::string writeBytes(llvm::StringRef name, llvm::StringRef bytes) const {
    std::string path = pathTo(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    EXPECT_FALSE(ec) << ec.message();
    os << bytes;
    return path;
  }

  /// Returns the names of the files in the temporary directory.
  std::vector<std::string> listDir() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec))
      names.push_back(llvm::sys::path::filename(it->path()).str());
    llvm::sort(names);
    return names;
  }

  /// The temporary directory.
  llvm::SmallString<128> dir;
};

/// Returns `values` as little-endian float32 bytes.
inline std::string floatBytes(std::initializer_list<float> values) {
  std::string bytes;
  for (float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    char le[4];
    llvm::support::endian::write32le(le, bits);
    bytes.append(le, 4);
  }
  return bytes;
}

/// Returns a .npy file of format version `major`.0 with header dict `dict`
/// (a '\n' is appended) followed by `data`.
inline std::string npyBytes(llvm::StringRef dict, llvm::StringRef data,
                            unsigned major = 1) {
  std::string header = dict.str() + "\n";
  std::string bytes = "\x93NUMPY";
  bytes += char(major);
  bytes += char(0);
  char length[4];
  llvm::support::endian::write32le(length, uint32_t(header.size()));
  bytes.append(length, major == 1 ? 2 : 4);
  return bytes + header + data.str();
}

/// Returns the dict numpy writes for a float32 C-order array of `shape`
/// (Python tuple syntax, such as "(2, 3)").
inline std::string npyDict(llvm::StringRef shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape.str() +
         ", }";
}

/// Returns a safetensors file with JSON header `json` and data `data`.
inline std::string safeTensorsBytes(llvm::StringRef json,
                                    llvm::StringRef data) {
  char size[8];
  llvm::support::endian::write64le(size, json.size());
  return std::string(size, 8) + json.str() + data.str();
}

/// Checks that `err` is a FileError of `kind` whose message contains
/// `substring`; consumes `err`.
inline ::testing::AssertionResult
isFileError(llvm::Error err, FileError::Kind kind, llvm::StringRef substring) {
  if (!err)
    return ::testing::AssertionFailure() << "expected an error, got success";
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  llvm::handleAllErrors(
      std::move(err),
      [&](const FileError &e) {
        if (e.getKind() != kind)
          result = ::testing::AssertionFailure()
                   << "wrong kind " << int(e.getKind()) << ": "
                   << e.getMessage().str();
        else if (!e.getMessage().contains(substring))
          result = ::testing::AssertionFailure()
                   << "message '" << e.getMessage().str() << "' lacks '"
                   << substring.str() << "'";
      },
      [&](const llvm::ErrorInfoBase &e) {
        result = ::testing::AssertionFailure()
                 << "not a FileError: " << e.message();
      });
  return result;
}

/// Like the other isFileError, for the error of `value`.
template <typename T>
::testing::AssertionResult isFileError(llvm::Expected<T> value,
                                       FileError::Kind kind,
                                       llvm::StringRef substring) {
  return isFileError(value.takeError(), kind, substring);
}

/// The kinds, spelled short for the tests.
constexpr FileError::Kind corrupt = FileError::Kind::Corrupt;
constexpr FileError::Kind unreadable = FileError::Kind::Unreadable;
constexpr FileError::Kind wrongType = FileError::Kind::WrongType;

} // namespace netc::io::test

#endif // NETC_TEST_UNIT_IOTESTUTILS_H
