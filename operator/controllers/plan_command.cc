#include "operator/controllers/plan_command.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/yaml_json.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/planner/capacity_planner.h"

namespace agentry::controllers {
namespace {

int usage(FILE* out, int code) {
  std::fprintf(out,
               "usage: agentry-operator plan --target-rps N [--policy production|development]\n"
               "                             [--policy-file FILE] [-o text|json]\n"
               "Sizes an agent for a target load with the policy's capacity constants.\n");
  return code;
}

}  // namespace

int run_plan_command(int argc, char** argv) {
  long long target = -1;
  std::string policy = "production", policy_file, output = "text";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "plan: %s needs a value\n", flag);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "--target-rps") {
      const char* v = value("--target-rps");
      if (!v) return 2;
      char* end = nullptr;
      target = std::strtoll(v, &end, 10);
      if (*end != '\0' || target < 1) {
        std::fprintf(stderr, "plan: --target-rps %s: want a whole number >= 1\n", v);
        return 2;
      }
    } else if (a == "--policy") {
      const char* v = value("--policy");
      if (!v) return 2;
      policy = v;
    } else if (a == "--policy-file") {
      const char* v = value("--policy-file");
      if (!v) return 2;
      policy_file = v;
    } else if (a == "-o" || a == "--output") {
      const char* v = value("-o");
      if (!v) return 2;
      output = v;
      if (output != "text" && output != "json") {
        std::fprintf(stderr, "plan: -o %s: want text or json\n", v);
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      return usage(stdout, 0);
    } else {
      std::fprintf(stderr, "plan: unknown flag %s\n", a.c_str());
      return usage(stderr, 2);
    }
  }
  if (target < 1) {
    std::fprintf(stderr, "plan: --target-rps is required\n");
    return usage(stderr, 2);
  }
  nlohmann::json spec;
  if (!policy_file.empty()) {
    auto doc = yaml_file_to_json(policy_file);
    if (!doc.ok()) {
      std::fprintf(stderr, "plan: %s\n", doc.status().message().c_str());
      return 1;
    }
    if (!doc->contains("spec") || !(*doc)["spec"].is_object()) {
      std::fprintf(stderr, "plan: %s: not an AgentPolicy (no spec)\n", policy_file.c_str());
      return 1;
    }
    spec = (*doc)["spec"];
    policy = doc->value("/metadata/name"_json_pointer, policy_file);
  } else if (policy == "production") {
    spec = production_policy()["spec"];
  } else if (policy == "development") {
    spec = development_policy()["spec"];
  } else {
    std::fprintf(stderr,
                 "plan: unknown policy %s: use production, development, or --policy-file with an "
                 "AgentPolicy manifest (kubectl get agentpolicy NAME -o yaml)\n",
                 policy.c_str());
    return 2;
  }
  auto in = planner::inputs_from_policy(spec, target);
  auto p = planner::plan(in);
  if (output == "json") {
    auto j = planner::to_json(p);
    j["policy"] = policy;
    j["targetRPS"] = target;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::fputs(planner::to_text(in, p, policy).c_str(), stdout);
  }
  return 0;
}

}  // namespace agentry::controllers
