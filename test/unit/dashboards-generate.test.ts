import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Dashboard, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { main } from '../../cli/main.js';
import { alertRulesFile, renderAlertRules } from '../../dashboards/alerts.js';
import { DASHBOARD_UIDS, DATASOURCE_UID, SCHEMA_VERSION } from '../../dashboards/common.js';
import { ALERT_RULES_FILE } from '../../dashboards/generate.js';
import { labels, LANGS } from '../../dashboards/i18n.js';
import { buildDashboards, writeDashboards } from '../../dashboards/index.js';
import { variablesIn } from '../../dashboards/macros.js';
import { DEPLOY_DIR } from '../../deploy/local-servers.js';
import { isBuiltin, mappingsOf, panelsOf, targetsOf, variablesUsed } from '../helpers/dashboards.js';

const PROVISIONING = join(DEPLOY_DIR, 'grafana/provisioning');
const tmp = mkdtempSync(join(tmpdir(), 'lw-dashboards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cases = LANGS.flatMap((lang) =>
  Object.entries(buildDashboards(lang)).map(([kind, d]) => ({ lang, kind, d: d as Dashboard })),
);

describe.each(cases)('$kind dashboard ($lang)', ({ lang, kind, d }) => {
  const panels = panelsOf(d);

  it('is classic dashboard JSON with a stable uid and the schema version Grafana 11.6+ accepts', () => {
    expect(d.uid).toBe(DASHBOARD_UIDS[kind as keyof typeof DASHBOARD_UIDS]);
    expect(d.schemaVersion).toBe(SCHEMA_VERSION);
    expect(d.title).toBe(labels(lang).dashboards[kind as keyof typeof DASHBOARD_UIDS]);
    expect(panels.length).toBeGreaterThan(2);
  });

  it('gives every panel (and row) a unique id, and every target a unique refId within its panel', () => {
    const ids = (d.panels ?? []).map((p) => p.id);
    expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      const refIds = targetsOf(p).map((t) => t.refId);
      expect(refIds.length, p.title).toBeGreaterThan(0);
      expect(refIds.every((r) => typeof r === 'string' && r.length > 0), p.title).toBe(true);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
    }
  });

  it('uses the provisioned datasource uid on every panel, target and variable', () => {
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe(DATASOURCE_UID);
      for (const t of targetsOf(p)) expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe(DATASOURCE_UID);
    }
    for (const v of d.templating.list ?? []) if (v.type === 'query') expect(v.datasource?.uid, v.name).toBe(DATASOURCE_UID);
  });

  it('defines every variable it uses', () => {
    const defined = new Set((d.templating.list ?? []).map((v) => v.name));
    const used = variablesUsed(d);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !defined.has(n))).toEqual([]);
  });

  it('sends raw InfluxQL with $timeFilter and never paints silence with fill(previous)', () => {
    for (const p of panels) {
      for (const t of targetsOf(p)) {
        expect(t.rawQuery, p.title).toBe(true);
        expect(t.query, p.title).toMatch(/^SELECT /);
        expect(t.query, p.title).toContain('$timeFilter');
        expect(t.query, p.title).not.toContain('fill(previous)');
        // Status histories use fixed cells (an hour, a day): Grafana draws at most one cell per two pixels.
        if (p.type === 'status-history') expect(t.query, p.title).toMatch(/GROUP BY time\((1h|1d)\)/);
        else if (!['table', 'stat', 'geomap', 'bargauge'].includes(p.type)) expect(t.query, p.title).toMatch(/GROUP BY time\(\$__interval\)/);
      }
    }
  });

  it('names every series and shown field in the board\'s language, never by a raw field name (`$col`, `cause`, `cpu_pct`)', () => {
    for (const p of panels) {
      for (const t of targetsOf(p)) expect(t.alias ?? '', `${p.title} ${t.refId}`).not.toContain('$col');
      if (p.type === 'stat' || p.type === 'geomap') {
        const shown = JSON.stringify(p.options ?? {}).match(/\^\(?([a-z_|]+)\)?\$/)?.[1]?.split('|') ?? [];
        for (const f of shown.filter((x) => x !== 'code')) {
          const o = (p.fieldConfig?.overrides ?? []).find((x) => x.matcher.options === f);
          expect(o?.properties.some((q) => q.id === 'displayName'), `${p.title}: ${f}`).toBe(true);
        }
      }
    }
  });

  it('fits every panel in the 24-column grid', () => {
    for (const p of d.panels ?? []) {
      expect(p.gridPos, p.title).toBeDefined();
      expect(p.gridPos!.x + p.gridPos!.w, p.title).toBeLessThanOrEqual(24);
    }
  });

  it('reads NO DATA, never a state, where a panel that shows states has nothing', () => {
    const nodata = labels(lang).states.nodata;
    const showsStates = (m: ValueMapping[] | undefined) =>
      (m ?? []).some((x) => x.type === 'value' && Object.values(x.options).some((r) => r.text === labels(lang).states.ok));
    const nullIsNoData = (m: ValueMapping[] | undefined) =>
      (m ?? []).some((x) => x.type === 'special' && x.options.match === 'null' && x.options.result.text === nodata);
    let checked = 0;
    for (const p of panels) {
      for (const m of mappingsOf(p).filter(showsStates)) {
        expect(nullIsNoData(m), p.title).toBe(true);
        checked++;
      }
      if (p.type === 'stat' && mappingsOf(p).some(showsStates)) expect(p.fieldConfig?.defaults?.noValue, p.title).toBe(nodata);
    }
    if (kind !== 'sla') expect(checked, 'state mappings checked').toBeGreaterThan(0);
  });

  it(`is labelled in ${lang === 'vi' ? 'Vietnamese with diacritics' : 'English'}`, () => {
    const text = [d.title, ...panels.map((p) => p.title ?? '')].join(' ');
    if (lang === 'vi') expect(text).toMatch(/[ạảãàáâậầấẩẫăắằặẳẵệềếểễọỏõòóôộồốổỗơớờợởỡụủũùúưựừứửữịỉĩìíđ]/);
    else expect(text).not.toMatch(/[ạảãàáâậầấẩẫăắằặẳẵệềếểễọỏõòóôộồốổỗơớờợởỡụủũùúưựừứửữịỉĩìíđ]/);
  });
});

