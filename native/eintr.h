// Reads made again when a signal interrupts them. On local filesystems they
// never fail with EINTR; on FUSE (and network) filesystems they do when a
// signal reaches the thread waiting on the answer, and the driver's reads run
// on libuv's pool threads, which any signal of the process may reach. An
// interrupted read says nothing about what it would have read: no attribute,
// no link, no end of file.
#pragma once

#include <cerrno>

namespace aufs {

// call(), again for as long as it fails with EINTR.
template <typename Call>
auto RetryOnEintr(Call call) -> decltype(call()) {
  for (;;) {
    const auto result = call();
    if (result >= 0 || errno != EINTR) return result;
  }
}

}  // namespace aufs
