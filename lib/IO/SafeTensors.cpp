//===- SafeTensors.cpp - Read and write safetensors files -----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file implements SafeTensorsFile and writeSafeTensors. The format is
// an 8-byte little-endian header size, a JSON header, and a data section
// that the tensors' byte ranges must tile exactly, as the reference
// implementation (huggingface/safetensors) requires.
//
//===----------------------------------------------------------------------===//

#include "FileSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <limits>

using namespace netc::io;

/// The largest header accepted, as in the reference implementation.
static constexpr uint64_t maxHeaderSize = 100'000'000;

unsigned SafeTensorsFile::getDTypeSize(llvm::StringRef dtype) {
  return llvm::StringSwitch<unsigned>(dtype)
      .Cases("F64", "I64", "U64", 8)
      .Cases("F32", "I32", "U32", 4)
      .Cases("F16", "BF16", "I16", "U16", 2)
      .Cases("I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", 1)
      .Default(0);
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Returns the non-negative integer `value` as int64_t, or None.
static llvm::Optional<int64_t> getAsExtent(const llvm::json::Value &value) {
  llvm::Optional<uint64_t> n = value.getAsUINT64();
  if (!n || *n > uint64_t(std::numeric_limits<int64_t>::max()))
    return llvm::None;
  return int64_t(*n);
}

/// Parses the entry of tensor `name` from `value` into `entry`, checking
/// everything that concerns this tensor alone; `dataSize` is the size of
/// the data section.
static llvm::Error parseEntry(llvm::StringRef path, llvm::StringRef name,
                              const llvm::json::Value &value, uint64_t dataSize,
                              SafeTensorEntry &entry) {
  std::string tensor = "tensor " + quote(name);
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return makeCorrupt(path, tensor + " is not a JSON object");
  for (const auto &field : *object)
    if (!llvm::is_contained(
            llvm::ArrayRef<llvm::StringRef>{"dtype", "shape", "data_offsets"},
            llvm::StringRef(field.first)))
      return makeCorrupt(path, tensor + " has unexpected field " +
                                   quote(field.first));

  const llvm::json::Value *dtype = object->get("dtype");
  if (!dtype)
    return makeCorrupt(path, tensor + " has no 'dtype'");
  llvm::Optional<llvm::StringRef> dtypeName = dtype->getAsString();
  if (!dtypeName)
    return makeCorrupt(path, "'dtype' of " + tensor + " is not a string");
  unsigned elementSize = SafeTensorsFile::getDTypeSize(*dtypeName);
  if (!elementSize)
    return makeCorrupt(path, "'dtype' of " + tensor + " is " +
                                 quote(*dtypeName) +
                                 ", which is not a safetensors dtype");
  entry.dtype = dtypeName->str();

  const llvm::json::Value *shape = object->get("shape");
  if (!shape)
    return makeCorrupt(path, tensor + " has no 'shape'");
  const llvm::json::Array *extents = shape->getAsArray();
  if (!extents)
    return makeCorrupt(path, "'shape' of " + tensor + " is not a list");
  for (const llvm::json::Value &extent : *extents) {
    llvm::Optional<int64_t> n = getAsExtent(extent);
    if (!n)
      return makeCorrupt(path, "'shape' of " + tensor +
                                   " has an entry that is not a "
                                   "non-negative 64-bit integer");
    entry.shape.push_back(*n);
  }

  const llvm::json::Value *offsets = object->get("data_offsets");
  if (!offsets)
    return makeCorrupt(path, tensor + " has no 'data_offsets'");
  const llvm::json::Array *range = offsets->getAsArray();
  llvm::Optional<uint64_t> begin, end;
  if (range && range->size() == 2) {
    begin = (*range)[0].getAsUINT64();
    end = (*range)[1].getAsUINT64();
  }
  if (!begin || !end)
    return makeCorrupt(path, "'data_offsets' of " + tensor +
                                 " is not a list of two non-negative "
                                 "integers");
  entry.begin = *begin;
  entry.end = *end;
  std::string offsetsText = "'data_offsets' [" + std::to_string(*begin) + ", " +
                            std::to_string(*end) + "] of " + tensor;
  if (*begin > *end)
    return makeCorrupt(path, offsetsText + " begin after they end");
  if (*end > dataSize)
    return makeCorrupt(path, offsetsText + " end past the data section (" +
                                 llvm::Twine(dataSize) + " bytes)");

  int64_t count = getNumElements(entry.shape);
  uint64_t byteSize = 0;
  if (count < 0 ||
      __builtin_mul_overflow(uint64_t(count), elementSize, &byteSize))
    return makeCorrupt(path, "'shape' " + formatShape(entry.shape) + " of " +
                                 tensor +
                                 " has a byte size that overflows 64 bits");
  if (*end - *begin != byteSize)
    return makeCorrupt(
        path, offsetsText + " span " + llvm::Twine(*end - *begin) +
                  " bytes, but 'shape' " + formatShape(entry.shape) + " of " +
                  entry.dtype + " needs " + llvm::Twine(byteSize));
  return llvm::Error::success();
}

/// Parses `__metadata__` into `metadata`.
static llvm::Error parseMetadata(llvm::StringRef path,
                                 const llvm::json::Value &value,
                                 std::map<std::string, std::string> &metadata) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return makeCorrupt(path, "'__metadata__' is not a JSON object");
  for (const auto &field : *object) {
    llvm::Optional<llvm::StringRef> text = field.second.getAsString();
    if (!text)
      return makeCorrupt(path, "'__metadata__' entry " + quote(field.first) +
                                   " is not a string");
    metadata[llvm::StringRef(field.first).str()] = text->str();
  }
  return llvm::Error::success();
}