describe('both languages', () => {
  it('carry the same panels and queries, only the words differ', () => {
    const vi = buildDashboards('vi');
    const en = buildDashboards('en');
    for (const kind of Object.keys(vi) as (keyof typeof vi)[]) {
      const q = (d: Dashboard) => panelsOf(d).map((p) => [p.id, p.type, targetsOf(p).map((t) => t.query)]);
      expect(q(en[kind])).toEqual(q(vi[kind]));
      expect(en[kind].title).not.toBe(vi[kind].title);
    }
  });
});

describe('the map', () => {
  it('uses Grafana\'s configured basemap by default, and an internal XYZ tile server when given one', () => {
    const basemap = (d: Dashboard) => (panelsOf(d).find((p) => p.type === 'geomap')!.options as { basemap: { type: string; config?: { url?: string } } }).basemap;
    expect(basemap(buildDashboards('vi').heatmap).type).toBe('default');
    const offline = basemap(buildDashboards('vi', { map: { basemapUrl: 'http://tiles.internal/{z}/{x}/{y}.png' } }).heatmap);
    expect(offline).toMatchObject({ type: 'xyz', config: { url: 'http://tiles.internal/{z}/{x}/{y}.png' } });
  });
});

describe('alert rules', () => {
  const file = alertRulesFile(labels('vi'));
  const rules = file.groups.flatMap((g) => g.rules);

  it('cover station down, incidents, the pipeline watchdog and SLA at risk, each with a unique uid', () => {
    expect(rules.map((r) => r.uid)).toEqual(['linkwatch-station-down', 'linkwatch-incident', 'linkwatch-watchdog', 'linkwatch-sla-at-risk']);
  });

  it('page when the pipeline is dead: the watchdog\'s NoData and errors are Alerting', () => {
    const w = rules.find((r) => r.uid === 'linkwatch-watchdog')!;
    expect([w.noDataState, w.execErrState]).toEqual(['Alerting', 'Alerting']);
  });

  it('link each station alert to the station board, and route by team (police IT, telecom with the ISP label)', () => {
    for (const uid of ['linkwatch-station-down', 'linkwatch-sla-at-risk']) {
      const r = rules.find((x) => x.uid === uid)!;
      expect(r.annotations!.station_board).toBe('/d/linkwatch-station?var-station={{ $labels.station }}');
    }
    expect(rules.find((r) => r.uid === 'linkwatch-sla-at-risk')!.labels).toMatchObject({ team: 'telecom' });
    expect(String(rules.find((r) => r.uid === 'linkwatch-sla-at-risk')!.data[0]!.model.query)).toContain('"isp"');
    for (const r of rules) expect(r.labels!.team, r.uid).toMatch(/^(police-it|telecom)$/);
  });

  it('land in the same folder as the dashboards: the provider finds the alerting folder by title, no folderUid', () => {
    const provider = parse(readFileSync(join(PROVISIONING, 'dashboards/linkwatch.yaml'), 'utf8')).providers[0];
    expect(provider.folderUid).toBeUndefined();
    for (const g of file.groups) expect(g.folder).toBe(provider.folder);
  });

  it('are in the file-provisioning shape: apiVersion 1, groups with orgId, folder and a duration interval', () => {
    expect(file.apiVersion).toBe(1);
    for (const g of file.groups) {
      expect(g.orgId).toBe(1);
      expect(g.folder).toBe('Linkwatch');
      expect(g.interval).toMatch(/^\d+s$/);
    }
  });

  it('query the provisioned datasource with raw InfluxQL and no dashboard variables, and end on a threshold', () => {
    for (const r of rules) {
      const [a, b, c] = r.data;
      expect(a!.datasourceUid).toBe(DATASOURCE_UID);
      expect(a!.model.rawQuery).toBe(true);
      const q = String(a!.model.query);
      expect(q).toContain('$timeFilter');
      expect(variablesIn(q).filter((n) => !isBuiltin(n))).toEqual([]);
      expect(a!.relativeTimeRange.from ?? 0).toBeGreaterThan(0);
      expect(b!.model).toMatchObject({ type: 'reduce', expression: 'A' });
      expect(c!.model).toMatchObject({ type: 'threshold', expression: 'B' });
      expect(r.condition).toBe('C');
      expect(new Set(r.data.map((x) => x.refId)).size).toBe(3);
    }
  });

  it('are committed exactly as the generator writes them', () => {
    expect(readFileSync(ALERT_RULES_FILE, 'utf8')).toBe(renderAlertRules(labels('vi')));
  });
});

