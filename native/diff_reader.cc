#include "diff_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "eintr.h"
#include "whiteouts.h"

namespace aufs {
namespace {

// Files up to this size travel inside the batch; bigger ones as descriptors.
constexpr off_t kInlineMax = 1 << 20;
// A batch ends at whichever limit it reaches first. The caller keeps a few
// alive (src/archive/readAhead.ts): these bound its memory and open files.
constexpr size_t kBatchRecords = 512;
constexpr size_t kBatchBytes = 2 << 20;
constexpr size_t kBatchFds = 8;

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// O_NONBLOCK: a FIFO swapped in since the walk looked must not hang the open.
constexpr int kFileFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
const char kCapabilityXattr[] = "security.capability";

bool IsAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void PutF64(uint8_t* p, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof(bits));
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(bits >> (8 * i));
}

bool IsOpaqueDir(const WalkEntry& e) {
  int fd = openat(e.parent_fd, e.name.c_str(), kDirFlags);
  if (fd < 0) return false;
  const bool opaque = HasOpaqueXattr(fd);
  close(fd);
  return opaque;
}

// The security.capability xattr of the file open at `fd`, empty when none.
Status ReadCapability(int fd, const std::string& path, std::string* value) {
  char small[256];
  ssize_t n = RetryOnEintr([&] { return fgetxattr(fd, kCapabilityXattr, small, sizeof(small)); });
  while (n < 0 && errno == ERANGE) {
    n = RetryOnEintr([&] { return fgetxattr(fd, kCapabilityXattr, nullptr, 0); });
    if (n < 0) break;
    value->resize(static_cast<size_t>(n));
    n = RetryOnEintr(
        [&] { return fgetxattr(fd, kCapabilityXattr, &(*value)[0], value->size()); });
    if (n >= 0) {
      value->resize(static_cast<size_t>(n));
      return Status::Ok();
    }
  }
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return Status::Ok();
    return Status::FromErrno("fgetxattr", path);
  }
  value->assign(small, static_cast<size_t>(n));
  return Status::Ok();
}

