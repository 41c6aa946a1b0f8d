//===- ConvSchedule.cpp - Schedules for Conv2d and pooling ----------------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file schedules the sliding-window layers, on NCHW tensors or in
// channel blocks (ActivationLayout.h). Conv2d has these kernels, chosen
// from the shape and the layouts:
//
// - Channel tiles, for convolutions with one group: a register tile of
//   one or two vectors of output channels by up to 14 output pixels (AVX-512;
//   fewer on 16-register targets), with the whole reduction (input channels,
//   kernel rows, kernel columns) inside it. Each step loads the tile's
//   weights as vectors from `packed` (the weight with output channels
//   innermost, in blocks of 16 channels, stored so once when the weights
//   are loaded; see WeightLayout.h), broadcasts one input value per pixel
//   and issues one FMA per accumulator. The tile is stored channels
//   innermost and then written to the NCHW output along the width, or,
//   when the output is in channel blocks (ActivationLayout.h), one channel
//   vector per pixel as it is; an input in blocks is padded in blocks. 1x1
//   convolutions are the GEMM special case of the same kernel (the padded
//   input is then inlined: it is the input itself). The loop over channel
//   blocks is outside the pixel tiles when the weights are the larger
//   operand (each block's weights stream through the cache once) and inside
//   them when the input is (each tile's input stays in cache for every
//   block); rows run in parallel, and the blocks too when outside. Long 1x1
//   reductions, and 3x3 layers with a stride above 1 or heavy weights, split
//   the reduction into chunks whose weights stay in L1 when the result is in
//   channel blocks (planChunks). A pointwise kernel in blocks whose tiles do
//   not divide the rows runs on its map flattened into one row
//   (prefersFlatMap), in parallel runs of about a row's worth of tiles.
// - Row tiles, for depthwise convolutions, other groups, layers with fewer
//   than 4 output channels, and stride-1 1x1 layers with few input channels
//   and wide rows whose input and output are NCHW: a register tile of one or
//   two vectors along the output width by several rows (by up to 6 output
//   channels with one group, each loaded input vector feeding all of them), the
//   kernel taps unrolled outside the tile; enough accumulators to cover the FMA
//   latency. The tile is stored along the width, as NCHW wants it. Depthwise
//   layers are memory bound: the padded input is made per channel in bands of
//   rows (zero padding: zeros, then each row's input copied in with dense
//   vectors), each band just before the tiles that read it, so each input
//   row is read once and the band stays in the L1 cache; small planes go
//   several to a task.
//
// - Channel-vector tiles, for depthwise convolutions whose input and output
//   are in channel blocks: one block by up to 16 pixels, each tap one
//   input vector load and one FMA per accumulator, the tap's weight vector
//   shared by the tile; the padded input of a block is made in bands of
//   rows just before the tiles that read them, as for the row tiles, in a
//   circular buffer of a few rows when the plane would not stay in L1.
//
// MaxPool2d and AvgPool2d materialise their padded input on NCHW and
// vectorize along the width; in channel blocks each tap of a window is one
// channel vector, the border inlined.
//
// Tiles never leave the tensor: a tile that does not divide a dimension is
// shifted inwards (it recomputes a few outputs) rather than guarded, so the
// register tile always has constant extents.
//
//===----------------------------------------------------------------------===//

#include "ScheduleUtils.h"

#include "netc/Dialect/NN/IR/NNOps.h"
#include "netc/Target/Halide/TuningCache.h"

#include "llvm/Support/FormatVariadic.h"

#include <atomic>
#include <cstdlib>
#include <thread>

#ifdef __linux__
#include <sched.h>
#endif

using namespace netc;
using namespace netc::halide;
using Halide::TailStrategy;
using Halide::Var;

Halide::Func halide::findFunc(const LoweredLayer &layer, FuncRole role) {
  for (const auto &[func, r] : layer.funcs)
    if (r == role)
      return func;
  return Halide::Func();
}

/// The vector width for a row of `width` elements: the target's natural
/// width, halved while half a vector still covers the row (at least 4).
static int rowVector(int64_t width, const Halide::Target &target) {
  int vec = target.natural_vector_size<float>();
  while (vec > 4 && vec / 2 >= width)
    vec /= 2;
  return vec;
}

/// The vector width for tiles of a row of `width` elements: the target's
/// natural width, halved while longer than the row (at least 4).
static int fitVector(int64_t width, const Halide::Target &target) {
  int vec = target.natural_vector_size<float>();
  while (vec > 4 && vec > width)
    vec /= 2;
  return vec;
}

/// The number of vector registers of `target`.
static int vectorRegisters(const Halide::Target &target) {
  // Every AVX-512 flavour (and only AVX-512) has 16-lane float vectors.
  if (target.arch == Halide::Target::X86)
    return target.natural_vector_size<float>() >= 16 ? 32 : 16;
  return 32; // AArch64 NEON/SVE
}

/// The tile size, at most `maxTile`, for a dimension of `extent`: the one
/// with the least work, counting `overhead` per tile (shifted tiles
/// recompute outputs; every tile reloads its weights).
static int64_t pickTile(int64_t extent, int64_t maxTile, int64_t unit,
                        int64_t overhead) {
  if (extent <= maxTile)
    return extent;
  int64_t best = maxTile, bestCost = INT64_MAX;
  for (int64_t t = maxTile; t >= (maxTile + 1) / 2; --t) {
    int64_t cost = (extent + t - 1) / t * (t * unit + overhead);
    if (cost < bestCost)
      best = t, bestCost = cost;
  }
  return best;
}

