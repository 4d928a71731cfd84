"""A small MCP server written with the official Python SDK (PyPI `mcp`, installed by
hack/test-tools.sh), for mcp_integration_test: a plain tool, a slow one (timeouts), one that
raises (isError), and one that adds a tool and notifies notifications/tools/list_changed.

Usage: venv/bin/python mcp_python_server.py PORT
"""
import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("agentry-python-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
async def slow(seconds: float) -> str:
    """Sleeps for the given seconds, then answers."""
    await anyio.sleep(seconds)
    return "done"


@server.tool()
def fail() -> str:
    """Always raises."""
    raise RuntimeError("boom")


@server.tool()
async def grow(ctx: Context) -> str:
    """Adds the tool 'fresh' and tells the client the list changed."""

    def fresh() -> str:
        return "fresh!"

    server.add_tool(fresh, name="fresh", description="Added by grow.")
    await ctx.session.send_tool_list_changed()
    return "added"


server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
