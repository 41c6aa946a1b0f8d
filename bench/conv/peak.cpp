// peak.cpp - the machine's measured peak: fp32 FMA GFLOP/s and STREAM triad.
//
//   g++ -O3 -march=native -o peak peak.cpp -lpthread
//   ./peak [--seconds S] [--trials T] [--stream-mib M]
//
// Prints one JSON object:
//   {"isa": "avx512"|"avx2", "fma_gflops": {"1": G, "2": G},
//    "fma_gflops_median": {...}, "triad_gbs": {"1": B, "2": B}, ...}
//
// FMA: each thread runs NACC independent accumulator chains of vector FMAs
// (acc = acc * m + a) in a loop that the compiler cannot fold. With an FMA
// latency of 4 cycles and two FMA ports, 8 chains are needed to fill the
// pipes; NACC = 16 leaves margin. FLOPs = 2 * lanes * NACC * iterations per
// thread. The best of `trials` runs is the peak (a shared machine only ever
// makes a run slower); the median is printed too.
//
// Bandwidth: STREAM's triad a[i] = b[i] + s * c[i] on doubles, each array
// at least 4x the L3 (from sysconf) so nothing stays in cache, 24 bytes
// counted per element (STREAM's convention: no write-allocate traffic).
// Arrays are first touched by the thread that later works on that range.

#include <immintrin.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int NACC = 16;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs `iters` iterations of NACC independent FMA chains. Returns a value
// derived from the accumulators so the work is not dead.
__attribute__((target("avx512f"), noinline)) float fmaLoop512(long iters) {
  __m512 acc[NACC];
  for (int i = 0; i < NACC; ++i)
    acc[i] = _mm512_set1_ps(1.0f + 0.001f * float(i));
  const __m512 m = _mm512_set1_ps(0.999999f);
  const __m512 a = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < NACC; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  __m512 s = acc[0];
  for (int i = 1; i < NACC; ++i)
    s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"), noinline)) float fmaLoop256(long iters) {
  __m256 acc[NACC];
  for (int i = 0; i < NACC; ++i)
    acc[i] = _mm256_set1_ps(1.0f + 0.001f * float(i));
  const __m256 m = _mm256_set1_ps(0.999999f);
  const __m256 a = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < NACC; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  __m256 s = acc[0];
  for (int i = 1; i < NACC; ++i)
    s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  float r = 0;
  for (float v : out)
    r += v;
  return r;
}

struct Isa {
  const char *name;
  int lanes;
  float (*loop)(long);
};

Isa detectIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return {"avx512", 16, fmaLoop512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2", 8, fmaLoop256};
  std::fprintf(stderr, "peak: neither AVX-512F nor AVX2+FMA is supported\n");
  std::exit(1);
}

// GFLOP/s of `threads` threads each running `iters` iterations, timed from a
// common start until the last thread finishes.
double fmaGflops(const Isa &isa, int threads, long iters) {
  std::vector<std::thread> pool;
  std::vector<float> sink(threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load())
        ;
      sink[t] = isa.loop(iters);
    });
  while (ready.load() != threads)
    ;
  auto start = Clock::now();
  go.store(true);
  for (std::thread &th : pool)
    th.join();
  double s = secondsSince(start);
  volatile float keep = 0;
  for (float v : sink)
    keep = keep + v;
  (void)keep;
  double flops = 2.0 * isa.lanes * NACC * double(iters) * threads;
  return flops / s / 1e9;
}

