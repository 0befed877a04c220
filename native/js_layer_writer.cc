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
                                     InstanceMethod("writeFile", &LayerWriter::WriteFile),
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
  if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "chunks must be an array");
  Napi::Array array = info[0].As<Napi::Array>();
  // The pool reads the chunks in place: references keep them alive until the
  // task is destroyed, on the main thread.
  auto chunks = std::make_shared<std::vector<Chunk>>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value value = array.Get(i);
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(info.Env(), "chunks must be Uint8Arrays");
    }
    Napi::Uint8Array chunk = value.As<Napi::Uint8Array>();
    chunks->push_back(Chunk{chunk.Data(), chunk.ByteLength(), Napi::Persistent(chunk)});
  }
  std::shared_ptr<Core> core = core_;
  return PromiseTask<Nothing>::Start(
      info.Env(),
      [core, chunks](Nothing*) {
        std::lock_guard<std::mutex> lock(core->mutex);
        for (const Chunk& chunk : *chunks) {
          Status s = core->extractor.Write(chunk.data, chunk.size);
          if (!s.ok()) return s;
        }
        return Status::Ok();
      },
      Undefined);
}

Napi::Value LayerWriter::WriteFile(const Napi::CallbackInfo& info) {
  const int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  const int64_t offset = IntegerArg(info, 1, "offset");
  const int64_t length = IntegerArg(info, 2, "length");
  if (offset < -1 || length < -1) throw Napi::RangeError::New(info.Env(), "offset and length must be >= -1");
  const uint64_t count = length < 0 ? LayerExtractor::kToEndOfFile : static_cast<uint64_t>(length);
  std::shared_ptr<Core> core = core_;
  return PromiseTask<bool>::Start(
      info.Env(),
      [core, fd, offset, count](bool* taken) {
        int64_t start = offset;
        Status s = ProbePlainTarFile(fd, &start, taken);
        if (!s.ok() || !*taken) return s;
        std::lock_guard<std::mutex> lock(core->mutex);
        return core->extractor.WriteFromFile(fd, static_cast<uint64_t>(start), count);
      },
      [](Napi::Env env, bool& taken) { return Napi::Boolean::New(env, taken); });
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
