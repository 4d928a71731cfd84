// Drives the sidecar's /mcp endpoint with the official MCP TypeScript SDK's client (the version
// hack/test-tools.sh installs), as an MCP host would: connect (initialize), list tools, call the
// agent's tool (plainly, then with progress notifications). Prints one JSON line with what it saw; exits non-zero on any SDK error.
//   node mcp_sdk_client.mjs SDK_DIR URL TOKEN INPUT
const [sdk, url, token, input] = process.argv.slice(2);
const { Client } = await import(`${sdk}/dist/esm/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${sdk}/dist/esm/client/streamableHttp.js`);

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "agentry-test", version: "1.0.0" });
try {
  await client.connect(transport);
  const listed = await client.listTools();
  const result = await client.callTool({ name: listed.tools[0].name, arguments: { input } });
  // With onprogress the SDK sends a progress token; the agent streams its answer as progress.
  const progress = [];
  const streamed = await client.callTool(
    { name: listed.tools[0].name, arguments: { input: `${input} with progress` } },
    undefined,
    { onprogress: (p) => progress.push(p) },
  );
  let badCall;
  try {
    await client.callTool({ name: "no-such-tool", arguments: { input } });
  } catch (e) {
    badCall = { code: e.code, message: e.message };
  }
  console.log(JSON.stringify({
    server: client.getServerVersion(),
    protocolVersion: transport.protocolVersion,
    sessionId: transport.sessionId ?? null,
    tools: listed.tools,
    result,
    streamed,
    progress,
    badCall,
  }));
  await client.close();
} catch (e) {
  console.error(`sdk client error: ${e?.stack ?? e}`);
  process.exit(1);
}
