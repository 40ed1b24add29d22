/**
 * A minimal QMP client: one connection per call, capabilities handshake,
 * one command, its reply. QMP is line-delimited JSON over a unix socket.
 */
import net from 'node:net';

export class QmpError extends Error {
  override name = 'QmpError';
}

export function qmp<T = unknown>(socketPath: string, command: string, args?: object, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let buf = '';
    let stage: 'greeting' | 'caps' | 'command' = 'greeting';
    const fail = (e: Error) => {
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new QmpError(`QMP ${command}: no reply within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('error', (e) => {
      clearTimeout(timer);
      fail(new QmpError(`QMP ${command}: ${e.message}`));
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: T; error?: { desc: string }; event?: string };
        if (msg.event) continue;
        if (stage === 'greeting' && msg.QMP) {
          stage = 'caps';
          sock.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (stage === 'caps') {
          if (msg.error) return fail(new QmpError(msg.error.desc));
          stage = 'command';
          sock.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
        } else if (stage === 'command') {
          clearTimeout(timer);
          sock.end();
          if (msg.error) reject(new QmpError(`QMP ${command}: ${msg.error.desc}`));
          else resolve(msg.return as T);
        }
      }
    });
    // `quit` closes the socket instead of replying reliably.
    sock.on('close', () => {
      clearTimeout(timer);
      if (stage === 'command' && command === 'quit') resolve(undefined as T);
    });
  });
}
