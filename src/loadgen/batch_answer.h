// What the load generator needs of a node's answer to POST /v1/txs: each transaction's status
// and reason, or the reason the whole request was refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::loadgen {

struct BatchAnswer {
  struct Result {
    bool accepted = false;  // "status" is "accepted"
    std::string reason;     // "reason", if given
  };
  std::vector<Result> results;  // in request order
  bool has_results = false;     // false: the request itself was refused
  std::string reason;           // the request's own "reason", if given
};

// Reads the answer with a streaming parser: during a flood a node answers tens of thousands of
// refusals a second, and a JSON document of each cost the client more CPU than the node spent
// refusing them. Nullopt if the body is not JSON. Fields other than these are skipped.
std::optional<BatchAnswer> read_batch_answer(std::string_view body);

}  // namespace ballast::loadgen
