#include "root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "unique_fd.h"

namespace aufs {
namespace {

// The lock is held on a descriptor open for reading only: one open for
// writing would keep the filesystem from being remounted read-only for as
// long as the root is owned. (O_CREAT opens an existing file even there.)
constexpr int kLockFlags = O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
constexpr int kRecordFlags = O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
constexpr mode_t kLockMode = 0600;
// The record is a pid and a line of text; a holder's is never longer.
constexpr size_t kRecordMax = 4096;

// Reads up to `max` bytes from the start of `fd`.
Status ReadPrefix(int fd, size_t max, const std::string& path, std::string* text) {
  text->assign(max, '\0');
  size_t done = 0;
  while (done < max) {
    ssize_t n = pread(fd, &(*text)[done], max - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("read", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text->resize(done);
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("write", path);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Writes the holder's record, "PID\nOWNER\n", into the file locked at
// `lock_fd`; on a read-only filesystem there is none to write.
Status WriteRecord(int lock_fd, int64_t pid, const std::string& owner, const std::string& path) {
  UniqueFd fd(open(path.c_str(), kRecordFlags));
  if (!fd.valid()) return errno == EROFS ? Status::Ok() : Status::FromErrno("open", path);
  struct stat locked, opened;
  if (fstat(lock_fd, &locked) != 0) return Status::FromErrno("fstat", path);
  if (fstat(fd.get(), &opened) != 0) return Status::FromErrno("fstat", path);
  if (locked.st_dev != opened.st_dev || locked.st_ino != opened.st_ino) {
    return Status::Custom("ERR_ROOT_LOCKED", "the lock file was replaced while it was being taken", path);
  }
  if (ftruncate(fd.get(), 0) != 0) return Status::FromErrno("ftruncate", path);
  return WriteAll(fd.get(), std::to_string(pid) + "\n" + owner + "\n", path);
}

void ParseRecord(const std::string& text, int64_t* pid, std::string* owner) {
  const size_t eol = text.find('\n');
  if (eol == std::string::npos) return;
  char* end = nullptr;
  const long long value = strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + eol || value <= 0) return;
  *pid = value;
  const size_t owner_end = text.find('\n', eol + 1);
  if (owner_end != std::string::npos) *owner = text.substr(eol + 1, owner_end - eol - 1);
}

// Who holds the lock on `fd`: /proc/locks knows the pid for certain; the
// record says what the holder is, when it is the holder's own (it is
// rewritten a moment after the lock is taken, so it may still be a dead
// holder's).
Status DescribeHolder(int fd, const std::string& path, RootLock* lock) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::FromErrno("fstat", path);
  std::string record;
  Status s = ReadPrefix(fd, kRecordMax, path, &record);
  if (!s.ok()) return s;
  int64_t recorded_pid = 0;
  std::string owner;
  ParseRecord(record, &recorded_pid, &owner);
  std::string proc_locks;
  UniqueFd locks(open("/proc/locks", O_RDONLY | O_CLOEXEC));
  if (locks.valid() && ReadPrefix(locks.get(), 1 << 20, "/proc/locks", &proc_locks).ok()) {
    lock->holder_pid = FlockHolderPid(proc_locks, st.st_dev, st.st_ino);
  }
  if (lock->holder_pid == 0) lock->holder_pid = recorded_pid;
  if (lock->holder_pid == recorded_pid) lock->holder_owner = owner;
  return Status::Ok();
}

}  // namespace

int64_t FlockHolderPid(const std::string& proc_locks, dev_t dev, ino_t ino) {
  // "1: FLOCK  ADVISORY  WRITE 4242 fe:01:1234 0 EOF"; waiters have "->" after the number.
  char want[64];
  snprintf(want, sizeof(want), "%02x:%02x:%llu", major(dev), minor(dev),
           static_cast<unsigned long long>(ino));
  std::istringstream lines(proc_locks);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, pid, inode;
    fields >> number >> kind;
    if (kind != "FLOCK") continue;
    fields >> mode >> access >> pid >> inode;
    if (inode != want) continue;
    char* end = nullptr;
    const long long value = strtoll(pid.c_str(), &end, 10);
    if (*end == '\0' && value > 0) return value;
  }
  return 0;
}

Status LockRoot(const std::string& lock_file, int64_t pid, const std::string& owner, RootLock* lock) {
  UniqueFd fd(open(lock_file.c_str(), kLockFlags, kLockMode));
  if (!fd.valid()) return Status::FromErrno("open", lock_file);
  int rc;
  do {
    rc = flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EWOULDBLOCK) return Status::FromErrno("flock", lock_file);
    return DescribeHolder(fd.get(), lock_file, lock);
  }
  Status s = WriteRecord(fd.get(), pid, owner, lock_file);
  if (s.ok()) lock->fd = fd.release();
  return s;
}

}  // namespace aufs
