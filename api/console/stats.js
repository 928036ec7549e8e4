// Statistics: the windowed views (events per hour, daily and 7-day utilization, inbox intake)
// as bar charts drawn here in SVG, for the fleet or one aircraft; and the streaming health.

import { api, fresh, session } from './api.js';
import { t, locale } from './i18n.js';
import { h, fill, load, note, facts, number, time, table, go, errorText } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Rows read per view (pages of 200). */
const MAX_ROWS = 2000;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Every row of a view (filtered), following offsets. */
async function rows(view, filters = {}) {
  const all = [];
  for (let offset = 0; offset < MAX_ROWS; offset += 200) {
    const page = await api(fresh(`/api/v1/streaming/views/${view}`, { ...filters, limit: 200, offset }));
    all.push(...page.rows);
    if (page.rows.length < 200) break;
  }
  return all;
}

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/**
 * Sums `value(row)` per window start, oldest first: one point per window of `step` ms (empty
 * windows as 0) over the last `keep` windows up to now (later windows, such as the days a 7-day
 * sum still reaches, are left out).
 */
function series(list, value, step, keep) {
  const sums = new Map();
  for (const r of list) {
    const at = new Date(r.window_start).getTime();
    sums.set(at, (sums.get(at) || 0) + value(r));
  }
  if (!sums.size) return [];
  const now = Date.now();
  const starts = [...sums.keys()].filter((at) => at <= now);
  if (!starts.length) return [];
  const last = Math.max(...starts);
  const first = Math.max(Math.min(...starts), last - (keep - 1) * step);
  const points = [];
  for (let at = first; at <= last; at += step) {
    points.push({ start: new Date(at).toISOString(), value: sums.get(at) || 0 });
  }
  return points;
}

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value);
}

/**
 * A bar chart: `points` [{start, value}], labelled by `format(start)`; each bar's exact value
 * and window on hover.
 */
export function barChart({ id, title, points, unit = '', digits = 0, format }) {
  const width = 640;
  const height = 220;
  const left = 44;
  const bottom = 28;
  const top = 12;
  const figure = h('figure', { class: 'chart', id }, h('figcaption', {}, title));
  if (!points.length) {
    figure.append(note('info', t('stats.nodata')));
    return figure;
  }
  const max = niceMax(Math.max(...points.map((p) => p.value), 1));
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const step = plotW / points.length;
  const barW = Math.max(2, Math.min(36, step * 0.8));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'bars' });
  const ticks = digits === 0 && max % 2 === 1 ? [0, 1] : [0, 0.5, 1];
  for (const f of ticks) {
    const y = top + plotH * (1 - f);
    chart.append(svg('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'gridline' }),
      svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, number(max * f, Number.isInteger(max * f) ? 0 : digits)));
  }
  points.forEach((p, i) => {
    const barH = (p.value / max) * plotH;
    const x = left + i * step + (step - barW) / 2;
    chart.append(svg('rect', { x, y: top + plotH - barH, width: barW, height: Math.max(barH, p.value > 0 ? 1 : 0), class: 'bar' },
      svg('title', {}, `${format(p.start)} (UTC ${p.start.replace('T', ' ').replace(/:00(\.0+)?Z$|Z$/, '')}): ${number(p.value, digits)}${unit}`)));
  });
  const labels = points.length <= 8 ? points.map((_, i) => i) : [0, Math.floor(points.length / 2), points.length - 1];
  for (const i of labels) {
    chart.append(svg('text', { x: left + i * step + step / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, format(points[i].start)));
  }
  figure.append(chart);
  return figure;
}

