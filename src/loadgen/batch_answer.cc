#include "loadgen/batch_answer.h"

#include <nlohmann/json.hpp>

namespace ballast::loadgen {

namespace {

using Json = nlohmann::json;

// Depth 1 is the answer object, 2 the "results" array, 3 one result: only strings at depths 1
// and 3 are kept, under the keys that matter.
class AnswerReader : public nlohmann::json_sax<Json> {
 public:
  explicit AnswerReader(BatchAnswer& answer) : answer_(answer) {}

  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t) override { return scalar(); }
  bool number_unsigned(number_unsigned_t) override { return scalar(); }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool binary(binary_t&) override { return scalar(); }

  bool string(string_t& value) override {
    if (depth_ == 1 && key_ == "reason") answer_.reason = std::move(value);
    if (depth_ == 3 && in_results_) {
      if (key_ == "status") answer_.results.back().accepted = value == "accepted";
      if (key_ == "reason") answer_.results.back().reason = std::move(value);
    }
    return scalar();
  }

  bool key(string_t& value) override {
    key_ = std::move(value);
    return true;
  }

  bool start_object(std::size_t) override {
    depth_ += 1;
    if (depth_ == 3 && in_results_) answer_.results.emplace_back();
    key_.clear();
    return true;
  }

  bool start_array(std::size_t) override {
    depth_ += 1;
    if (depth_ == 2 && key_ == "results") {
      in_results_ = true;
      answer_.has_results = true;
    }
    key_.clear();
    return true;
  }

  bool end_object() override { return end(); }
  bool end_array() override { return end(); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool scalar() {
    key_.clear();
    return true;
  }
  bool end() {
    if (depth_ == 2) in_results_ = false;
    depth_ -= 1;
    key_.clear();
    return true;
  }

  BatchAnswer& answer_;
  int depth_ = 0;
  bool in_results_ = false;
  std::string key_;
};

}  // namespace

std::optional<BatchAnswer> read_batch_answer(std::string_view body) {
  BatchAnswer answer;
  AnswerReader reader(answer);
  if (!Json::sax_parse(body.begin(), body.end(), &reader)) return std::nullopt;
  return answer;
}

}  // namespace ballast::loadgen
