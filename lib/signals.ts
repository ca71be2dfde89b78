/** Resolves with the first stop signal: SIGINT (also NSSM's Ctrl-C stop), SIGTERM (systemd's stop), SIGBREAK (Ctrl-Break). */
export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGBREAK'] as const) process.once(sig, () => resolve(sig));
  });
}
