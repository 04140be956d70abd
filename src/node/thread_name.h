// Names the calling thread, as `top -H`, `ps -L` and `perf` show it (at most 15 characters).
// The core thread is the process's main thread and keeps the program's name.
#pragma once

#include <pthread.h>

#include <string>

namespace ballast::node {

inline void name_this_thread(const std::string& name) {
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace ballast::node
