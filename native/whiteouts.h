// Overlay-form whiteouts (what fuse-overlayfs writes into its upper directory)
// and their aufs form (what a layer on disk must hold).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dir_reader.h"
#include "status.h"

namespace aufs {

extern const char kWhiteoutPrefix[];   // ".wh."
extern const char kOpaqueMarker[];     // ".wh..wh..opq"

extern const char kMetaPrefix[];       // ".wh..wh.": aufs's own names

// An overlay whiteout in aufs form is an empty file, read-only for everybody
// as aufs makes them, with the owner and mtime of its origin: the whiteout
// device, or the opaque directory for an opaque marker. So a layer's archive
// reads the same before and after the conversion.
constexpr mode_t kWhiteoutMode = 0444;

// Top-level names that diff() leaves out of a layer tar: every ".wh..wh.*"
// except an opaque marker.
bool IsExcludedFromDiff(const std::string& name, int depth);

// An overlay whiteout is a character device with device number 0/0.
bool IsOverlayWhiteout(const struct stat& st);

// Whether the overlay whiteout `name` has an aufs form: `.wh.NAME` fits in a
// directory entry. One that does not stays in overlay form on disk, and is
// archived (and sorted) as the device it is.
bool HasAufsForm(const std::string& name);

// Extended attributes in which overlay implementations keep their own state
// (opaque, whiteout, redirect, origin...): a layer in aufs form has none.
bool IsOverlayXattr(const std::string& name);

// True when the directory open at `fd` carries an overlay "opaque" xattr.
bool HasOpaqueXattr(int fd);

// Orders a directory's entries, given in name order, by their aufs names: an
// overlay whiteout X with an aufs form sorts as ".wh.X", just after a real ".wh.X" (which wins
// where both exist, as in the conversion). So a mounted layer is listed and
// archived in the order it will have once unmounted. `dir` names the
// directory open at `fd` in errors.
Status OrderAsAufs(int fd, const std::string& dir, std::vector<DirEntry>* entries);

// Rewrites every overlay whiteout below `dir` as an aufs `.wh.NAME` file and
// every opaque xattr as a `.wh..wh..opq` file, so that the layer is in aufs
// format again (see kWhiteoutMode; directories keep their times). Does not
// cross into other mounts. `converted` counts rewrites.
Status ConvertOverlayWhiteouts(const std::string& dir, uint64_t* converted);

}  // namespace aufs
