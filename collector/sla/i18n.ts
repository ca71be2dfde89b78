/**
 * The statement's words in Vietnamese and English, with the short definitions of each figure and the standards
 * they follow. Strings are NFC (every Vietnamese letter with its marks one code point).
 */
import type { Cause } from '../verdict/types.js';

export type Lang = 'vi' | 'en';

export interface Labels {
  title: string;
  summary: string;
  station: string;
  name: string;
  provider: string;
  circuit: string;
  slo: string;
  period: string;
  time_zone: string;
  generated: string;
  availability: string;
  slo_met: string;
  met: string;
  missed: string;
  no_data: string;
  downtime: string;
  maintenance: string;
  station_side: string;
  other: string;
  unknown: string;
  completeness: string;
  /** Narrow column headings of the PDF's summary. */
  completeness_short: string;
  outages_short: string;
  outages: string;
  no_outage: string;
  start: string;
  end: string;
  duration: string;
  cause: string;
  mttr: string;
  mtbf: string;
  latency: string;
  loss: string;
  jitter: string;
  exclusions: string;
  quality: string;
  daily: string;
  definitions: string;
  page: string;
  causes: Partial<Record<Cause, string>>;
  /** Short definitions, each citing what it follows. */
  terms: Array<[string, string]>;
}

const en: Labels = {
  title: 'SLA statement',
  summary: 'Summary',
  station: 'Station',
  name: 'Name',
  provider: 'Provider',
  circuit: 'Circuit',
  slo: 'SLO (availability target)',
  period: 'Period',
  time_zone: 'Time zone',
  generated: 'Generated',
  availability: 'Availability',
  slo_met: 'SLO',
  met: 'met',
  missed: 'missed',
  no_data: 'no data',
  downtime: 'ISP downtime',
  maintenance: 'Maintenance (excluded)',
  station_side: 'Station-side faults (excluded)',
  other: 'Other causes (excluded)',
  unknown: 'No data (unknown)',
  completeness: 'Data completeness',
  completeness_short: 'Data',
  outages_short: 'Outages',
  outages: 'ISP outages',
  no_outage: 'No ISP outage in the period.',
  start: 'Start',
  end: 'End',
  duration: 'Duration',
  cause: 'Cause',
  mttr: 'MTTR (mean time to restore)',
  mtbf: 'MTBF (mean time between failures)',
  latency: 'Latency (RTT) p50 / p95',
  loss: 'Packet loss p50 / p95',
  jitter: 'Jitter (delay variation) p50 / p95',
  exclusions: 'Exclusions by reason',
  quality: 'Path quality during available time (ISP edge)',
  daily: 'Daily availability',
  definitions: 'Definitions',
  page: 'Page',
  causes: { uplink: 'ISP edge unreachable (uplink)', core: 'VPN / hub unreachable (core)' },
  terms: [
    ['Availability', 'Time the circuit carried traffic (verdict ok or degraded) divided by that time plus the ISP downtime: A = available / (available + ISP downtime) × 100 %. Maintenance windows, station-side faults (LAN, power cut, clock), other causes and periods without data are excluded and listed separately. Following ITU-T Y.1540 (IP service availability), with the verdict of each evaluation period as the availability test.'],
    ['ISP outage', 'A run of consecutive evaluation periods judged down with the cause on the provider\'s side: the ISP edge unreachable while the station\'s own gateway answers (uplink), or the VPN/hub where the circuit includes it (core). A failure is confirmed after 3 failing cycles and cleared after 2 good ones.'],
    ['MTTR, MTBF', 'MTTR: mean duration of the listed outages. MTBF: available time divided by the number of outages.'],
    ['Latency', 'Round-trip delay to the ISP edge, measured within the RFC 2330 framework (the round-trip counterpart of the one-way delay of RFC 7679).'],
    ['Packet loss', 'Share of probe packets without a reply, the round-trip counterpart of the packet loss of RFC 7680.'],
    ['Jitter', 'Mean absolute difference of successive round-trip delays: the delay variation between consecutive packets of RFC 3393 (IPDV).'],
    ['p50, p95', 'Nearest-rank percentiles of the values of each hour, taken only in available time; over days, the median of the hourly p50 and the 95th percentile of the hourly p95 (RFC 2330 sampling).'],
    ['Data completeness', 'Share of the period that has a verdict; the rest is unknown and counts neither for nor against the provider.'],
  ],
};

