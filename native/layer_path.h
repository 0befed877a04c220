// Where an archive entry lands inside a layer: the entry's name made into a
// clean relative path, checked before anything touches the filesystem.
#pragma once

#include <cstddef>
#include <string>

#include "status.h"

namespace aufs {

// Deepest entry accepted. Walks, size counts and removals keep a descriptor
// open per level, so depth is what bounds their cost.
constexpr size_t kMaxPathDepth = 256;

// Turns `name` (an entry's name or a hard link's target) into a path relative
// to the layer root, as GNU tar reads names: leading "/", empty and "."
// components dropped, ".." folded into the component before it. "" is the
// root itself. ERR_TAR_BREAKOUT when a ".." would climb out of the layer,
// ERR_TAR_LIMIT beyond kMaxPathDepth components, ERR_TAR_INVALID for a NUL
// byte; `entry` names the entry.
Status LayerPath(const std::string& name, const std::string& entry, std::string* rel);

// Splits a clean relative path into its directory ("" for the root) and its
// last component.
void SplitLeaf(const std::string& rel, std::string* dir, std::string* leaf);

}  // namespace aufs
