// The JavaScript face of the native core: argument checks, promise plumbing
// and constants. Every export that touches the filesystem returns a promise
// settled from the libuv thread pool.
#include <napi.h>
#include <sys/mount.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "changes.h"
#include "durability.h"
#include "js_args.h"
#include "js_cancel.h"
#include "js_diff_reader.h"
#include "js_layer_mount.h"
#include "js_layer_writer.h"
#include "js_root_lock.h"
#include "js_task.h"
#include "mount.h"
#include "size.h"
#include "tree.h"
#include "whiteouts.h"

namespace aufs {
namespace {

template <typename T>
Napi::Value NumberResult(Napi::Env env, T& value) {
  return Napi::Number::New(env, static_cast<double>(value));
}

Napi::Value MountJs(const Napi::CallbackInfo& info) {
  std::string source = StringArg(info, 0, "source");
  std::string target = StringArg(info, 1, "target");
  std::string fstype = StringArg(info, 2, "fstype");
  auto flags = static_cast<unsigned long>(IntegerArg(info, 3, "flags"));
  std::string data = StringArg(info, 4, "data");
  return PromiseTask<Nothing>::Start(
      info.Env(),
      [=](Nothing*) { return Mount(source, target, fstype, flags, data); },
      Undefined);
}

Napi::Value Umount2Js(const Napi::CallbackInfo& info) {
  std::string target = StringArg(info, 0, "target");
  int flags = static_cast<int>(IntegerArg(info, 1, "flags"));
  return PromiseTask<Nothing>::Start(
      info.Env(), [=](Nothing*) { return Umount2(target, flags); }, Undefined);
}

Napi::Value StatfsTypeJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  return PromiseTask<int64_t>::Start(
      info.Env(), [=](int64_t* type) { return StatfsType(path, type); }, NumberResult<int64_t>);
}

Napi::Value MountTypeJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  return PromiseTask<int64_t>::Start(
      info.Env(), [=](int64_t* type) { return MountType(path, type); }, NumberResult<int64_t>);
}

Napi::Value RemoveTreeJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  return PromiseTask<Nothing>::Start(
      info.Env(), [=](Nothing*) { return RemoveTree(path); }, Undefined);
}

Napi::Value ConvertOverlayWhiteoutsJs(const Napi::CallbackInfo& info) {
  std::string dir = StringArg(info, 0, "dir");
  return PromiseTask<int64_t>::Start(
      info.Env(),
      [=](int64_t* count) {
        uint64_t converted = 0;
        Status s = ConvertOverlayWhiteouts(dir, &converted);
        *count = static_cast<int64_t>(converted);
        return s;
      },
      NumberResult<int64_t>);
}

Napi::Value SyncFilesystemJs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  return PromiseTask<Nothing>::Start(
      info.Env(), [=](Nothing*) { return SyncFilesystem(path); }, Undefined);
}

void SetConstant(Napi::Object& target, const char* name, double value) {
  target.Set(name, Napi::Number::New(target.Env(), value));
}

Napi::Value TreeSizeJs(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  CancelFlag cancelled = CancelToken::FlagOf(info[1]);
  return PromiseTask<uint64_t>::Start(
      info.Env(), [=](uint64_t* size) { return TreeSize(root, cancelled.get(), size); },
      NumberResult<uint64_t>);
}

Napi::Value ChangesJs(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::vector<std::string> parents = StringArrayArg(info, 1, "parents");
  CancelFlag cancelled = CancelToken::FlagOf(info[2]);
  return PromiseTask<std::string>::Start(
      info.Env(),
      [=](std::string* encoded) { return LayerChanges(root, parents, cancelled.get(), encoded); },
      [](Napi::Env env, std::string& encoded) { return Napi::String::New(env, encoded); });
}

Napi::Value DiffReaderJs(const Napi::CallbackInfo& info) {
  return DiffReaderWrap::New(info.Env(), StringArg(info, 0, "root"));
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  SetConstant(c, "MS_RDONLY", MS_RDONLY);
  SetConstant(c, "MS_NOSUID", MS_NOSUID);
  SetConstant(c, "MS_NODEV", MS_NODEV);
  SetConstant(c, "MS_NOEXEC", MS_NOEXEC);
  SetConstant(c, "MS_REMOUNT", MS_REMOUNT);
  SetConstant(c, "MS_BIND", MS_BIND);
  SetConstant(c, "MS_MOVE", MS_MOVE);
  SetConstant(c, "MS_REC", MS_REC);
  SetConstant(c, "MS_PRIVATE", MS_PRIVATE);
  SetConstant(c, "MS_SLAVE", MS_SLAVE);
  SetConstant(c, "MS_SHARED", MS_SHARED);
  SetConstant(c, "MNT_FORCE", MNT_FORCE);
  SetConstant(c, "MNT_DETACH", MNT_DETACH);
  SetConstant(c, "MNT_EXPIRE", MNT_EXPIRE);
  SetConstant(c, "UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW);
  SetConstant(c, "FUSE_SUPER_MAGIC", static_cast<double>(kFuseSuperMagic));
  SetConstant(c, "PAGE_SIZE", static_cast<double>(sysconf(_SC_PAGESIZE)));
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, MountJs, "mount"));
  exports.Set("umount2", Napi::Function::New(env, Umount2Js, "umount2"));
  exports.Set("statfsType", Napi::Function::New(env, StatfsTypeJs, "statfsType"));
  exports.Set("mountType", Napi::Function::New(env, MountTypeJs, "mountType"));
  RegisterLayerMount(env, exports);
  RegisterRootLock(env, exports);
  exports.Set("removeTree", Napi::Function::New(env, RemoveTreeJs, "removeTree"));
  exports.Set("convertOverlayWhiteouts",
              Napi::Function::New(env, ConvertOverlayWhiteoutsJs, "convertOverlayWhiteouts"));
  exports.Set("syncfs", Napi::Function::New(env, SyncFilesystemJs, "syncfs"));
  exports.Set("treeSize", Napi::Function::New(env, TreeSizeJs, "treeSize"));
  exports.Set("changes", Napi::Function::New(env, ChangesJs, "changes"));
  CancelToken::Register(env, exports);
  DiffReaderWrap::Register(env);
  exports.Set("diffReader", Napi::Function::New(env, DiffReaderJs, "diffReader"));
  LayerWriter::Register(env, exports);
  exports.Set("constants", Constants(env));
  return exports;
}

}  // namespace
}  // namespace aufs

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return aufs::Init(env, exports);
}

NODE_API_MODULE(aufs_native, InitModule)