const vi: Labels = {
  title: 'Báo cáo cam kết chất lượng dịch vụ (SLA)',
  summary: 'Tổng hợp',
  station: 'Đơn vị',
  name: 'Tên',
  provider: 'Nhà cung cấp',
  circuit: 'Kênh truyền',
  slo: 'Mục tiêu khả dụng (SLO)',
  period: 'Kỳ báo cáo',
  time_zone: 'Múi giờ',
  generated: 'Lập lúc',
  availability: 'Độ khả dụng',
  slo_met: 'SLO',
  met: 'đạt',
  missed: 'không đạt',
  no_data: 'không có dữ liệu',
  downtime: 'Gián đoạn do nhà mạng',
  maintenance: 'Bảo trì (loại trừ)',
  station_side: 'Lỗi phía đơn vị (loại trừ)',
  other: 'Nguyên nhân khác (loại trừ)',
  unknown: 'Không có dữ liệu',
  completeness: 'Độ đầy đủ dữ liệu',
  completeness_short: 'Dữ liệu',
  outages_short: 'Số sự cố',
  outages: 'Sự cố do nhà mạng',
  no_outage: 'Không có sự cố do nhà mạng trong kỳ.',
  start: 'Bắt đầu',
  end: 'Kết thúc',
  duration: 'Thời lượng',
  cause: 'Nguyên nhân',
  mttr: 'MTTR (thời gian khôi phục trung bình)',
  mtbf: 'MTBF (thời gian trung bình giữa hai sự cố)',
  latency: 'Độ trễ (RTT) p50 / p95',
  loss: 'Tỷ lệ mất gói p50 / p95',
  jitter: 'Biến động độ trễ (jitter) p50 / p95',
  exclusions: 'Thời gian loại trừ theo lý do',
  quality: 'Chất lượng đường truyền trong thời gian khả dụng (biên nhà mạng)',
  daily: 'Độ khả dụng theo ngày',
  definitions: 'Định nghĩa',
  page: 'Trang',
  causes: { uplink: 'Mất kết nối tới biên nhà mạng (uplink)', core: 'Mất kết nối tới VPN / trung tâm (core)' },
  terms: [
    ['Độ khả dụng', 'Thời gian kênh truyền hoạt động (trạng thái tốt hoặc suy giảm) chia cho tổng của thời gian đó và thời gian gián đoạn do nhà mạng: A = khả dụng / (khả dụng + gián đoạn do nhà mạng) × 100 %. Thời gian bảo trì theo kế hoạch, lỗi phía đơn vị (mạng nội bộ, mất điện, sai đồng hồ), nguyên nhân khác và thời gian không có dữ liệu được loại trừ và liệt kê riêng. Theo ITU-T Y.1540 (khả dụng dịch vụ IP), với kết quả đánh giá của từng chu kỳ làm phép thử khả dụng.'],
    ['Sự cố do nhà mạng', 'Chuỗi chu kỳ đánh giá liên tiếp ở trạng thái mất kết nối với nguyên nhân thuộc phía nhà cung cấp: không tới được biên nhà mạng trong khi cổng mạng của đơn vị vẫn trả lời (uplink), hoặc VPN/trung tâm khi kênh truyền bao gồm nó (core). Sự cố được xác nhận sau 3 chu kỳ lỗi và kết thúc sau 2 chu kỳ tốt.'],
    ['MTTR, MTBF', 'MTTR: thời lượng trung bình của các sự cố đã liệt kê. MTBF: thời gian khả dụng chia cho số sự cố.'],
    ['Độ trễ', 'Độ trễ khứ hồi tới biên nhà mạng, đo theo khung phương pháp RFC 2330 (dạng khứ hồi của độ trễ một chiều theo RFC 7679).'],
    ['Mất gói', 'Tỷ lệ gói thăm dò không nhận được phản hồi, dạng khứ hồi của chỉ số mất gói theo RFC 7680.'],
    ['Biến động độ trễ', 'Trung bình trị tuyệt đối hiệu của các độ trễ khứ hồi liên tiếp: biến động độ trễ giữa các gói liên tiếp theo RFC 3393 (IPDV).'],
    ['p50, p95', 'Phân vị theo hạng gần nhất của các giá trị từng giờ, chỉ trong thời gian khả dụng; qua nhiều ngày là trung vị của các p50 theo giờ và phân vị 95 của các p95 theo giờ (lấy mẫu theo RFC 2330).'],
    ['Độ đầy đủ dữ liệu', 'Tỷ lệ thời gian của kỳ báo cáo có kết quả đánh giá; phần còn lại là không xác định, không tính cho hay chống lại nhà cung cấp.'],
  ],
};

export const LABELS: Record<Lang, Labels> = { en, vi };

/** A duration as `1 h 05 min`, `4 min 10 s`, `35 s` (the same in both languages). */
export function formatDuration(s: number | null): string {
  if (s === null) return '–';
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  const m = Math.floor(t / 60);
  if (m < 60) return `${m} min ${String(t % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${String(h % 24).padStart(2, '0')} h`;
}

/** A number with `digits` decimals, a decimal comma in Vietnamese; `–` for none. */
export function formatNumber(v: number | null | undefined, digits: number, lang: Lang): string {
  if (v === null || v === undefined) return '–';
  const s = v.toFixed(digits);
  return lang === 'vi' ? s.replace('.', ',') : s;
}

/** A percentage with 3 decimals, as the statement prints availability and completeness: `99,873 %`. */
export const formatPercent = (v: number | null, lang: Lang): string => (v === null ? '–' : `${formatNumber(v, 3, lang)} %`);

export const causeLabel = (cause: Cause, lang: Lang): string => LABELS[lang].causes[cause] ?? cause;
