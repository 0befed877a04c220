// Opens directories inside a layer so that nothing an archive names can lead
// an operation outside it. Every component on the way must be a directory on
// the layer's own filesystem: a symlink anywhere on the way is refused with
// ERR_TAR_BREAKOUT, never followed, even one that would stay inside (entries
// of a layer diff never live below a symlink of the same layer).
#pragma once

#include <sys/types.h>

#include <string>

#include "status.h"

namespace aufs {

enum class ResolveMode {
  // One openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV) per
  // lookup: the kernel checks the whole path atomically. Turns into
  // kComponents for the rest of the process when the kernel lacks openat2.
  kOpenat2,
  // openat(O_NOFOLLOW | O_DIRECTORY) one component at a time, each checked to
  // be on the layer's device.
  kComponents,
};

class LayerRoot {
 public:
  LayerRoot() = default;
  ~LayerRoot() { Close(); }
  LayerRoot(const LayerRoot&) = delete;
  LayerRoot& operator=(const LayerRoot&) = delete;

  Status Open(const std::string& dir, ResolveMode mode);
  void Close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  dev_t dev() const { return dev_; }

  // Opens the directory at `rel` (a clean relative path; "" is the root) as a
  // new descriptor for *at() calls. With `create`, missing directories on the
  // way are made with mode 0755, as Docker made them. Errors carry `rel` (or
  // the part of it that failed) as their path.
  Status OpenDir(const std::string& rel, bool create, int* out) const;

  // Opens the directory `name` in `dirfd`, a directory inside the layer;
  // `rel` is its path in the layer, for errors.
  Status OpenChild(int dirfd, const std::string& name, const std::string& rel, bool create,
                   int* out) const;

 private:
  Status WalkComponents(const std::string& rel, bool create, int* out) const;

  int fd_ = -1;
  dev_t dev_ = 0;
  ResolveMode mode_ = ResolveMode::kOpenat2;
};

}  // namespace aufs
