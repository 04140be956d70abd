// The evidence part of a `ballast chaos` report: what equivocation proofs every validator holds
// (from GET /v1/status), and whether they convict exactly the validator the scenario made
// Byzantine (docs/CHAOS.md).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "loadgen/http.h"

namespace ballast::cli {

// The validator the `byzantine` scenario turns Byzantine: the last one.
std::uint32_t byzantine_validator(std::uint32_t validators);

// Adds to `report`: "evidence" (per validator: the proofs it holds, by accused validator),
// "evidence_against_honest" (proofs against any validator but `byzantine`) and, with a Byzantine
// validator, "byzantine_validator" and "evidence_recorded" (every other validator that answered
// holds proof against it).
void add_evidence(nlohmann::json& report, const std::vector<loadgen::Endpoint>& nodes,
                  std::optional<std::uint32_t> byzantine);

// One line per fact, for the human-readable report.
void print_evidence(const nlohmann::json& report, std::ostream& out);

// Fails when an honest validator was accused, or a Byzantine one was not.
Status check_evidence(const nlohmann::json& report);

}  // namespace ballast::cli
