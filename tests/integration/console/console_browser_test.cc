// The console in a real headless Chromium (Debian's), driven by playwright-core
// (tests/browser/console_ui.cjs): log in, see the example Agent Ready, create an Agent from a
// template and watch it turn Ready, open a Workflow's DAG, chat and see the streamed answer, use
// it at phone width and by keyboard, log out. Screenshots land in
// <build>/screenshots/console/ (look at them).
#include <filesystem>

#include "tests/integration/console/console_harness.h"
#include "tests/support/test_tools.h"

namespace agentry::testing {
namespace {

class ConsoleBrowserTest : public ConsoleTestBase {};

TEST_F(ConsoleBrowserTest, LoginAgentsCreateWorkflowDagChatLogout) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "Debian's chromium is not installed (hack/install-deps.sh installs it)";
  const std::string tools = browser_tools_dir();
  ASSERT_FALSE(tools.empty()) << "hack/browser-tools.sh failed (see its log)";
  agent("example");
  apply(
      "apiVersion: agentry.dev/v1alpha1\nkind: Workflow\nmetadata: {name: brief}\nspec:\n"
      "  input: go\n  steps:\n"
      "  - {name: research, agentRef: {name: example}, input: 'research {{ input }}'}\n"
      "  - {name: outline, agentRef: {name: example}, input: 'outline {{ input }}'}\n"
      "  - {name: write, agentRef: {name: example}, dependsOn: [research, outline],\n"
      "     input: 'write {{ steps.research.output }}'}\n");
  const std::string shots = std::string(AGENTRY_BUILD_DIR) + "/screenshots/console";
  std::filesystem::create_directories(shots);
  TempDir dir("browser");
  Process::Options o;
  o.argv = {"node", std::string(AGENTRY_REPO_DIR) + "/tests/browser/console_ui.cjs"};
  o.env = {{"CONSOLE_URL", "http://127.0.0.1:" + std::to_string(console_->port())},
           {"CONSOLE_USER", "alice"},
           {"CONSOLE_PASSWORD", "alice-pw"},
           {"NAMESPACE", ns_},
           {"EXAMPLE_AGENT", "example"},
           {"WORKFLOW", "brief"},
           {"SCREENSHOTS", shots},
           {"PLAYWRIGHT_CORE", tools + "/node_modules/playwright-core"},
           {"CHROMIUM", "/usr/bin/chromium"}};
  o.log_path = dir.file("browser.log");
  Process node(o);
  std::string err;
  ASSERT_TRUE(node.start(&err)) << err;
  const int rc = node.wait(std::chrono::minutes(6));
  const std::string log = node.log_tail(60);
  std::printf("%s\n", log.c_str());
  EXPECT_EQ(rc, 0) << log;
  for (const char* png : {"01-login", "02-agents", "04-created-ready", "05-workflow-dag", "06-chat",
                          "07-phone", "08-logged-out"}) {
    if (rc == 0) {
      EXPECT_TRUE(std::filesystem::exists(shots + "/" + png + ".png")) << png;
    }
  }
}

}  // namespace
}  // namespace agentry::testing
