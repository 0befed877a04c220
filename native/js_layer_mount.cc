#include "js_layer_mount.h"

#include <memory>
#include <string>

#include "js_args.h"
#include "js_task.h"
#include "layer_mount.h"

namespace aufs {
namespace {

// { dirs: [{ path, mode }], mountPoint } as a MountSetup.
std::shared_ptr<MountSetup> SetupValue(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw Napi::TypeError::New(env, "setup must be an object");
  Napi::Object arg = value.As<Napi::Object>();
  Napi::Value list = arg.Get("dirs");
  if (!list.IsArray()) throw Napi::TypeError::New(env, "setup.dirs must be an array");
  auto setup = std::make_shared<MountSetup>();
  setup->mount_point = StringValue(arg.Get("mountPoint"), "setup.mountPoint");
  Napi::Array array = list.As<Napi::Array>();
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value dir = array.Get(k);
    if (!dir.IsObject()) throw Napi::TypeError::New(env, "setup.dirs[] must be objects");
    Napi::Value mode = dir.As<Napi::Object>().Get("mode");
    if (!mode.IsNumber()) throw Napi::TypeError::New(env, "setup.dirs[].mode must be a number");
    setup->dirs.push_back(LayerDir{StringValue(dir.As<Napi::Object>().Get("path"), "setup.dirs[].path"),
                                   static_cast<mode_t>(mode.As<Napi::Number>().Uint32Value())});
  }
  return setup;
}

// checkLayerMount(layerFile, layersDir, checkParents, setup?: { dirs: [{ path, mode }], mountPoint })
// resolves to { chain, problem, missingParent, mountType } (see CheckLayerMount).
Napi::Value CheckLayerMountJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string layer_file = StringArg(info, 0, "layerFile");
  std::string layers_dir = StringArg(info, 1, "layersDir");
  if (!info[2].IsBoolean()) throw Napi::TypeError::New(env, "checkParents must be a boolean");
  const bool check_parents = info[2].As<Napi::Boolean>().Value();
  std::shared_ptr<MountSetup> setup = info[3].IsUndefined() ? nullptr : SetupValue(info[3]);
  return PromiseTask<LayerMountState>::Start(
      env,
      [=](LayerMountState* state) {
        return CheckLayerMount(layer_file, layers_dir, check_parents, setup.get(), state);
      },
      [](Napi::Env env, LayerMountState& state) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("chain", Napi::String::New(env, state.chain));
        result.Set("problem", Napi::String::New(env, state.problem));
        result.Set("missingParent", Napi::String::New(env, state.missing_parent));
        result.Set("mountType", Napi::Number::New(env, static_cast<double>(state.mount_type)));
        return result;
      });
}

Napi::Value UnmountIfTypeJs(const Napi::CallbackInfo& info) {
  std::string target = StringArg(info, 0, "target");
  int64_t type = IntegerArg(info, 1, "type");
  int flags = static_cast<int>(IntegerArg(info, 2, "flags"));
  return PromiseTask<bool>::Start(
      info.Env(), [=](bool* unmounted) { return UnmountIfType(target, type, flags, unmounted); },
      [](Napi::Env env, bool& unmounted) { return Napi::Boolean::New(env, unmounted); });
}

}  // namespace

void RegisterLayerMount(Napi::Env env, Napi::Object exports) {
  exports.Set("checkLayerMount", Napi::Function::New(env, CheckLayerMountJs, "checkLayerMount"));
  exports.Set("unmountIfType", Napi::Function::New(env, UnmountIfTypeJs, "unmountIfType"));
}

}  // namespace aufs
