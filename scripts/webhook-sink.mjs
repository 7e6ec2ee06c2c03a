// A webhook receiver for benchmarks: answers 200 to every POST and counts requests and
// events; prints {"requests", "events", "first_ms", "last_ms"} as JSON when stopped
// (SIGTERM/SIGINT). Usage: node scripts/webhook-sink.mjs PORT
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
let requests = 0;
let events = 0;
let first = 0;
let last = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    first ||= now;
    last = now;
    requests++;
    try {
      events += JSON.parse(Buffer.concat(chunks).toString('utf8')).events.length;
    } catch {
      // counted as a request only
    }
    res.writeHead(200);
    res.end();
  });
});
server.listen(port, '127.0.0.1', () => console.log(`webhook sink on ${port}`));
const stop = () => {
  console.log(JSON.stringify({ requests, events, first_ms: first, last_ms: last }));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
