//===- NpyFuzzer.cpp - Fuzz the .npy reader -------------------------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements the netc-fuzz-npy target: each input is a .npy file
// for readNpy. A file readNpy accepts must survive a round trip: writeNpy
// then readNpy give back the same shape and the same bits.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "netc/IO/TensorFile.h"

#include <cstring>

using namespace netc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const fuzz::ScratchFile input(".npy"), copy(".copy.npy");
  input.write(data, size);
  llvm::Expected<io::Tensor> tensor = io::readNpy(input.path);
  if (!tensor) {
    // Every failure is a FileError with a message; format it as the driver
    // would.
    llvm::handleAllErrors(tensor.takeError(), [](const io::FileError &e) {
      if (e.getMessage().empty())
        fuzz::oracleFailure("readNpy returned an empty message");
      std::string text;
      llvm::raw_string_ostream os(text);
      e.log(os);
    });
    return 0;
  }
  if (io::getNumElements(tensor->shape) != int64_t(tensor->data.size()))
    fuzz::oracleFailure("readNpy returned data that does not match its "
                        "shape");

  if (llvm::Error err = io::writeNpy(copy.path, *tensor)) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    fuzz::oracleFailure("writeNpy failed on a tensor readNpy accepted");
  }
  llvm::Expected<io::Tensor> again = io::readNpy(copy.path);
  if (!again) {
    llvm::errs() << llvm::toString(again.takeError()) << "\n";
    fuzz::oracleFailure("readNpy rejected what writeNpy wrote");
  }
  if (again->shape != tensor->shape ||
      again->data.size() != tensor->data.size() ||
      (!tensor->data.empty() &&
       std::memcmp(again->data.data(), tensor->data.data(),
                   tensor->data.size() * sizeof(float)) != 0))
    fuzz::oracleFailure("the .npy round trip changed the tensor");
  return 0;
}