llvm::Error SafeTensorsFile::parseHeader(llvm::StringRef json,
                                         uint64_t dataSize) {
  if (!llvm::json::isUTF8(json))
    return makeCorrupt(path, "safetensors header is not valid UTF-8");
  llvm::Expected<llvm::json::Value> root = llvm::json::parse(json);
  if (!root)
    return makeCorrupt(path, "safetensors header is not valid JSON: " +
                                 llvm::toString(root.takeError()));
  const llvm::json::Object *object = root->getAsObject();
  if (!object)
    return makeCorrupt(path, "safetensors header is not a JSON object");

  for (const auto &field : *object) {
    llvm::StringRef name = field.first;
    if (name == "__metadata__") {
      if (llvm::Error err = parseMetadata(path, field.second, metadataMap))
        return err;
      continue;
    }
    SafeTensorEntry entry;
    if (llvm::Error err = parseEntry(path, name, field.second, dataSize, entry))
      return err;
    entries.emplace_back(name.str(), std::move(entry));
  }
  llvm::sort(entries, llvm::less_first());
  return checkCoverage(dataSize);
}

llvm::Error SafeTensorsFile::checkCoverage(uint64_t dataSize) const {
  std::vector<const std::pair<std::string, SafeTensorEntry> *> order;
  for (const auto &entry : entries)
    order.push_back(&entry);
  llvm::sort(order, [](const auto *a, const auto *b) {
    return std::make_pair(a->second.begin, a->second.end) <
           std::make_pair(b->second.begin, b->second.end);
  });

  // Each range must start where the previous one ended, as in the reference
  // implementation; this rules out overlaps and gaps alike.
  uint64_t covered = 0;
  const std::string *previous = nullptr;
  for (const auto *entry : order) {
    const SafeTensorEntry &e = entry->second;
    std::string offsetsText = "'data_offsets' [" + std::to_string(e.begin) +
                              ", " + std::to_string(e.end) + "] of tensor " +
                              quote(entry->first);
    if (e.begin < covered)
      return makeCorrupt(path, offsetsText + " overlap tensor " +
                                   quote(*previous) + ", which ends at " +
                                   llvm::Twine(covered));
    if (e.begin > covered)
      return makeCorrupt(
          path, offsetsText + " leave bytes [" + llvm::Twine(covered) + ", " +
                    llvm::Twine(e.begin) + ") of the data section unused");
    covered = e.end;
    previous = &entry->first;
  }
  if (covered != dataSize)
    return makeCorrupt(path, "bytes [" + llvm::Twine(covered) + ", " +
                                 llvm::Twine(dataSize) +
                                 ") at the end of the data section belong "
                                 "to no tensor");
  return llvm::Error::success();
}

llvm::Expected<SafeTensorsFile> SafeTensorsFile::read(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bufferOrErr =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!bufferOrErr)
    return makeFileError(FileError::Kind::Unreadable, path,
                         "cannot read: " + bufferOrErr.getError().message());

  SafeTensorsFile file;
  file.path = path.str();
  file.buffer = std::move(*bufferOrErr);
  llvm::StringRef bytes = file.buffer->getBuffer();
  if (bytes.size() < 8)
    return makeCorrupt(path, "truncated safetensors file: it is shorter "
                             "than the 8-byte header size");
  uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
  if (headerSize > maxHeaderSize)
    return makeCorrupt(path, "safetensors header size " +
                                 llvm::Twine(headerSize) +
                                 " exceeds the limit of 100000000 bytes");
  if (headerSize > bytes.size() - 8)
    return makeCorrupt(path, "truncated safetensors file: the header size "
                             "is " +
                                 llvm::Twine(headerSize) + " but only " +
                                 llvm::Twine(bytes.size() - 8) +
                                 " bytes follow it");
  file.dataStart = 8 + headerSize;
  if (llvm::Error err = file.parseHeader(bytes.substr(8, headerSize),
                                         bytes.size() - file.dataStart))
    return std::move(err);
  return std::move(file);
}

std::vector<std::string> SafeTensorsFile::names() const {
  std::vector<std::string> result;
  for (const auto &entry : entries)
    result.push_back(entry.first);
  return result;
}

