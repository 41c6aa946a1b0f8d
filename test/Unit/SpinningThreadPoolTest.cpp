//===- SpinningThreadPoolTest.cpp - Tests of the JIT's thread pool --------===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// This file tests SpinningThreadPool: every index of a loop runs once, on
// the workers too; loops nested in tasks, and loops started by several
// threads at once, run completely; a task's failure is returned; a pool of
// one thread runs in order on the caller.
//
//===----------------------------------------------------------------------===//

#include "netc/Runtime/SpinningThreadPool.h"

#include "gtest/gtest.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace netc::runtime;

namespace {

/// What the tasks of a test see: a counter per index, and the threads that
/// ran them.
struct Record {
  explicit Record(size_t size, int min = 0) : min(min), runs(size) {}
  int min;
  std::vector<std::atomic<int>> runs;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::vector<int> order;

  void ran(int index) {
    if (index < min || index - min >= int(runs.size())) {
      ADD_FAILURE() << "index out of the loop: " << index;
      return;
    }
    runs[size_t(index - min)].fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
    order.push_back(index);
  }
  bool eachRanOnce() const {
    for (const std::atomic<int> &r : runs)
      if (r.load() != 1)
        return false;
    return true;
  }
};

/// Halide passes a task's state as the closure.
Record &recordOf(uint8_t *closure) {
  return *reinterpret_cast<Record *>(closure);
}
uint8_t *closureOf(Record &record) {
  return reinterpret_cast<uint8_t *>(&record);
}

/// Runs long enough for the other threads to take tasks too.
void busy(std::chrono::microseconds time) {
  auto until = std::chrono::steady_clock::now() + time;
  while (std::chrono::steady_clock::now() < until) {
  }
}

int recordTask(Halide::JITUserContext *, int index, uint8_t *closure) {
  recordOf(closure).ran(index);
  busy(std::chrono::microseconds(20));
  return 0;
}

TEST(SpinningThreadPoolTest, RunsEveryIndexOnceOnSeveralThreads) {
  SpinningThreadPool pool(3);
  for (int loop = 0; loop < 50; ++loop) {
    Record record(1000, 7);
    ASSERT_EQ(pool.parallelFor(nullptr, recordTask, 7, 1000, closureOf(record)),
              0);
    ASSERT_TRUE(record.eachRanOnce()) << "loop " << loop;
    if (loop == 49) {
      EXPECT_GT(record.threads.size(), 1u);
    }
  }
}

TEST(SpinningThreadPoolTest, OneThreadRunsInOrderOnTheCaller) {
  SpinningThreadPool pool(1);
  Record record(100);
  ASSERT_EQ(pool.parallelFor(nullptr, recordTask, 0, 100, closureOf(record)),
            0);
  EXPECT_TRUE(record.eachRanOnce());
  EXPECT_EQ(record.threads,
            std::set<std::thread::id>{std::this_thread::get_id()});
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(record.order[size_t(i)], i);
}

int failingTask(Halide::JITUserContext *, int index, uint8_t *closure) {
  recordOf(closure).ran(index);
  return index == 13 ? -7 : 0;
}

TEST(SpinningThreadPoolTest, ReturnsAFailedTasksStatus) {
  SpinningThreadPool pool(2);
  Record record(64);
  EXPECT_EQ(pool.parallelFor(nullptr, failingTask, 0, 64, closureOf(record)),
            -7);
  // Tasks after a failure may be skipped, but none runs twice.
  EXPECT_EQ(record.runs[13].load(), 1);
  for (const std::atomic<int> &r : record.runs)
    EXPECT_LE(r.load(), 1);
  // The pool is usable after a failure.
  Record again(64);
  EXPECT_EQ(pool.parallelFor(nullptr, recordTask, 0, 64, closureOf(again)), 0);
  EXPECT_TRUE(again.eachRanOnce());
}

/// An outer loop whose task 1 starts an inner loop of 400 tasks and whose
/// task 0 returns at once: the thread that ran task 0 must help.
struct Nested {
  SpinningThreadPool *pool;
  Record inner{400};
  std::atomic<int> outerRuns{0};
};

int innerTask(Halide::JITUserContext *, int index, uint8_t *closure) {
  recordOf(closure).ran(index);
  busy(std::chrono::microseconds(50));
  return 0;
}

int outerTask(Halide::JITUserContext *, int index, uint8_t *closure) {
  Nested &nested = *reinterpret_cast<Nested *>(closure);
  nested.outerRuns.fetch_add(1);
  if (index == 0)
    return 0;
  return nested.pool->parallelFor(nullptr, innerTask, 0, 400,
                                  closureOf(nested.inner));
}

TEST(SpinningThreadPoolTest, NestedLoopsTakeIdleThreads) {
  SpinningThreadPool pool(2);
  Nested nested;
  nested.pool = &pool;
  ASSERT_EQ(pool.parallelFor(nullptr, outerTask, 0, 2,
                             reinterpret_cast<uint8_t *>(&nested)),
            0);
  EXPECT_EQ(nested.outerRuns.load(), 2);
  EXPECT_TRUE(nested.inner.eachRanOnce());
  EXPECT_EQ(nested.inner.threads.size(), 2u);
}

TEST(SpinningThreadPoolTest, SeveralCallersShareThePool) {
  SpinningThreadPool pool(2);
  std::vector<std::unique_ptr<Record>> records;
  for (int c = 0; c < 3; ++c)
    records.push_back(std::make_unique<Record>(300));
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&, c] {
      EXPECT_EQ(pool.parallelFor(nullptr, recordTask, 0, 300,
                                 closureOf(*records[size_t(c)])),
                0);
    });
  for (std::thread &caller : callers)
    caller.join();
  for (const std::unique_ptr<Record> &record : records)
    EXPECT_TRUE(record->eachRanOnce());
}

/// Fails every task with the status its closure points to.
int failWith(Halide::JITUserContext *, int, uint8_t *closure) {
  return *reinterpret_cast<int *>(closure);
}

TEST(SpinningThreadPoolTest, FailingCallersGetTheirOwnStatus) {
  // Each caller's loop fails with its own status; the slot a loop frees
  // is taken at once by another's, which must not change what it returns.
  SpinningThreadPool pool(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 1; c <= 3; ++c)
    callers.emplace_back([&, c] {
      int status = -c;
      for (int loop = 0; loop < 100000; ++loop)
        if (pool.parallelFor(nullptr, failWith, 0, 4,
                             reinterpret_cast<uint8_t *>(&status)) != -c)
          ++wrong;
    });
  for (std::thread &caller : callers)
    caller.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SpinningThreadPoolTest, WorkersWakeAfterSleeping) {
  SpinningThreadPool pool(2);
  // Longer than a worker spins before it sleeps.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Record record(400);
  ASSERT_EQ(pool.parallelFor(nullptr, innerTask, 0, 400, closureOf(record)), 0);
  EXPECT_TRUE(record.eachRanOnce());
  EXPECT_EQ(record.threads.size(), 2u);
}

} // namespace
