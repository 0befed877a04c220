// Turns a core Status into a JavaScript Error shaped like Node's fs errors:
// message "CODE: description, syscall 'path'", and code, errno (negative),
// syscall, path (and dest) properties.
#pragma once

#include <napi.h>

#include "status.h"

namespace aufs {

Napi::Error ToJsError(Napi::Env env, const Status& status);

}  // namespace aufs
