// A Model Context Protocol client for one MCP server over the Streamable HTTP transport
// (protocol revisions 2025-03-26 through 2025-11-25): JSON-RPC 2.0 POSTed to the server's one
// endpoint, answered as JSON or as a Server-Sent Events stream that carries the response (and
// maybe notifications before it). Or, with transport "sse", over the older HTTP+SSE transport
// (2024-11-05, sidecar/mcp/sse_channel.h): the session is the event stream, whose number
// session_id() returns; a stream that ends is a lost session, handled like the 404 below.
//
//   McpClient c({.name = "files", .url = "http://127.0.0.1:3001/mcp"});
//   auto tools = c.list_tools(&cancel);             // connects on first use
//   auto r = c.call_tool("read_file", {{"path", "/etc/hosts"}}, &cancel);
//   if (r.ok() && !r->is_error) use(r->text);
//
// Lifecycle: the first call sends `initialize` (our newest protocol revision; the server's answer
// must be one we speak), then `notifications/initialized`; the session id the server returns
// (Mcp-Session-Id) and the negotiated revision (MCP-Protocol-Version) go on every later request.
// A 404 to a request carrying the session id means the session is gone (the server restarted):
// the client initializes a new one and sends the request once more (a 400 too: the TypeScript
// SDK's servers answer an unknown session so). Transient failures (no
// connection, 429, 502, 503, 504) are retried up to `retries` times with backoff; nothing else is.
//
// Why our own: Debian packages no C++ MCP library (the official SDKs are TypeScript, Python,
// Java, Kotlin, C#, Go, Rust, Swift, Ruby, PHP), and what the sidecar needs is small: POST, JSON or
// SSE back, on the HTTP client (ClientPool) and JSON (json_io) it already trusts with untrusted
// input.
//
// Thread-safety: every method may be called from several executions at once; each request uses
// its own connection from the pool, and the session state is guarded by mu_.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "sidecar/exec/cancel.h"
#include "sidecar/exec/providers/client_pool.h"
#include "sidecar/mcp/sse_channel.h"

namespace agentry::sidecar::mcp {

// The protocol revisions we speak, newest first (what `initialize` offers).
const std::vector<std::string>& supported_protocol_versions();

struct ServerOptions {
  std::string name;  // how the agent's config names the server (tool names are prefixed with it)
  std::string url;   // the MCP endpoint, http(s)://host:port/path
  httplib::Headers headers;              // sent on every request (e.g. Authorization: Bearer ...)
  int timeout_ms = 30000;                // connect and read, per request
  int retries = 2;                       // transient failures only
  size_t max_response_bytes = 8u << 20;  // a bigger answer is an error, not a truncation
  // Open the server's stream of unprompted messages (GET) after initialize, for the
  // notifications servers send outside any request (list_changed, on the Python SDK's servers).
  bool listen = true;
  std::string transport = "streamable-http";  // or "sse" (the 2024-11-05 HTTP+SSE transport)
};

struct Tool {
  std::string name;
  std::string description;
  nlohmann::json input_schema = nlohmann::json::object();
};

struct CallResult {
  std::string text;           // the text parts of `content`, joined by blank lines
  nlohmann::json structured;  // `structuredContent`, when the server gave one
  bool is_error = false;      // the tool itself failed (`isError`): the model should see why
};

class Client {
 public:
  explicit Client(ServerOptions options);
  ~Client();  // ends the listener (cancels its GET) and joins it
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Every tool the server lists, following nextCursor (at most 100 pages). Clears tools_changed().
  Result<std::vector<Tool>> list_tools(CancelToken* cancel);
  // Calls one tool by the server's own name. A protocol error (unknown tool, bad arguments) is an
  // error Status with the server's message; a tool that ran and failed is is_error. `extra`
  // headers go with this call only (an agent's call chain and the derived Idempotency-Key).
  Result<CallResult> call_tool(const std::string& name, const nlohmann::json& arguments,
                               CancelToken* cancel, const httplib::Headers& extra = {});
  Status ping(CancelToken* cancel);

  // True once a notifications/tools/list_changed arrived after the last list_tools().
  bool tools_changed() const { return tools_changed_.load(); }
  std::string protocol_version() const;  // "" before initialize
  std::string session_id() const;        // "" when the server uses none
  const ServerOptions& options() const { return opts_; }

 private:
  // One request with the session, initializing first when needed; the result member.
  Result<nlohmann::json> request(const std::string& method, const nlohmann::json& params,
                                 CancelToken* cancel, const httplib::Headers& extra = {});
  Status initialize(CancelToken* cancel);
  // One POST of msg, retried on transient failures. For a request, the matching response's result
  // (notifications seen on the way are handled); for a notification, null.
  struct Sent {
    int status = 0;
    nlohmann::json result;
  };
  Result<Sent> post(const nlohmann::json& msg, const std::string& session,
                    const std::string& version, CancelToken* cancel,
                    const httplib::Headers& extra = {});
  Result<Sent> read_answer(const HttpResult& r, const nlohmann::json& id, CancelToken* cancel);
  void on_notification(const std::string& method);
  void answer_server_request(const nlohmann::json& id, const std::string& method,
                             CancelToken* cancel);

  Client(ServerOptions options, Result<Endpoint> endpoint);
  // The HTTP+SSE transport's post(): session is the stream's number.
  Result<Sent> post_on_stream(const nlohmann::json& msg, const std::string& session,
                              CancelToken* cancel, const httplib::Headers& extra);
  // The listener thread: GET on the endpoint with the session, SSE read as it arrives,
  // notifications handled; reconnects 0.5 s after a read timeout on an idle stream, and after a
  // growing backoff (to 30 s) when refused or dropped, until the client dies or the server
  // answers 405 (it offers no such stream).
  void listen_loop();
  void start_listener();

  const ServerOptions opts_;
  const Status endpoint_error_;  // the URL did not parse: every call answers it
  ClientPool pool_;
  std::string path_;  // the endpoint's path (and query), sent on every POST
  std::atomic<int64_t> next_id_{1};
  std::atomic<bool> tools_changed_{false};

  CancelToken listen_cancel_;  // cancelled by the destructor: ends the listener's GET
  std::once_flag listener_once_;
  std::thread listener_;

  mutable std::mutex mu_;  // guards the session below; never held across a request
  bool initialized_ = false;
  std::string session_id_;
  std::string version_;

  // Transport "sse" only: the stream the requests go on and the answers come back on. Last, so
  // it goes first (its reader calls back into this client).
  std::unique_ptr<SseChannel> sse_;
};

}  // namespace agentry::sidecar::mcp