const SafeTensorEntry *SafeTensorsFile::lookup(llvm::StringRef name) const {
  auto it = llvm::partition_point(
      entries, [&](const auto &entry) { return entry.first < name; });
  if (it == entries.end() || it->first != name)
    return nullptr;
  return &it->second;
}

llvm::ArrayRef<uint8_t> SafeTensorsFile::rawData(llvm::StringRef name) const {
  const SafeTensorEntry *entry = lookup(name);
  if (!entry)
    return {};
  const uint8_t *data =
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart()) + dataStart;
  return llvm::makeArrayRef(data + entry->begin, data + entry->end);
}

//===----------------------------------------------------------------------===//
// Conversion to float32
//===----------------------------------------------------------------------===//

/// Returns the IEEE half-precision value `bits` as a float (exact).
static float convertHalf(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f)
    return llvm::bit_cast<float>(sign | 0x7f800000 | (mantissa << 13));
  return llvm::bit_cast<float>(sign | ((exponent + 112) << 23) |
                               (mantissa << 13));
}

/// Returns `value` rounded to the nearest float, ties to even.
static float roundToFloat(double value) {
  // FLT_MAX plus half an ulp: from here on the nearest float is infinity
  // (the tie goes to even, which is infinity too). Converting such values
  // with a cast would be undefined behaviour.
  constexpr double overflow = 0x1.ffffffp+127;
  if (std::fabs(value) >= overflow)
    return std::copysign(std::numeric_limits<float>::infinity(), value);
  return static_cast<float>(value);
}

llvm::Expected<Tensor> SafeTensorsFile::readFloat(llvm::StringRef name) const {
  const SafeTensorEntry *entry = lookup(name);
  if (!entry)
    return makeCorrupt(path, "no tensor " + quote(name));
  llvm::ArrayRef<uint8_t> bytes = rawData(name);
  Tensor tensor;
  tensor.shape = entry->shape;
  size_t count = bytes.size() / getDTypeSize(entry->dtype);
  tensor.data.resize(count);
  namespace endian = llvm::support::endian;
  if (entry->dtype == "F32") {
    readLittleEndianFloats(bytes.data(), count, tensor.data.data());
  } else if (entry->dtype == "F16") {
    for (size_t i = 0; i < count; ++i)
      tensor.data[i] = convertHalf(endian::read16le(bytes.data() + 2 * i));
  } else if (entry->dtype == "BF16") {
    for (size_t i = 0; i < count; ++i)
      tensor.data[i] = llvm::bit_cast<float>(
          uint32_t(endian::read16le(bytes.data() + 2 * i)) << 16);
  } else if (entry->dtype == "F64") {
    for (size_t i = 0; i < count; ++i)
      tensor.data[i] = roundToFloat(
          llvm::bit_cast<double>(endian::read64le(bytes.data() + 8 * i)));
  } else {
    return makeFileError(FileError::Kind::WrongType, path,
                         "tensor " + quote(name) + " has dtype " +
                             entry->dtype +
                             "; expected a floating-point dtype (F32, F16, "
                             "BF16 or F64)");
  }
  return std::move(tensor);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

llvm::Error netc::io::writeSafeTensors(
    llvm::StringRef path,
    llvm::ArrayRef<std::pair<std::string, const Tensor *>> tensors) {
  llvm::StringSet<> seen;
  for (const auto &[name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__" || !llvm::json::isUTF8(name) ||
        !seen.insert(name).second)
      return makeCorrupt(path, "cannot write a tensor named " + quote(name) +
                                   ": the name is empty, reserved, not "
                                   "UTF-8 or repeated");
    int64_t count = getNumElements(tensor->shape);
    if (count < 0 || uint64_t(count) != tensor->data.size())
      return makeCorrupt(path, "cannot write tensor " + quote(name) +
                                   " of shape " + formatShape(tensor->shape) +
                                   " with " + llvm::Twine(tensor->data.size()) +
                                   " elements");
  }

  std::string header;
  {
    llvm::raw_string_ostream os(header);
    llvm::json::OStream json(os);
    uint64_t offset = 0;
    json.object([&] {
      // Not a structured binding: C++17 does not let lambdas capture one.
      for (const auto &entry : tensors) {
        const Tensor *tensor = entry.second;
        uint64_t size = tensor->data.size() * sizeof(float);
        json.attributeObject(entry.first, [&] {
          json.attribute("dtype", "F32");
          json.attributeArray("shape", [&] {
            for (int64_t extent : tensor->shape)
              json.value(extent);
          });
          json.attributeArray("data_offsets", [&] {
            json.value(offset);
            json.value(offset + size);
          });
        });
        offset += size;
      }
    });
  }
  // The reference writer pads the header with spaces so that the data
  // section starts 8-byte aligned.
  header.append(llvm::alignTo(header.size(), 8) - header.size(), ' ');

  return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
    char size[8];
    llvm::support::endian::write64le(size, header.size());
    os.write(size, sizeof(size));
    os << header;
    for (const auto &entry : tensors)
      writeLittleEndianFloats(os, entry.second->data);
  });
}
