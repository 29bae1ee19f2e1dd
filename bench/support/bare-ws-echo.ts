import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * The ceiling beside the web chat benchmark: a bare `ws` server on node:http that sends every message straight back,
 * run as a process of its own like the service. Prints `listening <port>`.
 */
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  wss.close();
  server.close(() => process.exit(0));
});
