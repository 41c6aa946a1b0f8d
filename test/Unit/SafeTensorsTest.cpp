//===- SafeTensorsTest.cpp - Tests of the safetensors reader and writer ---===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file tests SafeTensorsFile and writeSafeTensors: a round trip, one
// test per malformed header or data layout, and the exact conversion of
// F16, BF16 and F64 to float32.
//
//===----------------------------------------------------------------------===//

#include "IOTestUtils.h"

#include "llvm/ADT/bit.h"

#include <cmath>
#include <fstream>
#include <limits>

using namespace netc::io;
using namespace netc::io::test;

namespace {

using SafeTensorsTest = TempDirTest;

/// A header entry: `"name": {"dtype": .., "shape": .., "data_offsets": ..}`.
static std::string entry(llvm::StringRef name, llvm::StringRef dtype,
                         llvm::StringRef shape, uint64_t begin, uint64_t end) {
  return "\"" + name.str() + "\": {\"dtype\": \"" + dtype.str() +
         "\", \"shape\": " + shape.str() + ", \"data_offsets\": [" +
         std::to_string(begin) + ", " + std::to_string(end) + "]}";
}

TEST_F(SafeTensorsTest, RoundTrips) {
  Tensor weight{{2, 3}, {1, 2, 3, 4, 5, -6}};
  Tensor bias{{3}, {0.5f, -0.25f, 0}};
  Tensor scalar{{}, {42}};
  Tensor empty{{0, 4}, {}};
  std::string path = pathTo("w.safetensors");
  ASSERT_FALSE(llvm::errorToBool(writeSafeTensors(path, {{"fc.weight", &weight},
                                                         {"fc.bias", &bias},
                                                         {"s", &scalar},
                                                         {"e", &empty}})));
  EXPECT_EQ(listDir(), std::vector<std::string>{"w.safetensors"});

  llvm::Expected<SafeTensorsFile> file = SafeTensorsFile::read(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ(file->names(),
            (std::vector<std::string>{"e", "fc.bias", "fc.weight", "s"}));
  EXPECT_EQ(file->lookup("missing"), nullptr);
  const SafeTensorEntry *w = file->lookup("fc.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, "F32");
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->begin, 0u);
  EXPECT_EQ(w->end, 24u);
  for (auto [name, tensor] :
       {std::make_pair("fc.weight", &weight), std::make_pair("fc.bias", &bias),
        std::make_pair("s", &scalar), std::make_pair("e", &empty)}) {
    llvm::Expected<Tensor> t = file->readFloat(name);
    ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
    EXPECT_EQ(t->shape, tensor->shape) << name;
    EXPECT_EQ(t->data, tensor->data) << name;
  }
  EXPECT_TRUE(
      isFileError(file->readFloat("missing"), corrupt, "no tensor 'missing'"));
}

TEST_F(SafeTensorsTest, WriteRejectsRepeatedNames) {
  Tensor t{{1}, {1}};
  EXPECT_TRUE(isFileError(
      writeSafeTensors(pathTo("w.safetensors"), {{"a", &t}, {"a", &t}}),
      corrupt, "named 'a'"));
  EXPECT_TRUE(listDir().empty());
}

TEST_F(SafeTensorsTest, ReadsMetadataAndEmptyFile) {
  std::string path = writeBytes(
      "m.safetensors",
      safeTensorsBytes("{\"__metadata__\": {\"format\": \"pt\"}}  ", ""));
  llvm::Expected<SafeTensorsFile> file = SafeTensorsFile::read(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE(file->names().empty());
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

//===----------------------------------------------------------------------===//
// Rejected files
//===----------------------------------------------------------------------===//

/// Writes a safetensors file and checks that reading it fails with a
/// Corrupt error containing `substring`.
#define EXPECT_CORRUPT(json, data, substring)                                  \
  EXPECT_TRUE(isFileError(SafeTensorsFile::read(writeBytes(                    \
                              "c.safetensors", safeTensorsBytes(json, data))), \
                          corrupt, substring))

TEST_F(SafeTensorsTest, RejectsMissingFile) {
  EXPECT_TRUE(isFileError(SafeTensorsFile::read(pathTo("none")), unreadable,
                          "cannot read"));
}

TEST_F(SafeTensorsTest, RejectsShortFile) {
  std::string path = writeBytes("s.safetensors", "1234");
  EXPECT_TRUE(isFileError(SafeTensorsFile::read(path), corrupt,
                          "shorter than the 8-byte header size"));
}

TEST_F(SafeTensorsTest, RejectsHeaderSizePastEnd) {
  std::string bytes = safeTensorsBytes("{}", "");
  bytes[0] = 3;
  std::string path = writeBytes("p.safetensors", bytes);
  EXPECT_TRUE(isFileError(SafeTensorsFile::read(path), corrupt,
                          "the header size is 3 but only 2 bytes follow it"));
}

TEST_F(SafeTensorsTest, RejectsHugeHeaderSize) {
  std::string bytes = safeTensorsBytes("{}", "");
  bytes[7] = 0x40; // 2^62 plus a little.
  std::string path = writeBytes("h.safetensors", bytes);
  EXPECT_TRUE(isFileError(SafeTensorsFile::read(path), corrupt,
                          "exceeds the limit of 100000000 bytes"));
}

TEST_F(SafeTensorsTest, RejectsInvalidJSON) {
  EXPECT_CORRUPT("{\"a\": ", "", "not valid JSON");
  EXPECT_CORRUPT("[]", "", "not a JSON object");
  EXPECT_CORRUPT("{\"\xff\": 1}", "", "not valid UTF-8");
}

TEST_F(SafeTensorsTest, RejectsMissingFields) {
  EXPECT_CORRUPT("{\"a\": {\"shape\": [], \"data_offsets\": [0, 4]}}",
                 floatBytes({1}), "tensor 'a' has no 'dtype'");
  EXPECT_CORRUPT("{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}",
                 floatBytes({1}), "tensor 'a' has no 'shape'");
  EXPECT_CORRUPT("{\"a\": {\"dtype\": \"F32\", \"shape\": []}}",
                 floatBytes({1}), "tensor 'a' has no 'data_offsets'");
  EXPECT_CORRUPT("{\"a\": 1}", "", "tensor 'a' is not a JSON object");
}

TEST_F(SafeTensorsTest, RejectsMalformedFields) {
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1, -1]", 0, 4) + "}",
                 floatBytes({1}), "'shape' of tensor 'a' has an entry");
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1.5]", 0, 4) + "}", floatBytes({1}),
                 "'shape' of tensor 'a' has an entry");
  EXPECT_CORRUPT("{\"a\": {\"dtype\": \"F32\", \"shape\": [], "
                 "\"data_offsets\": [0]}}",
                 floatBytes({1}), "'data_offsets' of tensor 'a' is not");
  EXPECT_CORRUPT("{\"a\": {\"dtype\": \"F32\", \"shape\": [], "
                 "\"data_offsets\": [0, 4], \"extra\": 0}}",
                 floatBytes({1}), "tensor 'a' has unexpected field 'extra'");
  EXPECT_CORRUPT("{\"__metadata__\": {\"k\": 1}}", "",
                 "'__metadata__' entry 'k' is not a string");
}

