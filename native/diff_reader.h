// diff(): a layer's tar, exactly as Docker's aufs driver writes it (moby's
// archive.TarWithOptions; tar_writer.h has the header format), made off the
// event loop a batch at a time: ready tar bytes (headers, the contents of
// files up to kInlineMax, padding, the trailer at the end) with, for each
// bigger file, a descriptor and the place in those bytes where its contents
// go, for the caller to copy in.
//
// The order is the walk's (pre-order, bytewise, as Go's filepath.Walk), minus
// the top-level aufs bookkeeping (IsExcludedFromDiff) and sockets, which
// archive/tar cannot write. Each header is what moby's FileInfoHeader makes
// of the entry's lstat: the mode with its file-type bits, uname and gname
// from the host's databases, mtime in whole seconds, no access or change
// time, device numbers; the security.capability xattr (revision 3 turned
// into revision 2) of any entry, the only xattr Docker carries. A
// non-directory with several links is written in full under its first name
// in walk order and as hard links to that name after.
//
// Overlay-form whiteouts that a mount program left in the layer come out in
// aufs form, sorted by that name: a 0/0 character device X as an empty file
// `.wh.X` (unless that name is too long to exist: HasAufsForm), an opaque
// directory's xattr as a `.wh..wh..opq` file in it, both
// with the metadata kWhiteoutMode describes. A real file of the same name
// wins over such a form, and a directory gets one marker however many forms
// it holds: the archive is the same before and after ConvertOverlayWhiteouts().
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "byte_buffer.h"
#include "cond_var.h"
#include "id_names.h"
#include "status.h"
#include "unique_fd.h"
#include "walk.h"

namespace aufs {

// A file too big to travel inside a batch.
struct DiffFile {
  size_t offset;     // where in the batch's bytes its contents belong
  uint64_t size;     // how many bytes of it belong there: its header's size
  int fd;            // open on it, the caller's to read and close
  std::string path;  // relative to the layer, for errors
};

struct DiffBatch {
  ByteBuffer tar;               // the archive's next bytes, but the contents of `files`
  std::vector<DiffFile> files;  // in archive order
  bool done = false;            // set on the batch after the last one, which is empty
};

class DiffReader {
 public:
  explicit DiffReader(std::string root);

  // Opens the layer directory; call once, before any NextBatch().
  Status Open();
  // A place in the order of batches: the batch of ticket N follows that of N - 1.
  uint64_t TakeTicket() { return tickets_.fetch_add(1); }
  // Fills `batch` with the batch of `ticket`. Calls for consecutive tickets
  // may run at once on different threads: each walks its part of the layer
  // in turn, then reads and frames it while the next walks on. On failure
  // the batch's descriptors are closed again. A file that vanishes
  // meanwhile is left out.
  Status NextBatch(uint64_t ticket, DiffBatch* batch);
  // Stops running and later NextBatch() calls with ABORT_ERR; any thread.
  void Cancel();

 private:
  // A directory whose entries are being walked, for its whiteouts.
  struct Dir {
    int depth;  // of its entries
    std::string path;
    struct stat st;
    bool opaque;            // carries an overlay opaque xattr
    bool has_marker;        // its `.wh..wh..opq` was seen or archived
    std::string last_name;  // of the last entry that is no whiteout device
  };
  // What framing reads of an entry, besides what the walk found.
  enum class Read : uint8_t { kNothing, kContents, kLinkTarget, kCapability };
  // What the walk found of one entry.
  struct Planned;
  // A walked part of the layer, with the directories its entries are in.
  struct Plan {
    std::vector<UniqueFd> dirs;
    std::string dir_path;  // of dirs.back()
    std::vector<Planned> entries;
    size_t bytes = 0;      // an estimate of the batch's size
    size_t files = 0;      // how many files it will hand over
    bool last = false;     // the walk is over: the batch ends the archive
  };

  Status Walk(uint64_t ticket, Plan* plan);
  Status Fill(Plan* plan);
  Status Visit(const WalkEntry& e, Plan* plan);
  Status VisitInode(const WalkEntry& e, std::string path, Plan* plan);
  Status AddEntry(const WalkEntry& e, char typeflag, Read read, std::string name, Plan* plan,
                  Planned** added);
  void LeaveDirs(int depth, Plan* plan);
  void AddMarker(Dir* dir, Plan* plan);
  Status Frame(Plan* plan, DiffBatch* batch);
  Status FrameEntry(const Plan& plan, Planned* p, DiffBatch* batch);
  Status FrameFile(const Plan& plan, Planned* p, DiffBatch* batch);
  void AppendHeader(const Planned& p, DiffBatch* batch);
  std::string FullPath(const std::string& path) const { return JoinPath(root_, path); }

  const std::string root_;
  IdNames names_;
  std::atomic<uint64_t> tickets_{0};
  std::atomic<bool> cancelled_{false};

  // The walk, one ticket at a time.
  std::mutex walk_mutex_;
  CondVar turn_;
  uint64_t turn_ticket_ = 0;
  Status walk_failed_;
  bool walk_done_ = false;
  TreeWalker walker_;
  std::vector<Dir> dirs_;
  // First name in the archive of every inode with more than one link.
  std::map<std::pair<dev_t, ino_t>, std::string> first_names_;
};

}  // namespace aufs
