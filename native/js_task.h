// Runs a piece of the Node-free core on the libuv thread pool and settles a
// promise with its result, so that no syscall ever runs on the event loop.
#pragma once

#include <napi.h>

#include <functional>
#include <utility>

#include "js_errors.h"
#include "status.h"

namespace aufs {

template <typename Result>
class PromiseTask final : public Napi::AsyncWorker {
 public:
  using Work = std::function<Status(Result*)>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // `work` runs on a pool thread and must not touch JavaScript values;
  // `to_js` runs back on the main thread when `work` succeeded.
  static Napi::Promise Start(Napi::Env env, Work work, ToJs to_js) {
    auto* task = new PromiseTask(env, std::move(work), std::move(to_js));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();
    return promise;
  }

 private:
  PromiseTask(Napi::Env env, Work work, ToJs to_js)
      : Napi::AsyncWorker(env, "aufs-graphdriver"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        to_js_(std::move(to_js)) {}

  void Execute() override { status_ = work_(&result_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_.ok()) {
      deferred_.Resolve(to_js_(env, result_));
    } else {
      deferred_.Reject(ToJsError(env, status_).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  Napi::Promise::Deferred deferred_;
  Work work_;
  ToJs to_js_;
  Result result_{};
  Status status_;
};

// For work whose only outcome is success or failure.
struct Nothing {};

inline Napi::Value Undefined(Napi::Env env, Nothing&) { return env.Undefined(); }

}  // namespace aufs
