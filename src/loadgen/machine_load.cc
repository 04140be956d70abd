#include "loadgen/machine_load.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <string>

namespace ballast::loadgen {

std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat) {
  constexpr std::string_view kPrefix = "cpu ";
  if (proc_stat.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = proc_stat.substr(kPrefix.size());
  rest = rest.substr(0, rest.find('\n'));
  // user nice system idle iowait irq softirq steal
  std::array<std::uint64_t, 8> ticks{};
  for (std::uint64_t& field : ticks) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), field);
    if (error != std::errc()) return std::nullopt;
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
  }
  CpuTimes times;
  for (std::uint64_t field : ticks) times.total += field;
  times.busy = times.total - ticks[3] - ticks[4];
  return times;
}

std::optional<CpuTimes> read_cpu_times() {
  std::ifstream file("/proc/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  return parse_cpu_times(line);
}

std::optional<double> busy_fraction(const std::optional<CpuTimes>& before,
                                    const std::optional<CpuTimes>& after) {
  if (!before || !after || after->total <= before->total || after->busy < before->busy) {
    return std::nullopt;
  }
  const double busy = static_cast<double>(after->busy - before->busy);
  return std::min(1.0, busy / static_cast<double>(after->total - before->total));
}

}  // namespace ballast::loadgen
