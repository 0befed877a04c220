// A cancellation flag that JavaScript sets and pool threads poll: the bridge
// from an AbortSignal to a walk running off the event loop.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

namespace aufs {

using CancelFlag = std::shared_ptr<std::atomic<bool>>;

class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static void Register(Napi::Env env, Napi::Object exports);
  explicit CancelToken(const Napi::CallbackInfo& info);

  // The flag behind `value` when it is a CancelToken; a flag nobody sets for
  // undefined; throws a TypeError for anything else.
  static CancelFlag FlagOf(const Napi::Value& value);

 private:
  static Napi::FunctionReference* constructor_;
  void Cancel(const Napi::CallbackInfo& info);

  CancelFlag flag_;
};

}  // namespace aufs
