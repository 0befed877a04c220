// LayerRoot::OpenDir, both ways of resolving, on any clean path through a
// layer full of symlinks that lead out: whatever it opens is the layer or a
// directory inside it, and what it creates stays inside too.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "../layer_path.h"
#include "../resolve.h"
#include "../tree.h"
#include "fuzz_check.h"

namespace {

// SANDBOX/layer, with directories, a file and symlinks out of it, and
// SANDBOX/outside, which must stay empty.
struct Scene {
  std::string layer;
  std::string outside;
  aufs::LayerRoot roots[2];

  Scene() {
    const std::string& box = aufs_fuzz::Sandbox();
    layer = box + "/layer";
    outside = box + "/outside";
    for (const std::string& dir : {layer, outside, layer + "/a", layer + "/a/b", layer + "/c"}) {
      FUZZ_CHECK(mkdir(dir.c_str(), 0755) == 0);
    }
    FUZZ_CHECK(close(open((layer + "/file").c_str(), O_CREAT | O_WRONLY, 0644)) == 0);
    FUZZ_CHECK(symlink("../outside", (layer + "/out").c_str()) == 0);
    FUZZ_CHECK(symlink(outside.c_str(), (layer + "/a/abs").c_str()) == 0);
    FUZZ_CHECK(symlink("..", (layer + "/a/up").c_str()) == 0);
    FUZZ_CHECK(symlink("b", (layer + "/a/b-link").c_str()) == 0);
    FUZZ_CHECK(roots[0].Open(layer, aufs::ResolveMode::kOpenat2).ok());
    FUZZ_CHECK(roots[1].Open(layer, aufs::ResolveMode::kComponents).ok());
  }
};

std::string FdPath(int fd) {
  char target[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(link.c_str(), target, sizeof(target));
  FUZZ_CHECK(n > 0);
  return std::string(target, static_cast<size_t>(n));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Scene scene;
  if (size == 0) return 0;
  const bool create = (data[0] & 1) != 0;
  const aufs::LayerRoot& root = scene.roots[(data[0] >> 1) & 1];
  const std::string name(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string rel;
  if (!aufs::LayerPath(name, name, &rel).ok()) return 0;
  // What may be created goes under new/, which is emptied after each input.
  if (create) rel = rel.empty() ? "new" : "new/" + rel;
  int fd = -1;
  aufs::Status s = root.OpenDir(rel, create, &fd);
  if (s.ok()) {
    const std::string opened = FdPath(fd);
    FUZZ_CHECK(opened == scene.layer || opened.compare(0, scene.layer.size() + 1, scene.layer + "/") == 0);
    close(fd);
  }
  if (create) {
    aufs::Status removed = aufs::RemoveTree(scene.layer + "/new");
    FUZZ_CHECK(removed.ok() || removed.errnum == ENOENT);
  }
  FUZZ_CHECK(aufs_fuzz::EntryCount(scene.outside) == 0);
  return 0;
}
