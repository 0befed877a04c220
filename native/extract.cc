#include "extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "dir_reader.h"
#include "entry_attrs.h"
#include "layer_path.h"
#include "size.h"
#include "tree.h"
#include "walk.h"

namespace aufs {
namespace {

constexpr int kFileFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
// Until the entry's own mode is set, nobody else gets in.
constexpr mode_t kPrivateFileMode = 0600;
constexpr mode_t kPrivateDirMode = 0700;
constexpr size_t kFileReadSize = 1 << 20;
constexpr uint8_t kGzipMagic[] = {0x1f, 0x8b};

}  // namespace

Status ProbePlainTarFile(int fd, int64_t* offset, bool* plain) {
  *plain = false;
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::FromErrno("fstat", "");
  if (!S_ISREG(st.st_mode)) return Status::Ok();
  if (*offset < 0) {
    const off_t current = lseek(fd, 0, SEEK_CUR);
    if (current < 0) return Status::FromErrno("lseek", "");
    *offset = current;
  }
  uint8_t head[2] = {0, 0};
  if (pread(fd, head, sizeof(head), *offset) < 0) return Status::FromErrno("read", "");
  *plain = !(head[0] == kGzipMagic[0] && head[1] == kGzipMagic[1]);
  return Status::Ok();
}

LayerExtractor::LayerExtractor(std::string dir, ExtractOptions options)
    : dir_(std::move(dir)), options_(options) {}

LayerExtractor::~LayerExtractor() { Close(); }

void LayerExtractor::Close() {
  if (file_fd_ >= 0) close(file_fd_);
  file_fd_ = -1;
  ForgetParent();
  root_.Close();
  // Freed here, on the pool thread, rather than wherever the last reference
  // to the extractor goes (often the event loop).
  std::unordered_set<std::string>().swap(linkable_);
  dir_times_.clear();
  if (failure_.ok()) failure_ = Status::Custom("ERR_INVALID_STATE", "the layer writer is closed");
}

Status LayerExtractor::Write(const uint8_t* data, size_t size) {
  if (!failure_.ok()) return failure_;
  Status s = root_.is_open() ? Status::Ok() : Open();
  if (s.ok()) s = reader_.Feed(data, size);
  return s.ok() ? s : Fail(s);
}

Status LayerExtractor::WriteFromFile(int fd, uint64_t offset, uint64_t length) {
  std::vector<uint8_t> buffer(kFileReadSize);
  while (length > 0) {
    if (Cancelled()) return Fail(AbortedStatus());
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length));
    const ssize_t n = pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Status::FromErrno("read", ""));
    if (n == 0) break;
    Status s = Write(buffer.data(), static_cast<size_t>(n));
    if (!s.ok()) return s;
    offset += static_cast<uint64_t>(n);
    if (length != kToEndOfFile) length -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status LayerExtractor::Finish(uint64_t* size) {
  if (!failure_.ok()) return failure_;
  Status s = root_.is_open() ? Status::Ok() : Open();
  if (s.ok()) s = reader_.End();
  if (s.ok()) s = SetDirectoryTimes();
  if (s.ok() && size_exact_) {
    *size = size_;
  } else if (s.ok()) {
    s = TreeSize(dir_, options_.cancelled, size);
  }
  if (!s.ok()) return Fail(s);
  Close();
  return s;
}

Status LayerExtractor::Fail(Status s) {
  if (failure_.ok()) failure_ = s;
  Close();
  return s;
}

Status LayerExtractor::Open() {
  Status s = root_.Open(dir_, options_.resolve);
  if (!s.ok()) return s;
  std::vector<DirEntry> entries;
  s = ReadDirEntries(root_.fd(), dir_, &entries);
  size_exact_ = entries.empty();
  return s;
}

bool LayerExtractor::Cancelled() const {
  return options_.cancelled != nullptr && options_.cancelled->load(std::memory_order_relaxed);
}

