#include "base/bytes.h"

#include <gtest/gtest.h>

namespace ballast {
namespace {

TEST(HexTest, EncodesLowerCase) {
  Bytes bytes = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(to_hex(bytes), "00017f80abff");
}

TEST(HexTest, EmptyRoundTrips) {
  EXPECT_EQ(to_hex(Bytes{}), "");
  auto decoded = from_hex("");
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(HexTest, EveryByteValueRoundTrips) {
  Bytes all;
  for (int value = 0; value < 256; ++value) all.push_back(static_cast<std::uint8_t>(value));
  std::string text = to_hex(all);
  EXPECT_EQ(text.size(), 512u);
  auto decoded = from_hex(text);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, all);
}

TEST(HexTest, AcceptsUpperAndMixedCase) {
  auto decoded = from_hex("ABcdEF");
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(*decoded, (Bytes{0xab, 0xcd, 0xef}));
}

TEST(HexTest, RejectsOddLength) {
  auto decoded = from_hex("abc");
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("odd"), std::string::npos);
}

TEST(HexTest, RejectsNonHexCharacters) {
  const std::string_view texts[] = {"0g", "g0", "  ", "0x12", "12-4", "zz", {"\0\0", 2}};
  for (std::string_view text : texts) {
    auto decoded = from_hex(text);
    ASSERT_FALSE(decoded.is_ok()) << "accepted " << text;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(AsBytesTest, ViewsTheCharacters) {
  ByteView view = as_bytes("AZ");
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0], 0x41);
  EXPECT_EQ(view[1], 0x5a);
}

}  // namespace
}  // namespace ballast
