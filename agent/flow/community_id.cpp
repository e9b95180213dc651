#include "agent/flow/community_id.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "agent/flow/sha1_block.h"

namespace vigil::agent::flow {
namespace {

bool PairedIcmp4(uint8_t type, uint8_t* counterpart) {
  switch (type) {
    case 8:
      *counterpart = 0;
      return true;  // echo request / reply
    case 0:
      *counterpart = 8;
      return true;
    case 13:
      *counterpart = 14;
      return true;  // timestamp
    case 14:
      *counterpart = 13;
      return true;
    case 15:
      *counterpart = 16;
      return true;  // information
    case 16:
      *counterpart = 15;
      return true;
    case 10:
      *counterpart = 9;
      return true;  // router solicitation / advertisement
    case 9:
      *counterpart = 10;
      return true;
    case 17:
      *counterpart = 18;
      return true;  // address mask
    case 18:
      *counterpart = 17;
      return true;
    default:
      return false;
  }
}

bool PairedIcmp6(uint8_t type, uint8_t* counterpart) {
  switch (type) {
    case 128:
      *counterpart = 129;
      return true;  // echo
    case 129:
      *counterpart = 128;
      return true;
    case 133:
      *counterpart = 134;
      return true;  // router solicitation / advertisement
    case 134:
      *counterpart = 133;
      return true;
    case 135:
      *counterpart = 136;
      return true;  // neighbor solicitation / advertisement
    case 136:
      *counterpart = 135;
      return true;
    case 130:
      *counterpart = 131;
      return true;  // MLD query / report
    case 131:
      *counterpart = 130;
      return true;
    case 139:
      *counterpart = 140;
      return true;  // node information query / reply
    case 140:
      *counterpart = 139;
      return true;
    case 144:
      *counterpart = 145;
      return true;  // home agent address discovery
    case 145:
      *counterpart = 144;
      return true;
    default:
      return false;
  }
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

IcmpPorts MapIcmp(uint8_t proto, uint8_t type, uint8_t code) {
  IcmpPorts p;
  p.src = type;
  uint8_t counterpart = 0;
  const bool paired =
      proto == 58 ? PairedIcmp6(type, &counterpart) : PairedIcmp4(type, &counterpart);
  if (paired) {
    p.dst = counterpart;
  } else {
    p.dst = code;
    p.one_way = true;
  }
  return p;
}

bool CommunityIdUsesPorts(uint8_t proto) {
  return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}

namespace {

void Digest(const CommunityIdTuple& t, uint16_t seed, uint8_t digest[20]) {
  std::span<const uint8_t> a = t.saddr, b = t.daddr;
  uint16_t pa = t.sport, pb = t.dport;
  if (!t.one_way) {
    const int cmp = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    const bool ordered = cmp < 0 || (cmp == 0 && (!t.has_ports || pa <= pb));
    if (!ordered) {
      std::swap(a, b);
      std::swap(pa, pb);
    }
  }
  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  buf[n++] = static_cast<uint8_t>(seed >> 8);
  buf[n++] = static_cast<uint8_t>(seed);
  std::memcpy(buf + n, a.data(), a.size());
  n += a.size();
  std::memcpy(buf + n, b.data(), b.size());
  n += b.size();
  buf[n++] = t.proto;
  buf[n++] = 0;
  if (t.has_ports) {
    buf[n++] = static_cast<uint8_t>(pa >> 8);
    buf[n++] = static_cast<uint8_t>(pa);
    buf[n++] = static_cast<uint8_t>(pb >> 8);
    buf[n++] = static_cast<uint8_t>(pb);
  }
  Sha1Short(std::span<const uint8_t>(buf, n), digest);
}

// Base64 of the 20-byte digest (28 characters, one '=' of padding).
void Base64(const uint8_t digest[20], char* out) {
  size_t o = 0;
  for (size_t i = 0; i < 20; i += 3) {
    const uint32_t chunk = (static_cast<uint32_t>(digest[i]) << 16) |
                           (i + 1 < 20 ? static_cast<uint32_t>(digest[i + 1]) << 8 : 0) |
                           (i + 2 < 20 ? digest[i + 2] : 0);
    out[o++] = kBase64[(chunk >> 18) & 0x3F];
    out[o++] = kBase64[(chunk >> 12) & 0x3F];
    out[o++] = i + 1 < 20 ? kBase64[(chunk >> 6) & 0x3F] : '=';
    out[o++] = i + 2 < 20 ? kBase64[chunk & 0x3F] : '=';
  }
}

}  // namespace

void CommunityIdTo(char* out, const CommunityIdTuple& t, uint16_t seed) {
  uint8_t digest[20];
  Digest(t, seed, digest);
  out[0] = '1';
  out[1] = ':';
  Base64(digest, out + 2);
}

std::string CommunityId(const CommunityIdTuple& t, uint16_t seed, bool base64) {
  if (base64) {
    std::string out(kCommunityIdLength, '\0');
    CommunityIdTo(out.data(), t, seed);
    return out;
  }
  uint8_t digest[20];
  Digest(t, seed, digest);
  std::string out = "1:";
  {
    static constexpr char kHex[] = "0123456789abcdef";
    for (uint8_t byte : digest) {
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

}  // namespace vigil::agent::flow
