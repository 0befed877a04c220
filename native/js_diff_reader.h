// DiffReader for JavaScript: made by the addon's diffReader(root), with
// open() and next() returning promises settled from the thread pool, and
// close(), which stops a running next() and releases the walk's descriptors.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "diff_reader.h"

namespace aufs {

class DiffReaderWrap : public Napi::ObjectWrap<DiffReaderWrap> {
 public:
  static void Register(Napi::Env env);
  static Napi::Object New(Napi::Env env, const std::string& root);
  explicit DiffReaderWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::FunctionReference* constructor_;

  Napi::Value Open(const Napi::CallbackInfo& info);
  // Resolves to the next batch, or null after the last one; calls may overlap.
  Napi::Value Next(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  std::shared_ptr<DiffReader> Reader(Napi::Env env) const;

  // Shared with the pool task running, so that close() cannot pull the
  // reader from under it: the last owner destroys it.
  std::shared_ptr<DiffReader> reader_;
};

}  // namespace aufs
