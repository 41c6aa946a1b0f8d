//===- TensorFile.h - Read and write .npy and safetensors -------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The tensor files netc reads and writes: NumPy's .npy (the inputs and
// outputs of `netc run`) and safetensors (the weights, named as in a PyTorch
// state_dict). Readers validate every byte they use and never read out of
// bounds; writers replace the destination atomically.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_IO_TENSORFILE_H
#define NETC_IO_TENSORFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace netc::io {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// The error every function here returns, so that the driver can pick the
/// exit code from its kind: `Unreadable` and `Corrupt` are file problems
/// (exit 2); `WrongType` is a well-formed file whose tensor has an element
/// type or layout netc does not take, which for weights is a "wrongly typed
/// tensor" model error (exit 1). Detect it with
/// `llvm::handleErrors(std::move(err), [](const FileError &e) {...})`.
class FileError : public llvm::ErrorInfo<FileError> {
public:
  /// What went wrong.
  enum class Kind {
    /// The file cannot be opened, read, created or renamed; the message
    /// carries the operating system's reason.
    Unreadable,
    /// The bytes break the format: bad magic, malformed header, offsets or
    /// sizes that do not match the data, trailing bytes.
    Corrupt,
    /// The file is well formed, but the tensor is not float32 in C order
    /// (for example a '<f8' .npy, or readFloat on an I64 tensor).
    WrongType,
  };

  /// The identifier `llvm::ErrorInfo` uses in place of RTTI.
  static char ID;

  /// Creates an error about the file at `path`; `message` follows LLVM's
  /// diagnostic wording (lower-case first word, no trailing period).
  FileError(Kind kind, const llvm::Twine &path, const llvm::Twine &message);

  /// Returns what went wrong.
  Kind getKind() const { return kind; }
  /// Returns the path of the file the error is about.
  llvm::StringRef getPath() const { return path; }
  /// Returns the message without the path.
  llvm::StringRef getMessage() const { return message; }

  /// Prints `<path>: <message>`.
  void log(llvm::raw_ostream &os) const override;
  /// Returns `errc::io_error` for Unreadable and `errc::invalid_argument`
  /// otherwise (for callers that only take `std::error_code`).
  std::error_code convertToErrorCode() const override;

private:
  /// What went wrong.
  Kind kind;
  /// The file the error is about.
  std::string path;
  /// The message, without the path.
  std::string message;
};

//===----------------------------------------------------------------------===//
// Tensors and .npy
//===----------------------------------------------------------------------===//

/// A float32 tensor in C (row-major) order. A shape of `{}` is a scalar with
/// one element; `data.size()` is the product of `shape`.
struct Tensor {
  /// The extent of each dimension, outermost first.
  std::vector<int64_t> shape;
  /// The elements in row-major order.
  std::vector<float> data;
};

/// Returns the number of elements of `shape` (1 for `{}`), or -1 if an
/// extent is negative or the product overflows int64_t.
int64_t getNumElements(llvm::ArrayRef<int64_t> shape);

/// Reads a .npy file of format version 1.0, 2.0 or 3.0. Accepts only
/// little-endian float32 (`'<f4'`) in C order; any other dtype, or
/// `fortran_order: True`, is a WrongType error naming what was found. The
/// magic, version, header length and header dict (exactly the keys `descr`,
/// `fortran_order` and `shape`, in Python literal syntax) are checked
/// strictly, as are the shape (a tuple of non-negative integers whose product
/// fits in 64 bits) and the data size, which must match exactly: trailing
/// bytes are a Corrupt error. Never reads out of bounds.
llvm::Expected<Tensor> readNpy(llvm::StringRef path);

/// Writes `t` to `path` as a version 1.0 .npy (`'<f4'`, C order; version 2.0
/// if the shape is too long for a 1.0 header) atomically: into a temporary
/// file in the same directory, then renamed over `path`, so an interrupted
/// write never leaves a half-written file. Returns an error if `path` is a
/// directory, if `t.data` does not hold the product of `t.shape` elements,
/// or if the file cannot be written.
llvm::Error writeNpy(llvm::StringRef path, const Tensor &t);

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

