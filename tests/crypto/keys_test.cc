#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ballast {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Hash256 hash_from_hex(std::string_view text) {
  Hash256 hash;
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes.is_ok() && bytes->size() == 32) << text;
  if (bytes.is_ok() && bytes->size() == 32)
    std::copy(bytes->begin(), bytes->end(), hash.bytes.begin());
  return hash;
}

Signature signature_from_hex(std::string_view text) {
  Signature signature;
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes.is_ok() && bytes->size() == 64) << text;
  if (bytes.is_ok() && bytes->size() == 64) {
    std::copy(bytes->begin(), bytes->end(), signature.bytes.begin());
  }
  return signature;
}

// ---------------------------------------------------------------------------------------------
// Signing and verification.

TEST(SchnorrTest, SignThenVerify) {
  SecretKey key = SecretKey::generate();
  Hash256 message = sha256(as_bytes("buy 5 BTC at 100"));
  Signature signature = key.sign(message);
  EXPECT_TRUE(verify(key.public_key(), message, signature));
}

TEST(SchnorrTest, ChangedMessageFails) {
  SecretKey key = SecretKey::generate();
  Signature signature = key.sign(sha256(as_bytes("buy 5 BTC at 100")));
  EXPECT_FALSE(verify(key.public_key(), sha256(as_bytes("buy 5 BTC at 101")), signature));
}

TEST(SchnorrTest, ChangedSignatureFails) {
  SecretKey key = SecretKey::generate();
  Hash256 message = sha256(as_bytes("cancel order 7"));
  Signature signature = key.sign(message);
  for (std::size_t byte : {0u, 31u, 32u, 63u}) {
    Signature tampered = signature;
    tampered.bytes[byte] ^= 0x01;
    EXPECT_FALSE(verify(key.public_key(), message, tampered)) << "flipped byte " << byte;
  }
  EXPECT_FALSE(verify(key.public_key(), message, Signature{}));
}

TEST(SchnorrTest, OtherKeyFails) {
  SecretKey key = SecretKey::generate();
  SecretKey other = SecretKey::generate();
  ASSERT_NE(key.public_key(), other.public_key());
  Hash256 message = sha256(as_bytes("withdraw"));
  EXPECT_FALSE(verify(other.public_key(), message, key.sign(message)));
}

TEST(SchnorrTest, SeededKeysAreDeterministicAndDistinct) {
  SecretKey alice = SecretKey::insecure_from_seed("alice");
  EXPECT_EQ(alice.hex(), SecretKey::insecure_from_seed("alice").hex());
  EXPECT_EQ(alice.public_key(), SecretKey::insecure_from_seed("alice").public_key());
  EXPECT_NE(alice.public_key(), SecretKey::insecure_from_seed("bob").public_key());
}

TEST(SchnorrTest, VerifyRejectsAPublicKeyNotOnTheCurve) {
  SecretKey key = SecretKey::generate();
  Hash256 message = sha256(as_bytes("m"));
  PublicKey off_curve;
  off_curve.bytes[31] = 5;  // x = 5: x^3 + 7 is not a square mod p
  EXPECT_FALSE(verify(off_curve, message, key.sign(message)));
}

// Vectors from the BIP-340 specification (bip-0340/test-vectors.csv).
struct Bip340Vector {
  int index;
  const char* secret_key;  // empty when the vector gives none
  const char* public_key;
  const char* message;
  const char* signature;
  bool valid;
};

constexpr Bip340Vector kBip340Vectors[] = {
    {0, "0000000000000000000000000000000000000000000000000000000000000003",
     "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
     "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0",
     true},
    {1, "B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF",
     "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
     "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A",
     true},
    {2, "C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9",
     "DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8",
     "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
     "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1B"
     "AB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7",
     true},
    // has_even_y(R) is false.
    {6, "", "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A1460297556"
     "3CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2",
     false},
};

