#include "js_errors.h"

#include <uv.h>

namespace aufs {

Napi::Error ToJsError(Napi::Env env, const Status& status) {
  std::string message;
  Napi::Error error;
  if (!status.code.empty()) {
    message = status.message;
    if (!status.path.empty()) message += " '" + status.path + "'";
    error = Napi::Error::New(env, message);
    error.Set("code", status.code);
  } else {
    // libuv's table is the one Node's fs uses, so codes and texts match exactly.
    const int uv_errno = -status.errnum;
    const char* code = uv_err_name(uv_errno);
    message = std::string(code) + ": " + uv_strerror(uv_errno) + ", " + status.syscall;
    if (!status.path.empty()) message += " '" + status.path + "'";
    if (!status.dest.empty()) message += " -> '" + status.dest + "'";
    error = Napi::Error::New(env, message);
    error.Set("errno", Napi::Number::New(env, uv_errno));
    error.Set("code", code);
    error.Set("syscall", status.syscall);
  }
  if (!status.path.empty()) error.Set("path", status.path);
  if (!status.dest.empty()) error.Set("dest", status.dest);
  return error;
}

}  // namespace aufs
