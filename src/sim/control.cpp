#include "sim/control.h"

#include <mutex>
#include <utility>

#include "sim/state.h"

namespace sepconv::sim {

const Profile& h100_profile() {
  static const Profile p = [] {
    Profile h;
    h.name = "NVIDIA H100 80GB HBM3 (sepconv simulated device)";
    h.major = 9;
    h.minor = 0;
    h.multiprocessors = 132;
    h.memory = std::size_t{81559} << 20;
    h.l2_bytes = std::size_t{50} << 20;
    h.shared_per_block = 48 * 1024;
    h.shared_per_block_optin = 227 * 1024;
    h.shared_per_multiprocessor = 228 * 1024;
    return h;
  }();
  return p;
}

const Profile& a100_profile() {
  static const Profile p = [] {
    Profile a;
    a.name = "NVIDIA A100-SXM4-80GB (sepconv simulated device)";
    a.major = 8;
    a.minor = 0;
    a.multiprocessors = 108;
    a.memory = std::size_t{81050} << 20;
    a.l2_bytes = std::size_t{40} << 20;
    a.shared_per_block = 48 * 1024;
    a.shared_per_block_optin = 163 * 1024;
    a.shared_per_multiprocessor = 164 * 1024;
    return a;
  }();
  return p;
}

const Profile& profile() { return State::get().device_profile(); }

std::optional<std::size_t> default_heuristic(const GemmQuery& q) {
  std::size_t need = 0;
  if (q.k >= 256) need += std::size_t{64} << 10;
  if (q.align_c < 256 || q.align_d < 256) need += std::size_t{32} << 10;
  return need <= q.max_workspace ? need : 0;
}

void set_heuristic(HeuristicPolicy policy) {
  State& s = State::get();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  s.heuristic = std::move(policy);
}

std::string last_error_message() { return State::last_message(); }

void discard_pending() {
  State& s = State::get();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  s.discard_pending();
}

Stats stats() {
  State& s = State::get();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  return s.stats;
}

std::vector<MatmulRecord> take_matmul_records() {
  State& s = State::get();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  return std::exchange(s.matmul_records, {});
}

}  // namespace sepconv::sim
