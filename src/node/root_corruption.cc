#include "node/root_corruption.h"

namespace ballast::node {

Hash256 RootCorruptingApplication::execute(const consensus::Block& block) {
  return corrupted(block.height, inner_.execute(block));
}

std::optional<Hash256> RootCorruptingApplication::root_at(consensus::Height height) const {
  std::optional<Hash256> root = inner_.root_at(height);
  if (!root) return root;
  return corrupted(height, *root);
}

Hash256 RootCorruptingApplication::corrupted(consensus::Height height, const Hash256& root) const {
  if (height < from_height_) return root;
  Hash256 wrong = root;
  wrong.bytes[0] ^= 0xff;
  return wrong;
}

}  // namespace ballast::node
