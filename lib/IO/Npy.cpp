//===- Npy.cpp - Read and write NumPy .npy files --------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements readNpy and writeNpy. The header is a Python dict
// literal; it is parsed by a small strict parser that accepts what numpy
// writes (any spacing, a trailing comma) and nothing it could not have
// written, so a damaged header is reported instead of guessed at.
//
//===----------------------------------------------------------------------===//

#include "FileSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <limits>

using namespace netc::io;

/// The six bytes every .npy file starts with.
static constexpr llvm::StringLiteral npyMagic("\x93NUMPY");

namespace {

/// The three entries of a .npy header.
struct NpyHeader {
  /// The dtype, such as '<f4'.
  std::string descr;
  /// Whether the data is in Fortran (column-major) order.
  bool fortranOrder = false;
  /// The extent of each dimension.
  std::vector<int64_t> shape;
};

/// A strict parser of the header dict, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
/// Every error is a Corrupt FileError that names the header byte.
class NpyHeaderParser {
public:
  /// Creates a parser of `text`, the header of the file at `path`.
  NpyHeaderParser(llvm::StringRef text, llvm::StringRef path)
      : text(text), path(path) {}

  /// Parses the whole header into `header`.
  llvm::Error parse(NpyHeader &header);

private:
  /// Returns an error at the current position.
  llvm::Error fail(const llvm::Twine &message) const {
    return makeCorrupt(path, "malformed .npy header at byte " +
                                 llvm::Twine(pos) + ": " + message);
  }
  /// Returns the current character, or 0 at the end.
  char peek() const { return pos < text.size() ? text[pos] : 0; }
  /// Skips the whitespace Python allows inside a dict display.
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  /// Consumes `c` after optional whitespace, or fails saying `expected`.
  llvm::Error expect(char c, llvm::StringRef expected);
  /// Parses the value of `key` (one of the three known keys) into `header`.
  llvm::Error parseValue(llvm::StringRef key, NpyHeader &header);
  /// Parses a quoted string without escapes.
  llvm::Error parseString(std::string &result);
  /// Parses `True` or `False`.
  llvm::Error parseBool(bool &result);
  /// Parses a tuple of non-negative integers: `()`, `(3,)`, `(2, 3)`.
  llvm::Error parseShape(std::vector<int64_t> &result);
  /// Parses one non-negative decimal integer that fits in int64_t.
  llvm::Error parseExtent(int64_t &result);

  /// The header text.
  llvm::StringRef text;
  /// The file's path, for messages.
  llvm::StringRef path;
  /// The offset of the next character to parse.
  size_t pos = 0;
};

} // namespace

llvm::Error NpyHeaderParser::expect(char c, llvm::StringRef expected) {
  skipSpace();
  if (peek() != c)
    return fail("expected " + expected);
  ++pos;
  return llvm::Error::success();
}

llvm::Error NpyHeaderParser::parseString(std::string &result) {
  char q = peek();
  if (q != '\'' && q != '"')
    return fail("expected a quoted string");
  size_t start = ++pos;
  while (pos < text.size() && text[pos] != q) {
    if (text[pos] == '\\' || text[pos] == '\n')
      return fail("unsupported character in a string");
    ++pos;
  }
  if (pos == text.size())
    return fail("unterminated string");
  result = text.slice(start, pos).str();
  ++pos;
  return llvm::Error::success();
}

llvm::Error NpyHeaderParser::parseBool(bool &result) {
  llvm::StringRef rest = text.drop_front(pos);
  for (auto [word, value] :
       {std::make_pair("True", true), std::make_pair("False", false)}) {
    llvm::StringRef w(word);
    if (rest.startswith(w) &&
        (rest.size() == w.size() || !llvm::isAlnum(rest[w.size()]))) {
      pos += w.size();
      result = value;
      return llvm::Error::success();
    }
  }
  return fail("expected True or False for 'fortran_order'");
}

