// Every anomaly name the analyzers report (AnalyzerContext::Anomaly). The
// agent registers them as values of its `anomaly` metric label, so each is a
// series of its own from start instead of being folded into `other`. Adding
// an anomaly means adding its name here and to agent/analyzers/README.md;
// the analyzer tests fail on a name missing from this list.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace vigil::agent::analyzers {

inline constexpr std::array<std::string_view, 34> kAnomalyNames = {
    // DNS
    "dns_bad_compression_pointer", "dns_bad_label_type", "dns_compression_loop", "dns_content_gap",
    "dns_malformed_rdata", "dns_name_too_long", "dns_rdlength_overrun", "dns_too_many_questions",
    "dns_truncated_answer", "dns_truncated_header", "dns_truncated_question",
    "dns_truncated_tcp_message", "dns_unmatched_msg_quantity",
    // HTTP
    "http_bad_chunk_size", "http_bad_content_length", "http_bad_request_line",
    "http_bad_status_line", "http_chunk_size_mismatch", "http_content_gap",
    "http_excessive_pipelining", "http_header_too_long", "http_header_without_colon",
    "http_inflate_budget_exhausted", "http_inflate_failed", "http_too_many_headers",
    "http_tunnel_early_data_overflow", "http_tunnel_too_deep",
    // TLS
    "tls_content_gap", "tls_handshake_message_too_long", "tls_invalid_record",
    "tls_malformed_client_hello", "tls_malformed_server_hello", "tls_max_history_length_reached",
    "tls_unsupported_version"};

inline bool IsAnomalyName(std::string_view name) {
  return std::find(kAnomalyNames.begin(), kAnomalyNames.end(), name) != kAnomalyNames.end();
}

}  // namespace vigil::agent::analyzers
