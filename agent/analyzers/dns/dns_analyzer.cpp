#include "agent/analyzers/dns/dns_analyzer.h"

#include <algorithm>
#include <utility>

#include "agent/analyzers/record_recycler.h"
#include "agent/analyzers/record_time.h"

namespace vigil::agent::analyzers::dns {
namespace {

// RFC 1035 4.2.2: a TCP message is preceded by its two-byte length.
constexpr size_t kTcpLengthPrefix = 2;
// Zeek tracks these opcodes in dns.log (query, notify, dynamic update); other
// opcodes are valid DNS but produce no entry.
constexpr uint8_t kOpQuery = 0;
constexpr uint8_t kOpNotify = 4;
constexpr uint8_t kOpUpdate = 5;
// NetBIOS name service (RFC 1002) shares the DNS wire format on UDP 137.
constexpr uint16_t kNetbiosPort = 137;

size_t Index(Direction dir) { return static_cast<size_t>(dir); }

using Recycler = RecordRecycler<vigil::v1::DnsRecord>;

// The parse scratch, shared by every DNS analyzer of the thread (a message
// is parsed and applied before the next one starts), so its buffers are
// reused across flows.
Message& Scratch() {
  thread_local Message m;
  return m;
}

}  // namespace

bool IsDnsPort(vigil::v1::Transport transport, uint16_t port) {
  if (transport == vigil::v1::TRANSPORT_UDP) {
    return port == 53 || port == kNetbiosPort || port == 5353 || port == 5355;
  }
  return transport == vigil::v1::TRANSPORT_TCP && port == 53;
}

std::unique_ptr<Analyzer> MaybeCreate(const FlowInfo& flow, AnalyzerContext& ctx) {
  if (!IsDnsPort(flow.transport, flow.resp_port) && !IsDnsPort(flow.transport, flow.orig_port)) {
    return nullptr;
  }
  return std::make_unique<DnsAnalyzer>(flow, ctx);
}

DnsAnalyzer::DnsAnalyzer(const FlowInfo& flow, AnalyzerContext& ctx)
    : ctx_(ctx),
      transport_(flow.transport),
      netbios_(flow.transport == vigil::v1::TRANSPORT_UDP && flow.resp_port == kNetbiosPort),
      multicast_(flow.resp_multicast) {
  if (transport_ == vigil::v1::TRANSPORT_TCP) tcp_ = std::make_unique<TcpSide[]>(2);
}

Verdict DnsAnalyzer::Status() {
  if (gave_up_) return Verdict::kGiveUp;
  if (recognized_ && !reported_recognized_) {
    reported_recognized_ = true;
    return Verdict::kRecognized;
  }
  return Verdict::kContinue;
}

Verdict DnsAnalyzer::OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) {
  if (gave_up_) return Verdict::kGiveUp;
  if (tcp_) return FeedTcp(dir, data, ts_ns);
  HandleMessage(dir, data, ts_ns);
  return Status();
}

Verdict DnsAnalyzer::FeedTcp(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) {
  TcpSide& side = tcp_[Index(dir)];
  if (side.dead) return Status();
  while (!data.empty() && !gave_up_) {
    if (side.partial.empty()) {
      // Fast path: whole messages straight from the delivered bytes.
      if (data.size() >= kTcpLengthPrefix) {
        const size_t len = (size_t{data[0]} << 8) | data[1];
        if (data.size() >= kTcpLengthPrefix + len) {
          HandleMessage(dir, data.subspan(kTcpLengthPrefix, len), ts_ns);
          data = data.subspan(kTcpLengthPrefix + len);
          continue;
        }
      }
      side.partial.assign(data.begin(), data.end());
      break;
    }
    // Complete the buffered message: first its length, then its body.
    size_t want = kTcpLengthPrefix;
    if (side.partial.size() >= kTcpLengthPrefix) {
      want += (size_t{side.partial[0]} << 8) | side.partial[1];
    }
    const size_t take = std::min(want - side.partial.size(), data.size());
    side.partial.insert(side.partial.end(), data.begin(), data.begin() + take);
    data = data.subspan(take);
    if (side.partial.size() < kTcpLengthPrefix) continue;
    const size_t total = kTcpLengthPrefix + ((size_t{side.partial[0]} << 8) | side.partial[1]);
    if (side.partial.size() == total) {
      HandleMessage(dir, std::span<const uint8_t>(side.partial).subspan(kTcpLengthPrefix), ts_ns);
      side.partial.clear();
    }
  }
  return Status();
}