int halide::availableCPUs() {
#ifdef __linux__
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
    if (int count = CPU_COUNT(&allowed); count > 0)
      return count;
#endif
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

int halide::plannedThreads() {
  if (const char *env = std::getenv("HL_NUM_THREADS"))
    if (int threads = std::atoi(env); threads > 0)
      return threads;
  // The CPUs this process may run on, not all of the machine's: the JIT's
  // workers spin, and more of them than CPUs would take turns instead of
  // running together.
  return availableCPUs();
}

/// plannedBatch(): read by the compiling threads, set by the driver's.
static std::atomic<int64_t> plannedBatchValue{0};

int64_t halide::plannedBatch() { return plannedBatchValue.load(); }

halide::PlannedBatchScope::PlannedBatchScope(int64_t batch)
    : previous(plannedBatchValue.exchange(batch)) {}

halide::PlannedBatchScope::~PlannedBatchScope() {
  plannedBatchValue.store(previous);
}

namespace {
/// When the images of a batch run apart, each image's tasks on one thread
/// (parallelWithinImages): never, always, or when `when` holds, for a
/// batch known only at run time.
struct ImagesApart {
  enum Kind { Never, Always, When } kind = Never;
  Halide::Expr when;
};
} // namespace

/// When the `batch` images (undefined: a layer without a batch) run apart:
/// where every thread gets images of its own, at least one each and the
/// same number or at least four. A thread's image then stays in its own
/// cache while the thread computes it. Measured at batch 8 on 2 threads
/// (fastest of 4-6 interleaved runs) against the rows of each image in
/// parallel as well: ResNet-50's 23 shapes 5% faster (its 56x56 layers
/// 6-18%, the stem 9%, its chunked layers 0-7%); at batch 2, six of them
/// 3% faster. The padded input made per image by the image's thread
/// alone, not in parallel blocks: 2% faster over five of its layers.
/// MobileNetV2's depthwise layers in blocks, one block at a time per
/// image: 13% faster at batch 8 over its 10 shapes; ResNet's max-pool
/// after the stem 2% and a 2x2 average pool 16% (64 channels, fastest of
/// 6 x 30 repetitions).
static ImagesApart imagesApart(const Halide::Expr &batch) {
  ImagesApart apart;
  if (!batch.defined())
    return apart;
  int threads = plannedThreads();
  if (const int64_t *n = Halide::Internal::as_const_int(batch)) {
    if (*n >= threads && (*n % threads == 0 || *n >= 4 * threads))
      apart.kind = ImagesApart::Always;
    return apart;
  }
  apart.kind = ImagesApart::When;
  apart.when =
      batch >= threads && (batch % threads == 0 || batch >= 4 * threads);
  return apart;
}

/// Gives `stage`, whose images already run in parallel, the parallel loops
/// within an image of `parallelize` where its images do not run apart.
/// Call it after the directives both versions share (a specialization
/// copies the schedule made so far).
template <typename Parallelize>
static void parallelWithinImages(Halide::Stage stage, const ImagesApart &apart,
                                 Parallelize parallelize) {
  if (apart.kind == ImagesApart::Always)
    return;
  if (apart.kind == ImagesApart::When)
    stage.specialize(apart.when);
  parallelize(stage);
}

namespace {
/// What the conv schedules need to know about a Conv2d.
struct ConvShape {
  int64_t outW, outH, outC, groups, cpg;
  std::vector<int64_t> kernel;
  int64_t inputElements; ///< of one image
  int64_t weightElements;
  bool padded; ///< whether any padding is non-zero
  int64_t rank;
  int64_t stride;             ///< the larger of the two strides
  std::vector<int64_t> strides, dilations; ///< [rows, columns]
  bool blockedIn, blockedOut; ///< whether input and output are in blocks
  /// A strided 1x1 convolution without padding: its `padded` Func is the
  /// input at the strided pixels, which the channel tile makes dense.
  bool subsampled;
  bool dilated;      ///< whether either dilation is above 1
  ImagesApart apart; ///< when the images of a batch run apart
  /// Whether the sum skips the taps in the zero padding (lowerConv2d): its
  /// reduction has a predicate.
  bool tapsInside;

  /// Whether the map is flat (nn::KernelLayout::flatMap): one row of
  /// height times width pixels; `rowWidth` is then the width of the rows
  /// it was made of.
  bool flat = false;
  int64_t rowWidth = 0;

  /// The shape of a lowered Conv2d, on the map its kernel sees.
  explicit ConvShape(const LoweredLayer &layer)
      : ConvShape(llvm::cast<nn::Conv2dOp>(layer.op), layer.inputBlock != 0,
                  findFunc(layer, FuncRole::Output).dimensions() ==
                      int(layer.output.rank()) + 1) {
    if (rank == 4)
      apart = imagesApart(layer.output.sizes[0]);
    tapsInside =
        !Halide::Internal::is_const_one(layer.reduction.domain().predicate());
    const int64_t *w =
        Halide::Internal::as_const_int(layer.output.sizes[rank - 1]);
    const int64_t *h =
        Halide::Internal::as_const_int(layer.output.sizes[rank - 2]);
    assert(w && h && "a convolution's map has a static size");
    flat = *w != outW;
    rowWidth = outW;
    outW = *w;
    outH = *h;
  }

  /// The shape of `conv` on its own map, its input and result stored in
  /// blocks or not, before it is lowered.
  ConvShape(nn::Conv2dOp conv, bool blockedIn, bool blockedOut)
      : blockedIn(blockedIn), blockedOut(blockedOut), tapsInside(false) {
    auto type = conv.getType().cast<mlir::RankedTensorType>();
    rank = type.getRank();
    outW = type.getDimSize(rank - 1);
    outH = type.getDimSize(rank - 2);
    outC = conv.getOutChannelsAttr().getInt();
    groups = conv.getGroupsAttr().getInt();
    cpg = conv.getInChannelsAttr().getInt() / groups;
    for (mlir::Attribute a : conv.getKernelSize())
      kernel.push_back(a.cast<mlir::IntegerAttr>().getInt());
    stride = 1;
    for (mlir::Attribute a : conv.getStride()) {
      strides.push_back(a.cast<mlir::IntegerAttr>().getInt());
      stride = std::max(stride, strides.back());
    }
    auto inType = conv.getInput().getType().cast<mlir::RankedTensorType>();
    inputElements = 1;
    for (int64_t d = 1; d < inType.getRank(); ++d)
      inputElements *= inType.getDimSize(d);
    weightElements = outC * cpg * kernel[0] * kernel[1];
    padded = false;
    for (mlir::Attribute a : conv.getPadding())
      padded |= a.cast<mlir::IntegerAttr>().getInt() != 0;
    dilated = false;
    for (mlir::Attribute a : conv.getDilation()) {
      dilations.push_back(a.cast<mlir::IntegerAttr>().getInt());
      dilated |= dilations.back() > 1;
    }
    subsampled = !padded && stride > 1 && kernel[0] == 1 && kernel[1] == 1;
  }
};
} // namespace

namespace {
/// The Funcs of a lowered Conv2d by role, its output's variables and its
/// reduction.
struct ConvFuncs {
  Halide::Func out, acc, padded, packed;
  Var x, y, c;
  Halide::RDom r;
};
} // namespace

static ConvFuncs convFuncs(const LoweredLayer &layer) {
  return {findFunc(layer, FuncRole::Output),
          findFunc(layer, FuncRole::Accumulate),
          findFunc(layer, FuncRole::Padded),
          findFunc(layer, FuncRole::Packed),
          layer.vars[0],
          layer.vars[1],
          layer.vars[2],
          layer.reduction};
}

/// Folds the border tests of a sum that skips the zero padding
/// (ConvShape::tapsInside) into the tiles: with the output's width and
/// height fixed and a row's taps (`kx`, the kernel columns) unrolled in
/// `taps`, each test is a constant in every tile once Halide has split the
/// border tiles off the interior, and the interior tiles have none. `out`
/// is the output, (x, y, ...) or in blocks (cl, x, y, cb, n).
static void foldPaddingTests(const ConvShape &shape, Halide::Func out,
                             Halide::Stage taps, Halide::RVar kx) {
  if (!shape.tapsInside)
    return;
  std::vector<Var> v = out.args();
  size_t cx = shape.blockedOut ? 1 : 0;
  out.bound(v[cx], 0, int(shape.outW)).bound(v[cx + 1], 0, int(shape.outH));
  taps.unroll(kx);
}

/// The lanes of an output-channel vector for `shape`, or 0 when the channel
/// tile does not apply: several groups (Halide 14 does not see that a
/// vector of channels inside one group reads one input channel, and
/// gathers), or fewer than 4 output channels.
static int channelVector(const ConvShape &shape, const Halide::Target &target) {
  if (shape.groups != 1)
    return 0;
  int vec = target.natural_vector_size<float>();
  while (vec > 4 && vec > shape.outC)
    vec /= 2;
  return vec <= shape.outC ? vec : 0;
}

/// Vectorizes the padded input along its rows: the border and, when it is
/// built as zeros plus a copy of the input (zero padding), the copy too.
static void vectorizePadded(Halide::Func padded, Var x, int vec) {
  padded.vectorize(x, vec, TailStrategy::GuardWithIf);
  if (padded.has_update_definition())
    padded.update().vectorize(padded.rvars(0)[0], vec,
                              TailStrategy::GuardWithIf);
}

/// Runs `v` of the padded input's definition and update (zero padding's
/// copy of the input) in parallel unless the images run apart.
static void parallelPadded(Halide::Func padded, Var v,
                           const ImagesApart &apart) {
  auto parallel = [&](Halide::Stage s) { s.parallel(v); };
  parallelWithinImages(padded, apart, parallel);
  if (padded.has_update_definition())
    parallelWithinImages(padded.update(), apart, parallel);
}

/// The padded input in channel blocks computed at `at`, its vectors along
/// the channels of a block, and its blocks in parallel if `parallel` and
/// the images do not run apart.
static void padBlocksAt(Halide::Func padded, Halide::LoopLevel at, int vec,
                        bool parallel, const ImagesApart &apart) {
  std::vector<Var> v = padded.args(); // (channel in block, x, y, block, n)
  padded.compute_at(at).vectorize(v[0], vec);
  if (padded.has_update_definition())
    padded.update().vectorize(v[0], vec);
  if (parallel)
    parallelPadded(padded, v[3], apart);
}

/// The padded input computed at `at` (once, or once per image), channels
/// in parallel unless the images run apart. In channel blocks (a Func of
/// (c % block, x, y, c / block, n)), the blocks run in parallel and the
/// vectors lie along the channels of a block.
static void padAt(Halide::Func padded, Halide::LoopLevel at, Var x, Var c,
                  int vec, const ImagesApart &apart) {
  if (padded.dimensions() == 5) {
    padBlocksAt(padded, at, vec, /*parallel=*/true, apart);
    return;
  }
  padded.compute_at(at);
  vectorizePadded(padded, x, vec);
  parallelPadded(padded, c, apart);
}

/// The padded input computed once, channels in parallel.
static void padAtRoot(Halide::Func padded, Var x, Var c, int vec) {
  padAt(padded, Halide::LoopLevel::root(), x, c, vec, ImagesApart());
}

/// Whether a one-group 1x1 convolution runs faster as row tiles: with
/// stride 1, no padding, few input channels and rows of two vectors or
/// nearly so, the input plane of every input channel stays in cache while
/// the row tile reloads it for each block of 6 output channels, and the
/// tile is stored along the width as the NCHW output wants it (the channel
/// tile's write-back gathers). Measured (AVX-512, 1 thread): 24->144 and
/// 64->256 at 56x56, 32->192 at 28x28 15-25% faster as rows; 64->384 at
/// 14x14 and 128->512 at 28x28 slower.
static bool rowsForPointwise(const ConvShape &shape) {
  return shape.groups == 1 && shape.kernel[0] == 1 && shape.kernel[1] == 1 &&
         shape.stride == 1 && !shape.padded && shape.cpg <= 64 &&
         shape.outW >= 28;
}

/// The bytes of one chunk of a channel tile's weights: half the smallest
/// L1 data cache of the targets netc tunes for (32 KiB), so that the chunk
/// stays there beside the input it multiplies.
static constexpr int64_t kChunkWeightBytes = 16 * 1024;

/// Half the L2 cache of a core of the Xeons netc tunes for (2 MiB): a
/// working set of this size stays in L2 beside the weights a task reads.
static constexpr int64_t kHalfL2Bytes = 1024 * 1024;

/// Whether an image's input is too large to stay in L2 (kHalfL2Bytes).
static bool inputOverflowsL2(const ConvShape &shape) {
  return shape.inputElements * int64_t(sizeof(float)) > kHalfL2Bytes;
}

namespace {
/// How a channel tile's reduction is split into chunks, and the work into
/// tasks (scheduleChunkedReduction). `chunk` is 0 to keep the reduction
/// whole.
struct ChunkPlan {
  int64_t chunk = 0;           ///< input channels per chunk
  int64_t band = 0;            ///< output rows per task; on a flat map,
                               ///< output pixels of its one row
  int64_t block = 0;           ///< output channels per task
  bool parallelBlocks = false; ///< whether the blocks of a band run apart
};
} // namespace

/// Rows per task for a chunked convolution with a kernel larger than 1x1:
/// 7 to 14 rows dividing the image, the most that still make 4 bands (a
/// taller band reads fewer halo rows twice), else the fewest (the most
/// bands), or 0 when none divides.
static int64_t bandRows(int64_t outH) {
  for (int64_t rows = 14; rows >= 7; --rows)
    if (outH % rows == 0 && outH / rows >= 4)
      return rows;
  for (int64_t rows = 7; rows <= 14; ++rows)
    if (outH % rows == 0)
      return rows;
  return 0;
}

/// The chunked reduction's plan for a channel tile of `cTile` channels by
/// `xTile` x `yTile` pixels, or a plan without chunks. Chunks hold
/// kChunkWeightBytes of the tile's weights, in whole blocks of 16 input
/// channels (128 for a 32-channel 1x1 tile, 256 for a 16-channel one; 16
/// for 3x3, 18 KiB with 32 channels); the result must be
/// in channel blocks and the tile must divide the output exactly (the
/// chunks' sums are added in place, which a shifted tile would add twice).
/// Measured with 2 threads, fastest of interleaved runs, batch 1 and 8:
/// - 1x1 with at least 512 input channels, one task per channel tile of an
///   image: 1024->512 at 14x14 and 2048->512 at 7x7 25-30% faster at
///   batch 8, 512->128 at 28x28 and 512->2048 at 7x7 8-17%; at batch 1
///   within the machine's noise (+-10%). With 256 input channels: no gain.
/// - Kernels of 2 to 9 taps (3x3 measured; a 5x5 chunk of 16 channels
///   would not fit L1), a stride above 1 or weights at least twice the
///   input, no dilation: bands of rows, every output channel of a band one
///   task, or a quarter of them when the image is one band (a half when
///   two or three and the stride is 1). Over four A/B runs at batch 1 and three
///   at batch 8 (ResNet-50's 3x3 layers): 512x7 and 512x14/2 9-14% faster at
///   both batches; 256x28/2 8-16% faster at batch 8, at batch 1 5-8% faster in
///   three runs and 35% slower in one (a slow mode of this machine that
///   also came and went for unchanged layers); 128x56/2 from 6% faster to
///   5% slower; 256x14 and VGG-16's 512x28 and 512x14 2-4% faster. Not
///   applied: stride-1 layers whose weights are under twice their input
///   (VGG-16's 64x224 12% slower), dilated ones (dilation 2: 27% slower).
///
/// `chunkBytes` other than kChunkWeightBytes, and `byRule` false (only
/// whether chunks can be made, not whether the rule expects them to pay),
/// are for the candidates `netc tune` measures.
static ChunkPlan planChunks(const ConvShape &shape, int64_t cTile,
                            int64_t xTile, int64_t yTile,
                            int64_t chunkBytes = kChunkWeightBytes,
                            bool byRule = true) {
  ChunkPlan plan;
  if (!shape.blockedOut || shape.outW % xTile || shape.outC % cTile)
    return plan;
  int64_t taps = shape.kernel[0] * shape.kernel[1];
  int64_t chunk = chunkBytes / (taps * cTile * int64_t(sizeof(float)));
  chunk = std::max<int64_t>(nn::kActivationBlock, chunk / nn::kActivationBlock *
                                                      nn::kActivationBlock);
  if (shape.cpg % chunk != 0 || shape.cpg < 2 * chunk)
    return plan;
  if (taps == 1) {
    if (byRule && shape.cpg < 512)
      return plan;
    plan.band = shape.outH;
    plan.block = cTile;
    plan.parallelBlocks = true;
  } else {
    if (taps > 9 || shape.dilated)
      return plan;
    if (byRule &&
        !(shape.stride > 1 || shape.weightElements >= 2 * shape.inputElements))
      return plan;
    plan.band = bandRows(shape.outH);
    if (!plan.band)
      return plan;
    int64_t bands = shape.outH / plan.band;
    int64_t parts = bands >= 4 || (shape.stride > 1 && bands >= 2)
                        ? 1
                        : (4 + bands - 1) / bands;
    plan.block = shape.outC / parts;
    plan.parallelBlocks = parts > 1;
    if (shape.outC % parts || plan.block % cTile)
      return ChunkPlan();
  }
  if (plan.band % yTile)
    return ChunkPlan();
  plan.chunk = chunk;
  return plan;
}

/// A convolution whose reduction is split into chunks of input channels,
/// each chunk's weights for a channel tile read from the L1 cache by every
/// pixel tile of the task (oneDNN's batch-reduce GEMM does the same). A
/// task is a band of rows of an image by a block of output channels; its
/// sums stay in memory (L2), the chunks run one after the other, and
/// within a chunk the channel tiles and, inside each, the pixel tiles: a
/// register tile of the chunk's partial sums (Halide's rfactor), added to
/// the task's sums. The fused epilogue then runs over the task's sums,
/// read as channel vectors. The whole reduction streamed a 1024-input-
/// channel 1x1 tile's 128 KiB of weights from L2 for every pixel tile (at
/// batch 8, where each thread works on its own image, from L3 too), and a
/// 512-channel 3x3 tile's 576 KiB.
static void scheduleChunkedReduction(LoweredLayer &layer,
                                     const ConvShape &shape, int vec,
                                     int64_t cTile, int64_t xTile,
                                     int64_t yTile, const ChunkPlan &plan) {
  auto [out, acc, padded, packed, x, y, c, r] = convFuncs(layer);
  std::vector<Var> b = out.args(); // (channel in block, x, y, block, n)
  Var batch = b.back();
  Var cbo("cbo"), cbi("cbi"), yb("yb"), ybi("ybi");
  // On a flat map, a band is a run of pixels of its one row.
  bool runs = shape.flat && plan.band > 1;
  out.compute_root()
      .split(b[3], cbo, cbi, int(plan.block / nn::kActivationBlock),
             TailStrategy::RoundUp)
      .split(runs ? b[1] : b[2], yb, ybi, int(plan.band), TailStrategy::RoundUp)
      .reorder(b[0], runs ? ybi : b[1], runs ? b[2] : ybi, cbi, cbo, yb)
      .vectorize(b[0], vec)
      .parallel(batch);
  parallelWithinImages(out, shape.apart, [&](Halide::Stage s) {
    s.parallel(yb);
    if (plan.parallelBlocks)
      s.parallel(cbo);
  });

  // The task's sums, channels innermost as the epilogue reads them.
  std::vector<Var> storage = {c, x, y, layer.vars[3]};
  acc.compute_at(out, cbo).reorder_storage(storage).reorder(c, x, y).vectorize(
      c, vec);
  Halide::RVar rko("rko"), rki("rki");
  Var ko("ko");
  acc.update().split(r.z, rko, rki, int(plan.chunk));
  Halide::Func partial = acc.update().rfactor(rko, ko);
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), co("co"), ci("ci");
  acc.update()
      .split(x, xo, xi, int(xTile), TailStrategy::RoundUp)
      .split(y, yo, yi, int(yTile), TailStrategy::RoundUp)
      .split(c, co, ci, int(cTile), TailStrategy::RoundUp);
  // The channel tiles outside the pixel tiles: the chunk of one tile's
  // weights stays in L1 while every pixel tile of the task reads it (with
  // the channel tiles inside, a pixel tile cycled through the chunks of
  // all of the block's tiles, 144 KiB for 256 channels, from L2).
  // Measured (interleaved, fastest of 4 x 20 repetitions at batch 1, 4 x
  // 10 at batch 8): VGG-16's 512x14 27% and 512x28 8% faster, ResNet-50's
  // 512x14/2 7-23%, its other 3x3 layers within +-4% but 256x28/2 (-11%
  // and +4%); the 1x1 plans have one tile per task and do not change.
  acc.update().reorder(ci, xi, yi, xo, yo, co, rko);
  acc.update().vectorize(ci, vec).unroll(ci).unroll(xi).unroll(yi);

  // The register tile of a chunk, as the whole reduction's; a 1x1 chunk's
  // steps unrolled by one block of input channels (constant offsets into
  // a blocked input).
  storage.push_back(ko);
  partial.compute_at(acc, xo)
      .reorder_storage(storage)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);
  Halide::Stage steps = partial.update();
  if (shape.kernel[0] * shape.kernel[1] == 1) {
    Halide::RVar rkb("rkb"), rkl("rkl");
    steps.split(rki, rkb, rkl, nn::kActivationBlock)
        .reorder(c, x, y, r.x, r.y, rkl, rkb)
        .unroll(rkl);
  } else {
    steps.reorder(c, x, y, r.x, r.y, rki);
  }
  steps.vectorize(c, vec).unroll(c).unroll(x).unroll(y);
  foldPaddingTests(shape, out, steps, r.x);
  // Weights not stored packed are packed per task's block of channels.
  if (packed.defined()) {
    std::vector<Var> p = packed.args();
    packed.compute_at(out, cbo).vectorize(p[0], vec);
  }
  // The padded input once per image, or, when an image's input would not
  // stay in L2, per band just before its tasks read it (the band's rows
  // and their halo). Measured (interleaved, fastest of 5 x 10 repetitions
  // at batch 8, 6 x 30 at batch 1): ResNet-50's 128x56/2 (1.6 MiB an
  // image) 10-19% faster per band at batch 8 and 5-6% at batch 1; VGG-16's
  // 512x28 (1.6 MiB) 1-3%; 256x28/2 (0.8 MiB) and 512x14/2 13-16% slower
  // per band at batch 8, hence the threshold.
  if (shape.padded || shape.subsampled) {
    int padVec = std::min(vec, nn::kActivationBlock);
    if (inputOverflowsL2(shape) && shape.blockedIn)
      padBlocksAt(padded, Halide::LoopLevel(out, yb), padVec,
                  plan.parallelBlocks, shape.apart);
    else
      padAt(padded, Halide::LoopLevel(out, batch), x, c, padVec, shape.apart);
  }
}