// Reads exactly `size` bytes: the size the archive header promises. More
// bytes (a file growing) are left out; fewer (a file shrinking) fail.
Status ReadContent(int fd, uint8_t* data, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("read", path);
    }
    if (n == 0) {
      return Status::Custom("ERR_FILE_CHANGED",
                            "file shrank by " + std::to_string(size - done) +
                                " bytes while it was archived",
                            path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The walk lists a directory by archive name, so a whiteout device X comes
// where its `.wh.X` belongs.
WalkOptions ArchiveWalkOptions(const std::string& root, const std::atomic<bool>* cancelled) {
  WalkOptions options;
  options.cancelled = cancelled;
  options.enter_dir = [root](int fd, const std::string& path, std::vector<DirEntry>* entries) {
    return OrderAsAufs(fd, JoinPath(root, path), entries);
  };
  return options;
}

}  // namespace

// A record's header fields.
struct DiffReader::Record {
  Record(DiffKind kind, const struct stat& st, mode_t perm)
      : kind(kind), mode(perm), uid(st.st_uid), gid(st.st_gid), mtime(st.st_mtim.tv_sec) {}
  Record(DiffKind kind, const struct stat& st) : Record(kind, st, st.st_mode & 07777) {}

  DiffKind kind;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  int32_t fd = -1;
  double size = 0;
  double mtime;
};

DiffReader::DiffReader(std::string root)
    : root_(std::move(root)), walker_(root_, ArchiveWalkOptions(root_, &cancelled_)) {}

Status DiffReader::Open() {
  Status s = walker_.Open();
  if (!s.ok()) return s;
  // The root itself is no entry, but may still stand for an opaque marker.
  int fd = open(root_.c_str(), kDirFlags);
  if (fd < 0) return Status::FromErrno("open", root_);
  Dir root{1, "", {}, HasOpaqueXattr(fd), false, ""};
  s = fstat(fd, &root.st) == 0 ? Status::Ok() : Status::FromErrno("fstat", root_);
  close(fd);
  if (s.ok()) dirs_.push_back(root);
  return s;
}

Status DiffReader::NextBatch(ByteBuffer* batch, bool* done) {
  if (busy_.exchange(true)) {
    return Status::Custom("ERR_INVALID_STATE", "a batch is being read already", root_);
  }
  batch_records_ = 0;
  Status s = Fill(batch, done);
  if (!s.ok()) {
    for (int fd : batch_fds_) close(fd);
  }
  batch_fds_.clear();
  busy_.store(false);
  return s;
}

Status DiffReader::Fill(ByteBuffer* out, bool* done) {
  *done = false;
  while (batch_records_ < kBatchRecords && out->size() < kBatchBytes &&
         batch_fds_.size() < kBatchFds) {
    const WalkEntry* entry = nullptr;
    Status s = walker_.Next(&entry);
    if (!s.ok()) return s;
    if (entry == nullptr) {
      LeaveDirs(0, out);
      *done = true;
      return Status::Ok();
    }
    s = Visit(*entry, out);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status DiffReader::Visit(const WalkEntry& e, ByteBuffer* out) {
  LeaveDirs(e.depth, out);
  Dir& parent = dirs_.back();
  const bool whiteout = IsOverlayWhiteout(e.st);
  const std::string name = whiteout ? kWhiteoutPrefix + e.name : e.name;
  if (whiteout) {
    // A real entry of the same name (sorted just before) wins, as it does
    // when the mount program's whiteouts are converted.
    if (name == parent.last_name) return Status::Ok();
  } else {
    parent.last_name = e.name;
    if (name == kOpaqueMarker) parent.has_marker = true;
  }
  if (IsExcludedFromDiff(name, e.depth)) {
    walker_.SkipChildren();
    return Status::Ok();
  }
  if (S_ISSOCK(e.st.st_mode)) return Status::Ok();
  // An opaque xattr's marker takes its sorted place.
  if (parent.opaque && !parent.has_marker && name >= kOpaqueMarker) EmitMarker(&parent, out);
  const std::string path = e.path.substr(0, e.path.size() - e.name.size()) + name;
  if (whiteout) {
    if (name == kOpaqueMarker) {
      if (parent.has_marker) return Status::Ok();
      parent.has_marker = true;
    }
    Append(out, Record(DiffKind::kFile, e.st, kWhiteoutMode), path, "", "", 0);
    return Status::Ok();
  }
  if (S_ISDIR(e.st.st_mode)) {
    Append(out, Record(DiffKind::kDirectory, e.st), path, "", "", 0);
    if (walker_.WillDescend()) {
      const bool opaque = IsOpaqueDir(e);
      dirs_.push_back(Dir{e.depth + 1, path, e.st, opaque, false, ""});
    }
    return Status::Ok();
  }
  return VisitInode(e, path, out);
}

// Archives a non-directory, or a link to its inode's first name.
Status DiffReader::VisitInode(const WalkEntry& e, const std::string& path, ByteBuffer* out) {
  const std::pair<dev_t, ino_t> inode{e.st.st_dev, e.st.st_ino};
  if (e.st.st_nlink > 1) {
    auto first = first_names_.find(inode);
    if (first != first_names_.end()) {
      Append(out, Record(DiffKind::kHardLink, e.st), path, first->second, "", 0);
      return Status::Ok();
    }
  }
  const size_t records_before = batch_records_;
  Status s;
  switch (e.st.st_mode & S_IFMT) {
    case S_IFREG:
      s = EmitFile(e, path, out);
      break;
    case S_IFLNK:
      s = EmitSymlink(e, path, out);
      break;
    case S_IFCHR:
    case S_IFBLK: {
      Record r(S_ISCHR(e.st.st_mode) ? DiffKind::kCharDevice : DiffKind::kBlockDevice, e.st);
      r.devmajor = major(e.st.st_rdev);
      r.devminor = minor(e.st.st_rdev);
      Append(out, r, path, "", "", 0);
      break;
    }
    case S_IFIFO:
      Append(out, Record(DiffKind::kFifo, e.st), path, "", "", 0);
      break;
  }
  if (s.ok() && e.st.st_nlink > 1 && batch_records_ > records_before) {
    first_names_.emplace(inode, path);
  }
  return s;
}

Status DiffReader::EmitFile(const WalkEntry& e, const std::string& path, ByteBuffer* out) {
  int fd = openat(e.parent_fd, e.name.c_str(), kFileFlags);
  if (fd < 0) {
    // Gone since the walk saw it, or replaced by a symlink (O_NOFOLLOW).
    if (errno == ENOENT || errno == ELOOP) return Status::Ok();
    return Status::FromErrno("open", FullPath(e.path));
  }
  // The header describes what is read, even if the name changed hands.
  struct stat st;
  std::string capability;
  Status s = fstat(fd, &st) == 0 ? Status::Ok() : Status::FromErrno("fstat", FullPath(e.path));
  if (s.ok() && S_ISREG(st.st_mode)) s = ReadCapability(fd, FullPath(e.path), &capability);
  if (!s.ok() || !S_ISREG(st.st_mode)) {
    close(fd);
    return s;
  }
  Record r(DiffKind::kFile, st);
  r.size = static_cast<double>(st.st_size);
  if (st.st_size > kInlineMax) {
    r.fd = fd;
    batch_fds_.push_back(fd);
    Append(out, r, path, "", capability, 0);
    return Status::Ok();
  }
  const size_t size = static_cast<size_t>(st.st_size);
  s = ReadContent(fd, Append(out, r, path, "", capability, size), size, FullPath(e.path));
  close(fd);
  return s;
}

Status DiffReader::EmitSymlink(const WalkEntry& e, const std::string& path, ByteBuffer* out) {
  std::string target(static_cast<size_t>(e.st.st_size) + 1, '\0');
  for (;;) {
    ssize_t n = RetryOnEintr(
        [&] { return readlinkat(e.parent_fd, e.name.c_str(), &target[0], target.size()); });
    if (n < 0) {
      // Gone, or no longer a symlink, since the walk saw it.
      if (errno == ENOENT || errno == EINVAL) return Status::Ok();
      return Status::FromErrno("readlink", FullPath(e.path));
    }
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      break;
    }
    target.resize(target.size() * 2);  // the target grew since the lstat
  }
  Append(out, Record(DiffKind::kSymlink, e.st), path, target, "", 0);
  return Status::Ok();
}

// Closes the directories whose entries are deeper than `depth`, emitting the
// opaque markers still owed.
void DiffReader::LeaveDirs(int depth, ByteBuffer* out) {
  while (!dirs_.empty() && dirs_.back().depth > depth) {
    Dir& dir = dirs_.back();
    if (dir.opaque && !dir.has_marker) EmitMarker(&dir, out);
    dirs_.pop_back();
  }
}

void DiffReader::EmitMarker(Dir* dir, ByteBuffer* out) {
  const std::string path = dir->path.empty() ? kOpaqueMarker : dir->path + "/" + kOpaqueMarker;
  Append(out, Record(DiffKind::kFile, dir->st, kWhiteoutMode), path, "", "", 0);
  dir->has_marker = true;
}

uint8_t* DiffReader::Append(ByteBuffer* out, const Record& r, const std::string& path,
                            const std::string& link, const std::string& capability,
                            size_t content) {
  const size_t variable = path.size() + link.size() + capability.size() + content;
  uint8_t* p = out->Grow(kDiffRecordHeaderSize + variable);
  p[0] = static_cast<uint8_t>(r.kind);
  p[1] = static_cast<uint8_t>((IsAscii(path) ? kDiffPathAscii : 0) |
                              (IsAscii(link) ? kDiffLinkAscii : 0));
  p[2] = p[3] = 0;
  PutU32(p + 4, r.mode);
  PutU32(p + 8, r.uid);
  PutU32(p + 12, r.gid);
  PutU32(p + 16, r.devmajor);
  PutU32(p + 20, r.devminor);
  PutU32(p + 24, static_cast<uint32_t>(r.fd));
  PutU32(p + 28, static_cast<uint32_t>(path.size()));
  PutU32(p + 32, static_cast<uint32_t>(link.size()));
  PutU32(p + 36, static_cast<uint32_t>(capability.size()));
  PutU32(p + 40, static_cast<uint32_t>(content));
  PutF64(p + 44, r.size);
  PutF64(p + 52, r.mtime);
  uint8_t* next = p + kDiffRecordHeaderSize;
  for (const std::string* part : {&path, &link, &capability}) {
    memcpy(next, part->data(), part->size());
    next += part->size();
  }
  ++batch_records_;
  return next;
}

}  // namespace aufs