Status LayerExtractor::OnEntry(const TarEntry& entry) {
  if (Cancelled()) return AbortedStatus();
  entry_ = entry;
  Status s = LayerPath(entry.name, entry.name, &rel_);
  if (!s.ok()) return s;
  if (rel_.empty()) {
    // The root's metadata belongs to the layer store, not to the archive:
    // Docker skipped "." too.
    if (entry.type == EntryType::kDirectory) return Status::Ok();
    return EntryError(kTarBreakout, entry.name, "would replace the layer's root directory");
  }
  std::string dir, leaf;
  SplitLeaf(rel_, &dir, &leaf);
  int dirfd;
  s = ParentDir(dir, &dirfd);
  if (s.ok()) {
    switch (entry.type) {
      case EntryType::kFile: s = MakeFile(dirfd, leaf); break;
      case EntryType::kDirectory: s = MakeDirectory(dirfd, leaf); break;
      case EntryType::kSymlink: s = MakeSymlink(dirfd, leaf); break;
      case EntryType::kHardLink: s = MakeHardLink(dirfd, leaf); break;
      case EntryType::kCharDevice:
      case EntryType::kBlockDevice:
      case EntryType::kFifo: s = MakeNode(dirfd, leaf); break;
    }
  }
  return Located(s);
}

