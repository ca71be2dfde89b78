import { Command, CommanderError } from 'commander';
// lib/errors.js, not lib/config-file.js: the CLI starts without yaml and zod, so `linkwatch agent` can set its V8 flags
// before they load (agent/v8-flags.ts).
import { ConfigError } from '../lib/errors.js';
import { waitForSignal } from '../lib/signals.js';

/** Exit codes: 0 ok, 1 some stations not ok (status), 2 error (bad config, unreachable server). */
export const EXIT = { OK: 0, NOT_OK: 1, ERROR: 2 } as const;

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.OK;
  const program = new Command()
    .name('linkwatch')
    .description('Watches the uplinks of police stations: agent, collector, dashboards')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('agent')
    .description('measure this station\'s links and report them to the collector')
    .requiredOption('-c, --config <file>', 'agent config (YAML or JSON)')
    .option('--once', 'measure once, print the report and exit without sending it')
    .option('--json', 'with --once: print the report as JSON')
    .action(async (opts: { config: string; once?: boolean; json?: boolean }) => {
      // Without --once the agent runs as a service and prints no report, so --json would silently do nothing.
      if (opts.json && !opts.once) return program.error('error: --json prints the report of --once; use `linkwatch agent --config FILE --once --json`', { exitCode: EXIT.ERROR });
      code = await (await import('../agent/command.js')).runAgentCommand(opts);
    });

  program
    .command('collector')
    .description('receive reports over MQTT, store them in InfluxDB, acknowledge them')
    .requiredOption('-c, --config <file>', 'collector config (YAML or JSON)')
    // Applied by bin/linkwatch.js before this module loads (collector/heap.ts); declared here for --help and parsing.
    .option('--bounded-heap', 'keep the process\'s heap near what it holds (old generation 20 % past live, small young generation): about half the RSS under a flood for about 70 % more CPU per report')
    .action(async (opts: { config: string }) => {
      const { loadCollectorConfig, startCollector } = await import('../collector/main.js');
      const cfg = loadCollectorConfig(opts.config);
      const running = await startCollector(cfg, { configFile: opts.config });
      await waitForSignal();
      await running.stop();
    });

  program
    .command('evaluator')
    .description('judge the stations (health and incident points) without receiving reports: for a collector whose InfluxDB user may only write')
    .requiredOption('-c, --config <file>', 'the collector config (YAML or JSON); evaluator.username names this process\'s InfluxDB user')
    .action(async (opts: { config: string }) => {
      const { loadCollectorConfig, startEvaluator } = await import('../collector/main.js');
      const cfg = loadCollectorConfig(opts.config);
      const running = startEvaluator(cfg, { configFile: opts.config });
      await waitForSignal();
      await running.stop();
    });

  program
    .command('demo')
    .description('run a local broker, InfluxDB, collector and a simulated province, printing what they see')
    .option('--stations <n>', 'simulated stations', '20')
    .option('--dir <dir>', 'data directory (default: a new temporary one, removed on exit)')
    .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--interval <seconds>', 'measurement interval of the simulated agents', '5')
    .action(async (opts: { stations: string; dir?: string; duration?: string; interval: string }) => {
      const { runDemo } = await import('./demo.js');
      await runDemo({
        stations: Number(opts.stations),
        intervalS: Number(opts.interval),
        ...(opts.dir ? { dir: opts.dir } : {}),
        ...(opts.duration ? { durationS: Number(opts.duration) } : {}),
        until: waitForSignal(),
      });
    });

  const credentials = program.command('credentials').description('station CA, client certificates, CRL, broker passwords and ACL, agent configs');
  // Its subcommands load node-forge and the registry reader (csv-parse, iconv-lite), which a running agent never
  // uses, so they are added only when `credentials` is on the command line (docs/performance.md, "Agent footprint").
  if (argv.slice(2).includes('credentials')) (await import('./credentials.js')).credentialsCommand(credentials);

  program
    .command('dashboards')
    .description('write the Grafana dashboards (classic JSON) for a file provider')
    .requiredOption('-o, --out <dir>', 'directory to write the dashboards into')
    .option('--lang <lang>', 'labels: vi or en', 'vi')
    .option('--groups <columns>', 'registry grouping columns the boards filter by, broadest first (e.g. area,hub); default district')
    .option('-c, --config <file>', "the collector config: the boards' grouping columns follow its registry and verdicts.incident_scopes")
    .option('--alerts <file>', 'also write the alert rules (Grafana file provisioning) for the same columns')
    .option('--basemap-url <url>', 'XYZ tile template for the map, e.g. https://tiles.example.vn/{z}/{x}/{y}.png (offline networks)')
    .option('--partner <isp>', "write only the SLA board, locked to this ISP, for the partner's own Grafana organisation")
    .action(async (opts: { out: string; lang: string; groups?: string; config?: string; alerts?: string; basemapUrl?: string; partner?: string }) => {
      const { basemapUrlProblem, writeDashboards, renderAlertRules, labels, boardGroups } = await import('../dashboards/index.js');
      if (opts.lang !== 'vi' && opts.lang !== 'en') return program.error(`error: --lang must be vi or en, not "${opts.lang}"`, { exitCode: 2 });
      let groups = (opts.groups ?? 'district').split(',').map((g) => g.trim()).filter(Boolean);
      if (groups.some((g) => !/^[a-z][a-z0-9_]{0,31}$/.test(g))) return program.error(`error: --groups must be registry column names, not "${opts.groups}"`, { exitCode: 2 });
      if (opts.config && !opts.groups) {
        const { loadConfigFile } = await import('../lib/config-file.js');
        const { collectorConfigSchema } = await import('../collector/config.js');
        const { loadRegistry, groupColumns } = await import('../collector/registry.js');
        const cfg = loadConfigFile(opts.config, collectorConfigSchema);
        groups = boardGroups(groupColumns(loadRegistry(cfg.stations)), cfg.verdicts.incident_scopes);
      }
      const bad = opts.basemapUrl !== undefined ? basemapUrlProblem(opts.basemapUrl) : undefined;
      if (bad) return program.error(`error: ${bad}`, { exitCode: 2 });
      const written = await writeDashboards(opts.out, opts.lang, {
        groups,
        ...(opts.basemapUrl ? { map: { basemapUrl: opts.basemapUrl } } : {}),
        ...(opts.partner !== undefined ? { partner: opts.partner } : {}),
      });
      if (opts.alerts) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(opts.alerts, renderAlertRules(labels(opts.lang), { groups }));
        written.push(opts.alerts);
      }
      for (const file of written) process.stdout.write(`${file}\n`);
    });

  program
    .command('status')
    .description('stations not ok now and open incidents, from the verdicts in InfluxDB (exit 0 all ok, 1 some not ok, 2 error)')
    .requiredOption('-c, --config <file>', 'the collector config (YAML or JSON): it names InfluxDB and the registry')
    .option('--json', 'print the stations not ok and the open incidents as JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const { runStatus } = await import('./status.js');
      code = await runStatus({ config: opts.config, json: opts.json === true });
    });

  program
    .command('sla')
    .description('the SLA statement per circuit (availability, outages, MTTR, MTBF, exclusions, quality) from the rollups')
    .requiredOption('-c, --config <file>', 'the collector config (YAML or JSON): it names InfluxDB and the registry')
    .option('--month <YYYY-MM>', 'a calendar month in Asia/Ho_Chi_Minh')
    .option('--from <iso>', 'start (ISO date or date-time; without an offset: Vietnamese time)')
    .option('--to <iso>', 'end, exclusive')
    .option('--isp <name>', 'only this ISP\'s circuits')
    .option('--format <format>', 'table, csv, json or pdf', 'table')
    .option('--lang <lang>', 'vi or en', 'vi')
    .option('-o, --out <file>', 'write to this file instead of standard output')
    .action(async (opts: { config: string; month?: string; from?: string; to?: string; isp?: string; format: string; lang: string; out?: string }) => {
      const { runSla } = await import('./sla.js');
      code = await runSla(opts);
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.ERROR;
    if (err instanceof ConfigError) {
      process.stderr.write(`linkwatch: config error: ${err.message}\n`);
      return EXIT.ERROR;
    }
    process.stderr.write(`linkwatch: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.ERROR;
  }
  return code;
}
