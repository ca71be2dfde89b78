/** MQTT topics of protocol v1. `<id>` is the station id, which is also the station's MQTT username. */
export const TOPIC_ROOT = 'linkwatch/v1';

export type TopicKind = 'report' | 'status' | 'event' | 'ack';

export function topicFor(station: string, kind: TopicKind): string {
  return `${TOPIC_ROOT}/${station}/${kind}`;
}

/** The shared subscription that stateless collectors split the reports through (MQTT 5). */
export const SHARED_GROUP = 'linkwatch';
export const reportFilter = (shared: boolean): string =>
  shared ? `$share/${SHARED_GROUP}/${TOPIC_ROOT}/+/report` : `${TOPIC_ROOT}/+/report`;
/**
 * Where collectors publish their canaries (collector/watchdog.ts): a report topic that no station can own (station ids
 * never contain `_`), so the canary travels through the very subscription that carries the reports.
 */
export const CANARY_TOPIC = `${TOPIC_ROOT}/_canary/report`;
export const statusFilter = `${TOPIC_ROOT}/+/status`;
export const eventFilter = `${TOPIC_ROOT}/+/event`;

/** Splits `linkwatch/v1/<id>/<kind>`; returns undefined for any other topic. */
export function parseTopic(topic: string): { station: string; kind: TopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const kind = parts[3];
  if (kind !== 'report' && kind !== 'status' && kind !== 'event' && kind !== 'ack') return undefined;
  return { station: parts[2]!, kind };
}
