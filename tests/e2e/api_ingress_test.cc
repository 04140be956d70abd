// The ingress defenses of a real validator (docs/API.md "Ingress defenses"): an account over its
// budget is refused with 429 `rate_limited`, a flood trips the breaker so that it is refused
// with 429 `ingress_breaker` and the current fee floor (what passed on arrival, before the
// trip, as its signature check starts), while cancels and transactions paying the floor are
// still admitted (but not a cancel that can only fail, which in a batch is refused before its
// signature check); status and metrics show it, and it relaxes by itself.
//
// Only validator 0 runs: admission is what is tested, and nothing needs to be finalized.
#include <gtest/gtest.h>

#include <thread>

#include "api_client.h"
#include "localnet.h"

namespace ballast::e2e {
namespace {

using namespace std::chrono_literals;
using exchange::Side;
using nlohmann::json;

constexpr std::uint64_t kAccountBurst = 5;
constexpr std::uint64_t kMinBaselinePerS = 2;  // x10: an idle node trips at 20 arrivals/s
constexpr std::uint64_t kFloodSize = 40;

// POST /v1/txs; the per-transaction results.
json submit_batch(std::uint16_t port, const std::vector<exchange::Transaction>& txs) {
  HttpReply reply = http_request(port, "POST", "/v1/txs", length_prefixed(txs));
  EXPECT_EQ(reply.status, 200u) << reply.text;
  return reply.body.is_object() ? reply.body["results"] : json::array();
}

std::size_t count_reason(const json& results, const std::string& reason) {
  std::size_t count = 0;
  for (const json& result : results) count += string_field(result, "reason") == reason ? 1 : 0;
  return count;
}

json ingress_status(const Localnet& net) {
  std::optional<json> status = net.status(0);
  return status && status->contains("ingress") ? (*status)["ingress"] : json();
}

void expect_account_budget(const Localnet& net, OrderSigner& signer) {
  std::vector<exchange::Transaction> orders;
  for (std::uint64_t i = 0; i <= kAccountBurst; ++i) {
    orders.push_back(
        signer.place(0, kMarket, Side::kBuy, 5'000, kLot, {.client_order_id = 100 + i}));
  }
  json results = submit_batch(net.api_port(0), orders);
  ASSERT_EQ(results.size(), orders.size());
  for (std::uint64_t i = 0; i < kAccountBurst; ++i) {
    EXPECT_EQ(string_field(results[i], "status"), "accepted") << results[i];
  }
  const json& refused = results[kAccountBurst];
  EXPECT_EQ(string_field(refused, "code"), "resource_exhausted") << refused;
  EXPECT_EQ(string_field(refused, "reason"), "rate_limited") << refused;
  EXPECT_EQ(refused.value("fee_floor", -1), 0) << "the breaker is still open";
  EXPECT_EQ(string_field(refused, "hash"), orders.back().id().hex());
  // The same account, over its budget, can still pull its quote.
  HttpReply cancel = submit(net.api_port(0), signer.cancel(0, by_client_id(100)));
  EXPECT_EQ(cancel.status, 202u) << cancel.text;
}

double transaction_signature_checks(const Localnet& net) {
  auto metrics = parse_prometheus(get(net.api_port(0), "/metrics").text);
  EXPECT_TRUE(metrics.is_ok());
  return metrics.is_ok()
             ? metrics->value("ballast_signature_verifications_total{kind=\"transaction\"}")
                   .value_or(-1)
             : -1.0;
}

// Trader 1 floods; returns the fee floor the refusals named.
std::uint64_t expect_flood_refused(const Localnet& net, OrderSigner& signer) {
  std::vector<exchange::Transaction> flood;
  for (std::uint64_t i = 0; i < kFloodSize; ++i) {
    flood.push_back(signer.place(1, kMarket, Side::kSell, 9'000, kLot));
  }
  const double checks_before = transaction_signature_checks(net);
  json results = submit_batch(net.api_port(0), flood);
  // The first 10 x the minimum baseline pass on arrival, before the trip; but the breaker judges
  // them again as their signature check is about to start, and by then it has tripped.
  EXPECT_EQ(count_reason(results, "ingress_breaker"), kFloodSize) << results;
  EXPECT_EQ(transaction_signature_checks(net), checks_before) << "none was checked";
  std::uint64_t floor = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& result = results[i];
    if (string_field(result, "reason") != "ingress_breaker") continue;
    EXPECT_EQ(string_field(result, "code"), "resource_exhausted");
    EXPECT_EQ(string_field(result, "hash"), flood[i].id().hex());
    floor = result.value("fee_floor", std::uint64_t{0});
    EXPECT_GE(floor, 2u) << result;
  }
  EXPECT_GE(floor, 2u) << "twice the genesis minimum fee, or more";
  // A single order at the minimum fee: 429 with the floor, naming the transaction.
  exchange::Transaction order = signer.place(1, kMarket, Side::kSell, 9'000, kLot);
  HttpReply refused = submit(net.api_port(0), order);
  EXPECT_TRUE(is_error(refused, 429, "resource_exhausted", "ingress_breaker"));
  EXPECT_GE(refused.body.value("fee_floor", std::uint64_t{0}), 2u) << refused.text;
  EXPECT_EQ(string_field(refused.body, "hash"), order.id().hex());
  return floor;
}

void expect_cancels_and_payers_admitted(const Localnet& net, OrderSigner& signer) {
  HttpReply cancel = submit(net.api_port(0), signer.cancel(0, by_client_id(101)));
  EXPECT_EQ(cancel.status, 202u) << "a cancel passes the tripped breaker: " << cancel.text;
  // Order 100 + kAccountBurst was refused: while shedding load, a cancel of it can only fail.
  HttpReply futile = submit(net.api_port(0), signer.cancel(0, by_client_id(100 + kAccountBurst)));
  EXPECT_TRUE(is_error(futile, 409, "failed_precondition", "order_not_found")) << futile.text;
  exchange::Transaction payer =
      signed_transaction(net.trader(2), net.genesis().chain_id, signer.next_nonce(2), 1'000'000,
                         signer.order(kMarket, Side::kBuy, 4'000, kLot));
  signer.skip_to(2, payer.nonce + 1);
  HttpReply paid = submit(net.api_port(0), payer);
  EXPECT_EQ(paid.status, 202u) << "a fee above the floor passes: " << paid.text;
}

// In a batch, a cancel that can only fail is refused before its signature is checked: under a
// flood those checks would take the cores the steady flow needs.
void expect_futile_cancels_spared_the_check(const Localnet& net, OrderSigner& signer) {
  const double before = transaction_signature_checks(net);
  json results = submit_batch(net.api_port(0), {signer.cancel(0, by_client_id(100 + kAccountBurst)),
                                                signer.cancel(0, by_client_id(102))});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(string_field(results[0], "reason"), "order_not_found") << results[0];
  EXPECT_EQ(string_field(results[1], "status"), "accepted") << results[1];
  EXPECT_EQ(transaction_signature_checks(net), before + 1)
      << "only the cancel that can succeed was checked";
}

void expect_tripped_in_status_and_metrics(const Localnet& net) {
  json ingress = ingress_status(net);
  EXPECT_EQ(string_field(ingress, "state"), "tripped") << ingress;
  EXPECT_GE(ingress.value("fee_floor", 0), 2) << ingress;
  EXPECT_GE(ingress.value("trips", 0), 1) << ingress;
  EXPECT_EQ(ingress.value("relearned", -1), 0) << "no trip has lasted breaker_max_trip_ms";
  EXPECT_GE(ingress["refused"].value("breaker", 0), 1) << ingress;
  EXPECT_GE(ingress["refused"].value("account", 0), 1) << ingress;
  auto metrics = parse_prometheus(get(net.api_port(0), "/metrics").text);
  ASSERT_TRUE(metrics.is_ok()) << metrics.status().to_string();
  EXPECT_EQ(metrics->value("ballast_ingress_breaker_tripped"), 1.0);
  EXPECT_GE(metrics->value("ballast_ingress_fee_floor").value_or(0), 2.0);
  EXPECT_GE(metrics->value("ballast_ingress_breaker_trips_total").value_or(0), 1.0);
  EXPECT_EQ(metrics->value("ballast_ingress_breaker_relearned_total"), 0.0);
  EXPECT_GE(metrics->value("ballast_ingress_refused_total{limit=\"breaker\"}").value_or(0), 1.0);
  EXPECT_GE(
      metrics->value("ballast_transactions_rejected_total{reason=\"ingress_breaker\"}").value_or(0),
      1.0);
}

TEST(ApiIngressTest, AFloodIsRefusedWithTheFeeFloorWhileCancelsAndPayersPass) {
  Localnet net(4, [](json& config) {
    config["ingress"] = {{"account_rate_per_s", 1},
                         {"account_burst", kAccountBurst},
                         {"breaker_min_baseline_per_s", kMinBaselinePerS},
                         {"breaker_relax_steps", 5},
                         // Only the very first arrivals are taken as backlog (a node that
                         // just started), whatever the pauses between the steps below.
                         {"breaker_quiet_gap_ms", 3'600'000}};
  });
  net.start(0);
  ASSERT_TRUE(wait_until([&] { return net.status(0).has_value(); }, 60s)) << net.log(0);
  EXPECT_EQ(string_field(ingress_status(net), "state"), "open");
  OrderSigner signer(net);
  expect_account_budget(net, signer);
  // The flood comes once the backlog grace of the node's first arrivals (300 ms) is over, and the
  // breaker has the second of history it needs to judge a jump: one arrival, then quiet.
  std::this_thread::sleep_for(500ms);
  HttpReply cancel = submit(net.api_port(0), signer.cancel(0, by_client_id(103)));
  EXPECT_EQ(cancel.status, 202u) << cancel.text;
  std::this_thread::sleep_for(1'500ms);
  expect_flood_refused(net, signer);
  expect_cancels_and_payers_admitted(net, signer);
  expect_futile_cancels_spared_the_check(net, signer);
  expect_tripped_in_status_and_metrics(net);
  // The flood is over: it relaxes by itself, and the minimum fee is admitted again.
  EXPECT_TRUE(wait_until([&] { return string_field(ingress_status(net), "state") == "open"; }, 60s))
      << ingress_status(net);
  HttpReply after = submit(net.api_port(0), signer.place(2, kMarket, Side::kBuy, 4'000, kLot));
  EXPECT_EQ(after.status, 202u) << after.text;
}

}  // namespace
}  // namespace ballast::e2e
