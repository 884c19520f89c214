#include "detail/checked_math.h"

#include "detail/message.h"

namespace sepconv::detail {

std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view argument) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) {
    fail(argument, str(a, " * ", b), "sizes whose product fits in 64 bits");
  }
  return r;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view argument) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    fail(argument, str(a, " + ", b), "sizes whose sum fits in 64 bits");
  }
  return r;
}

}  // namespace sepconv::detail
