// The third-party programs and model files the tests use, installed and cached by the hack/
// scripts on first use (so a test run on a fresh machine fetches them itself).
#pragma once

#include <string>

namespace agentry::testing {

// hack/test-tools.sh installs (first run) and prints where the npm packages and the Python venv
// are; "" on failure.
std::string test_tools_dir();
// hack/models.sh fetches (first run), checks and prints the all-MiniLM-L6-v2 model dir; "" on
// failure.
std::string minilm_model_dir();
// hack/llm.sh builds llama-server and fetches Gemma 3 270M (first run), and prints the dir holding
// bin/llama-server and models/gemma-3-270m-q4_k_m.gguf; "" on failure.
std::string llm_dir();
// hack/browser-tools.sh installs playwright-core (first run) and prints the dir holding
// node_modules/; "" on failure.
std::string browser_tools_dir();
// Sidecars embed with MiniLM by default and find the model through $AGENTRY_MODEL_DIR: sets it
// (for this process and so for every child) from minilm_model_dir() unless it is set already
// (hack/test.sh exports it). Call before starting threads. False when the model is not there.
bool ensure_model_env();

// Runs cmd through sh; returns its stdout, and its wait status in *rc (0: exited 0).
std::string run_capture(const std::string& cmd, int* rc);

}  // namespace agentry::testing
