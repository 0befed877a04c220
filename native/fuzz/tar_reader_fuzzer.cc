// The tar reader on any bytes, fed in chunks of any sizes: entries come out
// well-formed (data exactly as long as announced, names within limits), or
// the reader refuses the archive with a code.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../tar_reader.h"
#include "fuzz_check.h"

namespace {

class CheckingSink final : public aufs::TarSink {
 public:
  aufs::Status OnEntry(const aufs::TarEntry& entry) override {
    FUZZ_CHECK(!in_entry_);
    FUZZ_CHECK(entry.name.size() <= aufs::kMaxPathLength);
    FUZZ_CHECK(entry.linkname.size() <= aufs::kMaxPathLength);
    FUZZ_CHECK(entry.name.find('\0') == std::string::npos);
    FUZZ_CHECK(entry.type == aufs::EntryType::kFile || entry.size == 0);
    in_entry_ = true;
    left_ = entry.size;
    return aufs::Status::Ok();
  }
  aufs::Status OnData(const uint8_t* data, size_t size) override {
    FUZZ_CHECK(in_entry_ && size > 0 && size <= left_);
    // Touch every byte: the reader must hand out only memory it owns.
    for (size_t i = 0; i < size; ++i) sum_ += data[i];
    left_ -= size;
    return aufs::Status::Ok();
  }
  aufs::Status OnEntryEnd() override {
    FUZZ_CHECK(in_entry_ && left_ == 0);
    in_entry_ = false;
    return aufs::Status::Ok();
  }
  bool in_entry() const { return in_entry_; }

 private:
  bool in_entry_ = false;
  uint64_t left_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  // Chunks alternate between two sizes: a small one splits blocks and
  // fields anywhere, a large one keeps the chunk count (and time) down.
  const size_t sizes[2] = {input.ConsumeIntegralInRange<size_t>(1, 700),
                           input.ConsumeIntegralInRange<size_t>(512, 16384)};
  CheckingSink sink;
  aufs::TarReader reader(&sink);
  for (int n = 0; input.remaining_bytes() > 0; ++n) {
    // Copied, so that ASan sees a read past the chunk the reader was given.
    std::vector<uint8_t> chunk = input.ConsumeBytes<uint8_t>(sizes[n & 1]);
    aufs::Status s = reader.Feed(chunk.data(), chunk.size());
    if (!s.ok()) {
      FUZZ_CHECK(!s.code.empty());
      return 0;
    }
  }
  aufs::Status s = reader.End();
  FUZZ_CHECK(s.ok() ? !sink.in_entry() : !s.code.empty());
  return 0;
}
