#include "sepconv/version.h"

namespace sepconv {
const char* version_string() noexcept { return SEPCONV_VERSION_STRING; }
}  // namespace sepconv