TEST_F(SafeTensorsTest, RejectsBadDtype) {
  EXPECT_CORRUPT("{" + entry("a", "F31", "[1]", 0, 4) + "}", floatBytes({1}),
                 "'dtype' of tensor 'a' is 'F31'");
}

TEST_F(SafeTensorsTest, RejectsOffsetsOutOfRange) {
  EXPECT_CORRUPT("{" + entry("a", "F32", "[2]", 0, 8) + "}", floatBytes({1}),
                 "'data_offsets' [0, 8] of tensor 'a' end past the data "
                 "section (4 bytes)");
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1]", 0, 18446744073709551615u) + "}",
                 floatBytes({1}), "end past the data section");
}

TEST_F(SafeTensorsTest, RejectsBeginAfterEnd) {
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1]", 4, 0) + "}", floatBytes({1}),
                 "'data_offsets' [4, 0] of tensor 'a' begin after they end");
}

TEST_F(SafeTensorsTest, RejectsSizeMismatch) {
  EXPECT_CORRUPT("{" + entry("a", "F32", "[2]", 0, 4) + "}", floatBytes({1}),
                 "span 4 bytes, but 'shape' [2] of F32 needs 8");
  EXPECT_CORRUPT("{" + entry("a", "F32", "[4294967296, 4294967296]", 0, 4) +
                     "}",
                 floatBytes({1}), "has a byte size that overflows 64 bits");
  EXPECT_CORRUPT("{" + entry("a", "F64", "[2305843009213693952]", 0, 4) + "}",
                 floatBytes({1}), "has a byte size that overflows 64 bits");
}

TEST_F(SafeTensorsTest, RejectsOverlap) {
  EXPECT_CORRUPT("{" + entry("a", "F32", "[2]", 0, 8) + ", " +
                     entry("b", "F32", "[2]", 4, 12) + "}",
                 floatBytes({1, 2, 3}),
                 "'data_offsets' [4, 12] of tensor 'b' overlap tensor 'a', "
                 "which ends at 8");
}

TEST_F(SafeTensorsTest, RejectsGap) {
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1]", 0, 4) + ", " +
                     entry("b", "F32", "[1]", 8, 12) + "}",
                 floatBytes({1, 2, 3}),
                 "of tensor 'b' leave bytes [4, 8) of the data section "
                 "unused");
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1]", 0, 4) + "}", floatBytes({1, 2}),
                 "bytes [4, 8) at the end of the data section belong to no "
                 "tensor");
}

TEST_F(SafeTensorsTest, RejectsRepeatedName) {
  // llvm::json keeps the last entry of a repeated key; the first one's bytes
  // are then reported as unused.
  EXPECT_CORRUPT("{" + entry("a", "F32", "[1]", 0, 4) + ", " +
                     entry("a", "F32", "[1]", 4, 8) + "}",
                 floatBytes({1, 2}), "leave bytes [0, 4)");
}

