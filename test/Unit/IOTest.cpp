//===- IOTest.cpp - Tests of the .npy reader and writer -------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file tests readNpy and writeNpy: round trips, the header spellings
// numpy produces, one test per malformed or unsupported file, and the
// atomic replacement of the destination. The safetensors tests are in
// SafeTensorsTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "IOTestUtils.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <fstream>
#include <limits>

using namespace netc::io;
using namespace netc::io::test;

namespace {

using NpyTest = TempDirTest;

//===----------------------------------------------------------------------===//
// Round trips and accepted spellings
//===----------------------------------------------------------------------===//

TEST_F(NpyTest, RoundTripsShapes) {
  float inf = std::numeric_limits<float>::infinity();
  std::vector<Tensor> tensors = {
      {{2, 3}, {-1, 0.5f, 2, 3, -0.0f, inf}},
      {{}, {3.25f}},
      {{0, 3}, {}},
      {{5}, {1, 2, 3, 4, 5}},
      {{1, 1, 2, 1}, {std::numeric_limits<float>::denorm_min(), -inf}},
  };
  for (const Tensor &t : tensors) {
    std::string path = pathTo("t.npy");
    ASSERT_FALSE(llvm::errorToBool(writeNpy(path, t)));
    llvm::Expected<Tensor> back = readNpy(path);
    ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
    EXPECT_EQ(back->shape, t.shape);
    ASSERT_EQ(back->data.size(), t.data.size());
    // Bitwise, so that -0 and NaN payloads count; an empty tensor may have
    // no storage, and memcmp must not see a null pointer.
    if (!t.data.empty())
      EXPECT_EQ(std::memcmp(back->data.data(), t.data.data(),
                            t.data.size() * sizeof(float)),
                0);
  }
}

TEST_F(NpyTest, WritesVersion1WithAlignedData) {
  std::string path = pathTo("t.npy");
  ASSERT_FALSE(llvm::errorToBool(writeNpy(path, {{2}, {1, 2}})));
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(buffer));
  llvm::StringRef bytes = (*buffer)->getBuffer();
  EXPECT_EQ(bytes.size(), 128u + 8u); // As numpy writes it.
  EXPECT_TRUE(bytes.startswith(llvm::StringRef("\x93NUMPY\x01\x00", 8)));
  EXPECT_TRUE(bytes.contains("'shape': (2,), }"));
  EXPECT_EQ(bytes[127], '\n');
}

TEST_F(NpyTest, WritesVersion2ForLongHeaders) {
  Tensor t{std::vector<int64_t>(30000, 1), {7}};
  std::string path = pathTo("t.npy");
  ASSERT_FALSE(llvm::errorToBool(writeNpy(path, t)));
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(buffer));
  EXPECT_EQ((*buffer)->getBuffer()[6], 2);
  llvm::Expected<Tensor> back = readNpy(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->shape.size(), 30000u);
  EXPECT_EQ(back->data, std::vector<float>{7});
}

TEST_F(NpyTest, ReadsVersions2And3) {
  for (unsigned major : {2u, 3u}) {
    std::string path = writeBytes(
        "v.npy", npyBytes(npyDict("(2,)"), floatBytes({1.5f, -2}), major));
    llvm::Expected<Tensor> t = readNpy(path);
    ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
    EXPECT_EQ(t->shape, std::vector<int64_t>{2});
    EXPECT_EQ(t->data, (std::vector<float>{1.5f, -2}));
  }
}

TEST_F(NpyTest, AcceptsOtherDictSpellings) {
  for (llvm::StringRef dict :
       {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1, 1)}",
        "{'shape':(1,1,),'fortran_order':False,'descr':'<f4'}",
        "{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 1 , 1 ) "
        "}   "}) {
    std::string path = writeBytes("d.npy", npyBytes(dict, floatBytes({4})));
    llvm::Expected<Tensor> t = readNpy(path);
    ASSERT_TRUE(bool(t)) << dict.str() << ": " << llvm::toString(t.takeError());
    EXPECT_EQ(t->shape, (std::vector<int64_t>{1, 1}));
  }
}

