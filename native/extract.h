// applyDiff's core: an untrusted layer tar extracted verbatim into a layer
// directory (aufs whiteouts stay plain files). Every entry is made relative
// to a descriptor of its parent directory, opened through LayerRoot, and
// without following its own name: no entry can create, change or delete
// anything outside the layer, whatever its name or link target.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>

#include "resolve.h"
#include "status.h"
#include "tar_reader.h"

namespace aufs {

struct ExtractOptions {
  ResolveMode resolve = ResolveMode::kOpenat2;
  // Polled between entries and between writes; when set, extraction stops
  // with code ABORT_ERR.
  const std::atomic<bool>* cancelled = nullptr;
};

// Whether the file open at `fd` holds a plain tar at `*offset` (-1: its
// current position, which `*offset` then receives) that WriteFromFile can
// read: a regular file (reads from pipes and devices may block beyond an
// abort's reach) not starting with gzip's magic. Moves no file offset.
Status ProbePlainTarFile(int fd, int64_t* offset, bool* plain);

class LayerExtractor final : private TarSink {
 public:
  LayerExtractor(std::string dir, ExtractOptions options);
  ~LayerExtractor() override;
  LayerExtractor(const LayerExtractor&) = delete;
  LayerExtractor& operator=(const LayerExtractor&) = delete;

  // Extracts the next `size` bytes of the archive. After a failure every
  // call fails the same way.
  Status Write(const uint8_t* data, size_t size);
  // Extracts the archive from the file open at `fd`, `length` bytes from
  // `offset` (up to end of file when `length` is kToEndOfFile), with large
  // positional reads: no round trips through JavaScript.
  static constexpr uint64_t kToEndOfFile = UINT64_MAX;
  Status WriteFromFile(int fd, uint64_t offset, uint64_t length);
  // After the last Write: checks that the archive was whole, sets directory
  // times, and reports the layer's size as TreeSize counts it.
  Status Finish(uint64_t* size);
  // Releases every descriptor; what was extracted stays. Safe to repeat.
  void Close();

 private:
  Status OnEntry(const TarEntry& entry) override;
  Status OnData(const uint8_t* data, size_t size) override;
  Status OnEntryEnd() override;

  Status Open();
  // Makes `s` the answer to every later call, and closes.
  Status Fail(Status s);
  bool Cancelled() const;
  Status ParentDir(const std::string& dir, int* fd);
  void ForgetParent();
  Status CreateReplacing(int dirfd, const std::string& leaf, const char* syscall, bool merge_dir,
                         const std::function<int()>& create, bool* merged);
  Status ClearWay(int dirfd, const std::string& leaf, bool merge_dir, bool* merged);
  Status MakeFile(int dirfd, const std::string& leaf);
  Status MakeDirectory(int dirfd, const std::string& leaf);
  Status MakeSymlink(int dirfd, const std::string& leaf);
  Status MakeNode(int dirfd, const std::string& leaf);
  Status MakeHardLink(int dirfd, const std::string& leaf);
  Status SetDirectoryTimes();
  Status Located(Status s) const;

  const std::string dir_;
  const ExtractOptions options_;
  LayerRoot root_;
  TarReader reader_{this};
  Status failure_;

  TarEntry entry_;        // the entry being extracted
  std::string rel_;       // its path in the layer
  int file_fd_ = -1;      // open while a regular file's data arrives

  // Entries of one directory come together: its descriptor is kept.
  std::string parent_rel_;
  int parent_fd_ = -1;

  // Non-directories this archive made: the only valid hard link targets.
  std::unordered_set<std::string> linkable_;
  // Directory times, set last: making entries inside changes a directory's mtime.
  std::map<std::string, std::pair<struct timespec, struct timespec>> dir_times_;

  // Into an empty layer where nothing was replaced, the size is the sum of
  // what was written, which spares a walk of the whole tree.
  bool size_exact_ = false;
  uint64_t size_ = 0;
};

}  // namespace aufs
