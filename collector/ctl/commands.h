#pragma once
// vigilctl subcommands. Each lives in its own translation unit (CLI11 is
// expensive to compile) and returns the process exit code: 0 success,
// 1 the checked thing failed (rule errors, chain broken), 2 usage error.

namespace vigil::collector::ctl {

int RunRulesCommand(int argc, char** argv);  // vigilctl rules check|test
int RunIncidentsCommand(int argc,
                        char** argv);      // vigilctl incidents list|ack|close|verify|export|prune
int RunPkiCommand(int argc, char** argv);  // vigilctl pki init|issue|revoke|crl

}  // namespace vigil::collector::ctl
