#include "localnet.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "base/assert.h"
#include "exchange/transaction.h"

namespace ballast::e2e {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;

HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& content_type,
                       std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, content_type);
  request.body() = body;
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  bool answered = false;
  auto on_read = [&](beast::error_code error, std::size_t) { answered = !error; };
  // A refused write (the node answered early and closed) still leaves its answer to read.
  auto on_written = [&](beast::error_code, std::size_t) {
    http::async_read(stream, buffer, response, on_read);
  };
  auto on_connected = [&](beast::error_code error) {
    if (!error) http::async_write(stream, request, on_written);
  };
  // Asynchronous steps, because only those honour the stream's deadline: a synchronous read
  // from a node that never answers would block the test forever.
  stream.expires_after(timeout);
  stream.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                       on_connected);
  io.run();
  if (!answered) return {};
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return {response.result_int(),
          nlohmann::json::parse(response.body(), nullptr, /*allow_exceptions=*/false),
          response.body(), std::string(response[http::field::content_type])};
}

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A new empty file for a child's output.
fs::path output_file(const char* stream) {
  std::string pattern =
      (fs::temp_directory_path() / (std::string("ballast-e2e-") + stream + "-XXXXXX")).string();
  int fd = mkstemp(pattern.data());
  BALLAST_ASSERT(fd >= 0);
  ::close(fd);
  return pattern;
}

}  // namespace

