// The official TypeScript MCP SDK (@modelcontextprotocol/sdk, pinned in bench/package.json) with
// the bench tools, over Streamable HTTP (JSON or SSE answers) or stdio, run with the node 22 that
// bench/package.json installs (`make bench-deps`).
//
//   node bench/servers/ts_sdk.mjs --port 8000 --mode json|sse [--session-idle-timeout S]
//   node bench/servers/ts_sdk.mjs --stdio
//
// Served the way the SDK's own examples serve it: node's http server, one McpServer and one
// StreamableHTTPServerTransport per session, kept in a Map by session id. The SDK has no idle
// expiry of its own: --session-idle-timeout is accepted and ignored (the bench reports that its
// sessions do not expire). The SDK's own limits stay on (its 4 MB body limit).
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const { values: args } = parseArgs({
  options: {
    stdio: { type: "boolean", default: false },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8000" },
    mode: { type: "string", default: "json" },
    "session-idle-timeout": { type: "string" },
  },
});

function benchServer() {
  const server = new McpServer({ name: "bench-ts-sdk", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Echo the text back.", inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  server.registerTool(
    "progress_stream",
    {
      description: "Send `count` progress notifications, then return.",
      inputSchema: { count: z.number().int() },
    },
    async ({ count }, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (let i = 0; i < count; i++) {
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress: i + 1, total: count },
          });
        }
      }
      return { content: [{ type: "text", text: `sent ${count}` }] };
    },
  );
  return server;
}

function refuse(res, status, message) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message } }));
}

async function serveHttp() {
  const transports = new Map();
  const http = createServer(async (req, res) => {
    try {
      if (!req.url.startsWith("/mcp")) return refuse(res, 404, "not found: use /mcp");
      const sid = req.headers["mcp-session-id"];
      let transport = sid ? transports.get(sid) : undefined;
      if (sid && !transport) return refuse(res, 404, "session not found");
      if (!transport) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          enableJsonResponse: args.mode === "json",
          onsessioninitialized: (id) => transports.set(id, transport),
        });
        transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
        await benchServer().connect(transport);
      }
      await transport.handleRequest(req, res);
    } catch (err) {
      if (!res.headersSent) refuse(res, 500, String(err));
    }
  });
  http.keepAliveTimeout = 60_000;
  http.listen(Number(args.port), args.host);
}

if (args.stdio) {
  await benchServer().connect(new StdioServerTransport());
} else {
  await serveHttp();
}
