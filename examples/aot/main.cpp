// tiny_cnn_demo: runs the network compiled by
//   netc tiny_cnn.yaml --weights tiny_cnn.safetensors -o gen
// on an input .npy and writes the output .npy. It needs only the generated
// library and header, pthreads and libdl: no Python, no netc.
//
// usage: tiny_cnn_demo input.npy output.npy
//   input: float32 [N, 3, 32, 32] in C order; output: float32 [N, 10].

#include "tiny_cnn.h"

#include "HalideBuffer.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// Halide's default error handler prints and aborts; this one only prints,
/// so the generated function returns its error code to the caller.
void printError(void *, const char *message) {
  size_t n = std::strlen(message);
  std::fprintf(stderr, "error: %s%s", message,
               n && message[n - 1] == '\n' ? "" : "\n");
}

/// Reads a little-endian float32, C-order .npy file of format 1.0.
bool readNpy(const char *path, std::vector<int> &shape,
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
  for (std::string item; std::getline(dims, item, ',');)
    if (item.find_first_not_of(' ') != std::string::npos) {
      shape.push_back(std::stoi(item));
      count *= shape.back();
    }
  data.resize(count);
  return bool(in.read(reinterpret_cast<char *>(data.data()),
                      count * sizeof(float)));
}

/// Writes a float32, C-order .npy file of format 1.0.
bool writeNpy(const char *path, const std::vector<int> &shape,
              const float *data, size_t count) {
  std::string dims;
  for (int d : shape)
    dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       dims + "), }";
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

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s input.npy output.npy\n", argv[0]);
    return 2;
  }
  halide_set_error_handler(printError);
  std::vector<int> shape;
  std::vector<float> input;
  if (!readNpy(argv[1], shape, input) || shape.size() != 4) {
    std::fprintf(stderr, "error: %s is not a float32 [N, 3, 32, 32] .npy\n",
                 argv[1]);
    return 2;
  }
  int batch = shape[0];
  // Halide's dimensions are innermost first: C-order [N, C, H, W] is
  // (W, H, C, N).
  Halide::Runtime::Buffer<float> in(input.data(), shape[3], shape[2], shape[1],
                                    batch);
  Halide::Runtime::Buffer<float> out(10, batch);
  // The function checks every buffer's shape and returns an error code
  // instead of reading out of bounds.
  if (int error = tiny_cnn(in, out)) {
    std::fprintf(stderr, "error: tiny_cnn returned %d\n", error);
    return 1;
  }
  std::printf("output [%d, 10]:", batch);
  for (int i = 0; i < 10; ++i)
    std::printf(" %.4f", out(i, 0));
  std::printf("\n");
  return writeNpy(argv[2], {batch, 10}, out.data(), size_t(batch) * 10) ? 0
                                                                          : 1;
}