//===----------------------------------------------------------------------===//
// Rejected files
//===----------------------------------------------------------------------===//

TEST_F(NpyTest, RejectsMissingFile) {
  EXPECT_TRUE(
      isFileError(readNpy(pathTo("none.npy")), unreadable, "cannot read"));
}

TEST_F(NpyTest, RejectsDirectory) {
  EXPECT_TRUE(isFileError(readNpy(dir), unreadable, "cannot read"));
}

TEST_F(NpyTest, RejectsBadMagic) {
  std::string bytes = npyBytes(npyDict("(1,)"), floatBytes({1}));
  bytes[1] = 'X';
  EXPECT_TRUE(isFileError(readNpy(writeBytes("m.npy", bytes)), corrupt,
                          "not a .npy file"));
  EXPECT_TRUE(isFileError(readNpy(writeBytes("e.npy", "")), corrupt,
                          "not a .npy file"));
}

TEST_F(NpyTest, RejectsUnknownVersion) {
  std::string bytes = npyBytes(npyDict("(1,)"), floatBytes({1}));
  bytes[6] = 4;
  EXPECT_TRUE(isFileError(readNpy(writeBytes("v.npy", bytes)), corrupt,
                          "unsupported .npy format version 4.0"));
}

TEST_F(NpyTest, RejectsTruncatedHeader) {
  std::string bytes = npyBytes(npyDict("(1,)"), floatBytes({1}));
  EXPECT_TRUE(isFileError(readNpy(writeBytes("a.npy", bytes.substr(0, 7))),
                          corrupt, "ends inside the format version"));
  EXPECT_TRUE(isFileError(readNpy(writeBytes("b.npy", bytes.substr(0, 9))),
                          corrupt, "ends inside the header length"));
  EXPECT_TRUE(isFileError(readNpy(writeBytes("c.npy", bytes.substr(0, 30))),
                          corrupt, "the header length is"));
}

TEST_F(NpyTest, RejectsHeaderLengthPastEnd) {
  std::string bytes = npyBytes(npyDict("(1,)"), floatBytes({1}), 2);
  bytes[9] = 0x7f; // The length is now about 2^31.
  EXPECT_TRUE(isFileError(readNpy(writeBytes("l.npy", bytes)), corrupt,
                          "only " + std::to_string(bytes.size() - 12) +
                              " bytes follow it"));
}

/// Writes a (1,)-shaped file whose descr is `descr` and reads it back.
static ::testing::AssertionResult rejectsDescr(const std::string &path,
                                               llvm::StringRef descr) {
  std::string dict =
      "{'descr': " + descr.str() + ", 'fortran_order': False, 'shape': (1,)}";
  std::ofstream(path, std::ios::binary) << npyBytes(dict, std::string(8, '\0'));
  return isFileError(readNpy(path), wrongType, "unsupported dtype");
}

TEST_F(NpyTest, RejectsFloat64) {
  EXPECT_TRUE(rejectsDescr(pathTo("f8.npy"), "'<f8'"));
}

TEST_F(NpyTest, RejectsBigEndianFloat32) {
  EXPECT_TRUE(rejectsDescr(pathTo("be.npy"), "'>f4'"));
}

TEST_F(NpyTest, RejectsInt32) {
  EXPECT_TRUE(rejectsDescr(pathTo("i4.npy"), "'<i4'"));
}

TEST_F(NpyTest, RejectsStructuredDtype) {
  EXPECT_TRUE(rejectsDescr(pathTo("s.npy"), "[('a', '<f4')]"));
}

TEST_F(NpyTest, RejectsFortranOrder) {
  std::string dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}";
  std::string path = writeBytes("f.npy", npyBytes(dict, floatBytes({1})));
  EXPECT_TRUE(isFileError(readNpy(path), wrongType, "Fortran-order"));
}

TEST_F(NpyTest, RejectsNegativeShape) {
  std::string path =
      writeBytes("n.npy", npyBytes(npyDict("(2, -1)"), floatBytes({1})));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "negative extent"));
}

TEST_F(NpyTest, RejectsShortData) {
  std::string path =
      writeBytes("s.npy", npyBytes(npyDict("(2, 2)"), floatBytes({1, 2, 3})));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt,
                          "shape [2, 2] needs 16 bytes of data but the file "
                          "has 12"));
}

