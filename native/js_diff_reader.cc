#include "js_diff_reader.h"

#include <cstdlib>

#include "js_task.h"

namespace aufs {
namespace {

struct Batch {
  ByteBuffer bytes;
  bool done = false;
};

Napi::Value BatchToJs(Napi::Env env, Batch& batch) {
  if (batch.bytes.size() == 0) return env.Null();
  const size_t size = batch.bytes.size();
  return Napi::Buffer<uint8_t>::New(env, batch.bytes.Release(), size,
                                    [](Napi::Env, uint8_t* data) { free(data); });
}

}  // namespace

Napi::FunctionReference* DiffReaderWrap::constructor_ = nullptr;

void DiffReaderWrap::Register(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "DiffReader",
                                    {InstanceMethod("open", &DiffReaderWrap::Open),
                                     InstanceMethod("next", &DiffReaderWrap::Next),
                                     InstanceMethod("close", &DiffReaderWrap::Close)});
  // Lives as long as the process, like CancelToken's.
  constructor_ = new Napi::FunctionReference(Napi::Persistent(ctor));
}

Napi::Object DiffReaderWrap::New(Napi::Env env, const std::string& root) {
  return constructor_->New({Napi::String::New(env, root)});
}

DiffReaderWrap::DiffReaderWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<DiffReaderWrap>(info),
      reader_(std::make_shared<DiffReader>(info[0].As<Napi::String>().Utf8Value())) {}

std::shared_ptr<DiffReader> DiffReaderWrap::Reader(Napi::Env env) const {
  if (!reader_) {
    Napi::Error error = Napi::Error::New(env, "the diff reader is closed");
    error.Set("code", "ERR_INVALID_STATE");
    throw error;
  }
  return reader_;
}

Napi::Value DiffReaderWrap::Open(const Napi::CallbackInfo& info) {
  std::shared_ptr<DiffReader> reader = Reader(info.Env());
  return PromiseTask<Nothing>::Start(
      info.Env(), [reader](Nothing*) { return reader->Open(); }, Undefined);
}

Napi::Value DiffReaderWrap::Next(const Napi::CallbackInfo& info) {
  std::shared_ptr<DiffReader> reader = Reader(info.Env());
  return PromiseTask<Batch>::Start(
      info.Env(), [reader](Batch* batch) { return reader->NextBatch(&batch->bytes, &batch->done); },
      BatchToJs);
}

void DiffReaderWrap::Close(const Napi::CallbackInfo&) {
  if (!reader_) return;
  reader_->Cancel();
  reader_.reset();
}

}  // namespace aufs
