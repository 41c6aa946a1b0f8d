// The tutorial's program (docs/Tutorial.md): runs the network compiled by
//   netc digits.yaml --weights digits.safetensors -o gen
// on a batch of two made-up 28x28 images and prints the ten scores of each
// and the highest-scoring class. It links only gen/digits.a.

#include "digits.h"

#include "HalideBuffer.h"

#include <cstdio>

int main() {
  // A C-order tensor [N, C, H, W]: the same values as the tutorial's x.npy.
  static float images[2][1][28][28];
  for (int n = 0; n < 2; ++n)
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        images[n][0][y][x] = float((x + y + n) % 7) / 7.0f;

  // Halide lists dimensions innermost first: [N, 1, 28, 28] is (28, 28, 1, N).
  Halide::Runtime::Buffer<float> input(&images[0][0][0][0], 28, 28, 1, 2);
  Halide::Runtime::Buffer<float> scores(10, 2);
  if (int error = digits(input, scores)) {
    std::fprintf(stderr, "digits returned %d\n", error);
    return 1;
  }
  for (int n = 0; n < 2; ++n) {
    int best = 0;
    std::printf("image %d:", n);
    for (int c = 0; c < 10; ++c) {
      std::printf(" %.4f", scores(c, n));
      if (scores(c, n) > scores(best, n))
        best = c;
    }
    std::printf("  -> class %d\n", best);
  }
  return 0;
}
