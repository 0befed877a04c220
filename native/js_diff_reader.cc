#include "js_diff_reader.h"

#include <cstdlib>

#include "js_task.h"

namespace aufs {
namespace {

// { tar: Buffer, files: [{ offset, size, fd, path }] }, or null after the last batch.
Napi::Value BatchToJs(Napi::Env env, DiffBatch& batch) {
  if (batch.done) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  const size_t size = batch.tar.size();
  result.Set("tar", size == 0 ? Napi::Buffer<uint8_t>::New(env, 0)
                              : Napi::Buffer<uint8_t>::New(env, batch.tar.Release(), size,
                                                           [](Napi::Env, uint8_t* data) { free(data); }));
  Napi::Array files = Napi::Array::New(env, batch.files.size());
  for (size_t i = 0; i < batch.files.size(); ++i) {
    const DiffFile& f = batch.files[i];
    Napi::Object file = Napi::Object::New(env);
    file.Set("offset", Napi::Number::New(env, static_cast<double>(f.offset)));
    file.Set("size", Napi::Number::New(env, static_cast<double>(f.size)));
    file.Set("fd", Napi::Number::New(env, f.fd));
    file.Set("path", Napi::String::New(env, f.path));
    files.Set(i, file);
  }
  result.Set("files", files);
  return result;
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
  // Taken here, in the order of the calls, whichever pool thread runs first.
  const uint64_t ticket = reader->TakeTicket();
  return PromiseTask<DiffBatch>::Start(
      info.Env(), [reader, ticket](DiffBatch* batch) { return reader->NextBatch(ticket, batch); },
      BatchToJs);
}

void DiffReaderWrap::Close(const Napi::CallbackInfo&) {
  if (!reader_) return;
  reader_->Cancel();
  reader_.reset();
}

}  // namespace aufs
