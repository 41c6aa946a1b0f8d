//===- SafeTensorsFuzzer.cpp - Fuzz the safetensors reader ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the netc-fuzz-safetensors target: each input is a
// safetensors file for SafeTensorsFile::read. For a file it accepts, every
// accessor runs on every tensor (what `netc run --weights` does), and a
// file of F32 tensors with writable names must survive a round trip through
// writeSafeTensors with the same shapes and bits.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "netc/IO/TensorFile.h"

#include <cstring>

using namespace netc;

/// Returns whether `a` and `b` have the same shape and the same bits.
static bool sameTensor(const io::Tensor &a, const io::Tensor &b) {
  return a.shape == b.shape && a.data.size() == b.data.size() &&
         (a.data.empty() || std::memcmp(a.data.data(), b.data.data(),
                                        a.data.size() * sizeof(float)) == 0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const fuzz::ScratchFile input(".safetensors"),
      copy(".copy.safetensors");
  input.write(data, size);
  llvm::Expected<io::SafeTensorsFile> file = io::SafeTensorsFile::read(input.path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }

  std::vector<std::string> names = file->names();
  std::vector<io::Tensor> floats;
  bool writable = true;
  for (const std::string &name : names) {
    const io::SafeTensorEntry *entry = file->lookup(name);
    if (!entry)
      fuzz::oracleFailure("lookup failed on a name from names()");
    llvm::ArrayRef<uint8_t> raw = file->rawData(name);
    int64_t count = io::getNumElements(entry->shape);
    unsigned elementSize = io::SafeTensorsFile::getDTypeSize(entry->dtype);
    if (count < 0 || elementSize == 0 ||
        raw.size() != uint64_t(count) * elementSize)
      fuzz::oracleFailure("rawData does not match the entry's shape");
    // Touch every byte, so ASan sees a range past the buffer.
    uint8_t sum = 0;
    for (uint8_t byte : raw)
      sum += byte;
    (void)sum;
    llvm::Expected<io::Tensor> tensor = file->readFloat(name);
    if (!tensor) {
      llvm::consumeError(tensor.takeError());
      writable = false;
      continue;
    }
    if (int64_t(tensor->data.size()) != count)
      fuzz::oracleFailure("readFloat returned data that does not match its "
                          "shape");
    if (entry->dtype != "F32" || name.empty())
      writable = false;
    floats.push_back(std::move(*tensor));
  }
  (void)file->lookup("__metadata__");
  for (const auto &entry : file->metadata())
    (void)entry;
  if (!writable)
    return 0;

  std::vector<std::pair<std::string, const io::Tensor *>> tensors;
  for (size_t i = 0; i < names.size(); ++i)
    tensors.emplace_back(names[i], &floats[i]);
  if (llvm::Error err = io::writeSafeTensors(copy.path, tensors)) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    fuzz::oracleFailure("writeSafeTensors failed on F32 tensors that "
                        "SafeTensorsFile::read accepted");
  }
  llvm::Expected<io::SafeTensorsFile> again =
      io::SafeTensorsFile::read(copy.path);
  if (!again) {
    llvm::errs() << llvm::toString(again.takeError()) << "\n";
    fuzz::oracleFailure("SafeTensorsFile::read rejected what "
                        "writeSafeTensors wrote");
  }
  if (again->names() != names)
    fuzz::oracleFailure("the safetensors round trip changed the names");
  for (size_t i = 0; i < names.size(); ++i) {
    llvm::Expected<io::Tensor> t = again->readFloat(names[i]);
    if (!t || !sameTensor(*t, floats[i]))
      fuzz::oracleFailure("the safetensors round trip changed a tensor");
  }
  return 0;
}
