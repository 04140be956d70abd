#include "cli/chaos_evidence.h"

#include <ostream>

#include <fmt/format.h>

namespace ballast::cli {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kStatusTimeoutMs = 2'000;

// The proofs one validator holds, by accused validator; nothing if it did not answer.
std::optional<Json> evidence_held_by(const loadgen::Endpoint& node) {
  auto answer = loadgen::http_get(node, "/v1/status", kStatusTimeoutMs);
  if (!answer.is_ok() || answer->status != 200 || !answer->body.is_object() ||
      !answer->body.contains("evidence_against")) {
    return std::nullopt;
  }
  return answer->body["evidence_against"];
}

std::uint64_t proofs_against(const Json& held, std::uint32_t validator) {
  std::uint64_t proofs = 0;
  for (const Json& against : held) {
    if (against["validator"].get<std::uint32_t>() == validator) {
      proofs += against["proofs"].get<std::uint64_t>();
    }
  }
  return proofs;
}

}  // namespace

std::uint32_t byzantine_validator(std::uint32_t validators) {
  return validators - 1;
}

void add_evidence(Json& report, const std::vector<loadgen::Endpoint>& nodes,
                  std::optional<std::uint32_t> byzantine) {
  Json evidence = Json::array();
  std::uint64_t against_honest = 0;
  bool every_honest_convicts = true;
  for (std::uint32_t index = 0; index < nodes.size(); ++index) {
    std::optional<Json> held = evidence_held_by(nodes[index]);
    evidence.push_back({{"validator", index}, {"against", held ? *held : Json(nullptr)}});
    if (!held) {
      every_honest_convicts = every_honest_convicts && byzantine == index;
      continue;
    }
    for (const Json& against : *held) {
      if (against["validator"].get<std::uint32_t>() != byzantine) {
        against_honest += against["proofs"].get<std::uint64_t>();
      }
    }
    if (byzantine && index != *byzantine && proofs_against(*held, *byzantine) == 0) {
      every_honest_convicts = false;
    }
  }
  report["evidence"] = std::move(evidence);
  report["evidence_against_honest"] = against_honest;
  if (byzantine) {
    report["byzantine_validator"] = *byzantine;
    report["evidence_recorded"] = every_honest_convicts;
  }
}

void print_evidence(const Json& report, std::ostream& out) {
  if (report.contains("byzantine_validator")) {
    const auto byzantine = report["byzantine_validator"].get<std::uint32_t>();
    out << fmt::format("  evidence against Byzantine validator {}:", byzantine);
    for (const Json& held : report["evidence"]) {
      const auto index = held["validator"].get<std::uint32_t>();
      if (index == byzantine) continue;
      out << fmt::format(" validator {} holds {}", index,
                         held["against"].is_null()
                             ? std::string("(no answer)")
                             : std::to_string(proofs_against(held["against"], byzantine)));
      out << ";";
    }
    out << " recorded by every honest validator: "
        << (report["evidence_recorded"].get<bool>() ? "yes" : "NO") << "\n";
  }
  out << "  evidence against honest validators: " << report["evidence_against_honest"] << "\n";
}

Status check_evidence(const Json& report) {
  if (report["evidence_against_honest"].get<std::uint64_t>() > 0) {
    return failed_precondition("an honest validator was accused of equivocating");
  }
  if (report.contains("evidence_recorded") && !report["evidence_recorded"].get<bool>()) {
    return failed_precondition("an honest validator holds no evidence against the Byzantine one");
  }
  return Status::ok();
}

}  // namespace ballast::cli
