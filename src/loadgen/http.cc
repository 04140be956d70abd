#include "loadgen/http.h"

#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ballast::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<Endpoint> parse_endpoint(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return invalid_argument("a node URL is http://HOST:PORT");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return invalid_argument("a node URL is http://HOST:PORT, not " + std::string(url));
  }
  Endpoint endpoint;
  endpoint.host = std::string(rest.substr(0, colon));
  std::string_view digits = rest.substr(colon + 1);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), endpoint.port);
  if (error != std::errc() || end != digits.data() + digits.size() || endpoint.port == 0) {
    return invalid_argument("bad port in " + std::string(url));
  }
  return endpoint;
}

Result<HttpAnswer> http_get(const Endpoint& endpoint, const std::string& target,
                            std::int64_t timeout_ms) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code error;
  auto fail = [&](std::string_view what) {
    return io_error(std::string(what) + " " + endpoint.url() + target + ": " + error.message());
  };
  asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), error);
  if (error) return fail("cannot resolve");
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  stream.async_connect(addresses, [&](beast::error_code result, auto) { error = result; });
  io.run();
  if (error) return fail("cannot connect to");
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, endpoint.host);
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  io.restart();
  http::async_write(stream, request, [&](beast::error_code result, std::size_t) {
    error = result;
    if (error) return;
    http::async_read(stream, buffer, response,
                     [&](beast::error_code read, std::size_t) { error = read; });
  });
  io.run();
  if (error) return fail("no answer from");
  return HttpAnswer{response.result_int(),
                    nlohmann::json::parse(response.body(), nullptr, /*allow_exceptions=*/false),
                    response.body()};
}

}  // namespace ballast::loadgen
