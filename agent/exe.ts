import { Command, CommanderError, Option } from 'commander';
import { win32 } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { AGENT_VERSION } from './version.js';
import { runService, SERVICE_ACCOUNT, SERVICE_ACTIONS, type ServiceAction } from './windows-service.js';

/** Exit codes as the `linkwatch` CLI's: 0 ok, 1 a service step failed, 2 a bad config or usage. */
const EXIT = { OK: 0, FAILED: 1, ERROR: 2 } as const;

/**
 * The single-file agent (`linkwatch-agent[.exe]`): `--config FILE [--once [--json]]`, `--version`, and on Windows
 * `service install|uninstall|start|stop|status --config FILE`. The same agent as `linkwatch agent`, without the
 * collector, dashboards and tools, so the executable loads only what a station runs.
 */
export async function exeMain(argv: string[]): Promise<number> {
  let code: number = EXIT.OK;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const program = new Command()
    .name('linkwatch-agent')
    .description('linkwatch agent: measures this station\'s links and reports them to the collector')
    .version(AGENT_VERSION, '-V, --version', 'print the agent version')
    .exitOverride()
    .showHelpAfterError()
    .option('-c, --config <file>', 'agent config (YAML or JSON)')
    .option('--once', 'measure once, print the report and exit without sending it')
    .option('--json', 'with --once: print the report as JSON')
    .action(async (opts: { config?: string; once?: boolean; json?: boolean }) => {
      if (!opts.config) return program.error('error: required option \'-c, --config <file>\' not specified', { exitCode: EXIT.ERROR });
      code = await (await import('./command.js')).runAgentCommand({ ...opts, config: opts.config });
    });

  program
    .command('service')
    .description('Windows: run the agent as a service (NSSM, beside this executable)')
    .addArgument(new Command().createArgument('<action>', SERVICE_ACTIONS.join(' | ')).choices(SERVICE_ACTIONS))
    .option('-c, --config <file>', 'agent config (install)', 'C:\\ProgramData\\linkwatch\\agent.yaml')
    .addOption(new Option('--name <name>', 'service name').default('linkwatch-agent'))
    .addOption(new Option('--data <dir>', 'working directory, state and logs').default('C:\\ProgramData\\linkwatch'))
    .addOption(new Option('--account <name>', 'account the service runs as (install)').default(SERVICE_ACCOUNT))
    .action(async (action: ServiceAction, opts: { config: string; name: string; data: string; account: string }) => {
      if (process.platform !== 'win32') return program.error('error: `service` is for Windows; on Linux use the systemd unit (docs/deploy.md)', { exitCode: EXIT.ERROR });
      const config = win32.isAbsolute(opts.config) ? opts.config : win32.resolve(opts.config);
      if (action === 'install') {
        // A config the agent would refuse is found now, not in a service restarting forever.
        const { loadAgentConfig } = await import('./main.js');
        loadAgentConfig(config);
      }
      code = await runService(action, { name: opts.name, exe: process.execPath, config, dataDir: opts.data, account: opts.account }, { out });
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.ERROR;
    if (err instanceof ConfigError) {
      process.stderr.write(`linkwatch-agent: config error: ${err.message}\n`);
      return EXIT.ERROR;
    }
    process.stderr.write(`linkwatch-agent: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.ERROR;
  }
  return code;
}

