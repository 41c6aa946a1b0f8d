//===- SpinningThreadPool.cpp - Parallel loops on spinning workers --------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// Why a pool of our own: Halide's runtime pool puts a worker to sleep on a
// condition variable as soon as its job stack is empty, and the thread that
// started a loop sleeps too when a worker holds the loop's last task. Each
// loop of a forward pass then starts and ends with a wake-up. netc's
// workers instead spin for kSpinTime after their last task before they
// sleep, as OpenMP runtimes do. docs/Lowering.md ("Threads") has the
// measurements.
//
// Jobs live in slots. A slot's `state` packs the job's generation, whether
// a thread owns the slot, whether the job is open to workers, and how many
// workers are in it. A worker joins with a compare-and-swap that fails once
// the job has changed or closed; the owner closes the job only when no
// worker is in it, reads its status, and then frees the slot. So a job's
// fields are written only while no other thread can read them.
//
// Loops nest (Halide starts parallel loops inside the tasks of others):
// a nested loop takes a slot of its own, and a thread waiting for the
// workers of its job runs the tasks of other open jobs meanwhile, so the
// threads that have run out of outer tasks help with the inner ones.
//
//===----------------------------------------------------------------------===//

#include "netc/Runtime/SpinningThreadPool.h"

#include "netc/Target/Halide/Schedule.h"

#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

using namespace netc;
using namespace netc::runtime;

namespace {

/// How long a worker spins after its last task before it sleeps.
constexpr std::chrono::microseconds kSpinTime{2000};

/// Tells the core this thread is spinning (x86's `pause`).
void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// Jobs open at once at most; a loop finding no free slot runs serially.
constexpr size_t kSlots = 32;

/// One parallel loop. `next`, which every thread in the job increments,
/// has a cache line of its own.
struct alignas(64) Slot {
  // generation (bits 34..63), owned (bit 33), open (bit 32), workers in
  // the job (bits 0..31).
  std::atomic<uint64_t> state{0};
  // Read before joining only as a hint; valid once joined.
  std::atomic<int> extent{0};
  std::atomic<int> status{0};
  Halide::JITUserContext *context = nullptr;
  HalideTask task = nullptr;
  int min = 0;
  uint8_t *closure = nullptr;
  alignas(64) std::atomic<int> next{0};

  static constexpr uint64_t kOwned = uint64_t(1) << 33;
  static constexpr uint64_t kOpen = uint64_t(1) << 32;

  bool hasTasks() const {
    return next.load(std::memory_order_relaxed) <
           extent.load(std::memory_order_relaxed);
  }

  /// Claims and runs up to `limit` tasks; stops claiming once a task of
  /// the job has failed.
  void runTasks(int limit = INT_MAX) {
    int end = extent.load(std::memory_order_relaxed);
    for (int done = 0; done < limit; ++done) {
      int i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= end || status.load(std::memory_order_relaxed) != 0)
        return;
      if (int result = task(context, min + i, closure)) {
        int none = 0;
        status.compare_exchange_strong(none, result);
      }
    }
  }

  /// Joins the open job, runs up to `limit` of its tasks and leaves; false
  /// if it found no open job with tasks left.
  bool help(int limit) {
    for (uint64_t s = state.load(std::memory_order_acquire);
         (s & kOpen) && hasTasks();) {
      if (state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) {
        runTasks(limit);
        state.fetch_sub(1, std::memory_order_release);
        return true;
      }
    }
    return false;
  }
};

} // namespace

struct SpinningThreadPool::Impl {
  explicit Impl(int threads) {
    // Fewer workers if the system will not start more.
    try {
      for (int t = 1; t < threads; ++t)
        workers.emplace_back([this] { work(); });
    } catch (const std::system_error &) {
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(sleepMutex);
      shutdown.store(true);
    }
    wake.notify_all();
    for (std::thread &worker : workers)
      worker.join();
  }

