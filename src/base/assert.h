// Always-on invariant checks. A broken internal invariant aborts the process loudly, in every
// build type: the network heals around a crashed node, never around corrupted state. Never use
// these for conditions that input can cause; return a Status for those.
#pragma once

namespace ballast {

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line,
                                   const char* message);

}  // namespace ballast

#define BALLAST_ASSERT(condition)                                           \
  do {                                                                      \
    if (!(condition)) [[unlikely]]                                          \
      ::ballast::assertion_failed(#condition, __FILE__, __LINE__, nullptr); \
  } while (false)

#define BALLAST_ASSERT_MSG(condition, message)                                \
  do {                                                                        \
    if (!(condition)) [[unlikely]]                                            \
      ::ballast::assertion_failed(#condition, __FILE__, __LINE__, (message)); \
  } while (false)
