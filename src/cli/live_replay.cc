#include "cli/live_replay.h"

#include <algorithm>
#include <ostream>

#include "cli/order_file.h"
#include "client/node_client.h"

namespace ballast::cli {
namespace {

using Json = nlohmann::json;
using client::text_field;

class LiveReplayer {
 public:
  LiveReplayer(const ReplayOptions& options, const exchange::Genesis& genesis,
               client::NodeClient client, std::ostream& out)
      : options_(options),
        genesis_(genesis),
        client_(std::move(client)),
        signer_(genesis, KeySource{options.keys_dir, options.dev_keys},
                [this](const PublicKey& account) { return last_used_nonce(account); }),
        out_(out) {}

  Status run(std::istream& input);

 private:
  Result<std::uint64_t> last_used_nonce(const PublicKey& account) const;
  Status submit(const SignedLine& line);
  void count(const Json& answer);
  void print_summary();

  const ReplayOptions& options_;
  const exchange::Genesis& genesis_;
  client::NodeClient client_;
  LineSigner signer_;
  std::ostream& out_;
  std::uint64_t height_ = 0;  // the highest finalized height the node has reported
  std::size_t accepted_ = 0;
  std::size_t rejected_ = 0;  // finalized, refused by execution
  std::size_t refused_ = 0;   // refused at submission, or dropped from the mempool
  std::size_t fills_ = 0;
};

// An account the node does not know starts from nonce 1: the node then refuses its lines as
// unknown_sender, which is the outcome to report.
Result<std::uint64_t> LiveReplayer::last_used_nonce(const PublicKey& account) const {
  BALLAST_ASSIGN_OR_RETURN(std::optional<std::uint64_t> last, client_.last_nonce(account));
  return last.value_or(0);
}

Status LiveReplayer::run(std::istream& input) {
  BALLAST_RETURN_IF_ERROR(client_.check_genesis(genesis_));
  BALLAST_ASSIGN_OR_RETURN(height_, client_.height());
  OrderFileReader reader(input);
  for (;;) {
    BALLAST_ASSIGN_OR_RETURN(std::optional<OrderLine> line, reader.next());
    if (!line) break;
    // Each line waits for finality, so the height its predecessor reached is current enough.
    LineDefaults defaults{genesis_.min_tx_fee, height_ + options_.expires_in_blocks};
    BALLAST_ASSIGN_OR_RETURN(SignedLine signed_line, signer_.sign(*line, defaults));
    BALLAST_RETURN_IF_ERROR(submit(signed_line));
  }
  print_summary();
  return Status::ok();
}

Status LiveReplayer::submit(const SignedLine& line) {
  Result<client::NodeReply> reply = client_.submit_and_wait(line.tx, options_.wait_timeout_ms);
  if (!reply.is_ok()) return at_line(line.line_number, reply.status());
  const Json& answer = reply->body;
  std::string status = text_field(answer, "status");
  if (status != "finalized" && status != "dropped" && status != "rejected") {
    return at_line(line.line_number,
                   failed_precondition("transaction " + line.tx.id().hex() + " is still " +
                                       (status.empty() ? "unsettled" : status) + " after " +
                                       std::to_string(options_.wait_timeout_ms) +
                                       " ms; stopping before the lines that follow it"));
  }
  count(answer);
  Json printed = answer;
  printed["line"] = line.line_number;
  printed["account"] = line.account;
  out_ << printed.dump() << "\n";
  return Status::ok();
}

void LiveReplayer::count(const Json& answer) {
  if (text_field(answer, "status") != "finalized") {
    ++refused_;
    return;
  }
  if (answer.contains("height") && answer["height"].is_number_unsigned()) {
    height_ = std::max(height_, answer["height"].get<std::uint64_t>());
  }
  const Json& result = answer.contains("result") ? answer["result"] : Json::object();
  result.value("accepted", false) ? ++accepted_ : ++rejected_;
  if (!result.contains("events") || !result["events"].is_array()) return;
  for (const Json& event : result["events"]) fills_ += text_field(event, "event") == "fill";
}

void LiveReplayer::print_summary() {
  out_ << Json{{"summary", true},       {"node", client_.url().to_string()},
               {"height", height_},     {"accepted", accepted_},
               {"rejected", rejected_}, {"refused", refused_},
               {"fills", fills_}}
              .dump()
       << "\n";
}

}  // namespace

Status run_live_replay(const ReplayOptions& options, const exchange::Genesis& genesis,
                       std::istream& input, std::ostream& out) {
  BALLAST_ASSIGN_OR_RETURN(client::NodeUrl url, client::parse_node_url(options.node_url));
  LiveReplayer replayer(options, genesis, client::NodeClient(url), out);
  return replayer.run(input);
}

}  // namespace ballast::cli
