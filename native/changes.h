// changes(): what a layer adds, modifies and deletes against its parent
// layers, as Docker's aufs driver reported it (moby's archive.Changes over
// aufs layers), read from the layer's aufs or overlay-form whiteouts.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "status.h"

namespace aufs {

enum class ChangeKind : char { kModify = 0, kAdd = 1, kDelete = 2 };

// Walks the layer directory `root` against the layer directories `parents`
// (nearest first) and appends each change to `encoded` as one byte '0' + kind,
// the path ("/a/b") and a NUL: one buffer for the whole list, so that handing
// it to JavaScript costs one string, not one object per change.
Status LayerChanges(const std::string& root, const std::vector<std::string>& parents,
                    const std::atomic<bool>* cancelled, std::string* encoded);

}  // namespace aufs
