#include "collector/engine/fields/public_suffix.h"

namespace vigil::collector::engine {

PublicSuffixList PublicSuffixList::Parse(std::string_view text) {
  PublicSuffixList list;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    // A rule is the first whitespace-delimited token of a line.
    size_t ws = line.find_first_of(" \t\r");
    if (ws != std::string_view::npos) line = line.substr(0, ws);
    if (line.empty() || line.starts_with("//")) continue;
    std::string rule;
    rule.reserve(line.size());
    for (char c : line) rule += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (rule.starts_with("!")) {
      list.exceptions_.insert(rule.substr(1));
    } else if (rule.starts_with("*.")) {
      list.wildcards_.insert(rule.substr(2));
    } else {
      list.rules_.insert(rule);
    }
    if (end == text.size()) break;
  }
  return list;
}

const PublicSuffixList& PublicSuffixList::BuiltIn() {
  static const PublicSuffixList list = Parse(
      "com\nnet\norg\nedu\ngov\nmil\nint\ninfo\nbiz\nio\nco\napp\ndev\nxyz\ntop\nonline\nsite\n"
      "example\ntest\ninvalid\nlocalhost\nlocal\narpa\nin-addr.arpa\nip6.arpa\n"
      "uk\nco.uk\norg.uk\ngov.uk\nac.uk\nde\nfr\nnl\nbe\nit\nes\nch\nat\nru\ncn\ncom.cn\njp\n"
      "co.jp\nau\ncom.au\ngov.au\nca\ngc.ca\nus\nbr\ncom.br\ngov.br\nin\nco.in\ngov.in\nkr\n"
      "co.kr\nza\nco.za\ngov.za\nnz\nco.nz\ngovt.nz\ntk\nml\nga\ncf\ngq\ncc\ntv\nme\nws\nsu\n");
  return list;
}

PublicSuffixList::Split PublicSuffixList::SplitName(std::string_view name) const {
  Split out;
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos) {
    return out;
  }
  // Walk suffixes from the longest (the whole name) to the last label; the
  // first match is the longest public suffix.
  std::string_view suffix;
  bool found = false;
  size_t start = 0;
  while (true) {
    const std::string_view candidate = name.substr(start);
    if (exceptions_.find(candidate) != exceptions_.end()) {
      // "!www.ck": the suffix is the candidate minus its first label.
      const size_t dot = candidate.find('.');
      suffix = dot == std::string_view::npos ? std::string_view{} : candidate.substr(dot + 1);
      found = true;
      break;
    }
    if (rules_.find(candidate) != rules_.end()) {
      suffix = candidate;
      found = true;
      break;
    }
    const size_t dot = candidate.find('.');
    if (dot != std::string_view::npos &&
        wildcards_.find(candidate.substr(dot + 1)) != wildcards_.end()) {
      suffix = candidate;
      found = true;
      break;
    }
    if (dot == std::string_view::npos) break;
    start += dot + 1;
  }
  if (!found) {
    // The implicit "*" rule: the last label is a public suffix.
    const size_t dot = name.rfind('.');
    suffix = dot == std::string_view::npos ? name : name.substr(dot + 1);
  }
  out.public_suffix = suffix;
  if (suffix.size() >= name.size()) return out;  // the name is itself a suffix
  // Registered domain: one more label to the left of the suffix.
  const size_t suffix_start = name.size() - suffix.size();  // points after the '.'
  std::string_view left = name.substr(0, suffix_start - 1);
  const size_t dot = left.rfind('.');
  const size_t reg_start = dot == std::string_view::npos ? 0 : dot + 1;
  out.registered_domain = name.substr(reg_start);
  if (reg_start > 0) out.subdomain = name.substr(0, reg_start - 1);
  return out;
}

}  // namespace vigil::collector::engine
