import { describe, expect, it } from 'vitest';
import { LOG_ROTATE_BYTES, quoteWindowsArg, serviceSteps, type ServicePlan } from '../../agent/windows-service.js';

const plan: ServicePlan = {
  name: 'linkwatch-agent',
  exe: 'C:\\Program Files\\linkwatch\\linkwatch-agent-win-x64.exe',
  config: 'C:\\ProgramData\\linkwatch\\agent.yaml',
  dataDir: 'C:\\ProgramData\\linkwatch',
};
const nssmSet = (steps: ReturnType<typeof serviceSteps>) =>
  Object.fromEntries(steps.filter((s) => s.program === 'nssm' && s.args[0] === 'set').map((s) => [s.args[2], s.args.slice(3).join(' ')]));

describe('quoteWindowsArg (CommandLineToArgvW rules)', () => {
  it.each([
    ['C:\\ProgramData\\linkwatch\\agent.yaml', 'C:\\ProgramData\\linkwatch\\agent.yaml'],
    ['C:\\Trạm Công an\\agent.yaml', '"C:\\Trạm Công an\\agent.yaml"'],
    ['C:\\dir with space\\', '"C:\\dir with space\\\\"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['', '""'],
  ])('%s → %s', (arg, quoted) => {
    expect(quoteWindowsArg(arg)).toBe(quoted);
  });
});

describe('service steps', () => {
  it('installs a service that runs the executable with its config, as LocalService, restarting it, logging to rotated files', () => {
    const steps = serviceSteps('install', plan);
    expect(steps[0]).toMatchObject({ program: 'nssm', args: ['install', 'linkwatch-agent', plan.exe] });
    expect(nssmSet(steps)).toMatchObject({
      AppParameters: '--config C:\\ProgramData\\linkwatch\\agent.yaml',
      AppDirectory: 'C:\\ProgramData\\linkwatch',
      Start: 'SERVICE_AUTO_START',
      ObjectName: 'NT AUTHORITY\\LocalService',
      AppExit: 'Default Restart',
      AppStdout: 'C:\\ProgramData\\linkwatch\\logs\\agent.log',
      AppStderr: 'C:\\ProgramData\\linkwatch\\logs\\agent.log',
      AppRotateFiles: '1',
      AppRotateOnline: '1',
      AppRotateBytes: String(LOG_ROTATE_BYTES),
    });
    // Last: started once everything is set.
    expect(steps.at(-1)).toMatchObject({ program: 'nssm', args: ['start', 'linkwatch-agent'] });
    // Only the SCM recovery actions and the folder's ACL may fail (not every Windows has them the same; Wine has neither).
    expect(steps.filter((s) => s.optional).map((s) => s.program)).toEqual(['sc', 'icacls']);
  });

  it('quotes a config path with spaces and diacritics for the service\'s command line', () => {
    expect(nssmSet(serviceSteps('install', { ...plan, config: 'D:\\Trạm Công an\\agent.yaml' })).AppParameters).toBe('--config "D:\\Trạm Công an\\agent.yaml"');
  });

  it('runs as another account when told (LocalSystem under Wine)', () => {
    expect(nssmSet(serviceSteps('install', { ...plan, account: 'LocalSystem' })).ObjectName).toBe('LocalSystem');
  });

  it.each([
    ['start', [['start', 'linkwatch-agent']]],
    ['stop', [['stop', 'linkwatch-agent']]],
    ['status', [['status', 'linkwatch-agent']]],
    ['uninstall', [['stop', 'linkwatch-agent'], ['remove', 'linkwatch-agent', 'confirm']]],
  ] as const)('%s is NSSM\'s own command', (action, args) => {
    expect(serviceSteps(action, plan).map((s) => s.args)).toEqual(args);
  });
});
