// The tar header encoder on any entry a layer walk can produce (names and
// link targets of any bytes but NUL up to PATH_MAX, any ids, sizes, times,
// modes, Linux device numbers, capability values), read back by our tar
// reader: whole blocks, a valid checksum, and every field as it was given,
// whether it went into USTAR fields or PAX records.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../tar_reader.h"
#include "../tar_writer.h"
#include "fuzz_check.h"

namespace {

// Keeps the first entry; stops the reader there (its data, maybe 8 GiB and
// more, is never written).
class FirstEntry final : public aufs::TarSink {
 public:
  aufs::Status OnEntry(const aufs::TarEntry& entry) override {
    entry_ = entry;
    seen_ = true;
    return aufs::Status::Custom("STOP", "first entry read");
  }
  aufs::Status OnData(const uint8_t*, size_t) override { return aufs::Status::Ok(); }
  aufs::Status OnEntryEnd() override { return aufs::Status::Ok(); }

  bool seen_ = false;
  aufs::TarEntry entry_;
};

// A relative, clean path of 1 to 4095 bytes: components of any bytes but
// NUL and '/', none empty, "." or "..".
std::string CleanPath(FuzzedDataProvider& in, size_t max) {
  std::string raw = in.ConsumeRandomLengthString(max);
  std::string path;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string part = raw.substr(start, end - start);
    for (char& c : part) {
      if (c == '\0') c = 'z';
    }
    if (!part.empty() && part != "." && part != "..") path += (path.empty() ? "" : "/") + part;
    start = end + 1;
  }
  return path.empty() ? "n" : path;
}

std::string NoNul(std::string s) {
  for (char& c : s) {
    if (c == '\0') c = 'u';
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  static constexpr char kTypes[] = {'0', '1', '2', '3', '4', '5', '6'};
  static constexpr uint32_t kTypeBits[] = {0100000, 0100000, 0120000, 020000, 060000, 040000, 010000};
  const size_t type = in.ConsumeIntegralInRange<size_t>(0, 6);
  std::string name = CleanPath(in, aufs::kMaxPathLength - 1);
  if (kTypes[type] == '5') name += '/';
  std::string linkname = kTypes[type] == '1'   ? CleanPath(in, aufs::kMaxPathLength)
                         : kTypes[type] == '2' ? NoNul(in.ConsumeRandomLengthString(aufs::kMaxPathLength))
                                               : std::string();
  if (linkname.empty() && kTypes[type] == '2') linkname = "t";  // readers refuse an empty target
  const std::string uname = NoNul(in.ConsumeRandomLengthString(40));
  const std::string gname = NoNul(in.ConsumeRandomLengthString(40));
  const std::string capability = in.ConsumeRandomLengthString(30);
  // Ids up to 2^32 - 2: (uid_t)-1 is no owner, and readers refuse it.
  const aufs::TarHeader header{
      kTypes[type],
      name,
      linkname,
      kTypeBits[type] | in.ConsumeIntegralInRange<uint32_t>(0, 07777),
      in.ConsumeIntegralInRange<uint32_t>(0, UINT32_MAX - 1),
      in.ConsumeIntegralInRange<uint32_t>(0, UINT32_MAX - 1),
      kTypes[type] == '0' ? in.ConsumeIntegralInRange<uint64_t>(0, uint64_t{1} << 45) : 0,
      in.ConsumeIntegralInRange<int64_t>(-(int64_t{1} << 40), int64_t{1} << 40),
      uname,
      gname,
      in.ConsumeIntegralInRange<uint32_t>(0, 4095),
      in.ConsumeIntegralInRange<uint32_t>(0, (1u << 20) - 1),
      capability,
  };
  aufs::ByteBuffer out;
  aufs::AppendTarHeader(header, &out);
  FUZZ_CHECK(out.size() > 0 && out.size() % aufs::kTarBlockSize == 0);
  // Copied to memory of exactly its size, so that ASan sees a read past it.
  const size_t length = out.size();
  uint8_t* encoded = out.Release();
  const std::vector<uint8_t> blocks(encoded, encoded + length);
  free(encoded);

  FirstEntry sink;
  aufs::TarReader reader(&sink);
  const aufs::Status s = reader.Feed(blocks.data(), blocks.size());
  FUZZ_CHECK(sink.seen_ && s.code == "STOP");

  const aufs::TarEntry& e = sink.entry_;
  FUZZ_CHECK(e.name == header.name);
  if (kTypes[type] == '1' || kTypes[type] == '2') FUZZ_CHECK(e.linkname == header.linkname);
  FUZZ_CHECK(e.mode == (header.mode & 07777));
  FUZZ_CHECK(e.uid == header.uid && e.gid == header.gid);
  FUZZ_CHECK(e.size == header.size);
  FUZZ_CHECK(e.mtime.tv_sec == header.mtime && e.mtime.tv_nsec == 0);
  FUZZ_CHECK(e.devmajor == header.devmajor && e.devminor == header.devminor);
  FUZZ_CHECK(e.xattrs.size() == (capability.empty() ? 0u : 1u));
  if (!capability.empty()) {
    FUZZ_CHECK(e.xattrs[0].first == "security.capability" && e.xattrs[0].second == capability);
  }
  return 0;
}
