// A condition variable for a std::mutex, on pthread_cond_t. Not
// std::condition_variable: its wait() is a symbol of GCC 12's libstdc++
// (GLIBCXX_3.4.30), which alone kept the prebuilt binaries from loading on
// RHEL 9 and Amazon Linux 2023, whose libstdc++ is GCC 11's.
#pragma once

#include <pthread.h>

#include <mutex>

namespace aufs {

class CondVar {
 public:
  CondVar() { pthread_cond_init(&cond_, nullptr); }
  ~CondVar() { pthread_cond_destroy(&cond_); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Waits for a notification (or a spurious wake-up) with `lock` released.
  void Wait(std::unique_lock<std::mutex>& lock) { pthread_cond_wait(&cond_, lock.mutex()->native_handle()); }
  void NotifyOne() { pthread_cond_signal(&cond_); }
  void NotifyAll() { pthread_cond_broadcast(&cond_); }

 private:
  pthread_cond_t cond_;
};

}  // namespace aufs
