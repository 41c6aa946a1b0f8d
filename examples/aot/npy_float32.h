//===- npy_float32.h - Float32 .npy files for programs without netc ------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// Reads and writes little-endian float32, C-order .npy files of format 1.0:
// what `netc run` and numpy's np.save write for float32 arrays. Header-only
// and standard C++ only, for programs that link a netc library and nothing
// else (examples/aot, and the tests' run_library). netc itself uses the
// strict reader in lib/IO.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_EXAMPLES_AOT_NPY_FLOAT32_H
#define NETC_EXAMPLES_AOT_NPY_FLOAT32_H

#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace npy {

/// Reads `path` into `shape` and `data`; false if it is not such a file.
inline bool readFloat32(const std::string &path, std::vector<int> &shape,
                        std::vector<float> &data) {
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY\x01\x00", 8) != 0)
    return false;
  unsigned char len[2];
  in.read(reinterpret_cast<char *>(len), 2);
  std::string header(len[0] | (len[1] << 8), '\0');
  in.read(&header[0], header.size());
  if (header.find("'<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos)
    return false;
  size_t open = header.find('('), close = header.find(')');
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  size_t count = 1;
  shape.clear();
  for (std::string item; std::getline(dims, item, ',');)
    if (item.find_first_not_of(' ') != std::string::npos) {
      shape.push_back(std::stoi(item));
      count *= shape.back();
    }
  data.resize(count);
  return bool(
      in.read(reinterpret_cast<char *>(data.data()), count * sizeof(float)));
}

/// Writes the `count` floats at `data` as an array of `shape` to `path`.
inline bool writeFloat32(const std::string &path, const std::vector<int> &shape,
                         const float *data, size_t count) {
  std::string dims;
  for (int d : shape)
    dims += std::to_string(d) + ", ";
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  out.write(reinterpret_cast<const char *>(data), count * sizeof(float));
  return bool(out);
}

} // namespace npy

#endif // NETC_EXAMPLES_AOT_NPY_FLOAT32_H
