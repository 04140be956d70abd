#include "node/metrics.h"

#include <cmath>

#include <fmt/format.h>

namespace ballast::node {

namespace {

// Label values escape backslash, double quote and newline.
std::string escape_label(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      escaped += '\\';
      escaped += c;
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string format_value(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);
}

}  // namespace

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusText::sample(std::string_view name, double value, const Labels& labels) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += fmt::format("{}=\"{}\"", labels[i].first, escape_label(labels[i].second));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += format_value(value);
  text_ += '\n';
}

void LatencyHistogram::observe(std::int64_t milliseconds) {
  milliseconds = std::max<std::int64_t>(0, milliseconds);
  std::size_t bucket = 0;
  while (bucket < kBoundsMs.size() && milliseconds > kBoundsMs[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ms_.fetch_add(static_cast<std::uint64_t>(milliseconds), std::memory_order_relaxed);
}

void LatencyHistogram::render(PrometheusText& out, std::string_view name,
                              std::string_view help) const {
  out.family(name, "histogram", help);
  std::string bucket_name = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out.sample(bucket_name, static_cast<double>(cumulative),
               {{"le", format_value(static_cast<double>(kBoundsMs[i]) / 1000.0)}});
  }
  cumulative += buckets_[kBoundsMs.size()].load(std::memory_order_relaxed);
  out.sample(bucket_name, static_cast<double>(cumulative), {{"le", "+Inf"}});
  out.sample(std::string(name) + "_sum",
             static_cast<double>(sum_ms_.load(std::memory_order_relaxed)) / 1000.0);
  // The count is the +Inf bucket, read once, so the two always agree.
  out.sample(std::string(name) + "_count", static_cast<double>(cumulative));
}

void LabeledCounter::add(std::string_view label, std::uint64_t amount) {
  std::lock_guard lock(mutex_);
  auto it = values_.find(label);
  if (it == values_.end()) it = values_.emplace(std::string(label), 0).first;
  it->second += amount;
}

std::map<std::string, std::uint64_t> LabeledCounter::values() const {
  std::lock_guard lock(mutex_);
  return {values_.begin(), values_.end()};
}

}  // namespace ballast::node