/// One tensor in a safetensors file.
struct SafeTensorEntry {
  /// The safetensors dtype name: F64, F32, F16, BF16, I64, I32, I16, I8, U8
  /// or BOOL.
  std::string dtype;
  /// The extent of each dimension, outermost first.
  std::vector<int64_t> shape;
  /// The byte range [begin, end) of the data, relative to the data section
  /// (which starts right after the JSON header).
  uint64_t begin = 0, end = 0;
};

/// A validated safetensors file. The whole file stays in memory (mapped when
/// large) for as long as this object lives.
class SafeTensorsFile {
public:
  /// Reads and validates `path`: the 8-byte little-endian header size N
  /// (N <= file size - 8 and N <= 100 MB), a UTF-8 JSON object mapping each
  /// tensor name to `{dtype, shape, data_offsets: [begin, end]}` plus an
  /// optional `__metadata__` object of strings. The dtype must be a
  /// safetensors name; the shape a list of non-negative integers; each data
  /// range within the data section with begin <= end and end - begin equal
  /// to the element count times the dtype size (overflow-checked); the
  /// ranges must not overlap and must cover the data section without gaps.
  /// Any violation is a Corrupt error naming the tensor and the field. A
  /// repeated name keeps its last entry (as llvm::json does), so the bytes
  /// of the earlier one are reported as a gap.
  static llvm::Expected<SafeTensorsFile> read(llvm::StringRef path);

  /// Returns the tensor names, sorted.
  std::vector<std::string> names() const;

  /// Returns the entry named `name`, or null if there is none.
  const SafeTensorEntry *lookup(llvm::StringRef name) const;

  /// Returns the `__metadata__` map (empty when the file has none).
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }

  /// Returns the raw little-endian bytes of the tensor `name`, or an empty
  /// reference if there is no such tensor.
  llvm::ArrayRef<uint8_t> rawData(llvm::StringRef name) const;

  /// Returns the tensor `name` as float32: F32 is copied, F16, BF16 and F64
  /// are converted (F16 and BF16 exactly, F64 rounded to nearest, even on a
  /// tie, with values beyond float's range becoming infinities). Returns a
  /// WrongType error for integer and BOOL tensors and a Corrupt error if
  /// there is no tensor `name`.
  llvm::Expected<Tensor> readFloat(llvm::StringRef name) const;

  /// Returns the size in bytes of one element of the safetensors dtype
  /// `dtype`, or 0 if `dtype` is not one.
  static unsigned getDTypeSize(llvm::StringRef dtype);

private:
  SafeTensorsFile() = default;

  /// Parses the JSON header and validates every entry (see read()).
  llvm::Error parseHeader(llvm::StringRef json, uint64_t dataSize);
  /// Checks that the data ranges neither overlap nor leave gaps.
  llvm::Error checkCoverage(uint64_t dataSize) const;

  /// The path the file was read from, for messages.
  std::string path;
  /// The whole file.
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  /// Where the data section starts in `buffer`.
  uint64_t dataStart = 0;
  /// The tensors, sorted by name.
  std::vector<std::pair<std::string, SafeTensorEntry>> entries;
  /// The `__metadata__` map.
  std::map<std::string, std::string> metadataMap;
};

/// Writes `tensors` (name and tensor, in that order in the data section) as
/// an F32 safetensors file, atomically like writeNpy(). Returns an error if a
/// name is repeated, empty, `__metadata__` or not UTF-8, if a tensor's data
/// does not match its shape, or if the file cannot be written.
llvm::Error writeSafeTensors(
    llvm::StringRef path,
    llvm::ArrayRef<std::pair<std::string, const Tensor *>> tensors);

/// Writes the bytes `write` produces to a temporary file next to `path`,
/// flushes it to disk and renames it over `path`, so `path` is either left
/// as it was or holds the whole new contents. The temporary file is removed
/// on failure and on a fatal signal. Returns an Unreadable FileError if
/// `path` is a directory or a step fails. The tensor files and the tuning
/// cache are written so.
llvm::Error
writeFileAtomically(llvm::StringRef path,
                    llvm::function_ref<void(llvm::raw_ostream &)> write);

} // namespace netc::io

#endif // NETC_IO_TENSORFILE_H