namespace {
/// A channel tile's plan: its register tile, whether its reduction runs in
/// chunks (scheduleChunkedReduction) and, without chunks, where the loop
/// over channel blocks runs. netc's rules choose it (ruleTilePlan), or a
/// tuning cache (TuningCache.h).
struct TilePlan {
  int cVecs = 1;                ///< output-channel vectors per tile
  int64_t xTile = 1, yTile = 1; ///< pixels per tile
  ChunkPlan chunks;             ///< chunks.chunk == 0: the whole reduction
  bool blocksInside = false;    ///< without chunks: blocks inside the pixels

  /// The plan as a tuning cache's choice.
  std::string str() const {
    return llvm::formatv("vectors={0} pixels={1}x{2} chunk={3} band={4} "
                         "block={5} inside={6}",
                         cVecs, xTile, yTile, chunks.chunk, chunks.band,
                         chunks.block, int(blocksInside && !chunks.chunk));
  }
};
} // namespace

/// The register tile of `cVecs` channel vectors by at most `maxPixels`
/// pixels, a row's worth first.
static void setRegisterTile(TilePlan &plan, const ConvShape &shape, int cVecs,
                            int64_t maxPixels) {
  plan.cVecs = cVecs;
  plan.xTile = pickTile(shape.outW, maxPixels, 1, 2);
  plan.yTile = pickTile(
      shape.outH, std::max<int64_t>(1, maxPixels / plan.xTile), plan.xTile, 2);
}