bool DnsAnalyzer::HandleMessage(Direction dir, std::span<const uint8_t> bytes, int64_t ts_ns) {
  if (first_message_ && bytes.size() >= kHeaderSize) {
    // Zeek's DNS_Interpreter: when the first message of a connection is a
    // response sent by the originator (both ports 53, or the query was not
    // captured), the roles were guessed wrong; flip them, except towards a
    // multicast responder where anyone may answer.
    first_message_ = false;
    const bool qr = (bytes[2] & 0x80) != 0;
    if (qr && dir == Direction::kOrig && !multicast_) ctx_.FlipRoles();
  }
  // The scratch message is reused, but a huge response must not pin its
  // memory for the rest of the thread's life.
  constexpr size_t kKeptAnswers = 16;
  Message& scratch_ = Scratch();
  if (scratch_.answers.capacity() > kKeptAnswers) scratch_.answers = {};
  const ParseError err = ParseMessage(bytes, scratch_);
  if (err != ParseError::kNone) {
    ctx_.Anomaly(AnomalyName(err));
    if (!recognized_) {
      // Not DNS after all (or hopelessly mangled): stop before logging junk.
      gave_up_ = true;
      return false;
    }
    // Nothing trustworthy beyond the header of such messages.
    if (err == ParseError::kTruncatedHeader || err == ParseError::kTooManyQuestions) return false;
  } else {
    recognized_ = true;
  }

  const Header& h = scratch_.header;
  if (h.opcode != kOpQuery && h.opcode != kOpNotify && h.opcode != kOpUpdate) return true;

  const bool is_query = !h.qr;
  if (multicast_) {
    // mDNS/LLMNR: answers come from anyone, ids are often 0; each message
    // stands alone (Zeek marks both sides seen and logs at once).
    Pending& p = queries_.PushBack();  // a scratch slot, emitted at once
    InitPending(p, h.id, ts_ns);
    ApplyMessage(p, scratch_, ts_ns);
    Emit(p);
    queries_.Erase(queries_.size() - 1);
    return true;
  }

  PendingQueue& counterpart = is_query ? replies_ : queries_;
  for (size_t i = 0; i < counterpart.size(); ++i) {
    Pending& p = counterpart[i];
    if (p.id != h.id) continue;
    ApplyMessage(p, scratch_, ts_ns);
    (is_query ? p.saw_query : p.saw_reply) = true;
    Emit(p);
    counterpart.Erase(i);
    return true;
  }
  Pending& p = EnqueueBounded(is_query ? queries_ : replies_);
  InitPending(p, h.id, ts_ns);
  ApplyMessage(p, scratch_, ts_ns);
  (is_query ? p.saw_query : p.saw_reply) = true;
  return true;
}

DnsAnalyzer::Pending& DnsAnalyzer::PendingQueue::PushBack() {
  Pending& p = size_ == 0 ? first_ : more_.emplace_back();
  ++size_;
  return p;
}

void DnsAnalyzer::PendingQueue::Erase(size_t i) {
  if (i >= size_) return;
  if (i == 0 && !more_.empty()) {
    // The next oldest moves inline; the emptied record goes with it.
    std::swap(first_, more_.front());
    more_.erase(more_.begin());
  } else if (i > 0) {
    more_.erase(more_.begin() + static_cast<ptrdiff_t>(i - 1));
  }
  --size_;
}

void DnsAnalyzer::InitPending(Pending& p, uint16_t id, int64_t ts_ns) {
  Recycler::Local().Reuse(&p.record);
  p.record.Clear();  // a reused slot: whatever Reuse() left must start empty
  p.id = id;
  p.ts_ns = ts_ns;
  p.saw_query = p.saw_reply = false;
  p.record.set_transport(transport_);
  p.record.set_trans_id(id);
}