describe('provisioning files', () => {
  it('define the InfluxQL datasource with the dashboards\' uid, a read-only user and a secret from the environment', () => {
    const doc = parse(readFileSync(join(PROVISIONING, 'datasources/linkwatch-influxdb.yaml'), 'utf8'));
    const [ds] = doc.datasources;
    expect(ds).toMatchObject({ uid: DATASOURCE_UID, type: 'influxdb', user: 'grafana', jsonData: { version: 'InfluxQL', httpMode: 'POST' } });
    expect(ds.secureJsonData.password).toMatch(/^\$\{[A-Z_]+\}$/);
    expect(ds.url).toMatch(/^\$\{[A-Z_]+\}$/);
  });

  it('point a file provider at a dashboards directory', () => {
    const doc = parse(readFileSync(join(PROVISIONING, 'dashboards/linkwatch.yaml'), 'utf8'));
    expect(doc.providers[0]).toMatchObject({ type: 'file', options: { path: expect.stringMatching(/^\//) } });
  });

  it('give example contact points (police IT, each ISP\'s NOC, Telegram) whose secrets come from the environment', () => {
    const doc = parse(readFileSync(join(PROVISIONING, 'alerting/contact-points.yaml'), 'utf8'));
    const [email, hook] = doc.contactPoints[0].receivers;
    expect(email.settings.addresses).toMatch(/^\$\{[A-Z_]+\}$/);
    expect(hook.settings.url).toMatch(/^\$\{[A-Z_]+\}$/);
    const names = doc.contactPoints.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['linkwatch-police-it', 'linkwatch-telecom-vnpt', 'linkwatch-telegram']));
    const telegram = doc.contactPoints.find((c: { name: string }) => c.name === 'linkwatch-telegram').receivers[0];
    expect(telegram.type).toBe('telegram');
    expect([telegram.settings.bottoken, telegram.settings.chatid].every((v: string) => /^\$\{[A-Z_]+\}$/.test(v))).toBe(true);
  });
});

describe('linkwatch dashboards', () => {
  it('writes the four dashboards as JSON into --out, in Vietnamese by default', async () => {
    const out = join(tmp, 'cli');
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out])).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toEqual(Object.values(DASHBOARD_UIDS).map((u) => `${u}.json`).sort());
    const triage = JSON.parse(readFileSync(join(out, 'linkwatch-triage.json'), 'utf8')) as Dashboard;
    expect(triage.title).toBe(labels('vi').dashboards.triage);
  });

  it('writes English labels with --lang en', async () => {
    const out = join(tmp, 'cli-en');
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--lang', 'en'])).toBe(0);
    const sla = JSON.parse(readFileSync(join(out, 'linkwatch-sla.json'), 'utf8')) as Dashboard;
    expect(sla.title).toBe(labels('en').dashboards.sla);
  });

  it('exits 2 for an unknown language and without --out', async () => {
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', join(tmp, 'x'), '--lang', 'fr'])).toBe(2);
    expect(await main(['node', 'linkwatch', 'dashboards'])).toBe(2);
  });

  it('writes only the SLA board, locked to the ISP, with --partner', async () => {
    const out = join(tmp, 'partner');
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--partner', 'VNPT', '--lang', 'en'])).toBe(0);
    expect(readdirSync(out)).toEqual(['linkwatch-sla-vnpt.json']);
    const d = JSON.parse(readFileSync(join(out, 'linkwatch-sla-vnpt.json'), 'utf8')) as Dashboard;
    expect((d.templating.list ?? []).map((v) => v.name)).not.toContain('isp');
    for (const v of d.templating.list ?? []) if (v.type === 'query') expect(v.query).toContain(`"isp" = 'VNPT'`);
    for (const p of panelsOf(d)) for (const t of targetsOf(p)) expect(t.query, p.title).toContain(`"isp" = 'VNPT'`);
    expect(JSON.stringify(d)).not.toContain('linkwatch-station?');
  });

  it('puts an offline tile server on the map with --basemap-url, and refuses a URL that is not an XYZ template', async () => {
    const out = join(tmp, 'tiles');
    const url = 'https://tiles.congan.example.vn/{z}/{x}/{y}.png';
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--basemap-url', url])).toBe(0);
    const heat = JSON.parse(readFileSync(join(out, 'linkwatch-heatmap.json'), 'utf8')) as Dashboard;
    const map = panelsOf(heat).find((p) => p.type === 'geomap')!;
    expect((map.options as { basemap: unknown }).basemap).toMatchObject({ type: 'xyz', config: { url } });
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--basemap-url', 'tiles.example.vn'])).toBe(2);
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--basemap-url', 'https://tiles.example.vn/{z}/{x}.png'])).toBe(2);
  });

  it('filters by the registry\'s grouping columns with --groups (area, hub after the 2025 reform)', async () => {
    const out = join(tmp, 'groups');
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--groups', 'area,hub'])).toBe(0);
    const triage = JSON.parse(readFileSync(join(out, 'linkwatch-triage.json'), 'utf8')) as Dashboard;
    expect((triage.templating.list ?? []).map((v) => v.name)).toEqual(['province', 'area', 'hub', 'isp', 'station']);
    for (const p of panelsOf(triage)) for (const t of targetsOf(p)) expect(t.query).not.toContain('district');
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--groups', 'Khu vực'])).toBe(2);
  });

  it('follows the collector config: its registry\'s columns and incident scopes become the variables, and --alerts the rules', async () => {
    const out = join(tmp, 'from-config');
    const cfgFile = join(tmp, 'collector.yaml');
    writeFileSync(cfgFile, [
      'broker: { url: mqtt://127.0.0.1:1883 }',
      'influx: { url: http://127.0.0.1:8086, database: linkwatch }',
      `stations: ${join(DEPLOY_DIR, 'examples/stations.csv')}`,
      'verdicts: { incident_scopes: [hub, area, isp, province] }',
    ].join('\n'));
    const rulesFile = join(tmp, 'rules.yaml');
    expect(await main(['node', 'linkwatch', 'dashboards', '--out', out, '--config', cfgFile, '--alerts', rulesFile])).toBe(0);
    const triage = JSON.parse(readFileSync(join(out, 'linkwatch-triage.json'), 'utf8')) as Dashboard;
    // The example registry has `area` (no hub column): the variables are province, area, isp, station.
    expect((triage.templating.list ?? []).map((v) => v.name)).toEqual(['province', 'area', 'isp', 'station']);
    const rules = parse(readFileSync(rulesFile, 'utf8'));
    expect(rules.groups[0].rules[0].data[0].model.query).toContain('"area"');
    expect(rules.groups[0].rules[0].annotations.summary).toContain('{{ $labels.area }}');
  });

  it('returns the paths it wrote', async () => {
    const paths = await writeDashboards(join(tmp, 'api'), 'en');
    expect(paths).toHaveLength(4);
    for (const p of paths) expect(JSON.parse(readFileSync(p, 'utf8')).schemaVersion).toBe(SCHEMA_VERSION);
  });
});