/// Where the loop over channel blocks runs by rule: outside the pixel
/// tiles, so that each block's weights are read while they are in cache,
/// unless the input is the larger of the two (twice the weights or more);
/// then inside, so that a tile's input stays in cache while every block
/// reads it (256->64 1x1 at 56x56: 14% faster; 512->2048 at 7x7: 50%
/// slower). Weights packed per block (`packedPerBlock`) need the block
/// outside.
static bool blocksInsideByRule(const ConvShape &shape, bool packedPerBlock) {
  return !packedPerBlock && shape.inputElements >= 2 * shape.weightElements;
}

/// netc's rules for a channel tile of `vec`-lane vectors.
static TilePlan ruleTilePlan(const ConvShape &shape, int vec,
                             const Halide::Target &target,
                             bool packedPerBlock) {
  // Two channel vectors when there are enough channels, and as many pixels
  // as make half the registers accumulators: LLVM keeps the broadcast
  // inputs of neighbouring kernel columns live beside them (14 pixels by 2
  // vectors spilled and ran 1.6x slower than 8 by 2 on AVX-512).
  // Two vectors only where they divide the channels (or one does not
  // either): a shifted tile would read the blocked weights unaligned.
  int cVecs = shape.outC >= 2 * vec &&
                      (shape.outC % (2 * vec) == 0 || shape.outC % vec != 0)
                  ? 2
                  : 1;
  if (shape.blockedOut)
    cVecs = std::max(cVecs, nn::kActivationBlock / vec);
  int64_t maxPixels = vectorRegisters(target) / 2 / cVecs;
  // A stride-1 1x1 convolution with a short reduction (at most 256 input
  // channels) and at least two 64-channel blocks: four channel vectors by
  // 6 pixels (24 accumulators). Each broadcast input then feeds four FMAs
  // instead of two, and a 64-channel tile's weights (at most 64 KiB) stay
  // in cache. Measured with blocked activations (2 threads, minimum of
  // interleaved runs): 64->256 at 56x56 and 256->128 at 56x56 ran 15-32%
  // faster; longer reductions (512 and more input channels) and stride 2
  // ran 10-25% slower, and 3x3 kernels slower too (neighbouring columns'
  // inputs stay live beside the accumulators); 7 pixels (28 accumulators)
  // spilled.
  bool pointwise = shape.kernel[0] == 1 && shape.kernel[1] == 1;
  if (vectorRegisters(target) >= 32 && pointwise && shape.stride == 1 &&
      shape.cpg <= 256 && shape.outC % (4 * vec) == 0 &&
      shape.outC >= 8 * vec) {
    cVecs = 4;
    maxPixels = 6;
  }
  // An image stem, a kernel of 7x7 or more over at most 4 input channels
  // (RGB), whose result is in channel blocks (NCHW would be written back
  // four pixels wide): four channel vectors by 4 pixels (16 accumulators),
  // each broadcast input feeding four FMAs; a step loads 8 values where
  // two vectors by 8 pixels loaded 10. ResNet's 7x7/2 stem, 3->64 at 224x224,
  // measured against 2 x 8 (fastest of interleaved runs): 8-9% faster at
  // batch 1 and 8; 4 vectors by 6 pixels 5-7% faster, by 7 slower.
  if (vectorRegisters(target) >= 32 && shape.blockedOut && shape.cpg <= 4 &&
      shape.kernel[0] * shape.kernel[1] >= 49 && shape.outC % (4 * vec) == 0) {
    cVecs = 4;
    maxPixels = 4;
  }
  TilePlan plan;
  setRegisterTile(plan, shape, cVecs, maxPixels);
  plan.chunks = planChunks(shape, cVecs * vec, plan.xTile, plan.yTile);
  plan.blocksInside = blocksInsideByRule(shape, packedPerBlock);
  return plan;
}