TEST_F(NpyTest, RejectsTrailingBytes) {
  std::string path = writeBytes(
      "l.npy", npyBytes(npyDict("(1,)"), floatBytes({1}) + std::string("x")));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "(trailing bytes)"));
}

TEST_F(NpyTest, RejectsOverflowingShape) {
  std::string path =
      writeBytes("o.npy", npyBytes(npyDict("(4294967296, 4294967296)"), ""));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "overflows 64 bits"));
  // 2^62 elements are 2^64 bytes.
  path = writeBytes("p.npy", npyBytes(npyDict("(4611686018427387904,)"), ""));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "overflows 64 bits"));
  path = writeBytes("q.npy", npyBytes(npyDict("(9223372036854775808,)"), ""));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "does not fit in 64 bits"));
}

TEST_F(NpyTest, RejectsNonDictHeader) {
  for (llvm::StringRef header : {"[1, 2]", "", "{'descr': '<f4'",
                                 "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (1,)} x"}) {
    std::string path = writeBytes("d.npy", npyBytes(header, floatBytes({1})));
    EXPECT_TRUE(isFileError(readNpy(path), corrupt, "malformed .npy header"))
        << header.str();
  }
}

TEST_F(NpyTest, RejectsExtraKeys) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': "
                     "(1,), 'extra': 1}";
  std::string path = writeBytes("x.npy", npyBytes(dict, floatBytes({1})));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "unexpected key 'extra'"));
}

TEST_F(NpyTest, RejectsMissingAndDuplicateKeys) {
  std::string path = writeBytes(
      "m.npy", npyBytes("{'descr': '<f4', 'shape': (1,)}", floatBytes({1})));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "no 'fortran_order' key"));
  path = writeBytes("d.npy", npyBytes("{'descr': '<f4', 'descr': '<f4', "
                                      "'fortran_order': False, 'shape': (1,)}",
                                      floatBytes({1})));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "duplicate key 'descr'"));
}

TEST_F(NpyTest, RejectsBadShapeSyntax) {
  for (llvm::StringRef shape :
       {"(1)", "[1]", "(1.0,)", "(01,)", "(1L,)", "(1 2)", "(,)", "1"}) {
    std::string path =
        writeBytes("s.npy", npyBytes(npyDict(shape), floatBytes({1})));
    EXPECT_TRUE(isFileError(readNpy(path), corrupt, "malformed .npy header"))
        << shape.str();
  }
}

TEST_F(NpyTest, RejectsBadFortranOrderValue) {
  std::string dict = "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}";
  std::string path = writeBytes("f.npy", npyBytes(dict, floatBytes({1})));
  EXPECT_TRUE(isFileError(readNpy(path), corrupt, "expected True or False"));
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

TEST_F(NpyTest, WriteRefusesDirectory) {
  EXPECT_TRUE(
      isFileError(writeNpy(dir, {{1}, {1}}), unreadable, "is a directory"));
}

TEST_F(NpyTest, WriteRefusesMismatchedData) {
  EXPECT_TRUE(isFileError(writeNpy(pathTo("t.npy"), {{2, 2}, {1}}), corrupt,
                          "shape [2, 2] with 1 elements"));
  EXPECT_TRUE(listDir().empty());
}

TEST_F(NpyTest, WriteReplacesAtomically) {
  std::string path = writeBytes("t.npy", "old contents");
  ASSERT_FALSE(llvm::errorToBool(writeNpy(path, {{1}, {2}})));
  // Only the destination remains: the temporary file was renamed over it.
  EXPECT_EQ(listDir(), std::vector<std::string>{"t.npy"});
  llvm::Expected<Tensor> back = readNpy(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->data, std::vector<float>{2});
}

TEST_F(NpyTest, WriteIntoMissingDirectoryFails) {
  EXPECT_TRUE(isFileError(writeNpy(pathTo("none/t.npy"), {{1}, {1}}),
                          unreadable, "cannot create a temporary file"));
  EXPECT_TRUE(listDir().empty());
}

} // namespace
