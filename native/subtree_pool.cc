#include "subtree_pool.h"

#include <algorithm>
#include <utility>

namespace aufs {

namespace {
constexpr unsigned kMaxHelpers = 3;
}  // namespace

SubtreePool::SubtreePool(unsigned helpers) : helpers_(helpers) {}

SubtreePool::~SubtreePool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  for (std::thread& thread : threads_) thread.join();
}

unsigned SubtreePool::DefaultHelpers() {
  const unsigned cores = std::thread::hardware_concurrency();
  return std::min(kMaxHelpers, cores > 1 ? cores - 1 : 0);
}

bool SubtreePool::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  // Threads start with the first subtree there is to hand over, so that a
  // walk of a few entries costs no thread.
  while (threads_.size() < helpers_) {
    threads_.emplace_back([this] {
      std::unique_lock<std::mutex> thread_lock(mu_);
      RunTasks(thread_lock, [this] { return stopping_; });
    });
  }
  return idle_ > queue_.size();
}

void SubtreePool::HandOff(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.NotifyOne();
}

Status SubtreePool::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  RunTasks(lock, [this] { return queue_.empty() && running_ == 0; });
  return failure_;
}

void SubtreePool::RunTasks(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done) {
  for (;;) {
    if (!queue_.empty()) {
      Task task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      lock.unlock();
      Status s = task();
      lock.lock();
      --running_;
      if (!s.ok() && failure_.ok()) failure_ = std::move(s);
      // A waiting Wait() may be done now.
      cv_.NotifyAll();
      continue;
    }
    if (done()) return;
    ++idle_;
    cv_.Wait(lock);
    --idle_;
  }
}

}  // namespace aufs
