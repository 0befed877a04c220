// Overlay-form whiteouts (what fuse-overlayfs writes into its upper directory)
// and their aufs form (what a layer on disk must hold).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "status.h"

namespace aufs {

extern const char kWhiteoutPrefix[];   // ".wh."
extern const char kOpaqueMarker[];     // ".wh..wh..opq"

extern const char kMetaPrefix[];       // ".wh..wh.": aufs's own names

// aufs's bookkeeping at the top of a branch (".wh..wh.aufs", ".wh..wh.plnk",
// ".wh..wh.orph"): never part of a layer's changes. `depth` is 1 at the top.
bool IsAufsBookkeeping(const std::string& name, int depth);

// Top-level names that diff() leaves out of a layer tar: every ".wh..wh.*"
// except an opaque marker.
bool IsExcludedFromDiff(const std::string& name, int depth);

// An overlay whiteout is a character device with device number 0/0.
bool IsOverlayWhiteout(const struct stat& st);

// Extended attributes in which overlay implementations keep their own state
// (opaque, whiteout, redirect, origin...): a layer in aufs form has none.
bool IsOverlayXattr(const std::string& name);

// True when the directory open at `fd` carries an overlay "opaque" xattr.
bool HasOpaqueXattr(int fd);

// Rewrites every overlay whiteout below `dir` as an aufs `.wh.NAME` file and
// every opaque xattr as a `.wh..wh..opq` file, so that the layer is in aufs
// format again. Does not cross into other mounts. `converted` counts rewrites.
Status ConvertOverlayWhiteouts(const std::string& dir, uint64_t* converted);

}  // namespace aufs
