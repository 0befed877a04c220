// Argument checks shared by the binding's functions and classes: each throws
// a TypeError naming the argument when JavaScript passed the wrong kind.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace aufs {

inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  std::string value = info[i].As<Napi::String>().Utf8Value();
  if (value.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must not contain NUL bytes");
  }
  return value;
}

inline int64_t IntegerArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
}

}  // namespace aufs
