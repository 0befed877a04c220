// checkLayerMount() and unmountIfType() for JavaScript: the one-trip checks
// behind get() and put() (layer_mount.h).
#pragma once

#include <napi.h>

namespace aufs {

void RegisterLayerMount(Napi::Env env, Napi::Object exports);

}  // namespace aufs
