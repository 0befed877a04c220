#include "diff_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "eintr.h"
#include "layer_root.h"
#include "tar_writer.h"
#include "whiteouts.h"

namespace aufs {
namespace {

// Files up to this size travel inside the batch; bigger ones as descriptors.
constexpr off_t kInlineMax = 1 << 20;
// A batch ends at whichever limit it reaches first. The caller keeps a few
// alive (src/archive/readAhead.ts): these bound its memory and open files.
constexpr size_t kBatchEntries = 512;
constexpr size_t kBatchBytes = 2 << 20;
constexpr size_t kBatchFiles = 8;
// Directories whose entries a batch reads: each is held open until it is framed.
constexpr size_t kBatchDirs = 64;
// What the walk counts for a header before knowing whether it needs PAX records.
constexpr size_t kHeaderEstimate = 2 * kTarBlockSize;

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// O_NONBLOCK: a FIFO swapped in since the walk looked must not hang the open.
constexpr int kFileFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
const char kCapabilityXattr[] = "security.capability";

// Reads the security.capability xattr with `get` (a getxattr of some kind):
// empty when the entry has none or its filesystem keeps no xattrs.
template <typename Get>
Status ReadCapability(Get getxattr_of, const std::string& path, std::string* value) {
  const auto get = [&](void* buffer, size_t size) {
    return RetryOnEintr([&] { return getxattr_of(buffer, size); });
  };
  char small[64];
  ssize_t n = get(small, sizeof(small));
  while (n < 0 && errno == ERANGE) {
    n = get(nullptr, 0);
    if (n < 0) break;
    value->resize(static_cast<size_t>(n));
    n = get(&(*value)[0], value->size());
    if (n >= 0) {
      value->resize(static_cast<size_t>(n));
      break;
    }
  }
  if (n < 0) {
    value->clear();
    if (errno == ENODATA || errno == ENOTSUP) return Status::Ok();
    return Status::FromErrno("getxattr", path);
  }
  if (value->empty()) value->assign(small, static_cast<size_t>(n));
  // As moby's ReadSecurityXattrToTarHeader: a revision 3 capability (with
  // the root id of a user namespace) becomes revision 2, which a root id
  // makes no sense outside that namespace.
  constexpr size_t kRevisionByte = 3, kRevision2Size = 20;
  if (value->size() >= kRevision2Size && (*value)[kRevisionByte] == 3) {
    (*value)[kRevisionByte] = 2;
    value->resize(kRevision2Size);
  }
  return Status::Ok();
}

Status ReadCapabilityOf(int fd, const std::string& path, std::string* value) {
  return ReadCapability([fd](void* b, size_t n) { return fgetxattr(fd, kCapabilityXattr, b, n); }, path,
                        value);
}

// The security.capability xattr of the entry `name` of the directory open at
// `dir_fd`, whatever its type: read through an O_PATH descriptor, which
// neither follows a symlink nor opens a device. `*found` is false when the
// entry is gone.
Status ReadCapabilityAt(int dir_fd, const std::string& name, const std::string& path, bool* found,
                        std::string* value) {
  UniqueFd fd(openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  *found = fd.valid();
  if (!fd.valid()) return errno == ENOENT ? Status::Ok() : Status::FromErrno("open", path);
  char proc[32];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd.get());
  return ReadCapability([&proc](void* b, size_t n) { return getxattr(proc, kCapabilityXattr, b, n); },
                        path, value);
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

struct DiffReader::Planned {
  Read read;
  char typeflag;
  std::string name;      // in the archive
  std::string linkname;  // a hard link's first name, then a symlink's target
  struct stat st;        // the walk's lstat; a file's fstat once it is open
  mode_t mode;           // of the header: st_mode but for whiteouts in aufs form
  size_t dir = 0;        // in Plan::dirs, for what is read
  std::string entry;     // the entry's name in that directory
  std::string capability;
};

DiffReader::DiffReader(std::string root)
    : root_(std::move(root)), walker_(root_, ArchiveWalkOptions(root_, &cancelled_)) {}

Status DiffReader::Open() {
  Status s = walker_.Open();
  if (!s.ok()) return s;
  // The root itself is no entry, but may still stand for an opaque marker.
  UniqueFd fd(OpenLayerRoot(root_));
  if (!fd.valid()) return Status::FromErrno("open", root_);
  Dir root{1, "", {}, HasOpaqueXattr(fd.get()), false, ""};
  if (fstat(fd.get(), &root.st) != 0) return Status::FromErrno("fstat", root_);
  dirs_.push_back(root);
  return Status::Ok();
}

void DiffReader::Cancel() {
  {
    std::lock_guard<std::mutex> lock(walk_mutex_);
    cancelled_.store(true);
  }
  turn_.NotifyAll();
}

Status DiffReader::NextBatch(uint64_t ticket, DiffBatch* batch) {
  Plan plan;
  Status s = Walk(ticket, &plan);
  if (s.ok()) s = Frame(&plan, batch);
  batch->done = s.ok() && plan.entries.empty() && !plan.last;
  return s;
}

// Walks the part of the layer that makes ticket's batch, once the batch
// before has been walked.
Status DiffReader::Walk(uint64_t ticket, Plan* plan) {
  std::unique_lock<std::mutex> lock(walk_mutex_);
  while (turn_ticket_ != ticket && !cancelled_.load()) turn_.Wait(lock);
  if (cancelled_.load()) return AbortedStatus();
  Status s = walk_failed_;
  if (s.ok() && !walk_done_) s = Fill(plan);
  if (!s.ok()) walk_failed_ = s;
  ++turn_ticket_;
  turn_.NotifyAll();
  return s;
}

Status DiffReader::Fill(Plan* plan) {
  plan->entries.reserve(kBatchEntries);
  while (plan->entries.size() < kBatchEntries && plan->bytes < kBatchBytes &&
         plan->files < kBatchFiles && plan->dirs.size() < kBatchDirs) {
    const WalkEntry* entry = nullptr;
    Status s = walker_.Next(&entry);
    if (!s.ok()) return s;
    if (entry == nullptr) {
      LeaveDirs(0, plan);
      walk_done_ = true;
      plan->last = true;
      return Status::Ok();
    }
    s = Visit(*entry, plan);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status DiffReader::Visit(const WalkEntry& e, Plan* plan) {
  LeaveDirs(e.depth, plan);
  Dir& parent = dirs_.back();
  const bool whiteout = IsOverlayWhiteout(e.st) && HasAufsForm(e.name);
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
  if (parent.opaque && !parent.has_marker && name >= kOpaqueMarker) AddMarker(&parent, plan);
  std::string path = e.path.substr(0, e.path.size() - e.name.size()) + name;
  Planned* added = nullptr;
  if (whiteout) {
    if (name == kOpaqueMarker) {
      if (parent.has_marker) return Status::Ok();
      parent.has_marker = true;
    }
    Status s = AddEntry(e, '0', Read::kNothing, std::move(path), plan, &added);
    added->mode = S_IFREG | kWhiteoutMode;
    return s;
  }
  if (S_ISDIR(e.st.st_mode)) {
    Status s = AddEntry(e, '5', Read::kNothing, path + "/", plan, &added);
    // Opened once for both xattrs; gone or replaced since the lstat, it has neither.
    UniqueFd fd(openat(e.parent_fd, e.name.c_str(), kDirFlags));
    const bool opaque = fd.valid() && HasOpaqueXattr(fd.get());
    if (s.ok() && fd.valid()) s = ReadCapabilityOf(fd.get(), FullPath(e.path), &added->capability);
    if (s.ok() && walker_.WillDescend()) dirs_.push_back(Dir{e.depth + 1, path, e.st, opaque, false, ""});
    return s;
  }
  return VisitInode(e, std::move(path), plan);
}

// Plans a non-directory, or a link to its inode's first name. The first
// name is the first one walked, as moby's SeenFiles has it: a file deleted
// after the walk passed it leaves its links pointing nowhere, in Docker's
// archive and in ours.
Status DiffReader::VisitInode(const WalkEntry& e, std::string path, Plan* plan) {
  Planned* added = nullptr;
  if (e.st.st_nlink > 1) {
    auto [first, inserted] = first_names_.emplace(std::make_pair(e.st.st_dev, e.st.st_ino), path);
    if (!inserted) {
      Status s = AddEntry(e, '1', Read::kCapability, std::move(path), plan, &added);
      added->linkname = first->second;
      return s;
    }
  }
  switch (e.st.st_mode & S_IFMT) {
    case S_IFREG: {
      Status s = AddEntry(e, '0', Read::kContents, std::move(path), plan, &added);
      if (e.st.st_size > kInlineMax) {
        ++plan->files;
      } else {
        plan->bytes += static_cast<size_t>(e.st.st_size) + TarPadding(e.st.st_size);
      }
      return s;
    }
    case S_IFLNK: {
      return AddEntry(e, '2', Read::kLinkTarget, std::move(path), plan, &added);
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO: {
      const char typeflag = S_ISCHR(e.st.st_mode) ? '3' : S_ISBLK(e.st.st_mode) ? '4' : '6';
      return AddEntry(e, typeflag, Read::kCapability, std::move(path), plan, &added);
    }
  }
  return Status::Ok();
}

// Plans an entry described by its lstat, with the directory to read it from
// if there is something to read.
Status DiffReader::AddEntry(const WalkEntry& e, char typeflag, Read read, std::string name,
                            Plan* plan, Planned** added) {
  Status s;
  const std::string dir_path = e.path.substr(0, e.path.size() - e.name.size());
  if (read != Read::kNothing && (plan->dirs.empty() || dir_path != plan->dir_path)) {
    // Framing reads after the walk has moved on, maybe out of the directory.
    UniqueFd dir(fcntl(e.parent_fd, F_DUPFD_CLOEXEC, 0));
    if (!dir.valid()) s = Status::FromErrno("fcntl", FullPath(dir_path));
    plan->dirs.push_back(std::move(dir));
    plan->dir_path = dir_path;
  }
  plan->entries.push_back(Planned{read, typeflag, std::move(name), "", e.st, e.st.st_mode,
                                  plan->dirs.empty() ? 0 : plan->dirs.size() - 1, e.name, ""});
  plan->bytes += kHeaderEstimate;
  *added = &plan->entries.back();
  return s;
}

// Closes the directories whose entries are deeper than `depth`, planning the
// opaque markers still owed.
void DiffReader::LeaveDirs(int depth, Plan* plan) {
  while (!dirs_.empty() && dirs_.back().depth > depth) {
    Dir& dir = dirs_.back();
    if (dir.opaque && !dir.has_marker) AddMarker(&dir, plan);
    dirs_.pop_back();
  }
}

void DiffReader::AddMarker(Dir* dir, Plan* plan) {
  std::string path = dir->path.empty() ? kOpaqueMarker : dir->path + "/" + kOpaqueMarker;
  plan->entries.push_back(Planned{Read::kNothing, '0', std::move(path), "", dir->st,
                                  S_IFREG | kWhiteoutMode, 0, "", ""});
  plan->bytes += kHeaderEstimate;
  dir->has_marker = true;
}

// Reads what the walk left to read, and writes the batch.
Status DiffReader::Frame(Plan* plan, DiffBatch* batch) {
  // Room for what the walk expects, the end of the archive included: one
  // allocation, not a doubling series of them.
  batch->tar.Reserve(plan->bytes + 2 * kTarBlockSize);
  Status s;
  for (Planned& p : plan->entries) {
    if (cancelled_.load(std::memory_order_relaxed)) s = AbortedStatus();
    if (s.ok()) s = FrameEntry(*plan, &p, batch);
    if (!s.ok()) break;
  }
  if (!s.ok()) {
    for (const DiffFile& file : batch->files) close(file.fd);
    batch->files.clear();
    return s;
  }
  if (plan->last) AppendTarTrailer(&batch->tar);
  return s;
}

Status DiffReader::FrameEntry(const Plan& plan, Planned* p, DiffBatch* batch) {
  const int dir_fd = plan.dirs.empty() ? -1 : plan.dirs[p->dir].get();
  bool found = true;
  Status s;
  switch (p->read) {
    case Read::kNothing:
      break;
    case Read::kContents:
      return FrameFile(plan, p, batch);
    case Read::kLinkTarget: {
      std::string target(static_cast<size_t>(p->st.st_size) + 1, '\0');
      for (;;) {
        ssize_t n =
            RetryOnEintr([&] { return readlinkat(dir_fd, p->entry.c_str(), &target[0], target.size()); });
        if (n < 0) {
          // Gone, or no longer a symlink, since the walk saw it.
          if (errno == ENOENT || errno == EINVAL) return Status::Ok();
          return Status::FromErrno("readlink", FullPath(p->name));
        }
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);  // the target grew since the lstat
      }
      p->linkname = std::move(target);
      s = ReadCapabilityAt(dir_fd, p->entry, FullPath(p->name), &found, &p->capability);
      break;
    }
    case Read::kCapability:
      s = ReadCapabilityAt(dir_fd, p->entry, FullPath(p->name), &found, &p->capability);
      break;
  }
  if (s.ok() && found) AppendHeader(*p, batch);
  return s;
}

Status DiffReader::FrameFile(const Plan& plan, Planned* p, DiffBatch* batch) {
  const std::string path = FullPath(p->name);
  UniqueFd fd(openat(plan.dirs[p->dir].get(), p->entry.c_str(), kFileFlags));
  if (!fd.valid()) {
    // Gone since the walk saw it, or replaced by a symlink (O_NOFOLLOW).
    if (errno == ENOENT || errno == ELOOP) return Status::Ok();
    return Status::FromErrno("open", path);
  }
  // The header describes what is read, even if the name changed hands.
  if (fstat(fd.get(), &p->st) != 0) return Status::FromErrno("fstat", path);
  if (!S_ISREG(p->st.st_mode)) return Status::Ok();
  p->mode = p->st.st_mode;
  Status s = ReadCapabilityOf(fd.get(), path, &p->capability);
  if (!s.ok()) return s;
  AppendHeader(*p, batch);
  const uint64_t size = static_cast<uint64_t>(p->st.st_size);
  if (p->st.st_size > kInlineMax) {
    batch->files.push_back(DiffFile{batch->tar.size(), size, fd.release(), p->name});
  } else {
    s = ReadContent(fd.get(), batch->tar.Grow(size), size, path);
  }
  AppendTarPadding(size, &batch->tar);
  return s;
}

void DiffReader::AppendHeader(const Planned& p, DiffBatch* batch) {
  const std::string uname = names_.User(p.st.st_uid);
  const std::string gname = names_.Group(p.st.st_gid);
  // moby's setHeaderForSpecialDevice tests S_IFBLK and S_IFCHR as bit masks,
  // which directories, symlinks and sockets pass too: their st_rdev is 0.
  const bool rdev = (p.st.st_mode & S_IFBLK) != 0 || (p.st.st_mode & S_IFCHR) != 0;
  const TarHeader header{
      p.typeflag,
      p.name,
      p.linkname,
      static_cast<uint32_t>(p.mode),
      static_cast<uint32_t>(p.st.st_uid),
      static_cast<uint32_t>(p.st.st_gid),
      p.read == Read::kContents ? static_cast<uint64_t>(p.st.st_size) : 0,
      static_cast<int64_t>(p.st.st_mtim.tv_sec),
      uname,
      gname,
      rdev ? major(p.st.st_rdev) : 0,
      rdev ? minor(p.st.st_rdev) : 0,
      p.capability,
  };
  AppendTarHeader(header, &batch->tar);
}

}  // namespace aufs
