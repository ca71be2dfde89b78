/**
 * Regenerates the committed, generated provisioning file (the alert rules) from code:
 * `npm run build && node dist/dashboards/generate.js [vi|en]`. A unit test fails when the committed file drifts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAlertRules } from './alerts.js';
import { labels, type Lang } from './i18n.js';
import { DEPLOY_DIR } from '../deploy/local-servers.js';

export const ALERT_RULES_FILE = join(DEPLOY_DIR, 'grafana/provisioning/alerting/linkwatch-rules.yaml');

if (process.argv[1]?.endsWith('generate.js')) {
  const lang = (process.argv[2] ?? 'vi') as Lang;
  writeFileSync(ALERT_RULES_FILE, renderAlertRules(labels(lang)));
  process.stdout.write(`${ALERT_RULES_FILE}\n`);
}
