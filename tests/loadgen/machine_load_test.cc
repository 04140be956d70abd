// Reading how busy the machine was: the kernel's CPU line parsed exactly, idle and I/O wait
// counted as idle, and a fraction only between two good readings.
#include "loadgen/machine_load.h"

#include <gtest/gtest.h>

namespace ballast::loadgen {
namespace {

TEST(MachineLoadTest, ParsesTheAllCpuLineCountingIoWaitAsIdle) {
  auto times = parse_cpu_times("cpu  100 5 40 800 50 3 2 0 7 0\ncpu0 50 2 20 400 25 1 1 0 3 0\n");
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->total, 1'000u);  // user..steal; guest is already inside user
  EXPECT_EQ(times->busy, 150u);     // all but idle (800) and iowait (50)
}

TEST(MachineLoadTest, RefusesWhatIsNotTheAllCpuLine) {
  EXPECT_FALSE(parse_cpu_times("").has_value());
  EXPECT_FALSE(parse_cpu_times("cpu0 1 2 3 4 5 6 7 8").has_value());
  EXPECT_FALSE(parse_cpu_times("cpu  1 2 3").has_value()) << "too few fields";
  EXPECT_FALSE(parse_cpu_times("cpu  1 2 x 4 5 6 7 8").has_value());
}

TEST(MachineLoadTest, BusyFractionIsTheShareOfTicksBetweenTwoReadings) {
  CpuTimes before{150, 1'000};
  CpuTimes after{150 + 300, 1'000 + 400};  // 300 of 400 ticks busy
  auto fraction = busy_fraction(before, after);
  ASSERT_TRUE(fraction.has_value());
  EXPECT_DOUBLE_EQ(*fraction, 0.75);
  EXPECT_FALSE(busy_fraction(std::nullopt, after).has_value());
  EXPECT_FALSE(busy_fraction(before, before).has_value()) << "no ticks in between";
}

TEST(MachineLoadTest, ThisMachineReportsAFractionOverAnInterval) {
  auto before = read_cpu_times();
  ASSERT_TRUE(before.has_value()) << "/proc/stat is readable on Linux";
  volatile std::uint64_t spin = 0;
  std::optional<CpuTimes> after;
  // Until the kernel's counters move (they count in ticks of 10 ms or so), within a bound.
  for (int round = 0; round < 10'000; ++round) {
    for (int i = 0; i < 100'000; ++i) spin = spin + 1;
    after = read_cpu_times();
    if (!after || after->total != before->total) break;
  }
  auto fraction = busy_fraction(before, after);
  ASSERT_TRUE(fraction.has_value());
  EXPECT_GE(*fraction, 0.0);
  EXPECT_LE(*fraction, 1.0);
}

}  // namespace
}  // namespace ballast::loadgen