Status LayerExtractor::OnData(const uint8_t* data, size_t size) {
  while (size > 0) {
    if (Cancelled()) return AbortedStatus();
    const ssize_t n = write(file_fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Located(Status::FromErrno("write", ""));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status LayerExtractor::OnEntryEnd() {
  if (file_fd_ < 0) return Status::Ok();  // every other type is complete after OnEntry
  Status s = SetAttrsOnFd(file_fd_, entry_, true);
  const int fd = file_fd_;
  file_fd_ = -1;
  if (close(fd) != 0 && s.ok()) s = Status::FromErrno("close", "");
  if (!s.ok()) return Located(s);
  size_ += entry_.size;
  linkable_.insert(rel_);
  return Status::Ok();
}

Status LayerExtractor::ParentDir(const std::string& dir, int* fd) {
  if (parent_fd_ < 0 || parent_rel_ != dir) {
    ForgetParent();
    int opened;
    Status s = root_.OpenDir(dir, true, &opened);
    if (!s.ok()) return s;
    parent_fd_ = opened;
    parent_rel_ = dir;
  }
  *fd = parent_fd_;
  return Status::Ok();
}

void LayerExtractor::ForgetParent() {
  if (parent_fd_ >= 0) close(parent_fd_);
  parent_fd_ = -1;
}

Status LayerExtractor::CreateReplacing(int dirfd, const std::string& leaf, const char* syscall,
                                       bool merge_dir, const std::function<int()>& create,
                                       bool* merged) {
  *merged = false;
  for (int attempt = 0;; ++attempt) {
    if (create() >= 0) return Status::Ok();
    // A second EEXIST means something else is making entries here too.
    if (errno != EEXIST || attempt > 0) return Status::FromErrno(syscall, rel_);
    Status s = ClearWay(dirfd, leaf, merge_dir, merged);
    if (!s.ok() || *merged) return s;
  }
}

// What is at the entry's path goes, unless both are directories: then they merge.
Status LayerExtractor::ClearWay(int dirfd, const std::string& leaf, bool merge_dir, bool* merged) {
  struct stat st;
  if (fstatat(dirfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status::Ok() : Status::FromErrno("lstat", rel_);
  }
  if (S_ISDIR(st.st_mode) && merge_dir) {
    *merged = true;
    return Status::Ok();
  }
  size_exact_ = false;
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, leaf.c_str(), 0) != 0 && errno != ENOENT) {
      return Status::FromErrno("unlink", rel_);
    }
    return Status::Ok();
  }
  // Another filesystem mounted here is not the layer's to empty. (The kept
  // parent descriptor is of the entry's parent, which stays.)
  if (st.st_dev != root_.dev()) return Status::Sys(EBUSY, "rmdir", rel_);
  return RemoveTreeAt(dirfd, leaf, rel_);
}

Status LayerExtractor::MakeFile(int dirfd, const std::string& leaf) {
  int fd = -1;
  bool merged;
  Status s = CreateReplacing(
      dirfd, leaf, "open", false,
      [&] { return fd = openat(dirfd, leaf.c_str(), kFileFlags, kPrivateFileMode); }, &merged);
  if (s.ok()) file_fd_ = fd;
  return s;
}

Status LayerExtractor::MakeDirectory(int dirfd, const std::string& leaf) {
  bool merged;
  Status s = CreateReplacing(
      dirfd, leaf, "mkdir", true,
      [&] { return mkdirat(dirfd, leaf.c_str(), kPrivateDirMode); }, &merged);
  int fd;
  if (s.ok()) s = root_.OpenChild(dirfd, leaf, rel_, false, &fd);
  if (!s.ok()) return s;
  s = SetAttrsOnFd(fd, entry_, false);
  close(fd);
  if (s.ok()) dir_times_[rel_] = {entry_.atime, entry_.mtime};
  return s;
}

Status LayerExtractor::MakeSymlink(int dirfd, const std::string& leaf) {
  // The target is data: it may point anywhere, since nothing here follows it.
  bool merged;
  Status s = CreateReplacing(
      dirfd, leaf, "symlink", false,
      [&] { return symlinkat(entry_.linkname.c_str(), dirfd, leaf.c_str()); }, &merged);
  if (s.ok()) s = SetAttrsAt(dirfd, leaf, entry_);
  if (!s.ok()) return s;
  size_ += entry_.linkname.size();
  linkable_.insert(rel_);
  return s;
}

Status LayerExtractor::MakeNode(int dirfd, const std::string& leaf) {
  const mode_t type = entry_.type == EntryType::kCharDevice    ? S_IFCHR
                      : entry_.type == EntryType::kBlockDevice ? S_IFBLK
                                                               : S_IFIFO;
  const dev_t dev = type == S_IFIFO ? 0 : makedev(entry_.devmajor, entry_.devminor);
  bool merged;
  Status s = CreateReplacing(
      dirfd, leaf, "mknod", false,
      [&] { return mknodat(dirfd, leaf.c_str(), type | kPrivateFileMode, dev); }, &merged);
  if (s.ok()) s = SetAttrsAt(dirfd, leaf, entry_);
  if (s.ok()) linkable_.insert(rel_);
  return s;
}

// A hard link may only point at a non-directory this archive made earlier:
// anything else (files outside, files the layer held before) is refused.
// It shares its target's inode, so it has no metadata of its own to set.
Status LayerExtractor::MakeHardLink(int dirfd, const std::string& leaf) {
  std::string target;
  Status s = LayerPath(entry_.linkname, entry_.name, &target);
  if (!s.ok()) return s;
  if (linkable_.count(target) == 0) {
    return EntryError(kTarBreakout, entry_.name,
                      "is a hard link to " + Quoted(entry_.linkname) +
                          ", which is not an earlier entry of this archive");
  }
  if (target == rel_) return Status::Ok();
  std::string target_dir, target_leaf;
  SplitLeaf(target, &target_dir, &target_leaf);
  int target_fd;
  s = root_.OpenDir(target_dir, false, &target_fd);
  if (!s.ok()) return s;
  bool merged;
  s = CreateReplacing(
      dirfd, leaf, "link", false,
      [&] { return linkat(target_fd, target_leaf.c_str(), dirfd, leaf.c_str(), 0); }, &merged);
  close(target_fd);
  if (s.ok()) linkable_.insert(rel_);
  return s;
}

Status LayerExtractor::SetDirectoryTimes() {
  for (const auto& [rel, times] : dir_times_) {
    if (Cancelled()) return AbortedStatus();
    int fd;
    // A directory that a later entry replaced has no times of ours to get.
    if (!root_.OpenDir(rel, false, &fd).ok()) continue;
    Status s = SetTimesOnFd(fd, times.first, times.second);
    close(fd);
    if (!s.ok()) {
      s.path = JoinPath(dir_, rel);
      return s;
    }
  }
  return Status::Ok();
}

// Failed syscalls get the entry's host path (for messages only); a refusal
// from LayerRoot, which names the offending component in `path`, becomes an
// error about the entry.
Status LayerExtractor::Located(Status s) const {
  if (s.ok()) return s;
  if (s.code.empty()) {
    s.path = JoinPath(dir_, s.path.empty() ? rel_ : s.path);
    return s;
  }
  if (s.code == kTarBreakout && !s.path.empty()) {
    return EntryError(kTarBreakout, entry_.name, "path component " + Quoted(s.path) + " " + s.message);
  }
  return s;
}

}  // namespace aufs