/// The pixels that tiles of `xTile` x `yTile` compute on a map of `outW` x
/// `outH`: a tile that does not divide the map is shifted inwards and
/// computes some pixels twice.
static int64_t tiledPixels(int64_t outW, int64_t outH, int64_t xTile,
                           int64_t yTile) {
  return (outW + xTile - 1) / xTile * xTile *
         ((outH + yTile - 1) / yTile * yTile);
}

bool halide::prefersFlatMap(const nn::FusedLayer &layer,
                            const nn::KernelLayout &layout,
                            const Halide::Target &target) {
  auto conv = llvm::dyn_cast<nn::Conv2dOp>(layer.ops.front());
  if (!conv || !layout.resultBlock)
    return false;
  for (unsigned i = 0; i < layer.operands.size(); ++i)
    if (!layout.operandBlock(i))
      return false;
  // Pointwise in space: a 1x1 convolution with stride 1 and no padding,
  // then ops that map each pixel on its own, every value of one map.
  auto mapOf = [](mlir::Value v) {
    auto type = v.getType().cast<mlir::RankedTensorType>();
    return type.getRank() == 4 ? type.getShape().drop_front(2)
                               : llvm::ArrayRef<int64_t>();
  };
  llvm::ArrayRef<int64_t> map = mapOf(conv.getInput());
  if (map.empty() || mlir::ShapedType::isDynamic(map[0]) ||
      mlir::ShapedType::isDynamic(map[1]))
    return false;
  ConvShape shape(conv, /*blockedIn=*/true, /*blockedOut=*/true);
  if (shape.groups != 1 || shape.kernel != std::vector<int64_t>{1, 1} ||
      shape.stride != 1 || shape.padded)
    return false;
  for (mlir::Operation *op : layer.ops) {
    if (op != conv.getOperation() &&
        !llvm::isa<nn::BatchNorm2dOp, nn::AddOp>(op) &&
        !op->hasTrait<mlir::OpTrait::SameOperandsAndResultType>())
      return false;
    for (mlir::Value v : op->getOperands())
      if (mapOf(v) != map)
        return false;
    if (mapOf(op->getResult(0)) != map)
      return false;
  }
  // Flat when the rule's tiles on the flat map compute at least 2% fewer
  // pixels than on the rows: ResNet-50's 1x1 layers whose tiles are four
  // channel vectors by 6 pixels (by 5 on rows of 14) compute 7% of their
  // pixels twice on maps 56, 28 and 14 pixels wide. Measured against the
  // same layers on rows (2 threads, interleaved, fastest of 5 runs of 10
  // repetitions at batch 8, of 30 at batch 1): 64->256 at 56x56 3% faster
  // at both batches, 256->128 at 56x56 0-4%, 128->512 at 28x28 5%,
  // 256->1024 at 14x14 6-7%; the medians 4-10% lower. Layers whose tiles
  // divide the rows ran up to 6% slower on a flat map (1024->256 at 14x14:
  // a 14-row map as 2 x 7 tiles, flat as tiles of 8), hence the rule.
  int vec = channelVector(shape, target);
  if (!vec)
    return false;
  TilePlan rows = ruleTilePlan(shape, vec, target, /*packedPerBlock=*/false);
  ConvShape flat = shape;
  flat.outW = shape.outW * shape.outH;
  flat.outH = 1;
  flat.flat = true;
  flat.rowWidth = shape.outW;
  TilePlan flatPlan = ruleTilePlan(flat, vec, target, /*packedPerBlock=*/false);
  return tiledPixels(flat.outW, 1, flatPlan.xTile, flatPlan.yTile) * 102 <
         tiledPixels(shape.outW, shape.outH, rows.xTile, rows.yTile) * 100;
}

void halide::chooseFlatMaps(llvm::ArrayRef<nn::FusedLayer> layers,
                            llvm::MutableArrayRef<nn::KernelLayout> layouts,
                            const Halide::Target &target) {
  for (size_t l = 0; l < layers.size(); ++l)
    layouts[l].flatMap = prefersFlatMap(layers[l], layouts[l], target);
}

/// The plans `netc tune` measures for a channel tile, the rule's first:
/// two and four channel vectors (four on 32-register targets) by as many
/// pixels as the registers hold, and four by 4 pixels for 1x1, each with the
/// whole reduction (channel blocks outside and inside the pixel tiles) and with
/// chunks of 16 and 32 KiB of weights where the shape allows them (for 1x1
/// on large maps, per image and per band of rows). Four vectors by 4
/// pixels divide more maps than by 6, which chunks need: measured by netc
/// tune (batch 8, AMD Zen 5), the fastest plan for ResNet-50's 512->256 at
/// 28x28 (chunks of 32 KiB, 3-5% faster than the rule) and 256->128 at
/// 56x56 on a flat map (2-8%).
static std::vector<TilePlan> candidateTilePlans(const ConvShape &shape, int vec,
                                                const Halide::Target &target,
                                                bool packedPerBlock,
                                                const TilePlan &rule) {
  std::vector<TilePlan> plans = {rule};
  auto add = [&](const TilePlan &plan) {
    for (const TilePlan &p : plans)
      if (p.str() == plan.str())
        return;
    plans.push_back(plan);
  };
  int registers = vectorRegisters(target);
  std::vector<std::pair<int, int64_t>> tiles = {{rule.cVecs, 0},
                                                {2, registers / 4}};
  if (registers >= 32)
    tiles.push_back({4, 6});
  if (registers >= 32 && shape.kernel[0] * shape.kernel[1] == 1)
    tiles.push_back({4, 4});
  for (auto [cVecs, maxPixels] : tiles) {
    int64_t cTile = int64_t(cVecs) * vec;
    if (cTile > shape.outC || shape.outC % cTile ||
        (shape.blockedOut && cTile % nn::kActivationBlock))
      continue;
    TilePlan plan = rule;
    if (maxPixels)
      setRegisterTile(plan, shape, cVecs, maxPixels);
    plan.chunks = ChunkPlan();
    plan.blocksInside = blocksInsideByRule(shape, packedPerBlock);
    add(plan);
    if (!packedPerBlock) {
      TilePlan flipped = plan;
      flipped.blocksInside = !plan.blocksInside;
      add(flipped);
    }
    for (int64_t bytes : {kChunkWeightBytes, 2 * kChunkWeightBytes}) {
      TilePlan chunked = plan;
      chunked.chunks = planChunks(shape, cTile, plan.xTile, plan.yTile, bytes,
                                  /*byRule=*/false);
      if (!chunked.chunks.chunk)
        continue;
      add(chunked);
      // A 1x1 chunk's task is a whole image; on maps of 28 rows and more,
      // also a band of rows (bandRows), whose sums stay in cache, or on a
      // flat map the run of pixels those rows were. Measured by netc tune
      // at batch 8 (AMD Zen 5, 1 MiB of L2): 256->64 at 56x56 7% faster in
      // bands of 14 rows, 512->256 and 512->128 at 28x28 2-4% in bands of 7.
      int64_t rows = shape.flat ? shape.outW / shape.rowWidth : shape.outH;
      int64_t band = bandRows(rows);
      if (shape.flat)
        band *= shape.rowWidth;
      if (shape.kernel[0] * shape.kernel[1] == 1 && rows >= 28 && band &&
          band % (shape.flat ? plan.xTile : plan.yTile) == 0) {
        chunked.chunks.band = band;
        add(chunked);
      }
    }
  }
  return plans;
}

