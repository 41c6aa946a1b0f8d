// run_library: calls the function of a library that netc compiled, through
// its `<name>_argv` entry point and `<name>_metadata`, on .npy files named
// after the function's arguments. Built by the tests with
//   c++ -DNETC_FUNCTION=<name> -I<dir> -I<netc>/examples/aot run_library.cpp \
//       <dir>/<name>.a
//
// usage: run_library DIR [REPEAT]
//   every input buffer argument <arg> reads DIR/<arg>.npy; every output
//   buffer <arg> takes the shape of DIR/<arg>.npy (the result of `netc run`)
//   and is written to DIR/<arg>.aot.npy. Float32, C order. With REPEAT, the
//   function runs REPEAT more times and the median time is printed.

#define NETC_STRING2(x) #x
#define NETC_STRING(x) NETC_STRING2(x)
#define NETC_CONCAT2(a, b) a##b
#define NETC_CONCAT(a, b) NETC_CONCAT2(a, b)
#include NETC_STRING(NETC_FUNCTION.h)

#include "HalideRuntime.h"
#include "npy_float32.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void printError(void *, const char *message) {
  std::fprintf(stderr, "error: %s\n", message);
}

struct Tensor {
  std::vector<int> shape;
  std::vector<float> data;
  std::vector<halide_dimension_t> dims;
  halide_buffer_t buffer;
};

/// A dense Halide buffer over `t`: Halide's dimensions are reversed.
void wrap(Tensor &t) {
  int rank = int(t.shape.size());
  t.dims.resize(rank);
  int stride = 1;
  for (int d = 0; d < rank; ++d) {
    t.dims[d] = {0, t.shape[rank - 1 - d], stride, 0};
    stride *= t.shape[rank - 1 - d];
  }
  std::memset(&t.buffer, 0, sizeof(t.buffer));
  t.buffer.host = reinterpret_cast<uint8_t *>(t.data.data());
  t.buffer.type = {halide_type_float, 32, 1};
  t.buffer.dimensions = rank;
  t.buffer.dim = t.dims.data();
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s DIR [REPEAT]\n", argv[0]);
    return 2;
  }
  halide_set_error_handler(printError);
  std::string dir = argv[1];
  const halide_filter_metadata_t *meta =
      NETC_CONCAT(NETC_FUNCTION, _metadata)();
  std::vector<Tensor> tensors(meta->num_arguments);
  std::vector<void *> args;
  for (int i = 0; i < meta->num_arguments; ++i) {
    const halide_filter_argument_t &arg = meta->arguments[i];
    Tensor &t = tensors[i];
    std::string path = dir + "/" + arg.name + ".npy";
    if (!npy::readFloat32(path, t.shape, t.data)) {
      std::fprintf(stderr, "error: cannot read %s\n", path.c_str());
      return 2;
    }
    if (arg.kind == halide_argument_kind_output_buffer)
      std::fill(t.data.begin(), t.data.end(), -12345.0f);
    wrap(t);
    args.push_back(&t.buffer);
  }
  if (int error = NETC_CONCAT(NETC_FUNCTION, _argv)(args.data())) {
    std::fprintf(stderr, "error: %s returned %d\n", meta->name, error);
    return 1;
  }
  if (argc == 3) {
    std::vector<double> ms;
    for (int r = 0, repeat = std::atoi(argv[2]); r < repeat; ++r) {
      auto start = std::chrono::steady_clock::now();
      NETC_CONCAT(NETC_FUNCTION, _argv)(args.data());
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count());
    }
    std::sort(ms.begin(), ms.end());
    if (!ms.empty())
      std::printf("median %.3f ms over %zu runs\n", ms[ms.size() / 2],
                  ms.size());
  }
  for (int i = 0; i < meta->num_arguments; ++i) {
    const halide_filter_argument_t &arg = meta->arguments[i];
    if (arg.kind != halide_argument_kind_output_buffer)
      continue;
    std::string path = dir + "/" + arg.name + ".aot.npy";
    if (!npy::writeFloat32(path, tensors[i].shape, tensors[i].data.data(),
                           tensors[i].data.size()))
      return 2;
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}