llvm::Error NpyHeaderParser::parseExtent(int64_t &result) {
  if (peek() == '-')
    return fail("shape has a negative extent");
  size_t start = pos;
  uint64_t value = 0;
  while (llvm::isDigit(peek())) {
    unsigned digit = peek() - '0';
    if (value > (uint64_t(std::numeric_limits<int64_t>::max()) - digit) / 10)
      return fail("shape extent does not fit in 64 bits");
    value = value * 10 + digit;
    ++pos;
  }
  if (pos == start)
    return fail("expected a non-negative integer in 'shape'");
  if (text[start] == '0' && pos - start > 1)
    return fail("shape extent has a leading zero");
  if (llvm::isAlpha(peek()) || peek() == '_' || peek() == '.')
    return fail("expected a non-negative integer in 'shape'");
  result = int64_t(value);
  return llvm::Error::success();
}

llvm::Error NpyHeaderParser::parseShape(std::vector<int64_t> &result) {
  if (peek() != '(')
    return fail("expected a tuple for 'shape'");
  ++pos;
  result.clear();
  skipSpace();
  if (peek() == ')') {
    ++pos;
    return llvm::Error::success();
  }
  while (true) {
    int64_t extent;
    if (llvm::Error err = parseExtent(extent))
      return err;
    result.push_back(extent);
    skipSpace();
    if (peek() == ')') {
      // `(3)` is an integer in Python, not a tuple.
      if (result.size() == 1)
        return fail("expected ',' after the only extent of 'shape'");
      ++pos;
      return llvm::Error::success();
    }
    if (llvm::Error err = expect(',', "',' or ')' in 'shape'"))
      return err;
    skipSpace();
    if (peek() == ')') {
      ++pos;
      return llvm::Error::success();
    }
  }
}

llvm::Error NpyHeaderParser::parseValue(llvm::StringRef key,
                                        NpyHeader &header) {
  if (key == "descr" && peek() == '[')
    return makeFileError(FileError::Kind::WrongType, path,
                         "unsupported dtype: a structured dtype (a list in "
                         "'descr'); expected '<f4' (float32)");
  if (key == "descr")
    return parseString(header.descr);
  if (key == "fortran_order")
    return parseBool(header.fortranOrder);
  return parseShape(header.shape);
}

llvm::Error NpyHeaderParser::parse(NpyHeader &header) {
  if (llvm::Error err = expect('{', "'{' at the start of the header dict"))
    return err;
  bool seenDescr = false, seenOrder = false, seenShape = false;
  while (true) {
    skipSpace();
    if (peek() == '}') {
      ++pos;
      break;
    }
    std::string key;
    if (llvm::Error err = parseString(key))
      return err;
    if (llvm::Error err = expect(':', "':' after key " + quote(key)))
      return err;
    skipSpace();
    bool *seen = key == "descr"           ? &seenDescr
                 : key == "fortran_order" ? &seenOrder
                 : key == "shape"         ? &seenShape
                                          : nullptr;
    if (!seen)
      return fail("unexpected key " + quote(key) +
                  "; expected only 'descr', 'fortran_order' and 'shape'");
    if (*seen)
      return fail("duplicate key " + quote(key));
    *seen = true;

    if (llvm::Error err = parseValue(key, header))
      return err;

    skipSpace();
    if (peek() == '}')
      continue;
    if (llvm::Error err =
            expect(',', "',' or '}' after the value of " + quote(key)))
      return err;
  }
  skipSpace();
  if (pos != text.size())
    return fail("unexpected text after the header dict");
  for (auto [seen, name] : {std::make_pair(seenDescr, "descr"),
                            std::make_pair(seenOrder, "fortran_order"),
                            std::make_pair(seenShape, "shape")})
    if (!seen)
      return makeCorrupt(path, llvm::Twine("malformed .npy header: no '") +
                                   name + "' key");
  return llvm::Error::success();
}

