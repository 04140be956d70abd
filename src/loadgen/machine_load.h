// How busy the whole machine was over an interval, from the kernel's CPU time counters
// (/proc/stat). A load generator that shares the machine with the validators it drives reports
// it, so that a latency figure comes with whether the cores were already full.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ballast::loadgen {

struct CpuTimes {
  std::uint64_t busy = 0;   // clock ticks not idle, all cores
  std::uint64_t total = 0;  // clock ticks, all cores
};

// The first line of /proc/stat ("cpu  user nice system idle iowait irq softirq steal ...");
// none if it is not in that form. Waiting for I/O counts as idle; guest time is already in user.
std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat);
// This machine's counters now; none where /proc/stat cannot be read.
std::optional<CpuTimes> read_cpu_times();
// The share of all cores busy between two readings, in [0, 1]; none without both readings or
// without ticks in between.
std::optional<double> busy_fraction(const std::optional<CpuTimes>& before,
                                    const std::optional<CpuTimes>& after);

}  // namespace ballast::loadgen
