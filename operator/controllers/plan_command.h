// `agentry-operator plan`: the capacity planner for SREs.
//
//   agentry-operator plan --target-rps 3000 [--policy production|development] [--policy-file F] [-o json]
#pragma once

namespace agentry::controllers {

// Runs the subcommand (argv[0] is "plan"); returns the process exit code.
int run_plan_command(int argc, char** argv);

}  // namespace agentry::controllers
