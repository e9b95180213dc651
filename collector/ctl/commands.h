#pragma once
// vigilctl subcommands. Each lives in its own translation unit (CLI11 is
// expensive to compile) and returns the process exit code: 0 success,
// 1 the checked thing failed (rule errors, a broken chain, a failed rule
// test), 2 usage error, 3 operational error (a file or database that cannot
// be opened or written).

namespace vigil::collector::ctl {

/// vigilctl rules check|test|fields
int RunRulesCommand(int argc, char** argv);
/// vigilctl incidents list|show|ack|close|reopen|verify|export|verify-export|prune|...
int RunIncidentsCommand(int argc, char** argv);
/// vigilctl pki init|issue|revoke|crl|list
int RunPkiCommand(int argc, char** argv);

}  // namespace vigil::collector::ctl
