#include "collector/ingest/agent_registry.h"

#include <gtest/gtest.h>

namespace vigil::collector::ingest {
namespace {

vigil::v1::Hello HelloFrom(uint64_t instance) {
  vigil::v1::Hello h;
  h.set_instance_id(instance);
  return h;
}

vigil::v1::Heartbeat Beat(uint64_t packets, uint64_t kernel_drops, uint64_t queue_full) {
  vigil::v1::Heartbeat hb;
  auto* c = hb.add_capture();
  c->set_interface("eth0");
  c->set_packets_received(packets);
  c->set_kernel_drops(kernel_drops);
  (*hb.mutable_pipeline()->mutable_records_dropped())["queue_full"] = queue_full;
  return hb;
}

const AgentStatus& Find(const std::vector<AgentStatus>& fleet, const std::string& id) {
  for (const auto& a : fleet) {
    if (a.info.agent_id == id) return a;
  }
  ADD_FAILURE() << "no agent " << id;
  static AgentStatus none;
  return none;
}

TEST(AgentRegistry, CaptureTotalsKeepGrowingAcrossAgentRestarts) {
  AgentRegistry r(std::chrono::seconds(30));
  r.OnHello("a", HelloFrom(1), 1);
  r.OnHeartbeat("a", Beat(100, 2, 0), 2);
  r.OnHeartbeat("a", Beat(250, 5, 1), 3);
  // The agent restarts and happens to reach the very same counts: a raw
  // export would stay flat at 250 and Prometheus would see no traffic.
  r.OnHello("a", HelloFrom(2), 4);
  r.OnHeartbeat("a", Beat(100, 2, 0), 5);
  r.OnHeartbeat("a", Beat(250, 5, 1), 6);
  const auto fleet = r.Snapshot();
  const AgentStatus& a = Find(fleet, "a");
  EXPECT_EQ(a.capture.at(0).packets_received, 250u);  // the agent's own counter
  EXPECT_EQ(a.capture_total.packets_received, 500u);  // monotonic on our side
  EXPECT_EQ(a.capture_total.kernel_drops, 10u);
  EXPECT_EQ(a.agent_records_dropped_total.at("queue_full"), 2u);
}

TEST(AgentRegistry, CounterThatGoesBackwardsWithoutHelloIsTreatedAsReset) {
  AgentRegistry r(std::chrono::seconds(30));
  r.OnHello("a", HelloFrom(1), 1);
  r.OnHeartbeat("a", Beat(1000, 0, 0), 2);
  r.OnHeartbeat("a", Beat(10, 0, 0), 3);  // restart seen before its Hello
  r.OnHeartbeat("a", Beat(30, 0, 0), 4);
  EXPECT_EQ(Find(r.Snapshot(), "a").capture_total.packets_received, 1030u);
}

vigil::v1::LossReport Loss(const std::string& id, uint64_t records) {
  vigil::v1::LossReport r;
  r.set_report_id(id);
  r.set_records(records);
  return r;
}

TEST(AgentRegistry, LossReportIsCountedOncePerAgentAndReportId) {
  AgentRegistry r(std::chrono::seconds(30));
  EXPECT_TRUE(r.OnLossReport("a", Loss("x", 10), 1));
  EXPECT_FALSE(r.OnLossReport("a", Loss("x", 10), 2));  // resent
  EXPECT_TRUE(r.OnLossReport("b", Loss("x", 1), 3));    // another agent's id
  EXPECT_TRUE(r.OnLossReport("a", Loss("", 2), 4));     // no id: always counted
  EXPECT_TRUE(r.OnLossReport("a", Loss("", 2), 5));
  r.OnHello("a", HelloFrom(1), 6);
  r.OnHello("a", HelloFrom(2), 7);  // a restarted agent resends its reports too
  EXPECT_FALSE(r.OnLossReport("a", Loss("x", 10), 8));
  const auto fleet = r.Snapshot();
  EXPECT_EQ(Find(fleet, "a").loss_reports, 3u);
  EXPECT_EQ(Find(fleet, "a").records_lost_reported, 14u);
  EXPECT_EQ(Find(fleet, "b").records_lost_reported, 1u);
}

TEST(AgentRegistry, RememberedLossReportIdsAreBounded) {
  AgentRegistry r(std::chrono::seconds(30));
  const size_t n = AgentRegistry::kLossReportIdsKept;
  for (size_t i = 0; i <= n; ++i) ASSERT_TRUE(r.OnLossReport("a", Loss(std::to_string(i), 1), 1));
  // The newest n ids are remembered; the oldest was forgotten.
  EXPECT_FALSE(r.OnLossReport("a", Loss(std::to_string(n), 1), 2));
  EXPECT_FALSE(r.OnLossReport("a", Loss("1", 1), 2));
  EXPECT_TRUE(r.OnLossReport("a", Loss("0", 1), 2));
}

}  // namespace
}  // namespace vigil::collector::ingest