// Triad bandwidth in GB/s (1e9 bytes/s) with `threads` threads; the best
// of `reps` passes.
double triadGbs(double *a, const double *b, const double *c, size_t n,
                int threads, int reps) {
  double best = 1e30;
  const double scalar = 3.0;
  for (int r = 0; r < reps; ++r) {
    std::vector<std::thread> pool;
    auto start = Clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([=] {
        size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        for (size_t i = lo; i < hi; ++i)
          a[i] = b[i] + scalar * c[i];
      });
    for (std::thread &th : pool)
      th.join();
    best = std::min(best, secondsSince(start));
  }
  return 3.0 * sizeof(double) * double(n) / best / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Allocates three arrays of `bytesPerArray`, first-touched by the threads
// that use them, and returns the triad GB/s for each thread count.
std::vector<double> runTriad(size_t bytesPerArray,
                             const std::vector<int> &threadCounts,
                             int maxThreads) {
  size_t n = bytesPerArray / sizeof(double);
  double *a = static_cast<double *>(std::aligned_alloc(64, n * sizeof(double)));
  double *b = static_cast<double *>(std::aligned_alloc(64, n * sizeof(double)));
  double *c = static_cast<double *>(std::aligned_alloc(64, n * sizeof(double)));
  if (!a || !b || !c) {
    std::fprintf(stderr, "peak: cannot allocate 3 x %zu MiB\n",
                 bytesPerArray >> 20);
    std::exit(1);
  }
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < maxThreads; ++t)
      pool.emplace_back([=] {
        size_t lo = n * t / maxThreads, hi = n * (t + 1) / maxThreads;
        for (size_t i = lo; i < hi; ++i) {
          a[i] = 0.0;
          b[i] = 1.0;
          c[i] = 2.0;
        }
      });
    for (std::thread &th : pool)
      th.join();
  }
  std::vector<double> triad;
  for (int t : threadCounts)
    triad.push_back(triadGbs(a, b, c, n, t, 5));
  volatile double keep = a[n / 2];
  (void)keep;
  std::free(a);
  std::free(b);
  std::free(c);

  return triad;
}

} // namespace

int main(int argc, char **argv) {
  double seconds = 0.3;
  int trials = 7;
  long streamMib = 0;
  int maxThreads = 2;
  bool stream = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "peak: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--seconds")
      seconds = std::atof(next());
    else if (arg == "--trials")
      trials = std::atoi(next());
    else if (arg == "--stream-mib")
      streamMib = std::atol(next());
    else if (arg == "--threads")
      maxThreads = std::atoi(next());
    else if (arg == "--no-stream")
      stream = false;
    else {
      std::fprintf(stderr, "usage: peak [--seconds S] [--trials T] "
                           "[--stream-mib MIB_PER_ARRAY] [--threads T] [--no-stream]\n");
      return 2;
    }
  }
  Isa isa = detectIsa();

  // Calibrate the iteration count to about `seconds` on one thread.
  long iters = 1 << 16;
  for (;;) {
    auto start = Clock::now();
    volatile float keep = isa.loop(iters);
    (void)keep;
    double s = secondsSince(start);
    if (s > 0.05) {
      iters = long(double(iters) * seconds / s) + 1;
      break;
    }
    iters *= 4;
  }

  std::vector<int> threadCounts;
  for (int t = 1; t <= maxThreads; ++t)
    threadCounts.push_back(t);
  std::vector<double> fmaBest, fmaMedian;
  for (int t : threadCounts) {
    std::vector<double> runs;
    for (int r = 0; r < trials; ++r)
      runs.push_back(fmaGflops(isa, t, iters));
    fmaBest.push_back(*std::max_element(runs.begin(), runs.end()));
    fmaMedian.push_back(median(runs));
  }

  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 <= 0)
    l3 = 64L << 20;
  size_t bytesPerArray =
      streamMib > 0 ? size_t(streamMib) << 20 : std::max<size_t>(4 * l3, 256UL << 20);
  std::vector<double> triad(threadCounts.size(), 0.0);
  if (stream)
    triad = runTriad(bytesPerArray, threadCounts, maxThreads);
  auto obj = [&](const std::vector<double> &v) {
    std::string s = "{";
    for (size_t i = 0; i < threadCounts.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s\"%d\": %.2f", i ? ", " : "",
                    threadCounts[i], v[i]);
      s += buf;
    }
    return s + "}";
  };
  std::printf("{\"isa\": \"%s\", \"lanes\": %d, \"accumulators\": %d, "
              "\"fma_gflops\": %s, \"fma_gflops_median\": %s, "
              "\"triad_gbs\": %s, \"triad_mib_per_array\": %zu, "
              "\"l3_bytes\": %ld}\n",
              isa.name, isa.lanes, NACC, obj(fmaBest).c_str(),
              obj(fmaMedian).c_str(), obj(triad).c_str(), bytesPerArray >> 20,
              l3);
  return 0;
}
