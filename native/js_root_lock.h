// lockRoot(): the binding of root_lock.h.
#pragma once

#include <napi.h>

namespace aufs {

void RegisterRootLock(Napi::Env env, Napi::Object exports);

}  // namespace aufs