const hour = (iso) => new Date(iso).toLocaleString(locale(), { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const date = (iso) => new Date(iso).toLocaleDateString(locale(), { day: 'numeric', month: 'short' });

export async function statsView(root, { params }) {
  const registration = params.get('registration') || '';
  const filter = registration ? { registration_number: registration } : {};
  const charts = h('div', { class: 'charts' }, h('p', { class: 'muted loading' }, t('loading')));
  const health = h('div', { id: 'health' });
  const picker = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    go('stats', { registration: new FormData(e.target).get('registration').trim().toUpperCase() });
  } },
  h('input', { name: 'registration', value: registration, placeholder: t('stats.all'), 'aria-label': t('field.registration_number'), size: 28 }),
  h('button', { type: 'submit' }, t('apply')),
  registration ? h('button', { type: 'button', class: 'link', onclick: () => go('stats') }, t('stats.fleet')) : null);

  fill(root,
    h('div', { class: 'view-head' }, h('h1', {}, t('nav.stats')), h('p', { class: 'muted' }, registration ? registration : t('stats.fleet'))),
    picker, charts, h('h2', {}, t('stats.health')), health);

  const healthLoaded = load(health, healthOf(), renderHealth);
  try {
    const [hourly, daily, intake] = await Promise.all([
      rows('aircraft_event_stats_hourly', filter),
      rows('fleet_utilization_daily', filter),
      rows('inbox_intake_hourly'),
    ]);
    fill(charts,
      barChart({ id: 'chart-events', title: t('stats.events_hourly'), points: series(hourly, (r) => r.total_events, HOUR, 48), format: hour }),
      barChart({ id: 'chart-daily', title: t('stats.daily_hours'), points: series(daily, (r) => r.block_minutes / 60, DAY, 30), digits: 1, unit: ' h', format: date }),
      barChart({ id: 'chart-7d', title: t('stats.rolling_hours'), points: series(daily, (r) => r.rolling_7d_block_minutes / 60, DAY, 30), digits: 1, unit: ' h', format: date }),
      barChart({ id: 'chart-intake', title: t('stats.intake_hourly'), points: series(intake, (r) => r.received, HOUR, 48), format: hour }));
  } catch (err) {
    fill(charts, note('error', errorText(err)));
  }
  await healthLoaded;
}

/** The health report, also when it answers 503 (its body then says what is wrong). */
async function healthOf() {
  const response = await fetch('/api/v1/streaming/health', { headers: { Authorization: `Bearer ${session.token}` } });
  if (response.status !== 200 && response.status !== 503) return api('/api/v1/streaming/health');
  return response.json();
}

function renderHealth(r) {
  const sub = (r.subscriptions || []).map((s) => ({ ...s, ...(s.position || {}) }));
  return [
    note(r.status === 'ok' ? 'ok' : 'error', h('strong', { id: 'health-status' }, r.status === 'ok' ? t('stats.healthy') : t('stats.unhealthy'))),
    r.problems?.length ? h('ul', { class: 'problems' }, r.problems.map((p) => h('li', {}, p))) : null,
    facts([
      [t('stats.read_store'), `${r.read_store?.kind ?? '—'} (${r.read_store?.status ?? '—'})`],
      [t('stats.database'), r.database?.status],
      [t('stats.oldest_tx'), r.oldest_open_transaction_seconds == null ? '—' : `${number(r.oldest_open_transaction_seconds, 1)} s`],
      [t('stats.mirror'), r.mirror?.status === 'disabled' ? t('stats.disabled') : r.mirror?.status],
      [t('stats.flink'), r.flink?.status === 'disabled' ? t('stats.disabled') : r.flink?.status],
    ]),
    h('h3', {}, t('stats.subscriptions')),
    table([
      { label: t('stats.name'), cell: (s) => s.name },
      { label: t('stats.handled'), class: 'num', cell: (s) => number(s.events_handled) },
      { label: t('stats.lag_events'), class: 'num', cell: (s) => number(s.lag_events) },
      { label: t('stats.lag_seconds'), class: 'num', cell: (s) => (s.lag_seconds == null ? '—' : number(s.lag_seconds, 1)) },
      { label: t('stats.leader'), cell: (s) => (s.leader_in_this_process ? t('yes') : t('no')) },
      { label: t('stats.last_batch'), cell: (s) => time(s.last_batch_at) },
    ], sub),
    r.mirror?.position ? facts([[t('stats.mirror_lag'), `${number(r.mirror.position.lag_events)} / ${number(r.mirror.position.lag_seconds, 1)} s`]]) : null,
    r.flink?.jobs?.length ? [h('h3', {}, t('stats.jobs')), table([
      { label: t('stats.name'), cell: (j) => j.name },
      { label: t('field.status'), cell: (j) => h('span', { class: `badge job-${String(j.state).toLowerCase()}` }, j.state) },
    ], r.flink.jobs)] : null,
  ];
}
