#include "detail/activations.h"

#include "detail/message.h"

namespace sepconv::detail {

void fail_not_elementwise(Activation a) {
  fail("activation", str('"', to_string(a), '"'), "an elementwise activation");
}

}  // namespace sepconv::detail
