// onednn_conv.cpp - time one fp32 forward-inference convolution in oneDNN.
//
//   g++ -O3 -march=native -fopenmp -o onednn_conv onednn_conv.cpp -ldnnl -lpthread
//   ./onednn_conv --n 1 --c 64 --h 56 --w 56 --k 64 --r 3 --s 3 \
//       [--stride 1] [--pad 1] [--dilation 1] [--groups 1] \
//       [--layout any|nchw] [--reps 20] [--threads 2] [--huge-pages 1]
//
// Prints one JSON object on stdout:
//   {"layout", "ok", "ms" (median), "ms_min", "ms_max", "reps", "impl",
//    "src_md", "weights_md", "dst_md", "threads",
//    "reorder_ms": {"src", "weights", "dst"}   (layout any only)}
// or {"layout", "ok": false, "error"} when oneDNN has no implementation.
//
// layout any: src, weights and dst are memory::format_tag::any, so oneDNN
// picks its blocked layouts (nChw16c, OIhw16i16o, ...). The timed loop runs
// the convolution alone on memory already in those layouts; the reorders
// from/to plain NCHW/OIHW are timed separately, once (median of 5), and
// reported, never added to "ms".
// layout nchw: src/dst nchw, weights oihw (goihw with groups): what a caller
// that keeps PyTorch's layout gets without any reorder.
// The bias is off (ResNet's convolutions have none; netc's and torch's rows
// are built without one too). Dilation is PyTorch's (1 = dense); oneDNN's
// is one less. Threads: OpenMP, set with omp_set_num_threads(--threads).
// --huge-pages 1 (the default): src and dst are the harness's own memory,
// and those of 4 MiB or more are aligned to 2 MiB and advised to use
// transparent huge pages, as netc's runtime allocates activations (its
// weights stay on 4 KiB pages, and so do oneDNN's here); 0: 64-byte
// aligned, 4 KiB pages.

#include <dnnl.hpp>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// oneDNN's own notation for a blocked layout: dimensions outermost first,
// lowercase a, b, c, ... for plain and uppercase for blocked ones, then the
// inner blocks ("aBcd16b" is nChw16c, "ABcd16b16a" is OIhw16i16o).
std::string mdString(const memory::desc &md) {
  const dnnl_memory_desc_t &d = md.data;
  if (d.format_kind != dnnl_blocked)
    return "non-blocked";
  const dnnl_blocking_desc_t &b = d.format_desc.blocking;
  std::vector<int> order(d.ndims);
  for (int i = 0; i < d.ndims; ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return b.strides[x] > b.strides[y];
  });
  std::vector<bool> blocked(d.ndims, false);
  for (int i = 0; i < b.inner_nblks; ++i)
    blocked[b.inner_idxs[i]] = true;
  std::string s;
  for (int i : order)
    s += char((blocked[i] ? 'A' : 'a') + i);
  for (int i = 0; i < b.inner_nblks; ++i)
    s += std::to_string(b.inner_blks[i]) + char('a' + b.inner_idxs[i]);
  return s;
}

std::string jsonEscape(const std::string &s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\')
      out += '\\';
    if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

void fillRandom(memory &m, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  float *p = static_cast<float *>(m.get_data_handle());
  size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i)
    p[i] = u(rng);
}

// Memory for a tensor of `bytes`, freed at exit. With `hugePages`, one of
// 4 MiB or more is aligned to 2 MiB and advised to use transparent huge
// pages, as netc's runtime does with its buffers (JITSession.cpp).
void *allocate(size_t bytes, bool hugePages) {
  static std::vector<std::unique_ptr<void, decltype(&std::free)>> held;
  constexpr size_t kHuge = size_t(2) << 20;
  bool huge = hugePages && bytes >= 2 * kHuge;
  size_t align = huge ? kHuge : 64;
  size_t rounded = (bytes + align - 1) / align * align;
  void *p = std::aligned_alloc(align, rounded);
  if (!p) {
    std::fprintf(stderr, "onednn_conv: out of memory\n");
    std::exit(2);
  }
  if (huge)
    madvise(p, rounded, MADV_HUGEPAGE);
  held.emplace_back(p, &std::free);
  return p;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median time of 5 reorders from `from` to a fresh memory of `to`.
double timeReorder(engine &eng, stream &strm, memory &from,
                   const memory::desc &to) {
  memory dst(to, eng);
  reorder r(from, dst);
  std::vector<double> t;
  for (int i = 0; i < 6; ++i) {
    auto start = Clock::now();
    r.execute(strm, from, dst);
    strm.wait();
    if (i > 0)
      t.push_back(msSince(start));
  }
  return median(t);
}

} // namespace

