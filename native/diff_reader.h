// diff(): the entries of a layer's tar in archive order, with all that the
// archive needs of each, gathered off the event loop a batch at a time.
//
// The order is the walk's (pre-order, bytewise), minus the top-level aufs
// bookkeeping (IsExcludedFromDiff) and sockets. Overlay-form whiteouts that a
// mount program left in the layer come out in aufs form, sorted by that name:
// a 0/0 character device X as an empty file `.wh.X`, an opaque directory's
// xattr as a `.wh..wh..opq` file in it, both with the metadata kWhiteoutMode
// describes. A real file of the same name wins over such a form, and a
// directory gets one marker however many forms it holds: the archive is the
// same before and after ConvertOverlayWhiteouts().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "byte_buffer.h"
#include "status.h"
#include "walk.h"

namespace aufs {

enum class DiffKind : uint8_t {
  kFile = 0,
  kHardLink = 1,
  kSymlink = 2,
  kCharDevice = 3,
  kBlockDevice = 4,
  kDirectory = 5,
  kFifo = 6,
};

// A batch is a run of records, each a header of kDiffRecordHeaderSize bytes
// (little-endian) followed by its variable parts; src/archive/batch.ts reads it.
//    0  u8  kind (DiffKind)
//    1  u8  flags: kDiffPathAscii, kDiffLinkAscii
//    4  u32 mode: permission bits with setuid, setgid and sticky
//    8  u32 uid          12 u32 gid
//   16  u32 devmajor     20 u32 devminor
//   24  i32 fd: open on the contents of a file too big to inline, else -1
//   28  u32 path length (bytes; relative to the layer, no trailing slash)
//   32  u32 link length: a symlink's target, or a hard link's first name
//   36  u32 security.capability xattr length
//   40  u32 inline content length
//   44  f64 size         52 f64 mtime (whole seconds)
//   60  path, link, capability, content
constexpr size_t kDiffRecordHeaderSize = 60;
constexpr uint8_t kDiffPathAscii = 1;
constexpr uint8_t kDiffLinkAscii = 2;

class DiffReader {
 public:
  explicit DiffReader(std::string root);

  // Opens the layer directory; call once, before NextBatch().
  Status Open();
  // Appends the next records to `batch` and sets `done` after the last one.
  // Small files are read into their record; bigger ones are opened (without
  // following symlinks, relative to their directory) and their descriptor is
  // the caller's. One call at a time; on failure the descriptors of this
  // batch are closed again. A file that vanishes meanwhile is left out.
  Status NextBatch(ByteBuffer* batch, bool* done);
  // Stops a running or later NextBatch() with ABORT_ERR; any thread.
  void Cancel() { cancelled_.store(true); }

 private:
  // A directory whose entries are being read, for its whiteouts.
  struct Dir {
    int depth;  // of its entries
    std::string path;
    struct stat st;
    bool opaque;            // carries an overlay opaque xattr
    bool has_marker;        // its `.wh..wh..opq` was seen or archived
    std::string last_name;  // of the last entry that is no whiteout device
  };
  struct Record;

  Status Fill(ByteBuffer* out, bool* done);
  Status Visit(const WalkEntry& e, ByteBuffer* out);
  Status VisitInode(const WalkEntry& e, const std::string& path, ByteBuffer* out);
  Status EmitFile(const WalkEntry& e, const std::string& path, ByteBuffer* out);
  Status EmitSymlink(const WalkEntry& e, const std::string& path, ByteBuffer* out);
  void LeaveDirs(int depth, ByteBuffer* out);
  void EmitMarker(Dir* dir, ByteBuffer* out);
  uint8_t* Append(ByteBuffer* out, const Record& r, const std::string& path,
                  const std::string& link, const std::string& capability, size_t content);
  std::string FullPath(const std::string& path) const { return JoinPath(root_, path); }

  const std::string root_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> busy_{false};
  TreeWalker walker_;
  std::vector<Dir> dirs_;
  // First name in the archive of every inode with more than one link.
  std::map<std::pair<dev_t, ino_t>, std::string> first_names_;
  std::vector<int> batch_fds_;
  size_t batch_records_ = 0;
};

}  // namespace aufs
