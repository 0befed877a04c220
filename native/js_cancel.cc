#include "js_cancel.h"

namespace aufs {

Napi::FunctionReference* CancelToken::constructor_ = nullptr;

void CancelToken::Register(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "CancelToken", {InstanceMethod("cancel", &CancelToken::Cancel)});
  // One addon instance per process is all Node loads for a given path, and the
  // reference lives as long as the process.
  constructor_ = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("CancelToken", ctor);
}

CancelToken::CancelToken(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CancelToken>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {}

void CancelToken::Cancel(const Napi::CallbackInfo&) { flag_->store(true); }

CancelFlag CancelToken::FlagOf(const Napi::Value& value) {
  if (value.IsUndefined()) return std::make_shared<std::atomic<bool>>(false);
  if (value.IsObject() && value.As<Napi::Object>().InstanceOf(constructor_->Value())) {
    return Unwrap(value.As<Napi::Object>())->flag_;
  }
  throw Napi::TypeError::New(value.Env(), "cancel token must be a CancelToken");
}

}  // namespace aufs
