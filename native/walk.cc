#include "walk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

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
  int fd = open(root_.c_str(), kDirFlags);
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

// Takes ownership of `fd` and makes its directory the one being listed.
Status TreeWalker::Enter(int fd, std::string path, int depth) {
  std::vector<DirEntry> entries;
  Status s = ReadDirEntries(fd, JoinPath(root_, path), &entries);
  if (!s.ok()) {
    close(fd);
    return s;
  }
  Sort(fd, &entries);
  stack_.push_back(Frame{fd, std::move(path), depth, std::move(entries), 0});
  return Status::Ok();
}

void TreeWalker::Sort(int fd, std::vector<DirEntry>* entries) const {
  if (!options_.sort_key) {
    std::sort(entries->begin(), entries->end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return;
  }
  std::vector<std::pair<std::string, DirEntry>> keyed;
  keyed.reserve(entries->size());
  for (DirEntry& e : *entries) {
    std::string key = options_.sort_key(fd, e);
    keyed.emplace_back(std::move(key), std::move(e));
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < keyed.size(); ++i) (*entries)[i] = std::move(keyed[i].second);
}

Status TreeWalker::EnterCurrent() {
  int child = openat(entry_.parent_fd, entry_.name.c_str(), kDirFlags);
  if (child < 0) {
    // Vanished, or replaced by a non-directory since the lstat.
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return Status::Ok();
    return Status::FromErrno("open", JoinPath(root_, entry_.path));
  }
  return Enter(child, entry_.path, entry_.depth + 1);
}

Status TreeWalker::Next(const WalkEntry** entry) {
  *entry = nullptr;
  if (descend_) {
    descend_ = false;
    Status s = EnterCurrent();
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
    if (fstatat(frame.fd, e.name.c_str(), &entry_.st, AT_SYMLINK_NOFOLLOW) != 0) {
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

Status WalkTree(const std::string& root, const WalkVisitor& visit, const WalkOptions& options) {
  TreeWalker walker(root, options);
  Status s = walker.Open();
  const WalkEntry* entry = nullptr;
  while (s.ok() && (s = walker.Next(&entry)).ok() && entry != nullptr) {
    Descend descend = Descend::kYes;
    s = visit(*entry, &descend);
    if (descend == Descend::kNo) walker.SkipChildren();
  }
  return s;
}

}  // namespace aufs
