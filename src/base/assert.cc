#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace ballast {

void assertion_failed(const char* expression, const char* file, int line, const char* message) {
  std::fprintf(stderr, "ballast: invariant violated: %s at %s:%d%s%s\n", expression, file, line,
               message ? ": " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace ballast