TEST(SchnorrTest, Bip340Vectors) {
  for (const Bip340Vector& vector : kBip340Vectors) {
    SCOPED_TRACE("BIP-340 vector " + std::to_string(vector.index));
    auto public_key = PublicKey::from_hex(vector.public_key);
    ASSERT_TRUE(public_key.is_ok()) << public_key.status().to_string();
    if (*vector.secret_key != '\0') {
      auto secret_key = SecretKey::from_hex(vector.secret_key);
      ASSERT_TRUE(secret_key.is_ok()) << secret_key.status().to_string();
      EXPECT_EQ(secret_key->public_key(), *public_key);
    }
    Hash256 message = hash_from_hex(vector.message);
    EXPECT_EQ(verify(*public_key, message, signature_from_hex(vector.signature)), vector.valid);
    auto decoded = VerifyingKey::decode(*public_key);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(decoded->verify(message, signature_from_hex(vector.signature)), vector.valid);
  }
}

TEST(VerifyingKeyTest, RefusesAKeyNotOnTheCurve) {
  PublicKey off_curve;
  off_curve.bytes[31] = 5;  // x = 5: x^3 + 7 is not a square mod p
  auto decoded = VerifyingKey::decode(off_curve);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
}

TEST(VerifyingKeyTest, ChecksOnlyItsOwnSignaturesOverTheirOwnMessages) {
  SecretKey key = SecretKey::generate();
  SecretKey other = SecretKey::generate();
  Hash256 message = sha256(as_bytes("cancel order 7"));
  auto decoded = VerifyingKey::decode(key.public_key());
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_TRUE(decoded->verify(message, key.sign(message)));
  EXPECT_FALSE(decoded->verify(message, other.sign(message)));
  EXPECT_FALSE(decoded->verify(sha256(as_bytes("cancel order 8")), key.sign(message)));
}

TEST(SchnorrTest, Bip340VectorWithPublicKeyNotOnTheCurve) {
  // Vector 5: the public key is not a valid x coordinate, so it cannot even be parsed.
  const char* public_key = "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34";
  auto parsed = PublicKey::from_hex(public_key);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);

  PublicKey unchecked;
  auto bytes = from_hex(public_key);
  ASSERT_TRUE(bytes.is_ok());
  std::copy(bytes->begin(), bytes->end(), unchecked.bytes.begin());
  EXPECT_FALSE(verify(
      unchecked, hash_from_hex("243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89"),
      signature_from_hex("6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
                         "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B")));
}

// ---------------------------------------------------------------------------------------------
// Parsing keys.

TEST(PublicKeyTest, HexRoundTrip) {
  SecretKey key = SecretKey::generate();
  auto parsed = PublicKey::from_hex(key.public_key().hex());
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, key.public_key());
}

