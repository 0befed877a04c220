// LayerWriter: the JavaScript handle on a LayerExtractor. JavaScript feeds it
// the archive in large chunks; each chunk is parsed and extracted in one task
// on the thread pool, so small files cost no per-entry round trip.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "extract.h"
#include "js_cancel.h"

namespace aufs {

class LayerWriter : public Napi::ObjectWrap<LayerWriter> {
 public:
  static void Register(Napi::Env env, Napi::Object exports);
  // new LayerWriter(dir, cancelToken?, { resolve?: 'openat2' | 'components' })
  explicit LayerWriter(const Napi::CallbackInfo& info);

 private:
  // Shared with the pool tasks, which may outlive the JavaScript object.
  struct Core {
    Core(std::string dir, CancelFlag flag, ResolveMode mode)
        : cancelled(std::move(flag)), extractor(std::move(dir), {mode, cancelled.get()}) {}
    std::mutex mutex;  // one task at a time, whatever JavaScript does
    CancelFlag cancelled;
    LayerExtractor extractor;
  };

  struct Chunk {
    const uint8_t* data;
    size_t size;
    Napi::Reference<Napi::Uint8Array> ref;
  };

  // write(chunks: Uint8Array[]): Promise<void>, the chunks in order. They
  // must not change until the promise settles.
  Napi::Value Write(const Napi::CallbackInfo& info);
  // writeFile(fd, offset, length): Promise<boolean>, the archive read from a
  // file descriptor (offset -1: its current position; length -1: to end of
  // file) when ProbePlainTarFile agrees; false, with nothing read, if not.
  Napi::Value WriteFile(const Napi::CallbackInfo& info);
  // finish(): Promise<number>, the layer's size.
  Napi::Value Finish(const Napi::CallbackInfo& info);
  // close(): Promise<void>, after a failure.
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<Core> core_;
};

}  // namespace aufs
