// Headless Chromium (apt) for the end-to-end suites that drive a browser. Each suite passes its
// own playwright-core's `chromium` (this folder has no node_modules of its own).
//
// The flags keep Chromium off the network it would otherwise reach for (this machine's closed
// network refuses it); CHROMIUM overrides the executable (default /usr/bin/chromium).

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium; `close()` also kills it by PID. */
export async function launchChromium(chromium) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const pid = browser.process?.()?.pid;
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* already gone */ }
      }
    },
  };
}