TEST(PublicKeyTest, FromHexRejectsBadInput) {
  const std::string valid = SecretKey::generate().public_key().hex();
  const std::string x_is_five = std::string(63, '0') + "5";  // not on the curve
  const std::string x_above_p = std::string(64, 'f');        // not a field element
  for (const std::string& text :
       {std::string(""), valid.substr(0, 62), valid + "00", valid.substr(0, 63) + "g",
        "zz" + valid.substr(2), x_is_five, x_above_p, std::string(64, '0')}) {
    auto parsed = PublicKey::from_hex(text);
    ASSERT_FALSE(parsed.is_ok()) << "accepted " << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(PublicKeyTest, FromBytesRejectsBadLengthAndOffCurve) {
  EXPECT_FALSE(PublicKey::from_bytes(Bytes(31, 0x01)).is_ok());
  EXPECT_FALSE(PublicKey::from_bytes(Bytes(33, 0x01)).is_ok());
  Bytes x_is_one(32, 0x00);
  x_is_one[31] = 1;  // on the curve
  EXPECT_TRUE(PublicKey::from_bytes(x_is_one).is_ok());
  Bytes x_is_five = x_is_one;
  x_is_five[31] = 5;
  auto parsed = PublicKey::from_bytes(x_is_five);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_TRUE(contains(parsed.status().message(), "not a point")) << parsed.status().message();
}

TEST(SecretKeyTest, RejectsZeroAndValuesNotBelowTheGroupOrder) {
  const std::string order = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
  const std::string order_minus_one =
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140";
  EXPECT_TRUE(SecretKey::from_hex(order_minus_one).is_ok());
  for (const std::string& text : {std::string(64, '0'), order, std::string(64, 'f')}) {
    auto key = SecretKey::from_hex(text);
    ASSERT_FALSE(key.is_ok()) << text;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(SecretKey::from_hex("abcd").is_ok());
  EXPECT_FALSE(SecretKey::from_hex(std::string(63, '1') + "x").is_ok());
  EXPECT_FALSE(SecretKey::from_bytes(Bytes(31, 0x01)).is_ok());
}

TEST(SecretKeyTest, HexRoundTrip) {
  SecretKey key = SecretKey::generate();
  auto parsed = SecretKey::from_hex(key.hex());
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->hex(), key.hex());
  EXPECT_EQ(parsed->public_key(), key.public_key());
}

// ---------------------------------------------------------------------------------------------
// Key files.

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ballast-keys-test-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::string path(const std::string& name) const { return (directory_ / name).string(); }

  static void write_text(const std::string& file, const std::string& text, mode_t mode) {
    {
      std::ofstream out(file);
      out << text;
    }
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
  }

  static mode_t mode_of(const std::string& file) {
    struct stat info {};
    EXPECT_EQ(::stat(file.c_str(), &info), 0);
    return info.st_mode & 07777;
  }

  std::filesystem::path directory_;
};

TEST_F(KeyFileTest, WriteThenReadRoundTrips) {
  SecretKey key = SecretKey::generate();
  ASSERT_TRUE(write_key_file(path("validator.key"), key).is_ok());
  auto read = read_key_file(path("validator.key"));
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(read->hex(), key.hex());
  EXPECT_EQ(read->public_key(), key.public_key());
}

TEST_F(KeyFileTest, WrittenFileIsOwnerOnly) {
  ASSERT_TRUE(write_key_file(path("validator.key"), SecretKey::generate()).is_ok());
  EXPECT_EQ(mode_of(path("validator.key")), 0600u);
}

TEST_F(KeyFileTest, RefusesToOverwrite) {
  SecretKey first = SecretKey::generate();
  ASSERT_TRUE(write_key_file(path("validator.key"), first).is_ok());
  Status status = write_key_file(path("validator.key"), SecretKey::generate());
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(status.message(), path("validator.key"))) << status.message();
  auto read = read_key_file(path("validator.key"));
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->hex(), first.hex());
}

TEST_F(KeyFileTest, GroupOrWorldReadableFileIsPermissionDenied) {
  SecretKey key = SecretKey::generate();
  write_text(path("loose.key"), key.hex() + "\n", 0644);
  auto read = read_key_file(path("loose.key"));
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(contains(read.status().message(), "mode 0644")) << read.status().message();
  EXPECT_TRUE(contains(read.status().message(), "chmod 600")) << read.status().message();
  EXPECT_TRUE(contains(read.status().message(), path("loose.key"))) << read.status().message();

  write_text(path("group.key"), key.hex() + "\n", 0640);
  EXPECT_EQ(read_key_file(path("group.key")).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(KeyFileTest, MalformedContentIsInvalidArgument) {
  const std::string valid = SecretKey::generate().hex();
  const std::string contents[] = {"",
                                  "hello\n",
                                  valid.substr(0, 62) + "\n",
                                  valid + valid + "\n",
                                  std::string(64, '0') + "\n",
                                  "0x" + valid.substr(2) + "\n"};
  int index = 0;
  for (const std::string& content : contents) {
    std::string file = path("bad" + std::to_string(index++) + ".key");
    write_text(file, content, 0600);
    auto read = read_key_file(file);
    ASSERT_FALSE(read.is_ok()) << "accepted " << content;
    EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument) << content;
    EXPECT_TRUE(contains(read.status().message(), "malformed")) << read.status().message();
  }
}

TEST_F(KeyFileTest, HandWrittenFileWithoutNewlineIsAccepted) {
  SecretKey key = SecretKey::generate();
  write_text(path("hand.key"), key.hex(), 0400);
  auto read = read_key_file(path("hand.key"));
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(read->public_key(), key.public_key());
}

TEST_F(KeyFileTest, MissingFileIsIoError) {
  auto read = read_key_file(path("absent.key"));
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(read.status().message(), path("absent.key"))) << read.status().message();
}

TEST_F(KeyFileTest, WriteIntoMissingDirectoryIsIoError) {
  Status status = write_key_file(path("no/such/dir/validator.key"), SecretKey::generate());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace ballast
