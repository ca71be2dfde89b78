import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, win32 } from 'node:path';

/**
 * The agent as a Windows service, through NSSM (the Non-Sucking Service Manager, `nssm.exe` shipped beside the
 * executable). NSSM registers a real service with the Service Control Manager, restarts the program when it exits,
 * stops it with Ctrl-C (which the agent handles like SIGINT: the cycle under way is committed), and writes its
 * stdout/stderr to log files it rotates by size — none of which a Node program can do for itself, since a service
 * process must speak the SCM's control protocol. See docs/deploy.md for why NSSM and not WinSW or `sc.exe create`.
 */

export const SERVICE_ACTIONS = ['install', 'uninstall', 'start', 'stop', 'status'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

export interface ServicePlan {
  /** Service name in the SCM. */
  name: string;
  /** The agent executable (absolute). */
  exe: string;
  /** The agent config (absolute). */
  config: string;
  /** Working directory, state and logs: `C:\ProgramData\linkwatch`. */
  dataDir: string;
  /** The account the service runs as (default SERVICE_ACCOUNT). */
  account?: string;
}

/** NT AUTHORITY\LocalService: no admin rights, no network credentials; ping.exe, TCP and HTTP need none. */
export const SERVICE_ACCOUNT = 'NT AUTHORITY\\LocalService';
/** LocalService's SID, which icacls takes whatever the language of Windows (account names are localised). */
export const LOCAL_SERVICE_SID = '*S-1-5-19';
const SYSTEM_SID = '*S-1-5-18';
const ADMINISTRATORS_SID = '*S-1-5-32-544';
/** Log files rotate at this size, and on every start; NSSM keeps the rotated ones beside, timestamped. */
export const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/** A program and its arguments, run in order; `optional` steps may fail (reported, not fatal). */
export interface Step {
  program: 'nssm' | 'sc' | 'icacls';
  args: string[];
  optional?: boolean;
  why: string;
}

/** Quotes one argument for a Windows command line that NSSM stores verbatim (AppParameters). */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  // CommandLineToArgvW rules: backslashes are literal unless they precede a quote.
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/** The steps of a service action. Pure: what runs is decided here, run by `runService`. */
export function serviceSteps(action: ServiceAction, plan: ServicePlan): Step[] {
  const { name } = plan;
  const set = (key: string, ...values: string[]): Step => ({ program: 'nssm', args: ['set', name, key, ...values], why: `set ${key}` });
  const log = win32.join(plan.dataDir, 'logs', 'agent.log');
  switch (action) {
    case 'install':
      return [
        { program: 'nssm', args: ['install', name, plan.exe], why: 'register the service with the SCM' },
        set('AppParameters', `--config ${quoteWindowsArg(plan.config)}`),
        set('AppDirectory', plan.dataDir),
        set('DisplayName', 'linkwatch agent'),
        set('Description', 'Measures this station\'s links and reports them to the provincial linkwatch collector.'),
        set('Start', 'SERVICE_AUTO_START'),
        set('ObjectName', plan.account ?? SERVICE_ACCOUNT),
        // Restart whenever the agent exits, 5 s later; NSSM lengthens the delay if it keeps exiting within 10 s
        // (and reports the service running only once the agent has run that long).
        set('AppExit', 'Default', 'Restart'),
        set('AppRestartDelay', '5000'),
        set('AppThrottle', '10000'),
        // Ctrl-C first (the agent commits the cycle under way and says offline), then harder after 15 s.
        set('AppStopMethodConsole', '15000'),
        set('AppStdout', log),
        set('AppStderr', log),
        set('AppRotateFiles', '1'),
        set('AppRotateOnline', '1'),
        set('AppRotateBytes', String(LOG_ROTATE_BYTES)),
        // Should NSSM itself die, the SCM restarts the service (1 min, then again, then every 5 min; reset after a day).
        { program: 'sc', args: ['failure', name, 'reset=', '86400', 'actions=', 'restart/60000/restart/60000/restart/300000'], optional: true, why: 'SCM recovery actions' },
        // The folder holds the broker password and client key: only SYSTEM, Administrators and the service's account
        // (modify: state and logs), instead of the read access ProgramData gives every local user.
        {
          program: 'icacls',
          args: [plan.dataDir, '/inheritance:r', '/grant:r', `${SYSTEM_SID}:(OI)(CI)F`, `${ADMINISTRATORS_SID}:(OI)(CI)F`, `${LOCAL_SERVICE_SID}:(OI)(CI)M`, '/T', '/Q'],
          optional: true,
          why: 'restrict the data folder to SYSTEM, Administrators and LocalService',
        },
        { program: 'nssm', args: ['start', name], why: 'start the service' },
      ];
    case 'uninstall':
      return [
        { program: 'nssm', args: ['stop', name], optional: true, why: 'stop the service' },
        { program: 'nssm', args: ['remove', name, 'confirm'], why: 'remove the service' },
      ];
    case 'start':
      return [{ program: 'nssm', args: ['start', name], why: 'start the service' }];
    case 'stop':
      return [{ program: 'nssm', args: ['stop', name], why: 'stop the service' }];
    case 'status':
      return [{ program: 'nssm', args: ['status', name], why: 'query the service' }];
  }
}

export interface StepResult {
  step: Step;
  code: number;
  output: string;
}

/** Runs one step; NSSM writes UTF-16LE to a file or pipe, so its output is decoded as such when it looks like it. */
function runStep(step: Step, nssm: string): Promise<StepResult> {
  const program = step.program === 'nssm' ? nssm : `${step.program}.exe`;
  return new Promise((resolve) => {
    execFile(program, step.args, { encoding: 'buffer', windowsHide: true, timeout: 60_000 }, (err, stdout, stderr) => {
      const raw = Buffer.concat([stdout, stderr]);
      const output = (raw.length >= 2 && raw[1] === 0 ? raw.toString('utf16le') : raw.toString('utf8')).replace(/\0/g, '').trim();
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ step, code, output: output || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

/**
 * Runs a service action and reports each step on `out`; returns the exit code (0 done, 1 a required step failed).
 * `nssm` defaults to nssm.exe beside this executable.
 */
export async function runService(action: ServiceAction, plan: ServicePlan, opts: { nssm?: string; out: (line: string) => void }): Promise<number> {
  const nssm = opts.nssm ?? win32.join(dirname(plan.exe), 'nssm.exe');
  if (action === 'install') mkdirSync(win32.join(plan.dataDir, 'logs'), { recursive: true });
  for (const step of serviceSteps(action, plan)) {
    const r = await runStep(step, nssm);
    if (action === 'status') {
      opts.out(r.output);
      return r.code;
    }
    // NSSM answers START_PENDING until the agent has run AppThrottle ms, STOP_PENDING while it stops; the SCM
    // carries on either way (`status` tells when it is done).
    const pending = r.output.match(/SERVICE_(START|STOP)_PENDING/);
    if (r.code !== 0 && (step.args[0] === 'start' || step.args[0] === 'stop') && pending) {
      opts.out(`${plan.name}: ${step.args[0]} requested; the service is still ${pending[1] === 'START' ? 'starting' : 'stopping'} (${pending[0]})`);
      continue;
    }
    if (r.code !== 0) {
      opts.out(`${step.optional ? 'warning' : 'error'}: ${step.why}: ${step.program} ${step.args.join(' ')} exited ${r.code}${r.output ? `: ${r.output}` : ''}`);
      if (!step.optional) return 1;
    }
  }
  opts.out(`${plan.name}: ${action} done`);
  return 0;
}
