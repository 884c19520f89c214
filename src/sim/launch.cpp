#include "sim/launch.h"

#include <string>

#include "sim/state.h"

namespace sepconv::sim {
namespace {

cudaError_t fault_code(emulator::Fault fault) {
  switch (fault) {
    case emulator::Fault::out_of_bounds:
    case emulator::Fault::read_only: return cudaErrorIllegalAddress;
    case emulator::Fault::misaligned: return cudaErrorMisalignedAddress;
    case emulator::Fault::uninitialised:
    case emulator::Fault::race:
    case emulator::Fault::none: break;
  }
  return cudaErrorLaunchFailure;
}

}  // namespace

void launch(const KernelInfo& kernel, const detail::LaunchShape& shape, cudaStream_t handle,
            KernelBody body) {
  State& s = State::get();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  const std::string what = std::string("kernel ") + kernel.name;
  const std::string config = "<<<" + std::to_string(shape.grid) + ", " +
                             std::to_string(shape.threads) + ", " +
                             std::to_string(shape.shared_bytes) + ">>>";
  auto refuse = [&](cudaError_t code, const std::string& why) {
    s.error(code, what + config + ": " + why);
  };
  if (!s.has_device()) return refuse(cudaErrorInsufficientDriver, "no simulated device");
  const Profile& p = s.device_profile();
  const int device = State::current_device();
  Stream* stream = s.stream(handle, "kernel launch");
  if (stream == nullptr) return;
  if (stream->device != device) {
    return refuse(cudaErrorInvalidResourceHandle,
                  "the stream belongs to device " + std::to_string(stream->device) +
                      ", the current device is " + std::to_string(device));
  }
  if (shape.grid < 1 || shape.grid > p.max_grid_dim[0]) {
    return refuse(cudaErrorInvalidConfiguration,
                  "grid.x outside [1, " + std::to_string(p.max_grid_dim[0]) + "]");
  }
  if (shape.threads < 1 || shape.threads > p.max_threads_per_block) {
    return refuse(cudaErrorInvalidConfiguration,
                  "block of " + std::to_string(shape.threads) + " threads outside [1, " +
                      std::to_string(p.max_threads_per_block) + "]");
  }
  if (shape.threads > kernel.max_threads) {
    return refuse(cudaErrorLaunchOutOfResources,
                  "block of " + std::to_string(shape.threads) +
                      " threads above the kernel's __launch_bounds__ of " +
                      std::to_string(kernel.max_threads));
  }
  if (shape.shared_bytes > p.shared_per_block_optin) {
    return refuse(cudaErrorInvalidValue, "dynamic shared memory above the device's " +
                                             std::to_string(p.shared_per_block_optin) +
                                             "-byte opt-in limit");
  }
  if (shape.shared_bytes > p.shared_per_block) {
    const auto it = s.function_shared_limit.find({kernel.handle, device});
    const std::size_t limit = it == s.function_shared_limit.end() ? 0 : it->second;
    if (limit < shape.shared_bytes) {
      return refuse(cudaErrorInvalidValue,
                    "dynamic shared memory above the " + std::to_string(p.shared_per_block) +
                        "-byte default, and cudaFuncSetAttribute(MaxDynamicSharedMemorySize) "
                        "allows the kernel " + std::to_string(limit) + " bytes on device " +
                        std::to_string(device));
    }
  }
  State* state = &s;
  const cudaError_t e = s.enqueue(*stream, what, [state, body, device, what, config] {
    emulator::CheckedMemory memory;
    for (auto& region : state->regions(device)) memory.add_region(std::move(region));
    body(memory);
    if (memory.error_count() > 0) {
      std::string message = what + config + ": " + std::to_string(memory.error_count()) +
                            " bad memory access(es); first:";
      for (const auto& line : memory.errors()) message += "\n  " + line;
      state->fault(fault_code(memory.first_fault()), message);
    }
  });
  if (e != cudaSuccess) return;
  ++s.stats.kernel_launches;
}

}  // namespace sepconv::sim