//===----------------------------------------------------------------------===//
// Conversion to float32
//===----------------------------------------------------------------------===//

/// Writes one tensor of `dtype` holding `bytes` and reads it as float32.
static std::vector<float> convert(const std::string &path,
                                  llvm::StringRef dtype,
                                  const std::string &bytes) {
  unsigned size = SafeTensorsFile::getDTypeSize(dtype);
  std::string json =
      "{" +
      entry("t", dtype, "[" + std::to_string(bytes.size() / size) + "]", 0,
            bytes.size()) +
      "}";
  std::ofstream(path, std::ios::binary) << safeTensorsBytes(json, bytes);
  llvm::Expected<SafeTensorsFile> file = SafeTensorsFile::read(path);
  EXPECT_TRUE(bool(file)) << llvm::toString(file.takeError());
  if (!file)
    return {};
  llvm::Expected<Tensor> t = file->readFloat("t");
  EXPECT_TRUE(bool(t)) << llvm::toString(t.takeError());
  return t ? t->data : std::vector<float>{};
}

/// Returns `values` as little-endian integers of `size` bytes each.
static std::string leBytes(std::initializer_list<uint64_t> values,
                           unsigned size) {
  std::string bytes;
  for (uint64_t value : values)
    for (unsigned i = 0; i < size; ++i)
      bytes += char(value >> (8 * i));
  return bytes;
}

/// Returns the bit pattern of `value`.
static uint32_t bitsOf(float value) { return llvm::bit_cast<uint32_t>(value); }

TEST_F(SafeTensorsTest, ConvertsF16Exactly) {
  std::vector<float> values =
      convert(pathTo("h.safetensors"), "F16",
              leBytes({0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x3555,
                       0x7c00, 0xfc00, 0x7e00},
                      2));
  ASSERT_EQ(values.size(), 10u);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(values[2], 65504.0f);
  EXPECT_EQ(values[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(values[4], std::ldexp(1023.0f, -24));
  EXPECT_EQ(bitsOf(values[5]), 0x80000000u);
  EXPECT_EQ(values[6], 0x1.554p-2f);
  EXPECT_EQ(values[7], std::numeric_limits<float>::infinity());
  EXPECT_EQ(values[8], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(values[9]));
}

TEST_F(SafeTensorsTest, ConvertsBF16Exactly) {
  std::vector<float> values =
      convert(pathTo("b.safetensors"), "BF16",
              leBytes({0x3f80, 0xc040, 0x7f7f, 0x0001, 0xff80, 0x3eaa}, 2));
  ASSERT_EQ(values.size(), 6u);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -3.0f);
  EXPECT_EQ(values[2], 0x1.fep127f);
  EXPECT_EQ(values[3], std::ldexp(1.0f, -133));
  EXPECT_EQ(values[4], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(values[5], 0x1.54p-2f);
}

TEST_F(SafeTensorsTest, ConvertsF64RoundingToNearest) {
  std::initializer_list<double> doubles = {1.0,
                                           0.1,
                                           1 + 0x1p-24,
                                           1 + 0x3p-24,
                                           0x1.fffffep127,
                                           0x1.fffffefp127,
                                           0x1.ffffffp127,
                                           -1e300,
                                           1e-50,
                                           0x1p-149};
  std::string bytes;
  for (double d : doubles)
    bytes += leBytes({llvm::bit_cast<uint64_t>(d)}, 8);
  std::vector<float> values = convert(pathTo("d.safetensors"), "F64", bytes);
  ASSERT_EQ(values.size(), 10u);
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(bitsOf(values[1]), 0x3dcccccdu);
  EXPECT_EQ(values[2], 1.0f);         // A tie rounds to even.
  EXPECT_EQ(values[3], 1 + 0x1p-22f); // So does this one, upwards.
  EXPECT_EQ(values[4], 0x1.fffffep127f);
  EXPECT_EQ(values[5], 0x1.fffffep127f);
  EXPECT_EQ(values[6], inf);
  EXPECT_EQ(values[7], -inf);
  EXPECT_EQ(values[8], 0.0f);
  EXPECT_EQ(values[9], std::numeric_limits<float>::denorm_min());
}

TEST_F(SafeTensorsTest, ReadFloatRejectsIntegerDtypes) {
  for (llvm::StringRef dtype : {"I64", "I32", "I16", "I8", "U8", "BOOL"}) {
    unsigned size = SafeTensorsFile::getDTypeSize(dtype);
    std::string path = writeBytes(
        "i.safetensors",
        safeTensorsBytes("{" + entry("t", dtype, "[1]", 0, size) + "}",
                         std::string(size, '\1')));
    llvm::Expected<SafeTensorsFile> file = SafeTensorsFile::read(path);
    ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
    EXPECT_EQ(file->rawData("t").size(), size);
    EXPECT_TRUE(isFileError(file->readFloat("t"), wrongType,
                            "tensor 't' has dtype " + dtype.str()));
  }
}

} // namespace
