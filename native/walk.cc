#include "walk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "layer_root.h"

namespace aufs {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

}  // namespace

TreeWalker::TreeWalker(std::string root, WalkOptions options)
    : root_(std::move(root)), options_(std::move(options)) {}

TreeWalker::~TreeWalker() {
  for (const Frame& frame : stack_) close(frame.fd);
}

bool TreeWalker::Cancelled() const {
  return options_.cancelled != nullptr && options_.cancelled->load(std::memory_order_relaxed);
}

Status TreeWalker::Open() {
  int fd = OpenLayerRoot(root_);
  if (fd < 0) return Status::FromErrno("open", root_);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = Status::FromErrno("fstat", root_);
    close(fd);
    return s;
  }
  dev_ = st.st_dev;
  return Enter(fd, "", 1);
}

Status TreeWalker::OpenSubtree(UniqueFd fd, const WalkEntry& dir) {
  dev_ = dir.st.st_dev;
  return Enter(fd.release(), dir.path, dir.depth + 1);
}

// Takes ownership of `fd` and makes its directory the one being listed.
Status TreeWalker::Enter(int fd, std::string path, int depth) {
  std::vector<DirEntry> entries;
  Status s = ReadDirEntries(fd, JoinPath(root_, path), &entries);
  if (!s.ok()) {
    close(fd);
    return s;
  }
  if (options_.sorted) {
    std::sort(entries.begin(), entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  }
  if (options_.enter_dir) s = options_.enter_dir(fd, path, &entries);
  if (!s.ok()) {
    close(fd);
    return s;
  }
  stack_.push_back(Frame{fd, std::move(path), depth, std::move(entries), 0});
  return Status::Ok();
}

// Fills `st` from an lstat, or from the entry's type alone when the visitor
// asked for no more; false with errno set when the lstat failed.
bool TreeWalker::Lstat(int fd, const DirEntry& e, struct stat* st) const {
  const bool known = e.type != DT_UNKNOWN && e.type != DT_DIR && e.type < 32;
  if (known && (options_.skip_lstat & (1u << e.type)) != 0) {
    *st = {};
    st->st_mode = DTTOIF(e.type);
    return true;
  }
  return fstatat(fd, e.name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0;
}

Status TreeWalker::OpenCurrent(UniqueFd* fd) const {
  *fd = UniqueFd(openat(entry_.parent_fd, entry_.name.c_str(), kDirFlags));
  if (fd->valid()) return Status::Ok();
  // Vanished, or replaced by a non-directory since the lstat.
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return Status::Ok();
  return Status::FromErrno("open", JoinPath(root_, entry_.path));
}

Status TreeWalker::Next(const WalkEntry** entry) {
  *entry = nullptr;
  if (descend_) {
    descend_ = false;
    UniqueFd child;
    Status s = OpenCurrent(&child);
    if (s.ok() && child.valid()) s = Enter(child.release(), entry_.path, entry_.depth + 1);
    if (!s.ok()) return s;
  }
  while (!stack_.empty()) {
    Frame& frame = stack_.back();
    if (frame.next == frame.entries.size()) {
      close(frame.fd);
      stack_.pop_back();
      continue;
    }
    if (Cancelled()) return AbortedStatus();
    const DirEntry& e = frame.entries[frame.next++];
    entry_.parent_fd = frame.fd;
    entry_.depth = frame.depth;
    entry_.name = e.name;
    entry_.path = frame.path.empty() ? e.name : frame.path + "/" + e.name;
    if (!Lstat(frame.fd, e, &entry_.st)) {
      if (errno == ENOENT) continue;
      return Status::FromErrno("lstat", JoinPath(root_, entry_.path));
    }
    descend_ = S_ISDIR(entry_.st.st_mode) && entry_.st.st_dev == dev_;
    *entry = &entry_;
    return Status::Ok();
  }
  return Status::Ok();
}

Status AbortedStatus() { return Status::Custom("ABORT_ERR", "The operation was aborted"); }

namespace {

// Gives the directory the walker returned last to options.pool instead of entering it.
Status HandOff(TreeWalker& walker, const WalkEntry& dir, const WalkOptions& options) {
  UniqueFd fd;
  Status s = walker.OpenCurrent(&fd);
  walker.SkipChildren();
  if (s.ok() && fd.valid()) options.pool->HandOff(options.subtree(std::move(fd), dir));
  return s;
}

Status RunWalk(TreeWalker& walker, const WalkVisitor& visit, const WalkOptions& options) {
  const WalkEntry* entry = nullptr;
  Status s;
  while ((s = walker.Next(&entry)).ok() && entry != nullptr) {
    Descend descend = Descend::kYes;
    s = visit(*entry, &descend);
    if (s.ok() && descend == Descend::kNo) {
      walker.SkipChildren();
    } else if (s.ok() && options.pool != nullptr && walker.WillDescend() && options.pool->Idle()) {
      s = HandOff(walker, *entry, options);
    }
    if (!s.ok()) return s;
  }
  return s;
}

}  // namespace

Status WalkTree(const std::string& root, const WalkVisitor& visit, const WalkOptions& options) {
  TreeWalker walker(root, options);
  Status s = walker.Open();
  return s.ok() ? RunWalk(walker, visit, options) : s;
}

Status WalkSubtree(const std::string& root, UniqueFd fd, const WalkEntry& dir,
                   const WalkVisitor& visit, const WalkOptions& options) {
  TreeWalker walker(root, options);
  Status s = walker.OpenSubtree(std::move(fd), dir);
  return s.ok() ? RunWalk(walker, visit, options) : s;
}

}  // namespace aufs
