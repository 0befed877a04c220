#include "js_layer_writer.h"

#include "js_args.h"
#include "js_task.h"

namespace aufs {
namespace {

ResolveMode ResolveOption(const Napi::Value& options) {
  if (options.IsUndefined()) return ResolveMode::kOpenat2;
  if (!options.IsObject()) throw Napi::TypeError::New(options.Env(), "options must be an object");
  Napi::Value resolve = options.As<Napi::Object>().Get("resolve");
  if (resolve.IsUndefined()) return ResolveMode::kOpenat2;
  const std::string mode = resolve.IsString() ? resolve.As<Napi::String>().Utf8Value() : "";
  if (mode == "openat2") return ResolveMode::kOpenat2;
  if (mode == "components") return ResolveMode::kComponents;
  throw Napi::TypeError::New(options.Env(), "options.resolve must be 'openat2' or 'components'");
}

}  // namespace

void LayerWriter::Register(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "LayerWriter",
                                    {InstanceMethod("write", &LayerWriter::Write),
                                     InstanceMethod("finish", &LayerWriter::Finish),
                                     InstanceMethod("close", &LayerWriter::Close)});
  exports.Set("LayerWriter", ctor);
}

LayerWriter::LayerWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LayerWriter>(info) {
  std::string dir = StringArg(info, 0, "dir");
  CancelFlag cancelled = CancelToken::FlagOf(info[1]);
  core_ = std::make_shared<Core>(std::move(dir), std::move(cancelled), ResolveOption(info[2]));
}

Napi::Value LayerWriter::Write(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "chunk must be a Uint8Array");
  }
  Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
  const uint8_t* data = chunk.Data();
  const size_t size = chunk.ByteLength();
  // Keeps the chunk's memory alive while the pool reads it; released on the
  // main thread, where the task is destroyed.
  auto pinned = std::make_shared<Napi::Reference<Napi::Uint8Array>>(Napi::Persistent(chunk));
  std::shared_ptr<Core> core = core_;
  return PromiseTask<Nothing>::Start(
      info.Env(),
      [core, pinned, data, size](Nothing*) {
        std::lock_guard<std::mutex> lock(core->mutex);
        return core->extractor.Write(data, size);
      },
      Undefined);
}

Napi::Value LayerWriter::Finish(const Napi::CallbackInfo& info) {
  std::shared_ptr<Core> core = core_;
  return PromiseTask<uint64_t>::Start(
      info.Env(),
      [core](uint64_t* size) {
        std::lock_guard<std::mutex> lock(core->mutex);
        return core->extractor.Finish(size);
      },
      [](Napi::Env env, uint64_t& size) { return Napi::Number::New(env, static_cast<double>(size)); });
}

Napi::Value LayerWriter::Close(const Napi::CallbackInfo& info) {
  std::shared_ptr<Core> core = core_;
  return PromiseTask<Nothing>::Start(
      info.Env(),
      [core](Nothing*) {
        std::lock_guard<std::mutex> lock(core->mutex);
        core->extractor.Close();
        return Status::Ok();
      },
      Undefined);
}

}  // namespace aufs
