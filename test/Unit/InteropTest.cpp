//===- InteropTest.cpp - Cross-checks with files numpy wrote --------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The C++ half of test/IO/numpy-interop.test: numpy writes .npy files and a
// hand-made safetensors file into $NETC_INTEROP_DIR, this test reads them
// and writes its results back, and numpy checks those. Skipped when the
// variable is unset, as it is when unit.test runs all tests.
//
//===----------------------------------------------------------------------===//

#include "IOTestUtils.h"

#include <cstdlib>

using namespace netc::io;
using namespace netc::io::test;

namespace {

/// Returns the files in `dir` whose names start with `prefix`, sorted.
static std::vector<std::string> listFiles(llvm::StringRef dir,
                                          llvm::StringRef prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (name.startswith(prefix))
      names.push_back(name.str());
  }
  llvm::sort(names);
  return names;
}

/// Returns `name` inside `dir`.
static std::string join(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

TEST(Interop, NumpyFiles) {
  const char *dir = std::getenv("NETC_INTEROP_DIR");
  if (!dir)
    GTEST_SKIP() << "NETC_INTEROP_DIR is not set";

  // Every float32 C-order file numpy wrote is read and written back.
  std::vector<std::string> inputs = listFiles(dir, "in-");
  EXPECT_FALSE(inputs.empty());
  for (const std::string &name : inputs) {
    llvm::Expected<Tensor> t = readNpy(join(dir, name));
    ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
    std::string out = join(dir, "out-" + name.substr(3));
    ASSERT_FALSE(llvm::errorToBool(writeNpy(out, *t))) << out;
  }

  // Every other dtype or layout is rejected as wrongly typed.
  std::vector<std::string> rejects = listFiles(dir, "reject-");
  EXPECT_FALSE(rejects.empty());
  for (const std::string &name : rejects)
    EXPECT_TRUE(isFileError(readNpy(join(dir, name)), wrongType, "unsupported"))
        << name;

  // Each safetensors tensor is converted to float32 for numpy to compare.
  llvm::Expected<SafeTensorsFile> file =
      SafeTensorsFile::read(join(dir, "st.safetensors"));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_FALSE(file->names().empty());
  for (const std::string &name : file->names()) {
    llvm::Expected<Tensor> t = file->readFloat(name);
    ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
    ASSERT_FALSE(
        llvm::errorToBool(writeNpy(join(dir, "st-" + name + ".npy"), *t)));
  }
}

} // namespace
