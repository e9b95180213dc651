#include "agent/flow/server_ports.h"

#include <algorithm>
#include <iterator>

namespace vigil::agent::flow {
namespace {

// Ports registered by the analyzers in Zeek's default script set
// (base/protocols/*: dce-rpc, dhcp, dnp3, dns, ftp, http, imap, irc, krb,
// ldap, modbus, mqtt, mysql, ntp, pop3, postgresql, quic, radius, rdp, rfb,
// sip, smb, smtp, snmp, socks, ssh, ssl/dtls, syslog, tunnels, xmpp).
// Consulted once per new flow, so a linear scan is fine.
constexpr uint16_t kTcp[] = {21,   22,   25,   53,   80,   81,   88,   110,  135,  139,  143,  389,
                             443,  445,  502,  563,  585,  587,  614,  631,  636,  989,  990,  992,
                             993,  995,  1080, 1883, 2811, 3128, 3268, 3269, 3306, 3389, 5222, 5223,
                             5269, 5432, 5900, 5901, 5902, 5903, 5904, 5905, 5906, 5907, 5908, 5909,
                             6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000};
// UDP: DHCP registers 67 and 68 for its analyzer but only the server's 67 as
// a likely server port; RADIUS only 1812; no TFTP analyzer in base.
constexpr uint16_t kUdp[] = {53,   67,   88,   123,  137,  161,  162,  443,  514,  1812,
                             2123, 2152, 3544, 4789, 5060, 5353, 5355, 6081, 20000};

}  // namespace

bool IsLikelyServerPort(uint8_t proto, uint16_t port) {
  if (proto == 6) return std::find(std::begin(kTcp), std::end(kTcp), port) != std::end(kTcp);
  if (proto == 17) return std::find(std::begin(kUdp), std::end(kUdp), port) != std::end(kUdp);
  return false;
}

}  // namespace vigil::agent::flow