llvm::Expected<Tensor> netc::io::readNpy(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bufferOrErr =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!bufferOrErr)
    return makeFileError(FileError::Kind::Unreadable, path,
                         "cannot read: " + bufferOrErr.getError().message());
  llvm::StringRef bytes = (*bufferOrErr)->getBuffer();

  if (!bytes.startswith(npyMagic))
    return makeCorrupt(path, "not a .npy file: it does not start with "
                             "'\\x93NUMPY'");
  if (bytes.size() < 8)
    return makeCorrupt(path, "truncated .npy file: it ends inside the "
                             "format version");
  unsigned major = uint8_t(bytes[6]), minor = uint8_t(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return makeCorrupt(path, "unsupported .npy format version " +
                                 llvm::Twine(major) + "." + llvm::Twine(minor) +
                                 "; expected 1.0, 2.0 or 3.0");
  // Version 1.0 stores the header length in 2 bytes, later versions in 4.
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t headerStart = 8 + lengthSize;
  if (bytes.size() < headerStart)
    return makeCorrupt(path, "truncated .npy file: it ends inside the "
                             "header length");
  const uint8_t *lengthBytes =
      reinterpret_cast<const uint8_t *>(bytes.data()) + 8;
  uint64_t headerLength = major == 1
                              ? llvm::support::endian::read16le(lengthBytes)
                              : llvm::support::endian::read32le(lengthBytes);
  if (headerLength > bytes.size() - headerStart)
    return makeCorrupt(path, "truncated .npy file: the header length is " +
                                 llvm::Twine(headerLength) + " but only " +
                                 llvm::Twine(bytes.size() - headerStart) +
                                 " bytes follow it");

  NpyHeader header;
  NpyHeaderParser parser(bytes.substr(headerStart, headerLength), path);
  if (llvm::Error err = parser.parse(header))
    return std::move(err);
  if (header.descr != "<f4")
    return makeFileError(FileError::Kind::WrongType, path,
                         "unsupported dtype " + quote(header.descr) +
                             "; expected '<f4' (little-endian float32)");
  if (header.fortranOrder)
    return makeFileError(FileError::Kind::WrongType, path,
                         "unsupported Fortran-order array; expected "
                         "'fortran_order': False (C order)");

  int64_t count = getNumElements(header.shape);
  uint64_t dataSize = 0;
  if (count < 0 ||
      __builtin_mul_overflow(uint64_t(count), sizeof(float), &dataSize))
    return makeCorrupt(path, "the element count of shape " +
                                 formatShape(header.shape) +
                                 " overflows 64 bits");
  uint64_t available = bytes.size() - headerStart - headerLength;
  if (available != dataSize)
    return makeCorrupt(
        path, "shape " + formatShape(header.shape) + " needs " +
                  llvm::Twine(dataSize) + " bytes of data but the file has " +
                  llvm::Twine(available) +
                  (available > dataSize ? " (trailing bytes)" : ""));

  Tensor tensor;
  tensor.shape = std::move(header.shape);
  tensor.data.resize(size_t(count));
  readLittleEndianFloats(reinterpret_cast<const uint8_t *>(bytes.data()) +
                             headerStart + headerLength,
                         tensor.data.size(), tensor.data.data());
  return std::move(tensor);
}

/// Returns the header dict numpy writes for a float32 C-order `shape`.
static std::string makeHeaderDict(llvm::ArrayRef<int64_t> shape) {
  std::string dict;
  llvm::raw_string_ostream os(dict);
  os << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  llvm::interleaveComma(shape, os);
  if (shape.size() == 1)
    os << ',';
  os << "), }";
  return dict;
}

llvm::Error netc::io::writeNpy(llvm::StringRef path, const Tensor &t) {
  int64_t count = getNumElements(t.shape);
  if (count < 0 || uint64_t(count) != t.data.size())
    return makeCorrupt(path, "cannot write a tensor of shape " +
                                 formatShape(t.shape) + " with " +
                                 llvm::Twine(t.data.size()) + " elements");

  // Like numpy, pad with spaces and end with '\n' so that the data starts
  // at a multiple of 64 bytes; fall back to version 2.0 only if the header
  // does not fit in 1.0's 16-bit length.
  std::string header = makeHeaderDict(t.shape);
  unsigned major = 1;
  size_t prefix = 10;
  size_t total = llvm::alignTo(prefix + header.size() + 1, 64);
  if (total - prefix > std::numeric_limits<uint16_t>::max()) {
    major = 2;
    prefix = 12;
    total = llvm::alignTo(prefix + header.size() + 1, 64);
  }
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
    os << npyMagic << char(major) << char(0);
    char length[4];
    if (major == 1)
      llvm::support::endian::write16le(length, uint16_t(header.size()));
    else
      llvm::support::endian::write32le(length, uint32_t(header.size()));
    os.write(length, prefix - 8);
    os << header;
    writeLittleEndianFloats(os, t.data);
  });
}
