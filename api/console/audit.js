// The audit log: stored events with who, when and the request ids, filtered and in cursor
// pages; CSV export of everything the filters select; the tamper verification.

import { api, can, saveBlob, withQuery } from './api.js';
import { t, eventLabel } from './i18n.js';
import { h, fill, table, pager, time, load, go, note, errorText, facts, number, panel } from './ui.js';

const FILTERS = ['aggregate_type', 'registration', 'document', 'event_type', 'actor', 'correlation_id', 'from', 'to'];
/** At most this many pages go into one CSV export. */
const EXPORT_PAGES = 50;

export async function auditView(root, { params }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const cursors = (params.get('cursors') || '').split(',').filter(Boolean);
  const apply = (changes) => go('audit', { ...filters, ...changes });
  const query = { ...filters, cursor: cursors[cursors.length - 1], limit: 50 };

  const input = (name, attrs = {}) => h('div', { class: 'field' }, h('label', { for: `audit-${name}` }, t(`field.${name}`)),
    h('input', { id: `audit-${name}`, name, value: filters[name] && attrs.type === 'datetime-local' ? toLocal(filters[name]) : filters[name], ...attrs }));
  const filterForm = h('form', { class: 'form audit-filters', id: 'audit-filters', onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const values = Object.fromEntries(FILTERS.map((k) => [k, String(data.get(k) || '').trim()]));
    for (const k of ['from', 'to']) if (values[k]) values[k] = new Date(values[k]).toISOString();
    apply(values);
  } },
  h('div', { class: 'fields' },
    h('div', { class: 'field' }, h('label', { for: 'audit-aggregate_type' }, t('field.aggregate_type')),
      h('select', { id: 'audit-aggregate_type', name: 'aggregate_type' },
        [['', t('audit.any')], ['Aircraft', t('audit.aircraft')], ['InboxItem', t('audit.document')]].map(([v, l]) => h('option', { value: v, selected: v === filters.aggregate_type }, l)))),
    input('registration', { placeholder: 'RA-89001' }),
    input('document', { placeholder: 'uuid' }),
    input('event_type', { placeholder: 'FlightLogged' }),
    input('actor'),
    input('correlation_id'),
    input('from', { type: 'datetime-local', step: 1 }),
    input('to', { type: 'datetime-local', step: 1 })),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'primary' }, t('apply')),
    h('button', { type: 'button', class: 'link', onclick: () => go('audit') }, t('clear'))));
  const exportStatus = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const toolbar = h('div', { class: 'toolbar' },
    h('button', { type: 'button', id: 'export-csv', onclick: () => exportCsv(filters, exportStatus) }, `⤓ ${t('audit.csv')}`),
    h('span', { class: 'muted small' }, t('audit.csv.hint')));
  const list = h('div', { class: 'list', id: 'audit-log' });
  const verifyBox = h('div', { id: 'verify-result' });

  fill(root,
    h('div', { class: 'view-head' }, h('h1', {}, t('nav.audit'))),
    can('GET', '/api/v1/audit/verify') ? h('section', { class: 'verify' },
      h('div', { class: 'verify-head' }, h('h2', {}, t('audit.verify')),
        h('button', { type: 'button', id: 'verify', onclick: () => verify(verifyBox) }, t('audit.verify.run'))),
      verifyBox) : null,
    panel(t('audit.filters'), filterForm, { open: FILTERS.some((k) => filters[k]) }),
    toolbar,
    exportStatus,
    list);

  await load(list, api(withQuery('/api/v1/audit/events', query)), (page) => [
    table([
      { label: '#', class: 'num', cell: (e) => e.global_position },
      { label: t('field.recorded_at'), cell: (e) => time(e.recorded_at) },
      { label: t('field.record'), cell: recordLink },
      { label: t('field.event_type'), cell: (e) => h('span', { title: e.event_type }, eventLabel(e.event_type)) },
      { label: t('field.actor'), cell: (e) => (e.actor ? h('button', { type: 'button', class: 'link', title: t('audit.by.actor'), onclick: () => apply({ actor: e.actor, cursors: '' }) }, e.actor) : '—') },
      { label: t('field.request_id'), cell: (e) => h('code', { class: 'id', title: `${t('field.correlation_id')}: ${e.correlation_id || '—'}\n${t('field.causation_id')}: ${e.causation_id || '—'}` }, short(e.request_id)) },
      { label: t('field.payload'), cell: (e) => h('details', { class: 'payload' }, h('summary', {}, t('audit.show')), h('pre', {}, JSON.stringify(e.payload, null, 2))) },
    ], page.items, { empty: t('audit.empty') }),
    pager(page, cursors, apply),
  ]);
}

function short(id) {
  return id ? (id.length > 13 ? `${id.slice(0, 8)}…` : id) : '—';
}

function recordLink(e) {
  const label = `${e.aggregate_type === 'Aircraft' ? t('audit.aircraft') : t('audit.document')} ${short(e.aggregate_id)}`;
  const href = e.aggregate_type === 'Aircraft' ? `#/aircraft/${e.aggregate_id}` : e.aggregate_type === 'InboxItem' ? `#/inbox/${e.aggregate_id}` : null;
  const text = h('span', {}, label, h('span', { class: 'muted' }, ` v${e.sequence}`));
  return href ? h('a', { href, title: e.aggregate_id }, text) : text;
}

function toLocal(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Every page the filters select (up to EXPORT_PAGES), as one CSV file. */
async function exportCsv(filters, status) {
  fill(status, h('p', { class: 'muted' }, t('audit.csv.running')));
  try {
    let cursor;
    let csv = '';
    let pages = 0;
    do {
      const response = await api(withQuery('/api/v1/audit/events', { ...filters, cursor, limit: 200 }), { as: 'response', headers: { Accept: 'text/csv' } });
      const text = await response.text();
      csv += pages === 0 ? text : text.slice(text.indexOf('\n') + 1);
      cursor = response.headers.get('X-Next-Cursor') || undefined;
      pages += 1;
    } while (cursor && pages < EXPORT_PAGES);
    saveBlob(new Blob([csv], { type: 'text/csv' }), `klg-audit-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.csv`);
    fill(status, note(cursor ? 'error' : 'ok', cursor ? t('audit.csv.truncated', EXPORT_PAGES) : t('audit.csv.done', pages)));
  } catch (err) {
    fill(status, note('error', errorText(err)));
  }
}

async function verify(box) {
  await load(box, api('/api/v1/audit/verify'), (r) => [
    note(r.ok ? 'ok' : 'error', h('strong', { id: 'verify-status' }, r.ok ? t('audit.verify.ok') : t('audit.verify.broken'))),
    facts([
      [t('audit.events_checked'), number(r.events_checked)],
      [t('audit.streams'), number(r.streams)],
      r.first_broken ? [t('audit.first_broken'), `#${r.first_broken.global_position} ${r.first_broken.aggregate_type} ${r.first_broken.aggregate_id} v${r.first_broken.sequence}: ${r.first_broken.reason}`] : null,
      [t('audit.seals'), r.seals?.length ? '' : t('audit.seals.none')],
    ]),
    r.seals?.length ? table([
      { label: t('field.recorded_at'), cell: (s) => time(s.sealed_at) },
      { label: t('audit.up_to'), class: 'num', cell: (s) => s.up_to_position },
      { label: t('field.status'), cell: (s) => h('span', { class: `badge seal-${s.status}` }, t(`seal.${s.status}`)) },
    ], r.seals) : null,
  ]);
}
