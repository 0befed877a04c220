#include "layer_mount.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "mount.h"
#include "unique_fd.h"

namespace aufs {
namespace {

// Layers files hold a few ids; a longer one is read in more steps.
constexpr size_t kReadChunk = 4096;
// The chain of the deepest image Docker allowed takes 32 KiB; nothing sane more.
constexpr off_t kMaxLayersFileSize = 1 << 20;

// The text of the layers file `path`, or in `problem` why it is none. No
// symlink is followed (one planted there must not read a host file) and
// O_NONBLOCK keeps a FIFO planted there from blocking a pool thread.
Status ReadLayersFile(const std::string& path, std::string* text, std::string* problem) {
  text->clear();
  problem->clear();
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0 && errno == ELOOP) {
    *problem = "it is a symlink";
    return Status::Ok();
  }
  if (fd.get() < 0) return Status::FromErrno("open", path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::FromErrno("fstat", path);
  if (!S_ISREG(st.st_mode)) {
    *problem = "not a regular file";
    return Status::Ok();
  }
  if (st.st_size > kMaxLayersFileSize) {
    *problem = std::to_string(st.st_size) + " bytes long";
    return Status::Ok();
  }
  for (;;) {
    const size_t used = text->size();
    text->resize(used + kReadChunk);
    // Interrupted is not the end of the file: FUSE and network filesystems
    // answer a read EINTR when a signal reaches the reading thread.
    ssize_t n;
    do {
      n = read(fd.get(), &(*text)[used], kReadChunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Status::FromErrno("read", path);
    text->resize(used + static_cast<size_t>(n));
    if (n == 0) return Status::Ok();
  }
}

// A name that lstat under layers_dir cannot take anywhere else.
bool IsPlainName(const std::string& name) {
  return name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

// The first parent in `chain` (one per line, empty lines skipped) that is no
// layer: a name that cannot be one, or without a file in `layers_dir`; "" when
// every one is.
Status FindMissingParent(const std::string& chain, const std::string& layers_dir,
                         std::string* missing) {
  missing->clear();
  for (size_t start = 0; start < chain.size();) {
    size_t end = chain.find('\n', start);
    if (end == std::string::npos) end = chain.size();
    const std::string name = chain.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    const std::string file = JoinPath(layers_dir, name);
    struct stat st;
    if (IsPlainName(name)) {
      if (lstat(file.c_str(), &st) == 0) continue;
      if (errno != ENOENT) return Status::FromErrno("lstat", file);
    }
    *missing = name;
    return Status::Ok();
  }
  return Status::Ok();
}

bool ListsParents(const std::string& chain) {
  return chain.find_first_not_of('\n') != std::string::npos;
}

// mkdir -p, each directory made with `mode`.
Status MakeDirAll(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::Ok();
  const size_t slash = path.find_last_of('/');
  if (errno != ENOENT || slash == std::string::npos || slash == 0) return Status::FromErrno("mkdir", path);
  Status s = MakeDirAll(path.substr(0, slash), mode);
  if (!s.ok()) return s;
  if (mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::Ok();
  return Status::FromErrno("mkdir", path);
}

}  // namespace

Status CheckLayerMount(const std::string& layer_file, const std::string& layers_dir, bool check_parents,
                       const MountSetup* setup, LayerMountState* state) {
  Status s = ReadLayersFile(layer_file, &state->chain, &state->problem);
  if (!s.ok() || !state->problem.empty() || !ListsParents(state->chain)) return s;
  if (!check_parents && setup == nullptr) return s;
  s = FindMissingParent(state->chain, layers_dir, &state->missing_parent);
  if (!s.ok() || !state->missing_parent.empty() || setup == nullptr) return s;
  for (const LayerDir& dir : setup->dirs) {
    s = MakeDirAll(dir.path, dir.mode);
    if (!s.ok()) return s;
  }
  return MountType(setup->mount_point, &state->mount_type);
}

Status UnmountIfType(const std::string& target, int64_t type, int flags, bool* unmounted) {
  *unmounted = false;
  int64_t mounted = 0;
  Status s = MountType(target, &mounted);
  if (!s.ok()) return s.errnum == ENOENT ? Status::Ok() : s;
  if (mounted != type) return Status::Ok();
  s = Umount2(target, flags);
  // Gone since the look: nothing to undo.
  if (s.errnum == EINVAL || s.errnum == ENOENT) return Status::Ok();
  *unmounted = s.ok();
  return s;
}

}  // namespace aufs