int main(int argc, char **argv) {
  std::map<std::string, long> v = {
      {"n", 1},      {"c", 64},   {"h", 56},        {"w", 56},
      {"k", 64},     {"r", 3},    {"s", 3},         {"stride", 1},
      {"pad", 0},    {"dilation", 1}, {"groups", 1}, {"reps", 20},
      {"threads", 2}, {"warmup", 3}, {"huge-pages", 1}};
  std::string layout = "any";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fprintf(stderr, "onednn_conv: bad argument '%s'\n", arg.c_str());
      return 2;
    }
    std::string key = arg.substr(2), val = argv[++i];
    if (key == "layout") {
      layout = val;
    } else if (v.count(key)) {
      v[key] = std::atol(val.c_str());
    } else {
      std::fprintf(stderr, "onednn_conv: unknown option '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (layout != "any" && layout != "nchw") {
    std::fprintf(stderr, "onednn_conv: --layout is any or nchw\n");
    return 2;
  }
  omp_set_num_threads(int(v["threads"]));

  const long N = v["n"], C = v["c"], H = v["h"], W = v["w"], K = v["k"],
             R = v["r"], S = v["s"], st = v["stride"], pad = v["pad"],
             dil = v["dilation"], G = v["groups"];
  const long Ho = (H + 2 * pad - dil * (R - 1) - 1) / st + 1;
  const long Wo = (W + 2 * pad - dil * (S - 1) - 1) / st + 1;
  // Right padding so that oneDNN's output size equals PyTorch's floor rule.
  const long padRh = (Ho - 1) * st + dil * (R - 1) + 1 - H - pad;
  const long padRw = (Wo - 1) * st + dil * (S - 1) + 1 - W - pad;

  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  using tag = memory::format_tag;
  using dt = memory::data_type;
  memory::dims srcDims = {N, C, H, W}, dstDims = {N, K, Ho, Wo};
  memory::dims wDims = G == 1 ? memory::dims{K, C, R, S}
                              : memory::dims{G, K / G, C / G, R, S};
  tag wPlain = G == 1 ? tag::oihw : tag::goihw;

  bool any = layout == "any";
  memory::desc srcMd(srcDims, dt::f32, any ? tag::any : tag::nchw);
  memory::desc wMd(wDims, dt::f32, any ? tag::any : wPlain);
  memory::desc dstMd(dstDims, dt::f32, any ? tag::any : tag::nchw);

  convolution_forward::primitive_desc pd;
  try {
    convolution_forward::desc d(
        prop_kind::forward_inference, algorithm::convolution_direct, srcMd,
        wMd, dstMd, {st, st}, {dil - 1, dil - 1}, {pad, pad},
        {std::max(padRh, 0L), std::max(padRw, 0L)});
    pd = convolution_forward::primitive_desc(d, eng);
  } catch (const dnnl::error &e) {
    std::printf("{\"layout\": \"%s\", \"ok\": false, \"error\": \"%s\"}\n",
                layout.c_str(), jsonEscape(e.what()).c_str());
    return 0;
  }

  std::mt19937 rng(1);
  bool huge = v["huge-pages"] != 0;
  auto tensor = [&](const memory::desc &md) {
    return memory(md, eng, allocate(md.get_size(), huge));
  };
  memory src = tensor(pd.src_desc()), dst = tensor(pd.dst_desc());
  memory wts(pd.weights_desc(), eng,
             allocate(pd.weights_desc().get_size(), false));
  std::string reorderJson;
  if (any) {
    // Plain tensors, reordered into the chosen layouts (timed once).
    memory plainSrc({srcDims, dt::f32, tag::nchw}, eng);
    memory plainW({wDims, dt::f32, wPlain}, eng);
    fillRandom(plainSrc, rng);
    fillRandom(plainW, rng);
    reorder(plainSrc, src).execute(strm, plainSrc, src);
    reorder(plainW, wts).execute(strm, plainW, wts);
    strm.wait();
    double rs = timeReorder(eng, strm, plainSrc, pd.src_desc());
    double rw = timeReorder(eng, strm, plainW, pd.weights_desc());
    fillRandom(dst, rng);
    double rd = timeReorder(eng, strm, dst,
                            memory::desc(dstDims, dt::f32, tag::nchw));
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  ", \"reorder_ms\": {\"src\": %.4f, \"weights\": %.4f, "
                  "\"dst\": %.4f}",
                  rs, rw, rd);
    reorderJson = buf;
  } else {
    fillRandom(src, rng);
    fillRandom(wts, rng);
  }

  convolution_forward conv(pd);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_DST, dst}};
  for (long i = 0; i < v["warmup"]; ++i)
    conv.execute(strm, args);
  strm.wait();
  std::vector<double> times;
  for (long i = 0; i < std::max(v["reps"], 1L); ++i) {
    auto start = Clock::now();
    conv.execute(strm, args);
    strm.wait();
    times.push_back(msSince(start));
  }
  std::printf("{\"layout\": \"%s\", \"ok\": true, \"ms\": %.5f, "
              "\"ms_min\": %.5f, \"ms_max\": %.5f, \"reps\": %zu, "
              "\"threads\": %d, \"impl\": \"%s\", \"src_md\": \"%s\", "
              "\"weights_md\": \"%s\", \"dst_md\": \"%s\"%s}\n",
              layout.c_str(), median(times),
              *std::min_element(times.begin(), times.end()),
              *std::max_element(times.begin(), times.end()), times.size(),
              omp_get_max_threads(), jsonEscape(pd.impl_info_str()).c_str(),
              jsonEscape(mdString(pd.src_desc())).c_str(),
              jsonEscape(mdString(pd.weights_desc())).c_str(),
              jsonEscape(mdString(pd.dst_desc())).c_str(), reorderJson.c_str());
  return 0;
}
