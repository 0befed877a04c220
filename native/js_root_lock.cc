#include "js_root_lock.h"

#include <unistd.h>

#include <string>

#include "js_args.h"
#include "js_task.h"
#include "root_lock.h"

namespace aufs {
namespace {

// lockRoot(lockFile, owner) resolves to { fd, holderPid, holderOwner } (see LockRoot).
Napi::Value LockRootJs(const Napi::CallbackInfo& info) {
  std::string lock_file = StringArg(info, 0, "lockFile");
  std::string owner = StringArg(info, 1, "owner");
  if (owner.find('\n') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), "owner must be one line");
  }
  const int64_t pid = getpid();
  return PromiseTask<RootLock>::Start(
      info.Env(), [=](RootLock* lock) { return LockRoot(lock_file, pid, owner, lock); },
      [](Napi::Env env, RootLock& lock) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("fd", Napi::Number::New(env, lock.fd));
        result.Set("holderPid", Napi::Number::New(env, static_cast<double>(lock.holder_pid)));
        result.Set("holderOwner", Napi::String::New(env, lock.holder_owner));
        return result;
      });
}

}  // namespace

void RegisterRootLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockRoot", Napi::Function::New(env, LockRootJs, "lockRoot"));
}

}  // namespace aufs
