import { waitForSignal } from '../lib/signals.js';

/**
 * The agent command of `linkwatch agent` and of the single-file `linkwatch-agent`: with `once`, check readiness, measure
 * once and print the report (a table, or JSON); without, run the agent until a stop signal. Resolves with the exit code
 * (2 when `once` finds the station not ready). It imports the agent only after setting its V8 flags (agent/v8-flags.ts),
 * so its callers must not load yaml or zod first.
 */
export async function runAgentCommand(opts: { config: string; once?: boolean; json?: boolean }): Promise<number> {
  if (!opts.once) (await import('./v8-flags.js')).setAgentV8Flags();
  const { loadAgentConfig, startAgent } = await import('./main.js');
  const cfg = loadAgentConfig(opts.config);
  if (opts.once) {
    const { measureOnce, formatReport, reportUnready } = await import('./once.js');
    const { createLogger } = await import('../lib/log.js');
    if (await reportUnready(cfg, opts.config)) return 2;
    const report = await measureOnce(cfg, { log: createLogger({ level: 'warn', stderr: true }) });
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return 0;
  }
  const running = startAgent(cfg, { configFile: opts.config });
  await waitForSignal();
  await running.stop();
  return 0;
}
