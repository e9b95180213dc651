#include "agent/flow/flow_table.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <type_traits>

#include "agent/analyzers/record_time.h"
#include "agent/flow/address_space.h"
#include "agent/flow/community_id.h"
#include "agent/flow/history.h"
#include "agent/flow/server_ports.h"
#include "agent/flow/tunnel_table.h"
#include "agent/flow/uid.h"

namespace vigil::agent::flow {
namespace {

using decode::kProtoIcmp;
using decode::kProtoIcmpv6;
using decode::kProtoSctp;
using decode::kProtoTcp;
using decode::kProtoUdp;

static_assert(std::is_trivially_destructible_v<Flow>,
              "flow slots are reused by constructing in place, never destroyed");

constexpr size_t kMaxTunnels = 65536;
constexpr int64_t kTunnelIdleNs = 24LL * 3600 * 1'000'000'000;  // Zeek Tunnel::ip_tunnel_timeout
constexpr size_t kMaxTunnelParents = 4;
constexpr size_t kMaxAnalyzerAnomalyNames = 256;
constexpr uint32_t kUdpHistOrigData = 0x1;  // Zeek's UDP history masks
constexpr uint32_t kUdpHistRespData = 0x2;

size_t NextPow2(size_t n) {
  size_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

bool IsIcmp(const FlowKey& key) { return key.proto == kProtoIcmp || key.proto == kProtoIcmpv6; }

vigil::v1::Transport TransportOf(uint8_t proto) {
  switch (proto) {
    case kProtoTcp:
      return vigil::v1::TRANSPORT_TCP;
    case kProtoUdp:
      return vigil::v1::TRANSPORT_UDP;
    case kProtoIcmp:
    case kProtoIcmpv6:
      return vigil::v1::TRANSPORT_ICMP;
    default:
      return vigil::v1::TRANSPORT_OTHER;
  }
}

void SetAddr(std::string* out, const decode::IpAddr& a, bool ipv6) {
  if (ipv6) {
    out->assign(reinterpret_cast<const char*>(a.bytes.data()), 16);
  } else {
    out->assign(reinterpret_cast<const char*>(a.bytes.data() + 12), 4);
  }
}

std::span<const uint8_t> AddrSpan(const decode::IpAddr& a, bool ipv6) {
  return ipv6 ? std::span<const uint8_t>(a.bytes.data(), 16)
              : std::span<const uint8_t>(a.bytes.data() + 12, 4);
}

}  // namespace

std::string_view EndCauseName(EndCause cause) {
  switch (cause) {
    case EndCause::kClosed:
      return "closed";
    case EndCause::kIdleTimeout:
      return "idle_timeout";
    case EndCause::kEvicted:
      return "evicted";
    case EndCause::kShutdown:
      return "shutdown";
    default:
      return "unknown";
  }
}

std::string_view EvictionReasonName(TimerClass cls) {
  switch (cls) {
    case TimerClass::kAttempt:
      return "attempt";
    case TimerClass::kClosing:
      return "closing";
    case TimerClass::kHandshake:
      return "handshake";
    case TimerClass::kOther:
      return "other";
    case TimerClass::kIcmp:
      return "icmp";
    case TimerClass::kUdp:
      return "udp";
    case TimerClass::kTcpIdle:
      return "tcp";
    default:
      return "unknown";
  }
}

void FlowAnalyzerContext::EmitRecord(vigil::v1::Event&& event) {
  table_->EmitFromAnalyzer(index_, std::move(event));
}

void FlowAnalyzerContext::Anomaly(std::string_view name) { table_->AnalyzerAnomaly(name); }

void FlowAnalyzerContext::AddService(std::string_view service) {
  table_->AddService(table_->At(index_), service);
}

void FlowAnalyzerContext::FlipRoles() { table_->FlipRoles(table_->At(index_)); }

// ---- recycled flow extensions --------------------------------------------

namespace {

// Extensions kept for reuse per thread; beyond it they are freed.
constexpr size_t kMaxRecycledExts = 4096;
// Capacities a recycled extension may keep (larger ones are released).
constexpr size_t kKeptOooBlocks = 16;
constexpr size_t kKeptHistory = 64;

struct ExtRecycler {
  std::vector<FlowExt*> free;
  bool closed = false;  // the thread is exiting
  ~ExtRecycler() {
    closed = true;
    for (FlowExt* e : free) delete e;
  }
};

ExtRecycler& Recycler() {
  thread_local ExtRecycler r;
  return r;
}

}  // namespace

FlowExt* FlowExt::Acquire() {
  ExtRecycler& r = Recycler();
  if (r.free.empty() || r.closed) return new FlowExt();
  FlowExt* e = r.free.back();
  r.free.pop_back();
  return e;
}

void FlowExt::Release(FlowExt* ext) {
  if (ext == nullptr) return;
  ExtRecycler& r = Recycler();
  if (r.closed || r.free.size() >= kMaxRecycledExts) {
    delete ext;
    return;
  }
  ext->Reset();
  if (r.free.capacity() == 0) r.free.reserve(kMaxRecycledExts);
  r.free.push_back(ext);
}

void FlowExt::Reset() {
  for (uint8_t i = 0; i < analyzer_count; ++i) analyzers[i].reset();
  analyzer_count = 0;
  ooo_bytes = 0;
  for (auto& blocks : ooo) {
    blocks.clear();
    if (blocks.capacity() > kKeptOooBlocks) blocks = {};
  }
  std::memset(scaled, 0, sizeof(scaled));
  missed_bytes = 0;
  history_more.clear();
  if (history_more.capacity() > kKeptHistory) history_more = {};
  tunnel_parents.clear();
  last_parent_id = 0;
  services.clear();
  context.Bind(nullptr, kNil);
  has_interim = false;
  reported = Counters{};
}

FlowTable::FlowTable(const FlowTableOptions& options, exporter::RecordSink& sink,
                     AnalyzerFactory analyzers)
    : options_(options),
      sink_(sink),
      analyzer_factory_(std::move(analyzers)),
      tcp_(*this, options.tcp),
      tunnels_(std::make_unique<TunnelTable>(options.seed, kMaxTunnels, kTunnelIdleNs)) {
  options_.max_flows = std::max<uint32_t>(options_.max_flows, 1);
  index_size_ = NextPow2(static_cast<size_t>(options_.max_flows) * 2);
  index_memory_ = TableMemory(index_size_ * sizeof(uint32_t));
  index_ = static_cast<uint32_t*>(index_memory_.data());
  std::fill_n(index_, index_size_, kNil);
  index_mask_ = index_size_ - 1;
}

FlowTable::~FlowTable() {
  // Records are only written by FlushAll(); here we just free what is left.
  for (uint32_t i = 0; i < allocated_; ++i) {
    Flow& f = At(i);
    FlowExt::Release(f.ext);
    f.ext = nullptr;
  }
}

size_t FlowTable::BytesPerFlowSlot() const {
  return sizeof(Flow) + index_size_ * sizeof(uint32_t) / options_.max_flows;
}

size_t FlowTable::MappedBytesInUse() const {
  size_t bytes = index_memory_.size();
  if (allocated_ == 0) return bytes;
  const size_t full = (allocated_ - 1) >> kChunkBits;  // chunks before the last
  for (size_t c = 0; c < full; ++c) bytes += chunk_memory_[c].size();
  const size_t used = sizeof(Flow) * (((allocated_ - 1) & (kChunkSize - 1)) + 1);
  const size_t page = chunk_memory_[full].page();
  bytes += std::min(chunk_memory_[full].size(), (used + page - 1) / page * page);
  return bytes;
}

size_t FlowTable::UidTo(const Flow& flow, char* out) const {
  return FlowUidTo(out, options_.seed, flow.key, flow.start_ns);
}

// ---- index ---------------------------------------------------------------

uint32_t FlowTable::Find(const FlowKey& key, uint64_t hash) const {
  for (uint64_t s = hash & index_mask_;; s = (s + 1) & index_mask_) {
    const uint32_t i = index_[s];
    if (i == kNil) return kNil;
    if (At(i).key == key) return i;
  }
}

void FlowTable::IndexInsert(uint32_t index, uint64_t hash) {
  uint64_t s = hash & index_mask_;
  while (index_[s] != kNil) s = (s + 1) & index_mask_;
  index_[s] = index;
}

void FlowTable::IndexErase(uint32_t index) {
  uint64_t s = HashKey(At(index).key, options_.seed) & index_mask_;
  while (index_[s] != index) s = (s + 1) & index_mask_;
  // Backward-shift deletion keeps probe sequences intact without tombstones.
  uint64_t hole = s;
  for (uint64_t j = (hole + 1) & index_mask_; index_[j] != kNil; j = (j + 1) & index_mask_) {
    const uint64_t home = HashKey(At(index_[j]).key, options_.seed) & index_mask_;
    const bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!between) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = kNil;
}

// ---- timer classes -------------------------------------------------------

void FlowTable::Link(uint32_t index, TimerClass cls) {
  Flow& f = At(index);
  ClassList& list = classes_[static_cast<size_t>(cls)];
  f.timer_class = static_cast<uint8_t>(cls);
  f.prev = list.tail;
  f.next = kNil;
  if (list.tail != kNil) At(list.tail).next = index;
  list.tail = index;
  if (list.head == kNil) list.head = index;
  next_deadline_ = std::min(next_deadline_, Deadline(f));
}

void FlowTable::Unlink(uint32_t index) {
  Flow& f = At(index);
  if (f.timer_class >= kTimerClassCount) return;
  ClassList& list = classes_[f.timer_class];
  if (f.prev != kNil) At(f.prev).next = f.next;
  if (f.next != kNil) At(f.next).prev = f.prev;
  if (list.head == index) list.head = f.next;
  if (list.tail == index) list.tail = f.prev;
  f.prev = f.next = kNil;
  f.timer_class = static_cast<uint8_t>(TimerClass::kCount);
}

TimerClass FlowTable::ClassOf(const Flow& f) const {
  switch (f.key.proto) {
    case kProtoTcp: {
      if (f.Has(flow_flags::kCloseComplete)) return TimerClass::kClosing;
      const TcpEndpoint& o = f.tcp[f.orig_side];
      const TcpEndpoint& r = f.tcp[f.orig_side ^ 1];
      if (f.Has(flow_flags::kAttemptTimer) &&
          (o.state == kTcpSynSent || o.state == kTcpSynAckSent) && r.state == kTcpInactive) {
        return TimerClass::kAttempt;
      }
      if (!f.Has(flow_flags::kLeftHandshake)) return TimerClass::kHandshake;
      return TimerClass::kTcpIdle;
    }
    case kProtoUdp:
      return TimerClass::kUdp;
    default:
      return IsIcmp(f.key) ? TimerClass::kIcmp : TimerClass::kOther;
  }
}

int64_t FlowTable::Deadline(const Flow& f) const {
  const FlowTimeouts& t = options_.timeouts;
  switch (static_cast<TimerClass>(f.timer_class)) {
    case TimerClass::kAttempt:
      return f.anchor_ns + t.tcp_handshake_ns;
    case TimerClass::kClosing:
      return f.anchor_ns + t.tcp_closed_ns;
    case TimerClass::kHandshake:
      return f.last_ns + t.tcp_handshake_ns;
    case TimerClass::kOther:
      return f.last_ns + t.other_idle_ns;
    case TimerClass::kIcmp:
      return f.last_ns + t.icmp_idle_ns;
    case TimerClass::kUdp:
      return f.last_ns + t.udp_idle_ns;
    case TimerClass::kTcpIdle:
      return f.last_ns + t.tcp_idle_ns;
    default:
      return INT64_MAX;
  }
}

void FlowTable::Touch(uint32_t index, int64_t previous_last_ns) {
  Flow& f = At(index);
  const TimerClass cls = ClassOf(f);
  const bool anchored = cls == TimerClass::kAttempt || cls == TimerClass::kClosing;
  if (static_cast<uint8_t>(cls) != f.timer_class) {
    Unlink(index);
    Link(index, cls);
  } else if (!anchored && f.last_ns != previous_last_ns &&
             classes_[static_cast<size_t>(cls)].tail != index) {
    // Moves to the tail (latest deadline). Already the tail, as for every
    // packet of a train after the first, it stays: its deadline only grew.
    Unlink(index);
    Link(index, cls);
  }
}

void FlowTable::Advance(int64_t now_ns) {
  if (now_ns > now_ns_) now_ns_ = now_ns;
  tunnels_->Expire(now_ns_);
  stats_.tunnels_active = tunnels_->size();
  // Called for every packet: one comparison unless some flow may be due.
  // next_deadline_ is a lower bound of every flow's deadline: Link() lowers
  // it, and a flow's deadline only moves later without a Link().
  if (now_ns_ < next_deadline_) return;
  int64_t next = INT64_MAX;
  for (size_t c = 0; c < kTimerClassCount; ++c) {
    while (classes_[c].head != kNil) {
      const uint32_t head = classes_[c].head;
      const int64_t deadline = Deadline(At(head));
      if (deadline > now_ns_) {
        next = std::min(next, deadline);
        break;
      }
      End(head, c == static_cast<size_t>(TimerClass::kClosing) ? EndCause::kClosed
                                                               : EndCause::kIdleTimeout);
      PrefetchExpiring(c);
    }
  }
  // Each class list is in deadline order, so `next` is the earliest of all
  // (End() links nothing).
  next_deadline_ = next;
}

// ---- lifecycle -----------------------------------------------------------

void FlowTable::EvictOne() {
  for (size_t c = 0; c < kTimerClassCount; ++c) {
    if (classes_[c].head != kNil) {
      ++stats_.evictions[c];
      End(classes_[c].head, EndCause::kEvicted);
      PrefetchExpiring(c);
      return;
    }
  }
}

uint32_t FlowTable::Create(const FlowKey& key, uint64_t hash, const decode::Layer& layer, int side,
                           int64_t ts_ns) {
  if (active_ >= options_.max_flows) EvictOne();
  uint32_t index;
  if (free_head_ != kNil) {
    index = free_head_;
    free_head_ = At(index).next;
  } else {
    if ((allocated_ & (kChunkSize - 1)) == 0) {
      const size_t slots = std::min<size_t>(kChunkSize, options_.max_flows);
      TableMemory& m = chunk_memory_.emplace_back(sizeof(Flow) * slots);
      Flow* chunk = static_cast<Flow*>(m.data());
      // Constructed on first use (Create() assigns a fresh Flow), so only
      // the pages flows reach become resident.
      chunks_.push_back(chunk);
    }
    index = allocated_++;
  }
  Flow& f = At(index);
  // Flow is trivially destructible: a slot is (re)started by constructing in place.
  new (&f) Flow();
  f.key = key;
  f.start_ns = f.last_ns = f.anchor_ns = ts_ns;
  f.orig_side = static_cast<uint8_t>(side);
  if (layer.ip_version == 6) f.Set(flow_flags::kIpv6);

  // Zeek's choice of originator for a connection's first packet.
  bool flip = false;
  if (key.proto == kProtoTcp) {
    const bool syn = layer.tcp_flags & decode::tcp_flags::kSyn;
    const bool ack = layer.tcp_flags & decode::tcp_flags::kAck;
    if (syn && ack) {
      flip = true;  // a SYN-ACK comes from the responder
    } else if (!syn && IsLikelyServerPort(kProtoTcp, layer.src_port)) {
      flip = !IsLikelyServerPort(kProtoTcp, layer.dst_port) || layer.src_port < layer.dst_port;
    }
  } else if (key.proto == kProtoUdp) {
    flip = IsLikelyServerPort(kProtoUdp, layer.src_port) &&
           !IsLikelyServerPort(kProtoUdp, layer.dst_port);
  }
  const bool to_broadcast = layer.dst.IsV4Mapped() && layer.dst.bytes[12] == 0xFF &&
                            layer.dst.bytes[13] == 0xFF && layer.dst.bytes[14] == 0xFF &&
                            layer.dst.bytes[15] == 0xFF;
  if (flip && !to_broadcast) {
    f.orig_side ^= 1;
    AddHistory(f, '^');
  }

  IndexInsert(index, hash);
  ++active_;
  ++stats_.flows_created;
  stats_.flows_active = active_;
  stats_.flows_active_peak = std::max<uint64_t>(stats_.flows_active_peak, active_);
  return index;
}

void FlowTable::End(uint32_t index, EndCause cause) {
  Flow& f = At(index);
  if (f.ext != nullptr && !f.Has(flow_flags::kAnalyzersDone)) {
    FlowExt& ext = *f.ext;
    for (uint8_t i = 0; i < ext.analyzer_count; ++i) {
      if (ext.analyzers[i] != nullptr) ext.analyzers[i]->OnFlowEnd(now_ns_);
    }
  }
  EmitConn(f, /*interim=*/false, cause);
  Unlink(index);
  IndexErase(index);
  FlowExt::Release(f.ext);
  f.ext = nullptr;
  // Free slots are chained through `next` (no allocation when flows end).
  f.next = free_head_;
  free_head_ = index;
  --active_;
  stats_.flows_active = active_;
  ++stats_.flows_ended[static_cast<size_t>(cause)];
}

void FlowTable::FlushAll(EndCause cause) {
  for (size_t c = 0; c < kTimerClassCount; ++c) {
    while (classes_[c].head != kNil) {
      End(classes_[c].head, cause);
      PrefetchExpiring(c);
    }
  }
}

// ---- packets -------------------------------------------------------------

void FlowTable::LookupFor(const decode::DecodedPacket& packet, const decode::Layer& layer,
                          FlowLookup* l) const {
  // Filled in place (the caller's lookup lives in a batch array): building
  // it in a temporary and copying it out stalls on store forwarding.
  l->valid = false;
  const uint8_t proto = layer.proto;
  uint16_t sport = 0, dport = 0;
  bool one_way = false;
  const bool icmp = (proto == kProtoIcmp && layer.ip_version == 4) ||
                    (proto == kProtoIcmpv6 && layer.ip_version == 6);
  if (proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp || icmp) {
    if (!layer.transport_ok) return;  // truncated or malformed transport header
    if (icmp) {
      const IcmpPorts m = MapIcmp(proto, layer.icmp_type, layer.icmp_code);
      sport = m.src;
      dport = m.dst;
      one_way = m.one_way;
    } else {
      sport = layer.src_port;
      dport = layer.dst_port;
    }
  } else if (proto == 59 && layer.ip_version == 6) {
    return;  // IPv6 "no next header": nothing to track
  }
  const uint16_t vlan0 = packet.vlan_count > 0 ? packet.vlans[0] : 0;
  const uint16_t vlan1 = packet.vlan_count > 1 ? packet.vlans[1] : 0;
  l->vlan[0] = vlan0;
  l->vlan[1] = vlan1;
  bool src_first = true;
  // Zeek's default connection key is the 5-tuple; VLANs are an opt-in.
  const bool vlan_key = options_.include_vlan_in_key;
  MakeKey(&l->key, layer.src, sport, layer.dst, dport, proto, one_way, vlan_key ? vlan0 : 0,
          vlan_key ? vlan1 : 0, &src_first, options_.seed, &l->hash);
  l->side = src_first ? 0 : 1;
  l->layer = &layer;
  l->valid = true;
}

void FlowTable::Prepare(const decode::DecodedPacket& packet, FlowLookup* lookup) const {
  if (packet.layer_count == 0) {
    lookup->valid = false;
    return;
  }
  LookupFor(packet, packet.Innermost(), lookup);
  if (lookup->valid) __builtin_prefetch(&index_[lookup->hash & index_mask_]);
}

void FlowTable::PrefetchFlow(const FlowLookup& lookup) const {
  if (!lookup.valid) return;
  // Only the home slot: a hint, the real lookup happens in Process().
  PrefetchSlot(index_[lookup.hash & index_mask_]);
}

void FlowTable::PrefetchSlot(uint32_t index) const {
  if (index == kNil) return;
  const auto* p = reinterpret_cast<const char*>(&At(index));
  for (size_t off = 0; off < sizeof(Flow) + 63; off += 64) __builtin_prefetch(p + off, 1);
}

void FlowTable::PrefetchExpiring(size_t cls) const {
  // Flows end in class-list order, and an ending flow is cold: its slot, its
  // extension, its analyzers and its index slot are each a cache miss, and
  // each address is only known once the previous object has arrived. So the
  // fetches are staged one End() apart along the list, each stage reading a
  // pointer the previous stage brought in: the head's analyzers now, the
  // next flow's extension and index slot, the flow after that. By the time
  // a flow ends (usually many packets later) everything it touches is in
  // cache. The list may change meanwhile; prefetches are only hints.
  const uint32_t head = classes_[cls].head;
  if (head == kNil) return;
  const Flow& f0 = At(head);
  if (f0.ext != nullptr && !f0.Has(flow_flags::kAnalyzersDone)) {
    for (uint8_t i = 0; i < f0.ext->analyzer_count; ++i) {
      const auto* a = reinterpret_cast<const char*>(f0.ext->analyzers[i].get());
      if (a != nullptr) {
        __builtin_prefetch(a, 1);
        __builtin_prefetch(a + 64, 1);
      }
    }
  }
  const uint32_t n1 = f0.next;
  if (n1 == kNil) return;
  const Flow& f1 = At(n1);
  if (f1.ext != nullptr) {
    const auto* e = reinterpret_cast<const char*>(f1.ext);
    for (size_t off = 0; off < sizeof(FlowExt) + 63; off += 64) __builtin_prefetch(e + off, 1);
  }
  __builtin_prefetch(&index_[HashKey(f1.key, options_.seed) & index_mask_], 1);
  PrefetchSlot(f1.next);
}

void FlowTable::Process(const decode::DecodedPacket& packet, const FlowLookup* innermost) {
  Advance(packet.ts_ns);
  TunnelParent parent;
  bool has_parent = false;
  for (int i = 0; i < packet.layer_count; ++i) {
    const decode::Layer& layer = packet.layers[i];
    if (i + 1 == packet.layer_count) {
      if (innermost != nullptr && innermost->valid && innermost->layer == &layer) {
        ProcessLayer(packet, *innermost, has_parent ? &parent : nullptr);
      } else {
        FlowLookup l;
        LookupFor(packet, layer, &l);
        ProcessLayer(packet, l, has_parent ? &parent : nullptr);
      }
      break;
    }
    // An outer layer: a UDP tunnel is a flow of its own and the parent of
    // what it carries; an IP-level tunnel is only named.
    if (layer.proto == kProtoUdp && layer.transport_ok) {
      FlowLookup outer_lookup;
      LookupFor(packet, layer, &outer_lookup);
      const uint32_t outer = ProcessLayer(packet, outer_lookup, has_parent ? &parent : nullptr);
      if (outer == kNil) return;
      const Flow& f = At(outer);
      parent.key = f.key;
      parent.start_ns = f.start_ns;
      parent.id = HashKey(f.key, options_.seed) ^ static_cast<uint64_t>(f.start_ns);
      parent.uid = nullptr;
    } else {
      // Stable until the tunnel expires, which only happens in Advance().
      parent.uid = &tunnels_->Uid(layer.src, layer.dst, packet.layers[i + 1].tunnel, packet.ts_ns);
      parent.id = reinterpret_cast<uintptr_t>(parent.uid);
    }
    has_parent = true;
  }
}

uint32_t FlowTable::ProcessLayer(const decode::DecodedPacket& packet, const FlowLookup& lookup,
                                 const TunnelParent* parent) {
  ++stats_.packets;
  if (!lookup.valid) {
    ++stats_.packets_without_flow;  // no usable transport header (counted by the decoder too)
    return kNil;
  }
  const decode::Layer& layer = *lookup.layer;
  const uint8_t proto = layer.proto;
  const bool icmp = (proto == kProtoIcmp && layer.ip_version == 4) ||
                    (proto == kProtoIcmpv6 && layer.ip_version == 6);
  const FlowKey& key = lookup.key;
  const uint64_t hash = lookup.hash;
  const int side = lookup.side;
  const int64_t ts = packet.ts_ns;

  uint32_t index = Find(key, hash);
  if (index != kNil && proto == kProtoTcp && TcpTracker::IsReuse(At(index), layer)) {
    End(index, EndCause::kClosed);
    ++stats_.flows_reused;
    index = kNil;
  }
  if (index == kNil) {
    index = Create(key, hash, layer, side, ts);
    At(index).vlan[0] = lookup.vlan[0];
    At(index).vlan[1] = lookup.vlan[1];
  }
  Flow& f = At(index);

  if (parent != nullptr && f.Ext().last_parent_id != parent->id) {
    // Only when the tunnel changes: no uid is formatted per tunnelled packet.
    FlowExt& ext = f.Ext();
    ext.last_parent_id = parent->id;
    std::string uid;
    if (parent->uid != nullptr) {
      uid = *parent->uid;
    } else {
      char buf[kMaxUidLength];
      uid.assign(buf, FlowUidTo(buf, options_.seed, parent->key, parent->start_ns));
    }
    if (std::find(ext.tunnel_parents.begin(), ext.tunnel_parents.end(), uid) ==
            ext.tunnel_parents.end() &&
        ext.tunnel_parents.size() < kMaxTunnelParents) {
      ext.tunnel_parents.push_back(uid);
    }
  }

  const int64_t previous_last = f.last_ns;
  bool counted = true;
  if (proto == kProtoTcp) {
    counted = tcp_.Process(f, index, side, layer, ts);
  } else if (proto == kProtoUdp) {
    ProcessUdp(f, index, side, layer, ts);  // Zeek counts UDP packets even with a bad checksum
  } else if (icmp) {
    if (layer.l4_checksum == decode::ChecksumState::kBad) {
      counted = false;
    } else {
      ProcessIcmp(f, side, layer, ts);
    }
  } else {
    f.last_ns = ts;
    f.dgram.bytes[side] += layer.payload_len;
    f.Set(side == 0 ? flow_flags::kActive0 : flow_flags::kActive1);
  }
  if (counted) {
    ++f.pkts[side];
    f.ip_bytes[side] += layer.ip_total_len;
  } else {
    ++stats_.packets_bad_checksum;
  }
  Touch(index, previous_last);
  CheckInterim(f, ts);
  return index;
}

void FlowTable::ProcessUdp(Flow& f, uint32_t index, int side, const decode::Layer& layer,
                           int64_t ts) {
  const bool is_orig = side == f.orig_side;
  if (layer.l4_checksum == decode::ChecksumState::kBad) {
    ScaledHistory(f, side, kScaledChecksum, is_orig ? 'C' : 'c');
    return;
  }
  f.last_ns = ts;
  CheckHistory(f, is_orig ? kUdpHistOrigData : kUdpHistRespData, is_orig ? 'D' : 'd');
  f.dgram.bytes[side] += layer.udp_length >= 8 ? layer.udp_length - 8u : 0u;
  f.Set(side == 0 ? flow_flags::kActive0 : flow_flags::kActive1);
  if (!layer.payload.empty() && !f.Has(flow_flags::kAnalyzersDone)) {
    EnsureAnalyzers(f, index, side, layer.payload);
    Feed(f, side, layer.payload, ts);
  }
}

void FlowTable::ProcessIcmp(Flow& f, int side, const decode::Layer& layer, int64_t ts) {
  f.last_ns = ts;
  f.dgram.bytes[side] += layer.payload_len;
  f.Set(side == 0 ? flow_flags::kActive0 : flow_flags::kActive1);
}

// ---- records -------------------------------------------------------------

void FlowTable::CountersOf(const Flow& f, Counters* c) const {
  for (int role = 0; role < 2; ++role) {
    const int side = role == 0 ? f.orig_side : f.orig_side ^ 1;
    c->bytes[role] = f.key.proto == kProtoTcp ? TcpTracker::Size(f, side) : f.dgram.bytes[side];
    c->pkts[role] = f.pkts[side];
    c->ip_bytes[role] = f.ip_bytes[side];
  }
  c->missed = f.ext != nullptr ? f.ext->missed_bytes : 0;
}

void FlowTable::FillHeader(const Flow& f, vigil::v1::Event& event) const {
  const bool ipv6 = f.Has(flow_flags::kIpv6);
  const int o = f.orig_side, r = f.orig_side ^ 1;
  // assign() into the existing strings: a reused event keeps their buffers.
  char uid[kMaxUidLength];
  event.mutable_uid()->assign(uid, UidTo(f, uid));
  if (!event.has_ts()) analyzers::SetTimestamp(event.mutable_ts(), f.start_ns);
  vigil::v1::FlowKey* id = event.mutable_id();
  SetAddr(id->mutable_orig_addr(), f.key.addr[o], ipv6);
  SetAddr(id->mutable_resp_addr(), f.key.addr[r], ipv6);
  id->set_orig_port(f.key.port[o]);
  id->set_resp_port(f.key.port[r]);
  id->set_transport(TransportOf(f.key.proto));
  id->set_ip_proto(f.key.proto);
}

void FlowTable::EmitConn(Flow& f, bool interim, EndCause cause) {
  // One event is reused for every conn record: each field below is written
  // on every call (no Clear(): it would free the sub-messages), and the
  // optional sub-messages are parked in spare_* rather than freed. A sink
  // that moves the event away leaves an empty one, which is rebuilt.
  vigil::v1::Event& event = conn_event_;
  analyzers::SetTimestamp(event.mutable_ts(), f.start_ns);
  FillHeader(f, event);
  vigil::v1::FlowRecord* rec = event.mutable_flow();
  const int o = f.orig_side, r = f.orig_side ^ 1;
  const bool ipv6 = f.Has(flow_flags::kIpv6);

  auto* services = rec->mutable_services();
  auto* parents = rec->mutable_tunnel_parents();
  services->Clear();  // RepeatedPtrField::Clear keeps the strings for reuse
  parents->Clear();
  if (f.ext != nullptr) {
    for (const std::string& name : f.ext->services) services->Add()->assign(name);
    for (const std::string& p : f.ext->tunnel_parents) parents->Add()->assign(p);
  }
  if (f.last_ns > f.start_ns) {
    if (!rec->has_duration() && spare_duration_)
      rec->set_allocated_duration(spare_duration_.release());
    analyzers::SetDuration(rec->mutable_duration(), f.last_ns - f.start_ns);
  } else if (rec->has_duration()) {
    spare_duration_.reset(rec->release_duration());
  }

  Counters c;
  CountersOf(f, &c);
  vigil::v1::FlowCounters* totals = rec->mutable_totals();
  totals->set_orig_bytes(c.bytes[0]);
  totals->set_resp_bytes(c.bytes[1]);
  totals->set_orig_pkts(c.pkts[0]);
  totals->set_orig_ip_bytes(c.ip_bytes[0]);
  totals->set_resp_pkts(c.pkts[1]);
  totals->set_resp_ip_bytes(c.ip_bytes[1]);
  totals->set_missed_bytes(c.missed);

  if (interim || (f.ext != nullptr && f.ext->has_interim)) {
    const Counters& prev = f.Ext().reported;
    if (!rec->has_delta() && spare_delta_) rec->set_allocated_delta(spare_delta_.release());
    vigil::v1::FlowCounters* delta = rec->mutable_delta();
    delta->set_orig_bytes(c.bytes[0] - std::min(c.bytes[0], prev.bytes[0]));
    delta->set_resp_bytes(c.bytes[1] - std::min(c.bytes[1], prev.bytes[1]));
    delta->set_orig_pkts(c.pkts[0] - prev.pkts[0]);
    delta->set_orig_ip_bytes(c.ip_bytes[0] - prev.ip_bytes[0]);
    delta->set_resp_pkts(c.pkts[1] - prev.pkts[1]);
    delta->set_resp_ip_bytes(c.ip_bytes[1] - prev.ip_bytes[1]);
    delta->set_missed_bytes(c.missed - std::min(c.missed, prev.missed));
    if (interim) {
      f.ext->reported = c;
      f.ext->has_interim = true;
    }
  } else if (rec->has_delta()) {
    spare_delta_.reset(rec->release_delta());
  }

  if (f.key.proto == kProtoTcp) {
    rec->set_conn_state(TcpTracker::ConnState(f));
  } else if (f.key.proto == kProtoUdp) {
    const bool oa = f.Has(o == 0 ? flow_flags::kActive0 : flow_flags::kActive1);
    const bool ra = f.Has(r == 0 ? flow_flags::kActive0 : flow_flags::kActive1);
    rec->set_conn_state(oa ? (ra ? vigil::v1::CONN_STATE_SF : vigil::v1::CONN_STATE_S0)
                           : (ra ? vigil::v1::CONN_STATE_SHR : vigil::v1::CONN_STATE_OTH));
  } else {
    rec->set_conn_state(vigil::v1::CONN_STATE_OTH);
  }
  std::string* history = rec->mutable_history();
  history->assign(f.history, f.history_len);
  if (f.ext != nullptr) history->append(f.ext->history_more);
  auto* vlans = rec->mutable_vlans();
  vlans->Clear();
  if (f.vlan[0] != 0) vlans->Add(f.vlan[0]);
  if (f.vlan[1] != 0) vlans->Add(f.vlan[1]);

  CommunityIdTuple tuple;
  tuple.saddr = AddrSpan(f.key.addr[o], ipv6);
  tuple.daddr = AddrSpan(f.key.addr[r], ipv6);
  tuple.proto = f.key.proto;
  tuple.sport = f.key.port[o];
  tuple.dport = f.key.port[r];
  tuple.has_ports = CommunityIdUsesPorts(f.key.proto);
  tuple.one_way = f.key.one_way != 0;
  char community_id[kCommunityIdLength];
  CommunityIdTo(community_id, tuple, options_.community_id_seed);
  rec->mutable_community_id()->assign(community_id, kCommunityIdLength);

  rec->set_interim(interim);
  if (interim) {
    rec->set_end_reason(vigil::v1::END_REASON_ACTIVE_TIMEOUT);
  } else {
    switch (cause) {
      case EndCause::kClosed:
        rec->set_end_reason(vigil::v1::END_REASON_CLOSED);
        break;
      case EndCause::kIdleTimeout:
        rec->set_end_reason(vigil::v1::END_REASON_IDLE_TIMEOUT);
        break;
      case EndCause::kEvicted:
        rec->set_end_reason(vigil::v1::END_REASON_EVICTED);
        break;
      default:
        rec->set_end_reason(vigil::v1::END_REASON_SHUTDOWN);
        break;
    }
  }
  rec->set_local_orig(IsPrivateAddress(f.key.addr[o]));
  rec->set_local_resp(IsPrivateAddress(f.key.addr[r]));

  ++stats_.records_emitted;
  if (interim) ++stats_.interim_records;
  sink_.Emit(std::move(event));
}

void FlowTable::CheckInterim(Flow& f, int64_t ts) {
  const int64_t active = options_.timeouts.active_ns;
  if (active <= 0) return;
  const int64_t due = f.start_ns + (static_cast<int64_t>(f.interims) + 1) * active;
  if (ts < due) return;
  EmitConn(f, /*interim=*/true, EndCause::kShutdown);
  const int64_t periods = (ts - f.start_ns) / active;
  f.interims = static_cast<uint16_t>(std::min<int64_t>(periods, 0xFFFF));
}

// ---- analyzers -----------------------------------------------------------

void FlowTable::EnsureAnalyzers(Flow& f, uint32_t index, int side,
                                std::span<const uint8_t> payload) {
  if (f.Has(flow_flags::kAnalyzersChecked)) return;
  f.Set(flow_flags::kAnalyzersChecked);
  if (!analyzer_factory_) {
    f.Set(flow_flags::kAnalyzersDone);
    return;
  }
  analyzers::FlowInfo info;
  info.transport = TransportOf(f.key.proto);
  info.orig_port = f.key.port[f.orig_side];
  info.resp_port = f.key.port[f.orig_side ^ 1];
  info.ip_version = f.Has(flow_flags::kIpv6) ? 6 : 4;
  info.resp_multicast = IsMulticastAddress(f.key.addr[f.orig_side ^ 1]);
  info.first_dir = side == f.orig_side ? analyzers::Direction::kOrig : analyzers::Direction::kResp;
  info.first_payload = payload;
  // The context lives in the (recycled) extension; an extension taken only
  // for this question goes back when no protocol applies.
  const bool had_ext = f.ext != nullptr;
  FlowExt& ext = f.Ext();
  ext.context.Bind(this, index);
  auto list = analyzer_factory_(info, ext.context);
  if (list.size() > kMaxAnalyzersPerFlow) list.resize(kMaxAnalyzersPerFlow);
  if (list.empty()) {
    f.Set(flow_flags::kAnalyzersDone);
    if (!had_ext) {
      FlowExt::Release(f.ext);
      f.ext = nullptr;
    }
    return;
  }
  ext.analyzer_count = static_cast<uint8_t>(list.size());
  for (size_t i = 0; i < list.size(); ++i) ext.analyzers[i] = std::move(list[i]);
}

void FlowTable::Feed(Flow& f, int side, std::span<const uint8_t> data, int64_t ts) {
  if (f.Has(flow_flags::kAnalyzersDone) || f.ext == nullptr) return;
  FlowExt& ext = *f.ext;
  bool live = false;
  const bool partial_tcp = f.key.proto == kProtoTcp && f.Has(flow_flags::kPartial);
  for (uint8_t i = 0; i < ext.analyzer_count; ++i) {
    if (ext.analyzers[i] == nullptr) continue;
    if (partial_tcp && ext.analyzers[i]->SkipsPartialTcp()) {
      live = true;  // data dropped, as Zeek does; kept for a later flip
      continue;
    }
    // Per call: an analyzer may have flipped the roles (FlipRoles()).
    const auto dir =
        side == f.orig_side ? analyzers::Direction::kOrig : analyzers::Direction::kResp;
    const analyzers::Verdict v = ext.analyzers[i]->OnData(dir, data, ts);
    if (v == analyzers::Verdict::kRecognized) {
      AddService(f, ext.analyzers[i]->Service());
      live = true;
    } else if (v == analyzers::Verdict::kGiveUp) {
      // Recognised or not, it has emitted all it held (the Analyzer
      // contract): free it now, while it is in cache, rather than touch it
      // again when the flow ends.
      ext.analyzers[i].reset();
    } else {
      live = true;
    }
  }
  if (!live) f.Set(flow_flags::kAnalyzersDone);
}

void FlowTable::AddService(Flow& f, std::string_view service) {
  FlowExt& ext = f.Ext();
  if (std::find(ext.services.begin(), ext.services.end(), service) == ext.services.end()) {
    ext.services.emplace_back(service);
  }
}

void FlowTable::FlipRoles(Flow& f) {
  if (f.key.proto == kProtoTcp) {
    TcpTracker::Flip(f);
  } else {
    f.orig_side ^= 1;
    AddHistory(f, '^');
  }
}

void FlowTable::EmitFromAnalyzer(uint32_t index, vigil::v1::Event&& event) {
  FillHeader(At(index), event);
  ++stats_.analyzer_records;
  sink_.Emit(std::move(event));
}

void FlowTable::AnalyzerAnomaly(std::string_view name) {
  for (auto& [n, count] : stats_.analyzer_anomalies) {
    if (n == name) {
      ++count;
      return;
    }
  }
  if (stats_.analyzer_anomalies.size() < kMaxAnalyzerAnomalyNames) {
    stats_.analyzer_anomalies.emplace_back(std::string(name), 1);
  }
}

void FlowTable::Deliver(Flow& f, uint32_t index, int side, std::span<const uint8_t> data,
                        int64_t ts_ns) {
  if (data.empty() || f.Has(flow_flags::kAnalyzersDone)) return;
  EnsureAnalyzers(f, index, side, data);
  Feed(f, side, data, ts_ns);
}

void FlowTable::Skipped(Flow& f, uint32_t index, int side, uint64_t len) {
  (void)index;
  if (f.Has(flow_flags::kAnalyzersDone) || f.ext == nullptr) return;
  const auto dir = side == f.orig_side ? analyzers::Direction::kOrig : analyzers::Direction::kResp;
  for (uint8_t i = 0; i < f.ext->analyzer_count; ++i) {
    if (f.ext->analyzers[i] != nullptr) f.ext->analyzers[i]->OnGap(dir, len);
  }
}

void FlowTable::EndOfData(Flow& f, uint32_t index, int side) {
  (void)index;
  if (f.Has(flow_flags::kAnalyzersDone) || f.ext == nullptr) return;
  const auto dir = side == f.orig_side ? analyzers::Direction::kOrig : analyzers::Direction::kResp;
  for (uint8_t i = 0; i < f.ext->analyzer_count; ++i) {
    if (f.ext->analyzers[i] != nullptr) f.ext->analyzers[i]->OnEndOfData(dir);
  }
}

bool FlowTable::KeepsStreamData(const Flow& f) const {
  // Before the first in-order payload nobody knows yet whether an analyzer
  // will want the stream: keep reordered bytes (bounded by max_ooo_bytes)
  // rather than lose the start of a stream whose first segment came late.
  if (!f.Has(flow_flags::kAnalyzersChecked)) return static_cast<bool>(analyzer_factory_);
  if (f.Has(flow_flags::kAnalyzersDone) || f.ext == nullptr) return false;
  for (uint8_t i = 0; i < f.ext->analyzer_count; ++i) {
    if (f.ext->analyzers[i] != nullptr) return true;
  }
  return false;
}

void FlowTable::StreamBytesDropped(uint64_t len) { stats_.stream_bytes_dropped += len; }

}  // namespace vigil::agent::flow