/// The plan a tuning cache's `choice` names: `rule` for netc's rule (which
/// a later netc may change), else one of the candidates (a choice from
/// another netc, or edited, is not used).
static llvm::Optional<TilePlan>
planOfChoice(llvm::StringRef choice, const std::vector<TilePlan> &candidates) {
  choice = choice.trim();
  if (choice == kRuleChoice)
    return candidates.front();
  for (const TilePlan &plan : candidates)
    if (plan.str() == choice)
      return plan;
  return llvm::None;
}

/// `target` without the features that do not change the code of a kernel
/// (a JIT or an AOT library, bounds queries, a runtime), so that a choice
/// tuned in the JIT applies to the object files of the same machine.
static std::string codegenTarget(const Halide::Target &target) {
  llvm::SmallVector<llvm::StringRef> parts;
  std::string text = target.to_string();
  llvm::StringRef(text).split(parts, '-');
  std::string kept;
  for (llvm::StringRef part : parts) {
    if (part.startswith("no_") || part.startswith("trace_") ||
        llvm::is_contained(
            llvm::ArrayRef<llvm::StringRef>{
                "jit", "user_context", "debug", "profile", "large_buffers",
                "embed_bitcode", "c_plus_plus_name_mangling"},
            part))
      continue;
    kept += (kept.empty() ? "" : "-") + part.str();
  }
  return kept;
}

/// The tuning cache's key of a convolution at `batch` (1, or any larger
/// one: N): see TuningCache.h.
static std::string tuningKey(const LoweredLayer &layer, const ConvShape &shape,
                             const Halide::Target &target, int64_t batch) {
  auto conv = llvm::cast<nn::Conv2dOp>(layer.op);
  auto inType = conv.getInput().getType().cast<mlir::RankedTensorType>();
  auto ints = [](mlir::ArrayAttr a) {
    std::string text;
    for (mlir::Attribute v : a)
      text += (text.empty() ? "" : "x") +
              std::to_string(v.cast<mlir::IntegerAttr>().getInt());
    return text;
  };
  return llvm::formatv(
      "conv2d in={0}x{1}x{2} out={3} kernel={4} stride={5} padding={6}:{7} "
      "dilation={8} groups={9} layout={10}>{11} batch={15} threads={12} "
      "target={13} cpu={14}",
      inType.getDimSize(inType.getRank() - 3),
      inType.getDimSize(inType.getRank() - 2),
      inType.getDimSize(inType.getRank() - 1), shape.outC,
      ints(conv.getKernelSize()), ints(conv.getStride()),
      ints(conv.getPadding()), conv.getPaddingMode(), ints(conv.getDilation()),
      shape.groups, shape.blockedIn ? "blocks" : "nchw",
      shape.blockedOut ? (shape.flat ? "blocks-flat" : "blocks") : "nchw",
      plannedThreads(), codegenTarget(target), hostCPUKey(),
      batch == 1 ? "1" : "N");
}

/// The plan for a channel tile: netc's rule, unless `netc tune` forces a
/// candidate (TuningProbe) or the active tuning cache has a choice for it.
static TilePlan chooseTilePlan(const LoweredLayer &layer,
                               const ConvShape &shape, int vec,
                               const Halide::Target &target,
                               bool packedPerBlock) {
  TilePlan rule = ruleTilePlan(shape, vec, target, packedPerBlock);
  TuningProbe *probe = tuningProbe();
  std::shared_ptr<const TuningCache> activeCache;
  if (!probe)
    activeCache = activeTuningCache();
  if (!probe && !activeCache)
    return rule;
  std::vector<TilePlan> candidates =
      candidateTilePlans(shape, vec, target, packedPerBlock, rule);
  // The batch the kernel runs at, or is planned for when it is known only
  // at run time: 1, or N for larger batches (another plan may win there:
  // the images then run apart, each in its own thread's cache). A batch
  // neither known nor planned (an object file) takes N's choice, or else
  // batch 1's, so that a cache tuned at batch 1 alone still serves it.
  int64_t batch = 1;
  bool unplanned = false;
  if (shape.rank == 4) {
    const int64_t *n =
        Halide::Internal::as_const_int(layer.output.sizes.front());
    batch = n ? *n : plannedBatch();
    unplanned = !n && batch == 0;
  }
  std::string key = tuningKey(layer, shape, target, batch);
  if (probe) {
    probe->key = key;
    probe->flatMap = shape.flat;
    probe->candidates.clear();
    for (const TilePlan &plan : candidates)
      probe->candidates.push_back(plan.str());
    if (probe->force >= 0 && size_t(probe->force) < candidates.size())
      return candidates[probe->force];
    return rule;
  }
  llvm::Optional<std::string> choice = activeCache->lookup(key);
  if (!choice && unplanned)
    choice = activeCache->lookup(tuningKey(layer, shape, target, 1));
  if (choice)
    if (llvm::Optional<TilePlan> plan = planOfChoice(*choice, candidates))
      return *plan;
  return rule;
}

/// The tiles of `xTile` pixels per parallel task on a flat map: about a
/// row's worth of the map it was made of (half to twice that), the number
/// whose runs recompute the fewest tiles (the last run is shifted inwards:
/// ResNet's 56x56 map is 523 tiles of 6, which runs of 10 tiles, a row's,
/// overlap by 7 and runs of 7 by 2).
static int64_t flatRunTiles(const ConvShape &shape, int64_t xTile) {
  int64_t tiles = (shape.outW + xTile - 1) / xTile;
  int64_t row = (shape.rowWidth + xTile - 1) / xTile;
  // A run never exceeds the map (a shifted run must fit inside it), nor
  // shrinks below two tiles (a single tile always divides the map).
  int64_t most = std::max<int64_t>(1, std::min(2 * row, shape.outW / xTile));
  int64_t least = std::min(most, std::max<int64_t>(2, row / 2));
  int64_t best = std::min(row, most), bestWaste = INT64_MAX;
  for (int64_t k = least; k <= most; ++k) {
    int64_t waste = (tiles + k - 1) / k * k - tiles;
    if (waste < bestWaste ||
        (waste == bestWaste && std::abs(k - row) < std::abs(best - row)))
      best = k, bestWaste = waste;
  }
  return best;
}

