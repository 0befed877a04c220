// Argument checks shared by the binding's functions and classes: each throws
// a TypeError naming the argument when JavaScript passed the wrong kind.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace aufs {

inline std::string StringValue(const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), name + " must be a string");
  std::string s = value.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(value.Env(), name + " must not contain NUL bytes");
  }
  return s;
}

inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return StringValue(info[i], name);
}

inline std::vector<std::string> StringArrayArg(const Napi::CallbackInfo& info, size_t i,
                                               const char* name) {
  if (!info[i].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array");
  }
  Napi::Array array = info[i].As<Napi::Array>();
  std::vector<std::string> values;
  for (uint32_t k = 0; k < array.Length(); ++k) {
    values.push_back(StringValue(array.Get(k), std::string(name) + "[" + std::to_string(k) + "]"));
  }
  return values;
}

inline int64_t IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
}

}  // namespace aufs
