#include "crypto/hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "base/assert.h"

namespace ballast {
namespace {

// Fetched once: EVP_sha256() would look the implementation up again on every init.
const EVP_MD* sha256_method() {
  static const EVP_MD* method = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    BALLAST_ASSERT_MSG(fetched != nullptr, "OpenSSL has no SHA-256");
    return fetched;
  }();
  return method;
}

EVP_MD_CTX* new_context() {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  BALLAST_ASSERT(context != nullptr);
  BALLAST_ASSERT(EVP_DigestInit_ex2(context, sha256_method(), nullptr) == 1);
  return context;
}

void final_into(EVP_MD_CTX* context, Hash256& digest) {
  unsigned int length = 0;
  BALLAST_ASSERT(EVP_DigestFinal_ex(context, digest.bytes.data(), &length) == 1);
  BALLAST_ASSERT(length == digest.bytes.size());
}

// One context per thread for one-shot hashing: re-initializing it with the same method reuses
// its provider state, which saves two allocations per digest.
struct ThreadContext {
  EVP_MD_CTX* context = new_context();
  ThreadContext() = default;
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;
  ~ThreadContext() { EVP_MD_CTX_free(context); }
};

}  // namespace

Result<Hash256> Hash256::from_hex(std::string_view text) {
  if (text.size() != 64) return invalid_argument("a hash is 64 hex digits");
  BALLAST_ASSIGN_OR_RETURN(Bytes bytes, ballast::from_hex(text));
  Hash256 hash;
  std::copy(bytes.begin(), bytes.end(), hash.bytes.begin());
  return hash;
}

Hash256 sha256(ByteView data) {
  thread_local ThreadContext thread;
  EVP_MD_CTX* context = thread.context;
  BALLAST_ASSERT(EVP_DigestInit_ex2(context, sha256_method(), nullptr) == 1);
  BALLAST_ASSERT(EVP_DigestUpdate(context, data.data(), data.size()) == 1);
  Hash256 digest;
  final_into(context, digest);
  return digest;
}

Sha256::Sha256() : context_(new_context()) {}

Sha256::~Sha256() {
  EVP_MD_CTX_free(context_);  // accepts null
}

Sha256::Sha256(const Sha256& other) : context_(EVP_MD_CTX_new()), finished_(other.finished_) {
  BALLAST_ASSERT(context_ != nullptr && other.context_ != nullptr);
  BALLAST_ASSERT(EVP_MD_CTX_copy_ex(context_, other.context_) == 1);
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this != &other) {
    Sha256 copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Sha256::Sha256(Sha256&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)), finished_(other.finished_) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(context_);
    context_ = std::exchange(other.context_, nullptr);
    finished_ = other.finished_;
  }
  return *this;
}

Sha256& Sha256::update(ByteView data) {
  BALLAST_ASSERT(!finished_);
  BALLAST_ASSERT(context_ != nullptr);
  BALLAST_ASSERT(EVP_DigestUpdate(context_, data.data(), data.size()) == 1);
  return *this;
}

Hash256 Sha256::finish() {
  BALLAST_ASSERT(!finished_);
  BALLAST_ASSERT(context_ != nullptr);
  finished_ = true;
  Hash256 digest;
  final_into(context_, digest);
  return digest;
}

}  // namespace ballast
