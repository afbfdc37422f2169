// A conformance target on the official TypeScript SDK (@modelcontextprotocol/sdk 1.x), wired
// exactly like the SDK's own examples/server/simpleStreamableHttp.js (one transport and one
// InMemoryEventStore per session, 404 for unknown sessions), plus a `sleep` tool that reports
// progress every 10 ms. Run with the node and node_modules of tests/conformance_official/v01:
//
//   NODE_MODULES=tests/conformance_official/v01/node_modules \
//     tests/conformance_official/v01/node_modules/.bin/node conformance/targets/ts_sdk_server.cjs PORT
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const modules = path.resolve(process.env.NODE_MODULES || 'tests/conformance_official/v01/node_modules');
const sdk = (p) => require(path.join(modules, '@modelcontextprotocol/sdk/dist/cjs', p));
const { McpServer } = sdk('server/mcp.js');
const { StreamableHTTPServerTransport } = sdk('server/streamableHttp.js');
const { createMcpExpressApp } = sdk('server/express.js');
const { InMemoryEventStore } = sdk('examples/shared/inMemoryEventStore.js');
const { isInitializeRequest } = sdk('types.js');
const z = require(path.join(modules, 'zod'));

function getServer() {
  const server = new McpServer({ name: 'ts-sdk-conformance-target', version: '1.0.0' });
  server.registerTool('sleep', {
    description: 'Sleep, reporting progress every 10 ms.',
    inputSchema: { seconds: z.number() },
  }, async ({ seconds }, extra) => {
    const steps = Math.max(1, Math.floor(seconds / 0.01));
    for (let i = 0; i < steps; i++) {
      await new Promise((r) => setTimeout(r, (seconds * 1000) / steps));
      if (extra.signal.aborted) throw new Error('cancelled');
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i + 1, total: steps } });
      }
    }
    return { content: [{ type: 'text', text: `slept ${seconds} s` }] };
  });
  server.registerTool('echo', { description: 'Echo text.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
}

const sessions = new Map();
const app = createMcpExpressApp();
app.post('/mcp', async (req, res) => {
  const sessionId = req.headers['mcp-session-id'];
  const transport = sessionId ? sessions.get(sessionId) : undefined;
  if (transport) return transport.handleRequest(req, res, req.body);
  if (!sessionId && isInitializeRequest(req.body)) {
    const t = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(),
      onsessioninitialized: (id) => sessions.set(id, t),
    });
    t.onclose = () => { if (t.sessionId) sessions.delete(t.sessionId); };
    await getServer().connect(t);
    return t.handleRequest(req, res, req.body);
  }
  if (sessionId) return res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  return res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null });
});
const other = async (req, res) => {
  const sessionId = req.headers['mcp-session-id'];
  if (!sessionId) return res.status(400).send('Missing session ID');
  const transport = sessions.get(sessionId);
  if (!transport) return res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  return transport.handleRequest(req, res);
};
app.get('/mcp', other);
app.delete('/mcp', other);
app.listen(parseInt(process.argv[2] || '3000', 10), '127.0.0.1');
