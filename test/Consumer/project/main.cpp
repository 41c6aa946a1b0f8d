// Runs the network compiled by netc_add_network() on a fixed input and prints
// its three outputs, one per line.
#include "classifier.h"

#include "HalideBuffer.h"

#include <cstdio>

int main() {
  float input[2][1][8][8];
  for (int n = 0; n < 2; ++n)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x)
        input[n][0][y][x] = 0.1f * float(x - y + 3 * n);
  // C order [N, C, H, W] is Halide's (W, H, C, N).
  Halide::Runtime::Buffer<float> in(&input[0][0][0][0], 8, 8, 1, 2);
  Halide::Runtime::Buffer<float> out(3, 2);
  if (int error = classifier(in, out))
    return error;
  for (int n = 0; n < 2; ++n)
    std::printf("%.6f %.6f %.6f\n", out(0, n), out(1, n), out(2, n));
  return 0;
}
