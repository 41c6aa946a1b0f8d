//===- SpinningThreadPool.h - Parallel loops on spinning workers -*- C++
//-*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// The JIT's parallel for loops (Halide's custom_do_par_for) run on a pool of
// netc's own, whose workers keep spinning for a while after each loop
// instead of sleeping at once as Halide's runtime pool does: the loops of a
// forward pass then follow each other without waking a thread.
// docs/Lowering.md, "Threads", has the reasons and the measurements.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_RUNTIME_SPINNINGTHREADPOOL_H
#define NETC_RUNTIME_SPINNINGTHREADPOOL_H

#include <cstdint>
#include <memory>

namespace Halide {
struct JITUserContext;
} // namespace Halide

namespace netc {
namespace runtime {

/// A task of a Halide parallel loop: runs iteration `index` with `closure`
/// and returns a nonzero status on failure.
using HalideTask = int (*)(Halide::JITUserContext *context, int index,
                           uint8_t *closure);

class SpinningThreadPool {
public:
  /// Starts `threads - 1` workers; the thread starting a loop is the other.
  explicit SpinningThreadPool(int threads);
  /// Wakes and joins the workers. No loop may be running.
  ~SpinningThreadPool();

  /// Runs `task` for every index in [min, min + extent) on the workers and
  /// the calling thread, and returns the first nonzero status a task
  /// returned (once a task has failed, the tasks not yet started are
  /// skipped, as Halide allows). Any thread may call it, a task included:
  /// a loop nested in a task takes the pool's threads that have run out of
  /// work. With no worker, one index, or too many loops open at once, the
  /// loop runs in order on the calling thread.
  int parallelFor(Halide::JITUserContext *context, HalideTask task, int min,
                  int extent, uint8_t *closure);

  /// The pool of the JIT's kernels, started on first use with
  /// halide::plannedThreads() threads (HL_NUM_THREADS, or the CPUs the
  /// process may run on), and never destroyed.
  static SpinningThreadPool &forJIT();

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Halide's custom_do_par_for for JIT kernels: SpinningThreadPool::forJIT().
int spinningParallelFor(Halide::JITUserContext *context, HalideTask task,
                        int min, int extent, uint8_t *closure);

} // namespace runtime
} // namespace netc

#endif // NETC_RUNTIME_SPINNINGTHREADPOOL_H