/// Conv2d with output-channel vectors: see the file comment.
static void scheduleConvChannels(LoweredLayer &layer, const ConvShape &shape,
                                 int vec, const Halide::Target &target) {
  auto [out, acc, padded, packed, x, y, c, r] = convFuncs(layer);
  TilePlan plan = chooseTilePlan(layer, shape, vec, target,
                                 /*packedPerBlock=*/packed.defined());
  int cTile = plan.cVecs * vec;
  int64_t xTile = plan.xTile, yTile = plan.yTile;
  if (plan.chunks.chunk) {
    scheduleChunkedReduction(layer, shape, vec, cTile, xTile, yTile,
                             plan.chunks);
    return;
  }
  bool blocksInside = plan.blocksInside;
  // The output's tile: pixels by channels, NCHW or in channel blocks.
  // NCHW is written back along the width (vectors of pixels, gathered from
  // the channel vectors); blocks are written as they are computed, one
  // channel vector per pixel.
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), co("co"), ci("ci");
  std::vector<Var> tileVars = {xi, yi, ci};
  // The rows run in parallel: on a flat map (one row), runs of as many
  // tiles as made a row of the map it was made of (at batch 1 the row's
  // tiles on their own gave one thread all the work: 1.7x slower).
  Var rows = yo;
  if (shape.blockedOut) {
    std::vector<Var> b = out.args(); // (channel in block, x, y, block, n)
    out.compute_root();
    Var x = b[1];
    if (shape.flat) {
      Var run("run"), inRun("in_run");
      int64_t runPixels = flatRunTiles(shape, xTile) * xTile;
      out.split(b[1], run, inRun, int(runPixels), TailStrategy::ShiftInwards);
      x = inRun;
      rows = run;
    }
    out.split(x, xo, xi, int(xTile), TailStrategy::ShiftInwards)
        .split(b[2], yo, yi, int(yTile), TailStrategy::ShiftInwards)
        .split(b[3], co, ci, std::max(1, cTile / nn::kActivationBlock),
               TailStrategy::ShiftInwards);
    tileVars.insert(tileVars.begin(), b[0]);
  } else {
    out.compute_root()
        .split(x, xo, xi, int(xTile), TailStrategy::ShiftInwards)
        .split(y, yo, yi, int(yTile), TailStrategy::ShiftInwards)
        .split(c, co, ci, cTile, TailStrategy::ShiftInwards);
  }
  // With the blocks outside, the images of a batch go inside them when
  // eight images' input fit in half an L2 cache (about 1 MiB: ResNet's
  // 7x7 maps): a block's weights are then read once for the batch, not
  // once per image (batch 8: 3x3 512x7 -10%, 1x1 512->2048 -11%); larger
  // inputs are better read once per image (1x1 1024->256 at 14x14 was 52%
  // slower with the images inside).
  bool batchInside = !blocksInside && shape.rank == 4 &&
                     shape.inputElements * 8 * 4 <= kHalfL2Bytes;
  Var batch = shape.rank == 4 ? out.args().back() : Var();
  std::vector<Halide::VarOrRVar> order(tileVars.begin(), tileVars.end());
  std::vector<Halide::VarOrRVar> pixels = {xo, yo};
  if (shape.flat)
    pixels.push_back(rows);
  if (blocksInside) {
    order.push_back(co);
    order.insert(order.end(), pixels.begin(), pixels.end());
  } else {
    order.insert(order.end(), pixels.begin(), pixels.end());
    if (batchInside)
      order.push_back(batch);
    order.push_back(co);
  }
  out.reorder(order);
  if (shape.blockedOut)
    out.vectorize(tileVars[0], vec)
        .unroll(tileVars[0])
        .unroll(xi)
        .unroll(yi)
        .unroll(ci);
  else
    out.vectorize(xi);
  // The images in parallel; unless they run apart, the channel blocks
  // too, and within a block the rows (two cores are busy even with two
  // blocks of a 7x7 map).
  if (shape.rank == 4)
    out.parallel(batch);
  parallelWithinImages(out, batchInside ? ImagesApart() : shape.apart,
                       [&](Halide::Stage s) {
                         if (blocksInside)
                           s.parallel(rows);
                         else
                           s.parallel(co).parallel(rows);
                       });

  // The register tile: every channel vector and pixel unrolled inside the
  // reduction, stored channels innermost.
  std::vector<Var> storage = {c, x, y};
  if (shape.rank == 4)
    storage.push_back(layer.vars[3]);
  acc.compute_at(out, blocksInside ? co : xo)
      .reorder_storage(storage)
      .reorder(c, x, y)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);
  acc.update()
      .reorder(c, x, y, r.x, r.y, r.z)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);
  foldPaddingTests(shape, out, acc.update(), r.x);

  // Weights not stored packed are packed per channel block.
  if (packed.defined()) {
    std::vector<Var> p = packed.args();
    packed.compute_at(out, co).vectorize(p[0], vec);
  }

  // The padded input, once per image when the images are the outermost
  // loop: an image's padded input is still in the cache when its tiles
  // read it, where the whole batch's would not be.
  if (shape.padded || shape.subsampled) {
    int padVec = shape.blockedIn ? std::min(vec, nn::kActivationBlock)
                                 : rowVector(shape.outW, target);
    // A strided 1x1 layer whose channel blocks run inside the pixel tiles
    // makes each row of tiles' dense input just before the blocks read it,
    // where it stays in L1, instead of a pass over the image (ResNet-50's
    // 256->512 at 56x56/2: 11-13% faster at batch 1, 2-6% at batch 8).
    if (shape.subsampled && blocksInside && shape.blockedIn)
      padBlocksAt(padded, Halide::LoopLevel(out, yo), padVec,
                  /*parallel=*/false, shape.apart);
    else if (shape.rank == 4 && !batchInside)
      padAt(padded, Halide::LoopLevel(out, batch), x, c, padVec, shape.apart);
    else
      padAtRoot(padded, x, c, padVec);
  }
}

/// Conv2d with vectors along the output width: see the file comment.
static void scheduleConvRows(LoweredLayer &layer, const ConvShape &shape,
                             const Halide::Target &target) {
  assert(!shape.tapsInside && "lowerConv2d skips zero padding only for the "
                              "channel tiles, which fold its tests");
  auto [out, acc, padded, packed, x, y, c, r] = convFuncs(layer);

  // Rows shorter than the narrowest vector: scalar code, one plane per
  // task (tiles would read past the input when it is not padded).
  if (shape.outW < 4) {
    out.compute_root().parallel(c);
    if (shape.rank == 4)
      out.parallel(layer.vars[3]);
    acc.compute_at(out, c);
    if (shape.padded)
      padded.compute_root();
    return;
  }
  // With one group, each loaded input vector feeds a vector of every
  // output channel of the tile (6: 24 accumulators on AVX-512); depthwise
  // channels share nothing.
  int wideRegs = vectorRegisters(target) >= 32;
  int cTile = shape.groups == 1
                  ? int(std::min<int64_t>(wideRegs ? 6 : 3, shape.outC))
                  : 1;
  // The tile: one or two vectors of a row by as many rows as make about a
  // quarter of the registers accumulators. Each accumulator is a chain of
  // dependent FMAs over the taps; it takes about 8 chains to cover the
  // FMA latency (one row of two vectors left the FMA units 3/4 idle).
  int vec = fitVector(shape.outW, target);
  int xVecs = shape.outW >= 2 * vec ? 2 : 1;
  int xTile = xVecs * vec;
  // A strided row takes two loads and a shuffle per vector and tap: half
  // the chains keep the shuffle unit busy without spilling. With one group
  // the weights are broadcast scalars, and 3/4 of the registers can hold
  // accumulators.
  int chainRegs = vectorRegisters(target) / (shape.stride > 1 ? 8 : 4);
  if (shape.groups == 1)
    chainRegs = vectorRegisters(target) * 3 / 4;
  int64_t chains = std::max(1, chainRegs / xVecs / cTile);
  int yTile = int(pickTile(shape.outH, chains, xTile, xTile));

  Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), co("co"), ci("ci");
  out.compute_root()
      .split(x, xo, xi, xTile, TailStrategy::ShiftInwards)
      .split(y, yo, yi, yTile, TailStrategy::ShiftInwards)
      .split(c, co, ci, cTile, TailStrategy::ShiftInwards)
      .reorder(xi, yi, ci, xo, yo, co)
      .vectorize(xi, vec);
  if (shape.rank == 4)
    out.parallel(layer.vars[3]);
  // Small planes: several channels per task, so that a task is not mostly
  // the thread pool's overhead (about 2k outputs a task, 16 tasks at least).
  int64_t planes = (shape.outC + cTile - 1) / cTile;
  int64_t perTask = std::clamp<int64_t>(2048 / (shape.outW * shape.outH), 1,
                                        std::max<int64_t>(1, planes / 16));
  Var task("task");
  if (perTask > 1)
    out.split(co, task, co, int(perTask), TailStrategy::GuardWithIf)
        .parallel(task);
  else
    out.parallel(co);

  // The register tile, every vector, row and channel unrolled inside the
  // taps.
  Var xv("xv"), xu("xu");
  acc.compute_at(out, xo)
      .split(x, xu, xv, vec)
      .vectorize(xv)
      .unroll(xu)
      .unroll(y)
      .unroll(c);
  Halide::Stage update = acc.update();
  update.split(x, xu, xv, vec)
      .reorder(xv, xu, y, c, r.x, r.y, r.z)
      .vectorize(xv)
      .unroll(xu)
      .unroll(y)
      .unroll(c);
  // The taps of small kernels unrolled.
  if (shape.kernel[0] * shape.kernel[1] <= 25)
    update.unroll(r.x).unroll(r.y);

  if (!shape.padded)
    return;
  // A depthwise channel reads one input plane: pad it in bands of rows, the
  // rows of one row of tiles at a time (Halide's sliding window computes
  // only the rows the previous band did not), where they stay in the L1
  // cache and each input row is read once; wider groups share a padded
  // input computed once.
  int padVec = rowVector(shape.outW, target);
  if (shape.cpg == 1) {
    // Several small planes to a task share one allocation (one malloc per
    // task, not per channel: 9% of a 7x7 plane's time).
    padded.store_at(out, perTask > 1 ? task : co).compute_at(out, yo);
    vectorizePadded(padded, x, padVec);
  } else {
    padAtRoot(padded, x, c, padVec);
  }
}

