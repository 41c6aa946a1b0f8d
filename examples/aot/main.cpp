// tiny_cnn_demo: runs the network compiled by
//   netc tiny_cnn.yaml --weights tiny_cnn.safetensors -o gen
// on an input .npy and writes the output .npy. It needs only the generated
// library and header, pthreads and libdl: no Python, no netc.
//
// usage: tiny_cnn_demo input.npy output.npy
//   input: float32 [N, 3, 32, 32] in C order; output: float32 [N, 10].

#include "tiny_cnn.h"

#include "HalideBuffer.h"
#include "npy_float32.h"

#include <cstdio>
#include <cstring>
#include <vector>

namespace {

/// Halide's default error handler prints and aborts; this one only prints,
/// so the generated function returns its error code to the caller.
void printError(void *, const char *message) {
  size_t n = std::strlen(message);
  std::fprintf(stderr, "error: %s%s", message,
               n && message[n - 1] == '\n' ? "" : "\n");
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
  if (!npy::readFloat32(argv[1], shape, input) || shape.size() != 4) {
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
  return npy::writeFloat32(argv[2], {batch, 10}, out.data(),
                           size_t(batch) * 10)
             ? 0
             : 1;
}
