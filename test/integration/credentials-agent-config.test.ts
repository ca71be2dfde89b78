/**
 * `linkwatch credentials agent-config` per station OS, through the CLI: the YAML it writes is read back by the agent's
 * own config loader, and every path comes out byte for byte as the station PC needs it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config.js';
import { loadConfigFile } from '../../lib/config-file.js';
import { tempDir } from '../helpers/env.js';
import { runCli } from '../helpers/proc.js';

async function run(args: string[]) {
  const p = runCli(args);
  const code = await p.exited;
  return { code, output: p.output() };
}

const bytes = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('linkwatch credentials agent-config --os', () => {
  let dir: string;
  let registry: string;
  const agentYaml = (station: string) => join(dir, 'clients', station, 'agent.yaml');
  const generate = (station: string, ...extra: string[]) =>
    run(['credentials', 'agent-config', station, '--dir', dir, '--registry', registry, '--broker-url', 'mqtts://hub.example:8883', ...extra]);

  beforeAll(() => {
    dir = tempDir('lw-agent-config-');
    registry = join(dir, 'stations.csv');
    writeFileSync(registry, 'id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nbk-a,Công an xã Yên Định,Yên Định,Chợ Mới,Bắc Kạn,22.1,105.8,VNPT,c1,99.5\nbk-b,B,B,Chợ Mới,Bắc Kạn,22.1,105.8,Viettel,c2,99.5\n');
  });

  it('writes Windows paths under C:\\ProgramData\\linkwatch, single-quoted, that the agent loads byte-exact', async () => {
    const r = await generate('bk-a', '--os', 'windows', '--auth', 'password');
    expect(r.code, r.output).toBe(0);
    const text = readFileSync(agentYaml('bk-a'), 'utf8');
    expect(text).toContain("path: 'C:\\ProgramData\\linkwatch\\outbox'");
    expect(text).toContain("password_file: 'C:\\ProgramData\\linkwatch\\password'");
    expect(text).toContain("ca: 'C:\\ProgramData\\linkwatch\\ca.pem'");
    const cfg = loadConfigFile(agentYaml('bk-a'), agentConfigSchema);
    expect(bytes(cfg.outbox.path)).toBe(bytes('C:\\ProgramData\\linkwatch\\outbox'));
    expect(bytes(cfg.broker.password_file!)).toBe(bytes('C:\\ProgramData\\linkwatch\\password'));
    expect(bytes(cfg.broker.ca!)).toBe(bytes('C:\\ProgramData\\linkwatch\\ca.pem'));
    expect(cfg.broker.cert).toBeUndefined();
  });

  it('writes the certificate and key paths of a Windows station with certificate authentication', async () => {
    expect((await generate('bk-b', '--os', 'windows')).code).toBe(0);
    const cfg = loadConfigFile(agentYaml('bk-b'), agentConfigSchema);
    expect([cfg.broker.cert, cfg.broker.key]).toEqual(['C:\\ProgramData\\linkwatch\\cert.pem', 'C:\\ProgramData\\linkwatch\\key.pem']);
  });

  it('keeps a hand-given Windows outbox path with diacritics, spaces and a quote byte-exact', async () => {
    const outbox = "D:\\Dữ liệu\\linkwatch's outbox";
    expect((await generate('bk-a', '--os', 'windows', '--install-dir', 'D:\\linkwatch', '--outbox-path', outbox)).code).toBe(0);
    const cfg = loadConfigFile(agentYaml('bk-a'), agentConfigSchema);
    expect(bytes(cfg.outbox.path)).toBe(bytes(outbox));
    expect(cfg.broker.ca).toBe('D:\\linkwatch\\ca.pem');
  });

  it('puts a Linux station\'s outbox under /var/lib/linkwatch, where the unit lets it write, and its files in /etc/linkwatch', async () => {
    expect((await generate('bk-a')).code).toBe(0);
    const cfg = loadConfigFile(agentYaml('bk-a'), agentConfigSchema);
    expect(cfg.outbox.path).toBe('/var/lib/linkwatch/outbox');
    expect([cfg.broker.ca, cfg.broker.cert, cfg.broker.key]).toEqual(['/etc/linkwatch/ca.pem', '/etc/linkwatch/cert.pem', '/etc/linkwatch/key.pem']);
  });

  it('takes a Windows --install-dir without --os as a Windows station, as before', async () => {
    expect((await generate('bk-a', '--install-dir', 'C:\\ProgramData\\linkwatch')).code).toBe(0);
    expect(loadConfigFile(agentYaml('bk-a'), agentConfigSchema).outbox.path).toBe('C:\\ProgramData\\linkwatch\\outbox');
  });

  it.each([
    [['--os', 'macos'], /--os must be linux or windows/],
    [['--os', 'linux', '--install-dir', 'C:\\linkwatch'], /--install-dir C:\\linkwatch is not a linux path/],
    [['--os', 'windows', '--outbox-path', '/var/lib/linkwatch'], /--outbox-path \/var\/lib\/linkwatch is not a windows path/],
  ])('refuses %j with exit 2', async (extra, message) => {
    const r = await generate('bk-a', ...extra);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(message);
  });
});