void DnsAnalyzer::ApplyMessage(Pending& p, const Message& msg, int64_t ts_ns) {
  const Header& h = msg.header;
  vigil::v1::DnsRecord& rec = p.record;
  rec.set_opcode(h.opcode);
  if (!h.qr) {
    if (msg.questions_parsed > 0) {
      rec.set_rd(h.rd);
      rec.set_tc(h.tc);
      rec.set_qclass(msg.question_class);
      rec.set_qtype(msg.question_type);
      rec.set_z(h.z);
      std::string* query = rec.mutable_query();
      query->assign(msg.question_name);
      if (netbios_) {
        if (std::string decoded = DecodeNetbiosName(*query); !decoded.empty()) {
          *query = std::move(decoded);
        }
      }
    }
    // Answers in a query are not what dns.log tracks.
    return;
  }

  rec.set_rcode(h.rcode);
  if (h.rcode != 0 && h.qdcount == 0) rec.set_rejected(true);
  // A response that repeats the question but carries no record at all: the
  // server declined in some fashion (Zeek's dns_rejected).
  if (msg.questions_parsed > 0 && h.ancount == 0 && h.nscount == 0 && h.arcount == 0) {
    rec.set_rejected(true);
  }
  for (const Answer& a : msg.answers) {
    if (!a.logged) continue;
    // Type 33 from NetBIOS's port is NBSTAT (node status), which the SRV
    // RFC reused: Zeek does not parse it and raises no event.
    if (netbios_ && a.type == 33) continue;
    if (!rec.has_query()) rec.mutable_query()->assign(a.owner);
    rec.set_aa(h.aa);
    rec.set_ra(h.ra);
    if (!rec.has_rtt()) {
      // Zero means only the response was seen (no time passed since the
      // entry was created): leave rtt unset, as Zeek does.
      if (const int64_t rtt = ts_ns - p.ts_ns; rtt != 0) SetDuration(rec.mutable_rtt(), rtt);
    }
    if (!a.text.empty()) {
      rec.add_answers()->assign(a.text);
      SetDuration(rec.add_ttls(), int64_t{a.ttl} * 1'000'000'000);
    }
  }
}

void DnsAnalyzer::Emit(Pending& p) {
  Recycler::Local().Emit(ctx_, p.ts_ns, &p.record,
                         [](vigil::v1::Event& e) { return e.mutable_dns(); });
}

DnsAnalyzer::Pending& DnsAnalyzer::EnqueueBounded(PendingQueue& queue) {
  if (queue.size() >= kMaxPending) {
    ctx_.Anomaly("dns_unmatched_msg_quantity");
    Emit(queue[0]);
    queue.Erase(0);
  }
  return queue.PushBack();
}

void DnsAnalyzer::OnGap(Direction dir, uint64_t len) {
  (void)len;
  if (!tcp_) return;
  TcpSide& side = tcp_[Index(dir)];
  if (side.dead) return;
  // Message boundaries are lost with the missing bytes.
  ctx_.Anomaly("dns_content_gap");
  side.dead = true;
  side.partial.clear();
  side.partial.shrink_to_fit();
}

void DnsAnalyzer::OnEndOfData(Direction dir) {
  if (!tcp_) return;
  TcpSide& side = tcp_[Index(dir)];
  if (!side.partial.empty()) {
    ctx_.Anomaly("dns_truncated_tcp_message");
    side.partial.clear();
    side.partial.shrink_to_fit();
  }
}

void DnsAnalyzer::OnFlowEnd(int64_t ts_ns) {
  (void)ts_ns;
  if (tcp_) {
    OnEndOfData(Direction::kOrig);
    OnEndOfData(Direction::kResp);
  }
  for (size_t i = 0; i < queries_.size(); ++i) Emit(queries_[i]);
  for (size_t i = 0; i < replies_.size(); ++i) Emit(replies_[i]);
  while (!queries_.empty()) queries_.Erase(queries_.size() - 1);
  while (!replies_.empty()) replies_.Erase(replies_.size() - 1);
}

}  // namespace vigil::agent::analyzers::dns