/// The rows (`d` = 0) or columns (1) of a padded input plane; a strided 1x1
/// layer's padded Func is in output coordinates.
static int64_t paddedExtent(const ConvShape &shape, int d) {
  int64_t out = d == 0 ? shape.outH : shape.outW;
  if (shape.subsampled)
    return out;
  return (out - 1) * shape.strides[d] +
         (shape.kernel[d] - 1) * shape.dilations[d] + 1;
}

/// The rows of a depthwise layer's padded input (one channel block, made in
/// bands of `yTile` output rows) to keep in a circular buffer, or 0 to keep
/// the whole plane. Folded only when the plane would not stay in L1 (32
/// KiB): a block's padded plane of 58x58 (210 KiB) or 114x114 was written
/// to L2 and read back. Measured on MobileNetV2's six depthwise layers with
/// such planes (fastest of 5 interleaved runs): 10% faster at batch 8 and
/// 11% at batch 1 (geomeans; single layers from 10% slower to 26% faster,
/// this machine's noise being +-15%); its 14x14 and 7x7 planes, which stay
/// in L1, were 8-13% slower folded.
///
/// Halide checks at run time that a fold holds what one step of the band
/// loop reads and newly computes: the band's rows, or the rows one step
/// advances if more (a stride above the kernel's height; with one row per
/// band, a 3x3 kernel with stride 5 failed that check). Kept: that and a
/// margin of (yTile - 1) * stride rows, rounded up to a power of two (8
/// rows for the 3x3 layers measured above).
static int64_t foldedPaddedRows(const ConvShape &shape, int64_t yTile) {
  int64_t planeRows = paddedExtent(shape, 0);
  int64_t planeBytes = planeRows * paddedExtent(shape, 1) *
                       nn::kActivationBlock * int64_t(sizeof(float));
  if (planeBytes <= 32 * 1024)
    return 0;
  int64_t stride = shape.subsampled ? 1 : shape.strides[0];
  int64_t reach =
      shape.subsampled ? 1 : (shape.kernel[0] - 1) * shape.dilations[0] + 1;
  int64_t bandRows = (yTile - 1) * stride + reach;
  int64_t needed = std::max(bandRows, yTile * stride) + (yTile - 1) * stride;
  int64_t rows = 1;
  while (rows < needed)
    rows *= 2;
  return rows < planeRows ? rows : 0;
}

/// A depthwise Conv2d in channel blocks (input and output): see the file
/// comment.
static void scheduleDepthwiseBlocks(LoweredLayer &layer, const ConvShape &shape,
                                    const Halide::Target &target) {
  assert(!shape.tapsInside && "lowerConv2d skips zero padding only for the "
                              "channel tiles, which fold its tests");
  auto [out, acc, padded, packed, x, y, c, r] = convFuncs(layer);
  int vec = std::min(target.natural_vector_size<float>(), nn::kActivationBlock);
  // The tile: one block of channels by up to 8 pixels of a row by as many
  // rows as make 16 accumulators, enough independent FMA chains to cover
  // the latency. Every tap loads one input vector per accumulator; the
  // weights, one vector per tap, serve the whole tile.
  int blockVecs = nn::kActivationBlock / vec;
  int64_t pixels = std::max(1, 16 / blockVecs);
  int64_t xTile = pickTile(shape.outW, std::min<int64_t>(pixels, 8), 1, 1);
  int64_t yTile =
      pickTile(shape.outH, std::max<int64_t>(1, pixels / xTile), xTile, 1);
  std::vector<Var> b = out.args(); // (channel in block, x, y, block, n)
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
  out.compute_root()
      .split(b[1], xo, xi, int(xTile), TailStrategy::ShiftInwards)
      .split(b[2], yo, yi, int(yTile), TailStrategy::ShiftInwards)
      .reorder(b[0], xi, yi, xo, yo, b[3], b[4])
      .vectorize(b[0], vec)
      .unroll(b[0])
      .unroll(xi)
      .unroll(yi)
      .parallel(b[4]);
  parallelWithinImages(out, shape.apart,
                       [&](Halide::Stage s) { s.parallel(b[3]); });
  acc.compute_at(out, xo)
      .reorder_storage(c, x, y, layer.vars[3])
      .reorder(c, x, y)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);
  Halide::Stage update = acc.update();
  update.reorder(c, x, y, r.x, r.y, r.z)
      .vectorize(c, vec)
      .unroll(c)
      .unroll(x)
      .unroll(y);
  if (shape.kernel[0] * shape.kernel[1] <= 25)
    update.unroll(r.x).unroll(r.y);
  // The padded input of a block in bands of rows, each just before the
  // tiles that read it (Halide's sliding window computes only the rows the
  // band before did not): each input row is read once and stays in cache.
  if (shape.padded || shape.subsampled) {
    std::vector<Var> pv = padded.args();
    padded.store_at(out, b[3]).compute_at(out, yo).vectorize(pv[0], vec);
    if (int64_t rows = foldedPaddedRows(shape, yTile))
      padded.fold_storage(pv[2], int(rows));
    if (padded.has_update_definition())
      padded.update().vectorize(pv[0], vec);
  }
}

void halide::scheduleConv(LoweredLayer &layer, const Halide::Target &target) {
  ConvShape shape(layer);
  // Blocks in or out take the channel tile (ActivationLayout.h), or for a
  // depthwise layer its tile of channel vectors.
  if (shape.blockedIn && shape.blockedOut && shape.groups > 1)
    scheduleDepthwiseBlocks(layer, shape, target);
  else if (shape.blockedIn || shape.blockedOut)
    scheduleConvChannels(layer, shape, channelVector(shape, target), target);
  else if (rowsForPointwise(shape))
    scheduleConvRows(layer, shape, target);
  else if (int vec = channelVector(shape, target))
    scheduleConvChannels(layer, shape, vec, target);
  else
    scheduleConvRows(layer, shape, target);
}

/// Pooling in channel blocks (input and result): vectors along the
/// channels of a block, each window's taps one dense vector load each
/// (the padded input and an AvgPool2d's sums are inlined), the images in
/// parallel, and unless they run apart (imagesApart) the blocks and bands
/// of 8 rows too.
static void schedulePoolBlocks(LoweredLayer &layer,
                               const Halide::Target &target) {
  Halide::Func out = findFunc(layer, FuncRole::Output);
  std::vector<Var> b = out.args(); // (channel in block, x, y, block, n)
  int vec = std::min(target.natural_vector_size<float>(), nn::kActivationBlock);
  for (auto &[func, role] : layer.funcs)
    if (role != FuncRole::Output)
      func.compute_inline();
  Var yo("yo"), yi("yi");
  out.compute_root()
      .vectorize(b[0], vec)
      .unroll(b[0])
      .split(b[2], yo, yi, 8, TailStrategy::GuardWithIf)
      .reorder(b[0], b[1], yi, yo, b[3], b[4])
      .parallel(b[4]);
  parallelWithinImages(out, imagesApart(layer.output.sizes[0]),
                       [&](Halide::Stage s) { s.parallel(b[3]).parallel(yo); });
}

void halide::schedulePool(LoweredLayer &layer, const Halide::Target &target) {
  if (findFunc(layer, FuncRole::Output).dimensions() == 5) {
    schedulePoolBlocks(layer, target);
    return;
  }
  auto type = layer.op->getResult(0).getType().cast<mlir::RankedTensorType>();
  int64_t width = type.getDimSize(type.getRank() - 1);
  int vec = rowVector(width, target);
  Var x = layer.vars[0], c = layer.vars[2];
  for (auto &[func, role] : layer.funcs) {
    func.compute_root();
    if (role == FuncRole::Padded)
      func.parallel(c).vectorize(x, vec, TailStrategy::GuardWithIf);
    if (role == FuncRole::Output)
      func.parallel(c).vectorize(x, vec, TailStrategy::GuardWithIf);
  }
}
