// Helpers for the tests that start a server or a runtime: a free loopback port, a child process
// stopped by its PID, and waiting until an HTTP server answers.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const js = new URL('..', import.meta.url).pathname;
export const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process; `stop()` kills it by PID and waits for it to exit. Output is kept. */
export function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until `url` answers (any status), or fails after `ms`. */
export async function waitForHttp(url, proc, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
      if (Date.now() > deadline) throw new Error(`${url} did not answer in ${ms} ms:\n${proc?.output() ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