  int parallelFor(Halide::JITUserContext *context, HalideTask task, int min,
                  int extent, uint8_t *closure) {
    Slot *slot = workers.empty() || extent <= 1 ? nullptr : takeSlot();
    if (!slot) {
      for (int64_t i = min; i < int64_t(min) + extent; ++i)
        if (int result = task(context, int(i), closure))
          return result;
      return 0;
    }
    slot->context = context;
    slot->task = task;
    slot->min = min;
    slot->closure = closure;
    slot->next.store(0, std::memory_order_relaxed);
    slot->extent.store(extent, std::memory_order_relaxed);
    slot->status.store(0, std::memory_order_relaxed);
    uint64_t generation = (slot->state.load(std::memory_order_relaxed) >> 34);
    uint64_t open = (generation + 1) << 34 | Slot::kOwned | Slot::kOpen;
    slot->state.store(open, std::memory_order_seq_cst);
    if (sleeping.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(sleepMutex);
      wake.notify_all();
    }

    slot->runTasks();

    // Close the job once no worker is in it: every task a worker claimed
    // has then finished. Meanwhile run other jobs' tasks, such as loops
    // nested in the tasks still running here, one at a time, so that this
    // loop returns soon after its own last task.
    uint64_t closed = open & ~Slot::kOpen;
    for (;;) {
      uint64_t s = slot->state.load(std::memory_order_relaxed);
      if (s == open && slot->state.compare_exchange_weak(
                           s, closed, std::memory_order_acq_rel))
        break;
      if (!helpAny(1))
        cpuRelax();
    }
    // Read the status before freeing the slot to the next loop.
    int status = slot->status.load(std::memory_order_relaxed);
    slot->state.store(closed & ~Slot::kOwned, std::memory_order_release);
    return status;
  }

  /// Owns a free slot, or returns null when all are in use.
  Slot *takeSlot() {
    for (Slot &slot : slots) {
      uint64_t s = slot.state.load(std::memory_order_relaxed);
      if (!(s & Slot::kOwned) &&
          slot.state.compare_exchange_strong(s, s | Slot::kOwned,
                                             std::memory_order_acquire))
        return &slot;
    }
    return nullptr;
  }

  /// Runs up to `limit` tasks of some open job; false if there were none.
  bool helpAny(int limit = INT_MAX) {
    for (Slot &slot : slots)
      if (slot.help(limit))
        return true;
    return false;
  }

  bool anyOpenWithTasks() const {
    for (const Slot &slot : slots)
      if ((slot.state.load(std::memory_order_seq_cst) & Slot::kOpen) &&
          slot.hasTasks())
        return true;
    return false;
  }

  void work() {
    using Clock = std::chrono::steady_clock;
    while (!shutdown.load(std::memory_order_relaxed)) {
      Clock::time_point idleSince = Clock::now();
      for (unsigned spins = 1;; ++spins) {
        if (helpAny()) {
          idleSince = Clock::now();
          continue;
        }
        cpuRelax();
        if (spins % 64 == 0 && (shutdown.load(std::memory_order_relaxed) ||
                                Clock::now() - idleSince > kSpinTime))
          break;
      }
      // A thread opening a job reads `sleeping` after publishing the job,
      // and this one checks for jobs after counting itself: one of the two
      // sees the other.
      std::unique_lock<std::mutex> lock(sleepMutex);
      sleeping.fetch_add(1, std::memory_order_seq_cst);
      wake.wait(lock, [&] { return shutdown.load() || anyOpenWithTasks(); });
      sleeping.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  std::array<Slot, kSlots> slots;
  std::vector<std::thread> workers;
  std::atomic<bool> shutdown{false};
  std::atomic<int> sleeping{0};
  std::mutex sleepMutex;
  std::condition_variable wake;
};

SpinningThreadPool::SpinningThreadPool(int threads)
    : impl(std::make_unique<Impl>(threads)) {}
SpinningThreadPool::~SpinningThreadPool() = default;

int SpinningThreadPool::parallelFor(Halide::JITUserContext *context,
                                    HalideTask task, int min, int extent,
                                    uint8_t *closure) {
  return impl->parallelFor(context, task, min, extent, closure);
}

SpinningThreadPool &SpinningThreadPool::forJIT() {
  // Never destroyed: a kernel may still run on another thread while the
  // process exits.
  static SpinningThreadPool *pool =
      new SpinningThreadPool(halide::plannedThreads());
  return *pool;
}

int runtime::spinningParallelFor(Halide::JITUserContext *context,
                                 HalideTask task, int min, int extent,
                                 uint8_t *closure) {
  return SpinningThreadPool::forJIT().parallelFor(context, task, min, extent,
                                                  closure);
}
