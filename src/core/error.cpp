#include "sepconv/error.h"

#include <utility>

namespace sepconv {

InvalidArgument::InvalidArgument(std::string argument, const std::string& message)
    : Error(message), argument_(std::move(argument)) {}

InvalidArgument::InvalidArgument(std::string argument, const std::string& got,
                                 const std::string& expected)
    : Error("sepconv: invalid `" + argument + "`: got " + got + "; expected " + expected),
      argument_(std::move(argument)) {}

}  // namespace sepconv
