#include "agent/analyzers/dns/dns_names.h"

#include <algorithm>
#include <iterator>

namespace vigil::agent::analyzers::dns {
namespace {

struct Entry {
  uint32_t value;
  std::string_view name;
};

template <size_t N>
std::string_view Find(const Entry (&table)[N], uint32_t value) {
  auto it = std::lower_bound(std::begin(table), std::end(table), value,
                             [](const Entry& e, uint32_t v) { return e.value < v; });
  if (it != std::end(table) && it->value == value) return it->name;
  return {};
}

std::string Labelled(std::string_view name, std::string_view prefix, uint32_t value) {
  if (!name.empty()) return std::string(name);
  std::string out(prefix);
  out += std::to_string(value);
  return out;
}

// IANA DNS RR TYPEs (sorted; a unit test checks the order).
constexpr Entry kTypes[] = {
    {1, "A"},           {2, "NS"},       {3, "MD"},         {4, "MF"},       {5, "CNAME"},
    {6, "SOA"},         {7, "MB"},       {8, "MG"},         {9, "MR"},       {10, "NULL"},
    {11, "WKS"},        {12, "PTR"},     {13, "HINFO"},     {14, "MINFO"},   {15, "MX"},
    {16, "TXT"},        {17, "RP"},      {18, "AFSDB"},     {19, "X25"},     {20, "ISDN"},
    {21, "RT"},         {22, "NSAP"},    {23, "NSAP-PTR"},  {24, "SIG"},     {25, "KEY"},
    {26, "PX"},         {27, "GPOS"},    {28, "AAAA"},      {29, "LOC"},     {30, "NXT"},
    {31, "EID"},        {32, "NIMLOC"},  {33, "SRV"},       {34, "ATMA"},    {35, "NAPTR"},
    {36, "KX"},         {37, "CERT"},    {38, "A6"},        {39, "DNAME"},   {40, "SINK"},
    {41, "OPT"},        {42, "APL"},     {43, "DS"},        {44, "SSHFP"},   {45, "IPSECKEY"},
    {46, "RRSIG"},      {47, "NSEC"},    {48, "DNSKEY"},    {49, "DHCID"},   {50, "NSEC3"},
    {51, "NSEC3PARAM"}, {52, "TLSA"},    {53, "SMIMEA"},    {55, "HIP"},     {56, "NINFO"},
    {57, "RKEY"},       {58, "TALINK"},  {59, "CDS"},       {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
    {62, "CSYNC"},      {63, "ZONEMD"},  {64, "SVCB"},      {65, "HTTPS"},   {99, "SPF"},
    {100, "UINFO"},     {101, "UID"},    {102, "GID"},      {103, "UNSPEC"}, {104, "NID"},
    {105, "L32"},       {106, "L64"},    {107, "LP"},       {108, "EUI48"},  {109, "EUI64"},
    {249, "TKEY"},      {250, "TSIG"},   {251, "IXFR"},     {252, "AXFR"},   {253, "MAILB"},
    {254, "MAILA"},     {255, "*"},      {256, "URI"},      {257, "CAA"},    {32768, "TA"},
    {32769, "DLV"},     {65281, "WINS"}, {65282, "WINS-R"}, {65422, "XPF"},  {65521, "INTEGRITY"},
};

constexpr Entry kClasses[] = {
    {1, "C_INTERNET"}, {2, "C_CSNET"},  {3, "C_CHAOS"},
    {4, "C_HESIOD"},   {254, "C_NONE"}, {255, "C_ANY"},
};

constexpr Entry kRcodes[] = {
    {0, "NOERROR"},        {1, "FORMERR"},        {2, "SERVFAIL"},       {3, "NXDOMAIN"},
    {4, "NOTIMP"},         {5, "REFUSED"},        {6, "YXDOMAIN"},       {7, "YXRRSET"},
    {8, "NXRRSet"},        {9, "NOTAUTH"},        {10, "NOTZONE"},       {11, "unassigned-11"},
    {12, "unassigned-12"}, {13, "unassigned-13"}, {14, "unassigned-14"}, {15, "unassigned-15"},
    {16, "BADVERS"},       {17, "BADKEY"},        {18, "BADTIME"},       {19, "BADMODE"},
    {20, "BADNAME"},       {21, "BADALG"},        {22, "BADTRUNC"},      {23, "BADCOOKIE"},
    {3842, "BADSIG"},
};

constexpr Entry kOpcodes[] = {
    {0, "query"},  {1, "iquery"},         {2, "server-status"},
    {4, "notify"}, {5, "dynamic-update"}, {6, "dso"},
};

// RFC 1002 section 4.2.1.1.
constexpr Entry kNetbiosOpcodes[] = {
    {0, "netbios-query"}, {5, "netbios-registration"}, {6, "netbios-release"},
    {7, "netbios-wack"},  {8, "netbios-refresh"},
};

constexpr uint32_t kTypeSrv = 33;

}  // namespace

std::string_view QtypeName(uint32_t qtype) { return Find(kTypes, qtype); }
std::string_view QclassName(uint32_t qclass) { return Find(kClasses, qclass); }
std::string_view RcodeName(uint32_t rcode) { return Find(kRcodes, rcode); }
std::string_view OpcodeName(uint32_t opcode, bool netbios) {
  return netbios ? Find(kNetbiosOpcodes, opcode) : Find(kOpcodes, opcode);
}

std::string QtypeLabel(uint32_t qtype, bool netbios) {
  // NetBIOS reuses 33 for NBSTAT (RFC 1002), which DNS later assigned to SRV.
  if (netbios && qtype == kTypeSrv) return "NBSTAT";
  return Labelled(QtypeName(qtype), "query-", qtype);
}
std::string QclassLabel(uint32_t qclass) { return Labelled(QclassName(qclass), "qclass-", qclass); }
std::string RcodeLabel(uint32_t rcode) { return Labelled(RcodeName(rcode), "rcode-", rcode); }
std::string OpcodeLabel(uint32_t opcode, bool netbios) {
  return Labelled(OpcodeName(opcode, netbios), netbios ? "netbios-opcode-" : "opcode-", opcode);
}

}  // namespace vigil::agent::analyzers::dns
