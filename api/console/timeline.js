// What the aircraft and document pages share: the "as of" picker (the record as it was at an
// instant, `?as_of=` on the read) and the timeline of a record's events (who, when, what
// changed: field old → new).

import { t, eventLabel, fieldLabel, known } from './i18n.js';
import { h, time, localInputValue, note, go } from './ui.js';

/**
 * The "as of" bar. `asOf` is the instant shown (RFC 3339) or null for now; `path` is the
 * page's route, which carries the instant as `?as_of=`.
 */
export function asOfBar(path, asOf) {
  // Not after now: a future state is not yet a fact (the API refuses it too).
  const input = h('input', { type: 'datetime-local', step: 1, id: 'as-of', value: asOf ? localInputValue(asOf) : '', max: localInputValue(new Date().toISOString()) });
  const show = (e) => {
    e.preventDefault();
    if (!input.value) return go(path);
    const instant = new Date(input.value);
    if (Number.isNaN(instant.getTime())) return;
    go(path, { as_of: instant.toISOString() });
  };
  return h('form', { class: `as-of${asOf ? ' active' : ''}`, onsubmit: show },
    h('label', { for: 'as-of' }, t('asof.label')),
    input,
    h('button', { type: 'submit' }, t('asof.show')),
    asOf ? h('button', { type: 'button', id: 'as-of-now', onclick: () => go(path) }, t('asof.now')) : null,
    asOf ? h('p', { class: 'as-of-banner', role: 'status' }, t('asof.banner'), ' ', time(asOf)) : null);
}

/** Enumerated values (statuses, document types) get their label; the raw value on hover. */
const ENUMS = { status: ['status', 'inbox_status'], document_type: ['document_type'] };

function value(v, field) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '∅');
  const key = (ENUMS[field] || []).map((kind) => `${kind}.${v}`).find(known);
  if (key) return h('span', { title: String(v) }, t(key));
  if (typeof v === 'boolean') return t(v ? 'yes' : 'no');
  if (Array.isArray(v)) return v.length ? v.map((item) => plain(item)).join('; ') : h('span', { class: 'muted' }, '∅');
  if (typeof v === 'object') return plain(v);
  return String(v);
}

/** An object as `key value, …` (certificates and the like), anything else as text. */
function plain(v) {
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${fieldLabel(k)} ${x}`).join(', ');
  return String(v);
}

/** The route an event's payload records (a flight's departure → arrival), if any. */
function routeOf(payload) {
  if (!payload || typeof payload !== 'object') return null;
  if (payload.route && payload.route.departure) return `${payload.route.departure} → ${payload.route.arrival}`;
  for (const v of Object.values(payload)) {
    const found = v && typeof v === 'object' ? routeOf(v) : null;
    if (found) return found;
  }
  return null;
}

/**
 * The timeline, newest first. `entries` come oldest first from the API. Entries after `asOf`
 * are dimmed; each offers to show the record as it was right after it.
 */
export function timelineList(entries, { path, asOf }) {
  if (!entries.length) return note('info', t('empty'));
  const limit = asOf ? new Date(asOf).getTime() : Infinity;
  return h('ol', { class: 'timeline', reversed: true },
    [...entries].reverse().map((e) => {
      const later = new Date(e.recorded_at).getTime() > limit;
      return h('li', { class: `event${later ? ' later' : ''}`, dataset: { type: e.event_type, sequence: e.sequence } },
        h('div', { class: 'event-head' },
          h('strong', { class: 'event-type' }, eventLabel(e.event_type)),
          ' ', time(e.recorded_at),
          ' · ', h('span', { class: 'actor', title: t('field.actor') }, e.actor || t('unknown')),
          h('button', { type: 'button', class: 'link as-of-this', title: t('asof.this.title'), onclick: () => go(path, { as_of: e.recorded_at }) }, t('asof.this'))),
        e.changes?.length
          ? h('ul', { class: 'changes' }, e.changes.map((c) => h('li', {},
            h('span', { class: 'field-name' }, fieldLabel(c.field)), ': ',
            h('span', { class: 'old' }, value(c.old, c.field)), ' → ', h('span', { class: 'new' }, value(c.new, c.field)))))
          : h('p', { class: 'muted small' }, e.summary || t('timeline.nochange')),
        routeOf(e.payload) ? h('p', { class: 'route small' }, `${t('field.route')}: ${routeOf(e.payload)}`) : null,
        h('p', { class: 'muted small ids' }, e.request_id ? h('span', { title: t('field.correlation_id') + ': ' + (e.correlation_id || '—') }, `${t('field.request_id')}: ${e.request_id}`) : null));
    }));
}
