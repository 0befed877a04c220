// Tar headers exactly as Docker writes them: moby's pkg/archive sets every
// header's Format to FormatPAX, and Go's archive/tar then writes
//  - a plain USTAR header when every field fits one: strings ASCII (a name
//    over 100 bytes split at a slash into the 155-byte prefix, as
//    splitUSTARPath does), numbers in octal with a NUL ("0000644\0"), mtime
//    within 0..8^11-1, no xattr;
//  - otherwise a PAX extended header ('x', named DIR/PaxHeaders.0/BASE)
//    whose records, sorted by keyword, carry what does not fit (path,
//    linkpath, uname, gname over their fields or not ASCII; uid, gid, size,
//    mtime out of octal range; SCHILY.xattr.security.capability), then the
//    header with those fields best-effort: ASCII bytes only, cut to the
//    field, numbers that do not fit as 0.
// The checksum is six octal digits, NUL, space. An archive ends in two zero
// blocks and nothing else. test/oracle proves the bytes against moby's code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "byte_buffer.h"

namespace aufs {

constexpr size_t kTarBlockSize = 512;

// What one archive entry's header says. Names come from a walk: relative,
// clean (no empty, "." or ".." component), at most PATH_MAX bytes.
struct TarHeader {
  char typeflag;                // '0' file, '1' hard link, '2' symlink, '3' '4' devices, '5' dir, '6' FIFO
  std::string_view name;        // a directory's ends in '/'
  std::string_view linkname;    // a symlink's target, a hard link's first name
  uint32_t mode;                // st_mode: type bits, setuid/setgid/sticky, permissions
  uint32_t uid;
  uint32_t gid;
  uint64_t size;                // bytes of data that follow (0 but for regular files)
  int64_t mtime;                // whole seconds
  std::string_view uname;
  std::string_view gname;
  uint32_t devmajor;            // Linux's 12 bits: always fits the 7 octal digits
  uint32_t devminor;            // Linux's 20 bits: likewise
  std::string_view capability;  // the security.capability xattr; empty when none
};

// Appends the header blocks of `header` (its PAX extended header first, when
// it needs one).
void AppendTarHeader(const TarHeader& header, ByteBuffer* out);

// Zeros that fill the last block of `size` bytes of data.
inline size_t TarPadding(uint64_t size) { return static_cast<size_t>(-size % kTarBlockSize); }

// Appends the zeros after `size` bytes of data, then nothing else.
void AppendTarPadding(uint64_t size, ByteBuffer* out);

// Appends the end of the archive: two zero blocks.
void AppendTarTrailer(ByteBuffer* out);

}  // namespace aufs