CommandResult run_ballast(const std::vector<std::string>& arguments, std::chrono::seconds timeout) {
  std::vector<std::string> argv_strings{BALLAST_BINARY};
  argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& argument : argv_strings) argv.push_back(argument.data());
  argv.push_back(nullptr);
  fs::path out_path = output_file("out");
  fs::path err_path = output_file("err");
  pid_t child = fork();
  BALLAST_ASSERT(child >= 0);
  if (child == 0) {
    int out_fd = ::open(out_path.c_str(), O_WRONLY | O_TRUNC);
    int err_fd = ::open(err_path.c_str(), O_WRONLY | O_TRUNC);
    if (out_fd < 0 || err_fd < 0) _exit(126);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pid_t waited = 0;
  while ((waited = waitpid(child, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (waited == 0) {  // still running at the deadline: this child, and only it, is killed
    ::kill(child, SIGKILL);
    waited = waitpid(child, &status, 0);
  }
  BALLAST_ASSERT(waited == child);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

namespace {

bool port_free(std::uint16_t port) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  boost::system::error_code error;
  acceptor.open(asio::ip::tcp::v4(), error);
  if (!error) {
    acceptor.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), error);
  }
  return !error;
}

// A block of ports per localnet, starting from one derived from the process id and moving on
// past blocks in use, so tests may run in parallel (and beside a demo) without colliding. A
// block is claimed with an exclusive lock on a file named after it, held until the localnet is
// gone: two processes probing at the same moment cannot both take it. The blocks lie below
// Linux's ephemeral range (32768 and up), where any outgoing connection could take a port
// between a validator's kill and its restart.
PortBlock claim_ports(std::size_t validators) {
  constexpr int kBlocks = 63;
  for (int attempt = 0; attempt < kBlocks; ++attempt) {
    auto base = static_cast<std::uint16_t>(20'000 + ((getpid() + attempt) % kBlocks) * 200);
    fs::path lock_path = fs::temp_directory_path() / ("ballast-e2e-ports-" + std::to_string(base));
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;
    }
    bool free = true;
    for (std::size_t i = 0; i < validators && free; ++i) {
      free = port_free(static_cast<std::uint16_t>(base + i)) &&
             port_free(static_cast<std::uint16_t>(base + 100 + i));
    }
    if (free) return PortBlock(base, fd);
    ::close(fd);
  }
  throw std::runtime_error("no free block of loopback ports");
}

}  // namespace

PortBlock claim_port_block(std::size_t validators) {
  return claim_ports(validators);
}

PortBlock::~PortBlock() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

PortBlock::PortBlock(PortBlock&& other) noexcept
    : base_(other.base_), lock_fd_(std::exchange(other.lock_fd_, -1)) {}

Localnet::Localnet(std::size_t validators, const std::function<void(nlohmann::json&)>& tune)
    : validators_(validators), ports_(claim_port_block(validators)), base_port_(ports_.base()) {
  std::string pattern = (fs::temp_directory_path() / "ballast-e2e-XXXXXX").string();
  BALLAST_ASSERT(mkdtemp(pattern.data()) != nullptr);
  directory_ = pattern;
  fs::remove(directory_);  // init creates it
  run_cli({"localnet", "init", "--validators", std::to_string(validators), "--dir", directory_,
           "--base-port", std::to_string(base_port_)});
  for (std::size_t i = 0; i < validators; ++i) {
    fs::path path = fs::path(directory_) / ("validator-" + std::to_string(i)) / "config.json";
    nlohmann::json config = nlohmann::json::parse(read_file(path));
    if (tune) tune(config);
    std::ofstream(path) << config.dump(2) << "\n";
  }
  auto genesis = exchange::load_genesis_file(directory_ + "/genesis.json");
  BALLAST_ASSERT_MSG(genesis.is_ok(), "localnet init wrote an unusable genesis");
  genesis_ = std::move(genesis).value();
  for (std::size_t k = 0;; ++k) {
    fs::path path = fs::path(directory_) / "keys" / ("trader-" + std::to_string(k) + ".key");
    if (!fs::exists(path)) break;
    auto key = read_key_file(path.string());
    BALLAST_ASSERT(key.is_ok());
    traders_.push_back(std::move(key).value());
  }
  BALLAST_ASSERT_MSG(!traders_.empty(), "localnet init wrote no trader keys");
}

Localnet::~Localnet() {
  try {
    kill_all();
  } catch (const std::exception& error) {
    ADD_FAILURE() << error.what();
  }
  // A failed test keeps the validators' logs and data for the post-mortem; BALLAST_E2E_KEEP=1
  // keeps them always.
  if (::testing::Test::HasFailure() || std::getenv("BALLAST_E2E_KEEP") != nullptr) {
    std::fprintf(stderr, "localnet kept for inspection: %s\n", directory_.c_str());
    return;
  }
  std::error_code ignored;
  fs::remove_all(directory_, ignored);
}

void Localnet::run_cli(const std::vector<std::string>& arguments) const {
  CommandResult result = run_ballast(arguments);
  if (result.exit_code != 0) {
    // An exception, not an abort: the test fails and the destructors still stop the nodes.
    throw std::runtime_error("ballast " + arguments.front() + " " + arguments.at(1) +
                             " failed: " + result.out + result.err);
  }
}

void Localnet::start(std::optional<std::size_t> only,
                     const std::vector<std::string>& extra_arguments) {
  std::vector<std::string> arguments{"localnet", "start", "--dir", directory_};
  if (only) arguments.insert(arguments.end(), {"--only", std::to_string(*only)});
  arguments.insert(arguments.end(), extra_arguments.begin(), extra_arguments.end());
  run_cli(arguments);
}

void Localnet::kill(std::size_t validator) {
  run_cli({"localnet", "stop", "--dir", directory_, "--only", std::to_string(validator), "--kill"});
}

void Localnet::kill_all() {
  run_cli({"localnet", "stop", "--dir", directory_, "--kill"});
}

std::uint16_t Localnet::api_port(std::size_t validator) const {
  return static_cast<std::uint16_t>(base_port_ + 100 + validator);
}

std::uint16_t Localnet::peer_port(std::size_t validator) const {
  return static_cast<std::uint16_t>(base_port_ + validator);
}

SecretKey Localnet::validator_key(std::size_t validator) const {
  auto key = read_key_file(directory_ + "/keys/validator-" + std::to_string(validator) + ".key");
  BALLAST_ASSERT(key.is_ok());
  return std::move(key).value();
}

std::optional<nlohmann::json> Localnet::status(std::size_t validator,
                                               std::optional<std::uint64_t> at) const {
  std::string target = "/v1/status";
  if (at) target += "?at=" + std::to_string(*at);
  HttpReply reply = http_request(api_port(validator), "GET", target);
  if (reply.status != 200) return std::nullopt;
  return reply.body;
}

std::uint64_t Localnet::height(std::size_t validator) const {
  auto reply = status(validator);
  return reply ? reply->at("height").get<std::uint64_t>() : 0;
}

std::optional<std::string> Localnet::root_at(std::size_t validator, std::uint64_t height) const {
  auto reply = status(validator, height);
  if (!reply || reply->at("at").at("state_root").is_null()) return std::nullopt;
  return reply->at("at").at("state_root").get<std::string>();
}

std::string Localnet::log(std::size_t validator) const {
  return read_file(fs::path(directory_) / ("validator-" + std::to_string(validator)) / "node.log");
}

std::string Localnet::describe() const {
  std::string text;
  for (std::size_t i = 0; i < validators_; ++i) {
    std::optional<nlohmann::json> reply = status(i);
    text += "validator " + std::to_string(i) + ": " + (reply ? reply->dump() : "down") + "\n";
  }
  return text;
}

bool Localnet::wait_for_height(const std::vector<std::size_t>& validators, std::uint64_t height,
                               std::chrono::seconds timeout) const {
  return wait_until(
      [&] {
        for (std::size_t validator : validators) {
          if (this->height(validator) < height) return false;
        }
        return true;
      },
      timeout);
}

bool Localnet::roots_agree(const std::vector<std::size_t>& validators) const {
  std::uint64_t common = UINT64_MAX;
  for (std::size_t validator : validators) common = std::min(common, height(validator));
  if (common == 0 || common == UINT64_MAX) return false;
  std::optional<std::string> first;
  for (std::size_t validator : validators) {
    std::optional<std::string> root = root_at(validator, common);
    if (!root) return false;
    if (!first) first = root;
    if (*root != *first) return false;
  }
  return true;
}

Bytes TransferSource::next() {
  if (nonces_.empty()) nonces_.assign(net_.traders(), 0);
  std::size_t from = turn_++ % net_.traders();
  std::size_t to = (from + 1) % net_.traders();
  exchange::Transaction tx;
  tx.sender = net_.trader(from).public_key();
  tx.nonce = ++nonces_[from];
  tx.fee = net_.genesis().min_tx_fee;
  tx.expiry_height = 1'000'000'000;
  tx.body = exchange::Transfer{net_.trader(to).public_key(), net_.genesis().tx_fee_asset, 1};
  tx.sign(net_.trader(from), net_.genesis().chain_id);
  return tx.encode();
}

}  // namespace ballast::e2e
