/**
 * The datasource's `grafana` user, set up as docs/dashboards.md says (GRANT READ), can run the dashboards' queries and
 * variable queries on an influxd with authentication on, and cannot write or drop anything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards } from '../../dashboards/index.js';
import { substituteMacros } from '../../dashboards/macros.js';
import { startInflux, type LocalServer } from '../../deploy/local-servers.js';
import { panelIntervalMs, panelRange, panelsOf, resolveVariables, runInfluxQL, targetsOf } from '../helpers/dashboards.js';
import { healthPoints, NOW, SCHEMA, STATIONS } from '../helpers/dashboards-scenario.js';

const DB = 'linkwatch';
const ADMIN = { u: 'admin', p: 'admin-secret' };
const GRAFANA = { u: 'grafana', p: 'grafana-secret' };
let influx: LocalServer;
let dir: string;

async function admin(q: string): Promise<void> {
  const r = await runInfluxQL(influx.url, DB, q, ADMIN);
  if (r.error) throw new Error(`${q}: ${r.error}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lw-dash-auth-'));
  influx = await startInflux({ dir, auth: true });
  // With authentication on and no users yet, InfluxDB 1.x accepts exactly this first statement unauthenticated.
  const first = await runInfluxQL(influx.url, DB, `CREATE USER "${ADMIN.u}" WITH PASSWORD '${ADMIN.p}' WITH ALL PRIVILEGES`);
  expect(first.error).toBeUndefined();
  await admin(`CREATE DATABASE "${DB}"`);
  await admin(`CREATE USER "${GRAFANA.u}" WITH PASSWORD '${GRAFANA.p}'`);
  await admin(`GRANT READ ON "${DB}" TO "${GRAFANA.u}"`);
  const client = new InfluxDB({ host: '127.0.0.1', port: influx.port, database: DB, schema: SCHEMA, username: ADMIN.u, password: ADMIN.p });
  await client.writePoints(STATIONS.flatMap(healthPoints), { precision: 'ms' });
}, 60_000);

afterAll(async () => {
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the read-only grafana user', () => {
  it('runs every triage query and variable query', async () => {
    const d = buildDashboards('vi').triage;
    const run = (q: string) => runInfluxQL(influx.url, DB, q, GRAFANA);
    const vars = await resolveVariables(d, run, (q, v) => substituteMacros(q, { from: NOW - 86_400_000, to: NOW, intervalMs: 60_000, variables: v }));
    expect(vars.station!.options).toHaveLength(STATIONS.length);
    for (const p of panelsOf(d)) {
      const range = panelRange(d, p, NOW);
      for (const t of targetsOf(p)) {
        const r = await run(substituteMacros(t.query, { ...range, intervalMs: panelIntervalMs(range), variables: vars }));
        expect(r.error, `${p.title} ${t.refId}`).toBeUndefined();
      }
    }
  });

  it('cannot write points', async () => {
    const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms&u=${GRAFANA.u}&p=${GRAFANA.p}`, {
      method: 'POST',
      body: `health,station=x code=0i ${NOW}`,
    });
    expect(res.status).toBe(403);
  });

  it('cannot drop a measurement', async () => {
    const r = await runInfluxQL(influx.url, DB, 'DROP MEASUREMENT "health"', GRAFANA);
    expect(r.error).toMatch(/not authorized|privilege/);
  });

  it('is refused with a wrong password', async () => {
    const r = await runInfluxQL(influx.url, DB, 'SHOW MEASUREMENTS', { u: GRAFANA.u, p: 'wrong' });
    expect(r.error).toMatch(/authorization failed/);
  });
});
