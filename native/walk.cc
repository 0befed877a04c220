#include "walk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "dir_reader.h"
#include "layer_root.h"

namespace aufs {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

class Walker {
 public:
  Walker(const std::string& root, const WalkVisitor& visit, const WalkOptions& options)
      : root_(root), visit_(visit), options_(options) {}

  Status Run() {
    int fd = OpenLayerRoot(root_);
    if (fd < 0) return Status::FromErrno("open", root_);
    struct stat st;
    Status s = fstat(fd, &st) == 0 ? WalkDir(fd, st.st_dev, "", 1) : Status::FromErrno("fstat", root_);
    close(fd);
    return s;
  }

 private:
  bool Cancelled() const {
    return options_.cancelled != nullptr && options_.cancelled->load(std::memory_order_relaxed);
  }

  // Fills `st` from an lstat, or from the entry's type alone when the visitor
  // asked for no more; false with errno set when the lstat failed.
  bool Lstat(int fd, const DirEntry& e, struct stat* st) const {
    const bool known = e.type != DT_UNKNOWN && e.type != DT_DIR && e.type < 32;
    if (known && (options_.skip_lstat & (1u << e.type)) != 0) {
      *st = {};
      st->st_mode = DTTOIF(e.type);
      return true;
    }
    return fstatat(fd, e.name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0;
  }

  Status WalkDir(int fd, dev_t dev, const std::string& prefix, int depth) {
    std::vector<DirEntry> entries;
    Status s = ReadDirEntries(fd, JoinPath(root_, prefix), &entries);
    if (!s.ok()) return s;
    std::sort(entries.begin(), entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    if (options_.enter_dir) {
      s = options_.enter_dir(fd, prefix, &entries);
      if (!s.ok()) return s;
    }
    WalkEntry entry;
    entry.parent_fd = fd;
    entry.depth = depth;
    for (const DirEntry& e : entries) {
      if (Cancelled()) return AbortedStatus();
      entry.name = e.name;
      entry.path = prefix.empty() ? e.name : prefix + "/" + e.name;
      if (!Lstat(fd, e, &entry.st)) {
        if (errno == ENOENT) continue;
        return Status::FromErrno("lstat", JoinPath(root_, entry.path));
      }
      Descend descend = Descend::kYes;
      s = visit_(entry, &descend);
      if (!s.ok()) return s;
      if (!S_ISDIR(entry.st.st_mode) || descend == Descend::kNo || entry.st.st_dev != dev) continue;
      int child = openat(fd, e.name.c_str(), kDirFlags);
      if (child < 0) {
        // Vanished, or replaced by a non-directory since the lstat.
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
        return Status::FromErrno("open", JoinPath(root_, entry.path));
      }
      s = WalkDir(child, dev, entry.path, depth + 1);
      close(child);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  const std::string& root_;
  const WalkVisitor& visit_;
  const WalkOptions& options_;
};

}  // namespace

Status AbortedStatus() { return Status::Custom("ABORT_ERR", "The operation was aborted"); }

Status WalkTree(const std::string& root, const WalkVisitor& visit, const WalkOptions& options) {
  return Walker(root, visit, options).Run();
}

}  // namespace aufs
