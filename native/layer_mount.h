// What get() and put() ask of the filesystem about one layer, each in a
// single trip to the thread pool: a trip costs more than the syscalls it
// carries (about 50 µs against 17 µs for a bind mount(2) and its umount2(2)
// on the benchmark machine), so a get()/put() pair makes as few as it can.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace aufs {

struct LayerDir {
  std::string path;
  mode_t mode;
};

// What mounting a layer needs to be set up; see CheckLayerMount.
struct MountSetup {
  std::vector<LayerDir> dirs;  // made, with any missing parents, unless they exist
  std::string mount_point;
};

struct LayerMountState {
  std::string chain;           // the layer's layers file as read: parents, one per line
  std::string problem;         // why the layers file is not one (then nothing else is done), or ""
  std::string missing_parent;  // the first listed parent that is no layer, or ""
  int64_t mount_type = 0;      // MountType of the mount point, once the dirs are made
};

// Reads `layer_file`, never through a symlink and only when it is a regular
// file of a sane size (else `problem` says what it is). When the file lists
// parents and `check_parents` or `setup` is given, checks that each parent has
// a file in `layers_dir` (a name that could lead out of it has none); with
// `setup`, if they all do, makes the layer's directories and asks what is
// mounted on its mount point.
Status CheckLayerMount(const std::string& layer_file, const std::string& layers_dir, bool check_parents,
                       const MountSetup* setup, LayerMountState* state);

// umount2(target, flags) when MountType(target) is `type`. `*unmounted` says
// whether it was; a target that does not exist, or is no mount of that type,
// is left alone.
Status UnmountIfType(const std::string& target, int64_t type, int flags, bool* unmounted);

}  // namespace aufs
