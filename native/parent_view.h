// The union of a layer's parent layers, one directory at a time, as the walk
// of the layer descends. Lookups never follow a symlink: every step is an
// *at() call on a directory descriptor of the same parent layer, so a symlink
// in a parent can neither point a lookup out of its layer nor into another
// part of it.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "dir_names.h"
#include "status.h"
#include "unique_fd.h"

namespace aufs {

// What the union of the parents holds under one name.
struct ParentEntry {
  bool present = false;
  bool is_dir = false;
  struct stat st;  // of the nearest layer's directory, when is_dir and a child was asked for
};

// One directory of the union: that directory in each parent layer that shows
// through, nearest first.
class ParentDir {
 public:
  // The root of the union of the layer directories `roots` (nearest first),
  // each opened once; a missing one counts as empty. `roots` must outlive
  // every ParentDir reached from this one.
  static Status OpenRoot(const std::vector<std::string>& roots, ParentDir* root);

  // How many names the walk will look up here: decides, per layer, between a
  // lookup syscall per name and reading the layer's directory once.
  void ExpectLookups(size_t count) { expected_lookups_ = count; }

  // Looks `name` up. A whiteout of it, an opaque directory or a non-directory
  // in a nearer layer hides what farther layers hold. When `child` is not
  // null it becomes the union's directory `name` (empty unless it is one).
  Status Lookup(const std::string& name, ParentEntry* entry, ParentDir* child);

 private:
  enum class Held { kNothing, kWhiteout, kDir, kOther };

  struct Layer {
    size_t root;  // index into roots_
    UniqueFd fd;
    off_t size = -1;  // st_size of the directory, once known
    bool decided = false;  // whether use_names was chosen yet
    bool use_names = false;
    DirNames names;
    int opaque = -1;  // unknown until a lookup needs to look past this layer
  };

  Status Decide(Layer& layer);
  Status Probe(Layer& layer, const std::string& name, bool want_stat, Held* held,
               struct stat* st);
  Status StatProbe(Layer& layer, const std::string& name, Held* held, struct stat* st);
  Status IsOpaque(Layer& layer, bool* opaque);
  // Adds layer's directory `name` to `child`; `size` is its st_size, or -1.
  Status AddChild(const Layer& layer, const std::string& name, off_t size, ParentDir* child);
  std::string LayerPath(const Layer& layer, const std::string& name) const;

  const std::vector<std::string>* roots_ = nullptr;
  std::string path_;  // relative to the layer roots: "a/b", "" for the root
  std::vector<Layer> layers_;
  size_t expected_lookups_ = 0;
  std::string whiteout_name_;  // scratch, so that lookups do not allocate
};

}  // namespace aufs
