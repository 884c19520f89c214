#include "detail/message.h"

namespace sepconv::detail {

void fail(std::string_view argument, const std::string& got, const std::string& expected) {
  throw InvalidArgument(std::string(argument), got, expected);
}

std::string shape_string(const ConstTensorView& view) {
  return shape_string(view.shape, view.rank);
}

}  // namespace sepconv::detail
