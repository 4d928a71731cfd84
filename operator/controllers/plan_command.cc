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
  std::fprintf(
      out,
      "usage: agentry-operator plan --target-rps N [--policy production|development]\n"
      "                             [--policy-file FILE] [-o text|json]\n"
      "       agentry-operator plan --what-if-cpu QUANTITY | --what-if-rps N\n"
      "                             [--cpu-request QUANTITY] [--current N] [--policy ...]\n"
      "Sizes an agent for a target load with the policy's capacity constants; with\n"
      "--what-if-*, the replicas the HPA settles on for that load (total CPU of the\n"
      "Agent's pods, or rps x the policy's cpuMillicoresPerRPS) under the policy's\n"
      "target and bounds, by the HPA's own rule (docs/sre-guide.md).\n");
  return code;
}

// The what-if: prints the HPA's settled count for a steady load. 0, or 2 on a bad flag.
int run_what_if(const nlohmann::json& spec, const std::string& policy, int64_t load_millicores,
                const std::string& cpu_request, int current, const std::string& output) {
  planner::HpaWhatIf w;
  w.load_millicores = load_millicores;
  const auto in = planner::inputs_from_policy(spec, 1);
  w.cpu_target_percent = in.cpu_target_percent;
  w.min_replicas = in.min_replicas;
  w.max_replicas = in.max_replicas;
  w.current_replicas = current > 0 ? current : in.min_replicas;
  std::string req = cpu_request;
  if (req.empty() && spec.contains("resources") && spec["resources"].is_object() &&
      spec["resources"].contains("requests") && spec["resources"]["requests"].is_object() &&
      spec["resources"]["requests"].contains("cpu") &&
      spec["resources"]["requests"]["cpu"].is_string())
    req = spec["resources"]["requests"]["cpu"].get<std::string>();
  if (req.empty() || !planner::parse_cpu(req, &w.cpu_request_millicores) ||
      w.cpu_request_millicores <= 0) {
    std::fprintf(stderr,
                 "plan: --cpu-request: want a CPU quantity such as 500m (the policy %s has no "
                 "resources.requests.cpu)\n",
                 policy.c_str());
    return 2;
  }
  const auto o = planner::hpa_settle(w);
  std::string steps;
  for (int n : o.steps) steps += (steps.empty() ? "" : " -> ") + std::to_string(n);
  if (output == "json") {
    nlohmann::json j = {{"policy", policy},
                        {"loadCPU", planner::format_cpu(load_millicores)},
                        {"cpuRequest", planner::format_cpu(w.cpu_request_millicores)},
                        {"targetCPUUtilizationPercentage", w.cpu_target_percent},
                        {"replicas", o.replicas},
                        {"utilizationPercent", o.utilization_percent},
                        {"steps", o.steps},
                        {"limited", o.limited}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("what the HPA settles on (policy %s)\n", policy.c_str());
  std::printf("  load                         %s cpu over all pods\n",
              planner::format_cpu(load_millicores).c_str());
  std::printf("  per pod                      request %s, target %d%%\n",
              planner::format_cpu(w.cpu_request_millicores).c_str(), w.cpu_target_percent);
  std::printf("  replicas                     %d (%s)%s\n", o.replicas, steps.c_str(),
              o.limited ? ", held by min/maxReplicas" : "");
  std::printf("  pod utilization              %.0f%% of the request\n", o.utilization_percent);
  std::printf("  bounds                       %d..%d replicas\n", w.min_replicas, w.max_replicas);
  return 0;
}

}  // namespace

int run_plan_command(int argc, char** argv) {
  long long target = -1, what_if_rps = -1, current = 0;
  int64_t what_if_cpu = -1;
  std::string policy = "production", policy_file, output = "text", cpu_request;
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
    } else if (a == "--what-if-cpu") {
      const char* v = value("--what-if-cpu");
      if (!v) return 2;
      if (!planner::parse_cpu(v, &what_if_cpu) || what_if_cpu < 0) {
        std::fprintf(stderr, "plan: --what-if-cpu %s: want a CPU quantity such as 1250m\n", v);
        return 2;
      }
    } else if (a == "--what-if-rps" || a == "--current") {
      const char* v = value(a.c_str());
      if (!v) return 2;
      char* end = nullptr;
      long long n = std::strtoll(v, &end, 10);
      if (*end != '\0' || n < (a == "--current" ? 1 : 0) || n > 100000000) {
        std::fprintf(stderr, "plan: %s %s: want a whole number\n", a.c_str(), v);
        return 2;
      }
      (a == "--current" ? current : what_if_rps) = n;
    } else if (a == "--cpu-request") {
      const char* v = value("--cpu-request");
      if (!v) return 2;
      cpu_request = v;
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
  const bool what_if = what_if_cpu >= 0 || what_if_rps >= 0;
  if (target < 1 && !what_if) {
    std::fprintf(stderr, "plan: --target-rps or --what-if-cpu / --what-if-rps is required\n");
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
  if (what_if) {
    const int64_t load =
        what_if_cpu >= 0
            ? what_if_cpu
            : what_if_rps * planner::inputs_from_policy(spec, 1).cpu_millicores_per_rps;
    return run_what_if(spec, policy, load, cpu_request, static_cast<int>(current), output);
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
