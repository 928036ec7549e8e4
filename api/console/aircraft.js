// One aircraft: its current state and totals (or its state "as of" an earlier instant), the
// commands an engineer may run on it (release to service from maintenance), its airworthiness
// directives with what is left before each falls due, and its timeline.

import { api, can, command, download, fresh, ApiError } from './api.js';
import { t } from './i18n.js';
import { h, fill, form, panel, badge, facts, time, day, number, note, errorText, today, table } from './ui.js';
import { certificate } from './fleet.js';
import { asOfBar, timelineList } from './timeline.js';

const SETTABLE = ['active', 'in_maintenance', 'grounded', 'stored'];

export async function aircraftView(root, { id, params }) {
  const asOf = params.get('as_of');
  const path = `aircraft/${id}`;
  const head = h('div', { class: 'view-head' }, h('a', { href: '#/fleet', class: 'back' }, `← ${t('nav.fleet')}`));
  const body = h('div', { class: 'record' }, h('p', { class: 'muted loading' }, t('loading')));
  fill(root, head, asOfBar(path, asOf), body);

  let a;
  try {
    a = await api(fresh(`/api/v1/aircraft/${encodeURIComponent(id)}`, { as_of: asOf || undefined }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    const text = err instanceof ApiError && err.status === 404 && asOf ? t('asof.notyet') : errorText(err);
    return fill(body, note('error', text));
  }
  head.append(h('h1', {}, h('span', { class: 'reg', id: 'registration' }, a.registration_number), ' ', badge('status', a.status)));
  document.title = `${a.registration_number} — KLG`;

  const writable = !asOf && a.status !== 'decommissioned';
  const forms = writable ? commandForms(a) : [];
  const timeline = h('div', { id: 'timeline' });
  const directives = h('div', { id: 'directives' });
  const showDirectives = !asOf && can('GET', '/api/v1/aircraft/{id}/directives');
  fill(body,
    h('div', { class: 'cards' },
      h('div', { class: 'card total' }, h('span', { class: 'label' }, t('field.hours')), h('span', { class: 'big', id: 'total-hours' }, number(a.total_block_hours, 1))),
      h('div', { class: 'card total' }, h('span', { class: 'label' }, t('field.cycles')), h('span', { class: 'big', id: 'total-cycles' }, number(a.total_cycles))),
      h('div', { class: 'card total' }, h('span', { class: 'label' }, t('field.flight_count')), h('span', { class: 'big', id: 'flight-count' }, number(a.flight_count))),
      h('div', { class: 'card total' }, h('span', { class: 'label' }, t('field.certificate')), h('span', { class: 'cert-card' }, certificate(a)))),
    h('div', { class: 'columns' },
      h('div', {},
        h('h2', {}, t('aircraft.details')),
        facts([
          [t('field.aircraft_type'), a.aircraft_type],
          [t('field.model'), a.model],
          [t('field.serial_number'), a.serial_number],
          [t('field.operator'), a.operator],
          [t('field.year_of_manufacture'), a.year_of_manufacture],
          [t('field.base_airport'), a.base_airport],
          [t('field.status'), h('span', {}, badge('status', a.status), a.status_reason ? ` — ${a.status_reason}` : '')],
          [t('field.status_changed_at'), time(a.status_changed_at)],
          [t('field.certificate_number'), a.certificate_number],
          [t('field.certificate_issued_on'), day(a.certificate_issued_on)],
          [t('field.last_flight_date'), day(a.last_flight_date)],
          [t('field.registered_at'), time(a.registered_at)],
          [t('field.updated_at'), time(a.updated_at)],
          [t('field.version'), a.version],
          a.notes ? [t('field.notes'), a.notes] : null,
        ])),
      forms.length ? h('div', { class: 'commands' }, h('h2', {}, t('aircraft.actions')), forms) : null),
    showDirectives ? [directivesHead(a), directives] : null,
    can('GET', '/api/v1/aircraft/{id}/timeline') ? [h('h2', {}, t('timeline.title')), timeline] : null);

  if (showDirectives) {
    try {
      const { items } = await api(`/api/v1/aircraft/${encodeURIComponent(id)}/directives`);
      fill(directives, directivesTable(items));
    } catch (err) {
      fill(directives, note('error', errorText(err)));
    }
  }

  if (can('GET', '/api/v1/aircraft/{id}/timeline')) {
    try {
      const { items } = await api(`/api/v1/aircraft/${encodeURIComponent(id)}/timeline`);
      fill(timeline, timelineList(items, { path, asOf }));
    } catch (err) {
      fill(timeline, note('error', errorText(err)));
    }
  }
}

/** The directives' heading, with the AD status as CSV for an audit. */
function directivesHead(a) {
  const csv = () => download(`/api/v1/aircraft/${encodeURIComponent(a.id)}/directives`, `${a.registration_number}-directives-${today()}.csv`, { Accept: 'text/csv' });
  return h('div', { class: 'section-head' },
    h('h2', {}, t('directives.title')),
    h('button', { type: 'button', id: 'directives-csv', onclick: csv }, `⤓ ${t('directives.csv')}`));
}

/** Limits, each with what is left: "26/12/2026 (30 d) · 106.0 FH (98.0 h left) · 500 FC (420 left)". */
function dueText(d) {
  const parts = [];
  if (d.next_due_on) parts.push(h('span', {}, day(d.next_due_on), ` (${t('directives.days_left', d.remaining_days)})`));
  if (d.next_due_hours !== null && d.next_due_hours !== undefined) parts.push(`${number(d.next_due_hours, 1)} FH (${t('directives.hours_left', number(d.remaining_hours, 1))})`);
  if (d.next_due_cycles !== null && d.next_due_cycles !== undefined) parts.push(`${number(d.next_due_cycles)} FC (${t('directives.cycles_left', d.remaining_cycles)})`);
  if (!parts.length) return '—';
  return h('span', { class: 'due-limits' }, parts.flatMap((p, i) => (i ? [' · ', p] : [p])));
}

function directivesTable(items) {
  return table([
    { label: t('directives.number'), cell: (d) => h('span', { class: 'ad-number' }, d.revision ? `${d.number} ${d.revision}` : d.number) },
    { label: t('field.status'), cell: (d) => badge('directive_status', d.status) },
    { label: t('directives.last'), cell: (d) => (d.done_on ? h('span', {}, day(d.done_on), ` · ${t(`method.${d.method}`)} · ${d.work_order}`) : d.not_applicable_reason || '—') },
    { label: t('directives.next_due'), cell: (d) => dueText(d) },
    { label: t('directives.state'), cell: (d) => (d.due_state ? badge('due', d.due_state) : '—') },
  ], items, { empty: t('directives.none'), rowClass: (d) => (d.due_state ? `row-due-${d.due_state}` : undefined) });
}

/** The commands on this aircraft the role may run. */
function commandForms(a) {
  const base = `/api/v1/aircraft/${a.id}`;
  const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const forms = [];
  if (can('POST', '/api/v1/aircraft/{id}/flights')) {
    forms.push(panel(t('aircraft.log_flight'), form({
      id: 'log-flight',
      fields: [
        { name: 'flight_date', label: t('field.flight_date'), type: 'date', value: today(), required: true },
        { name: 'block_hours', label: t('field.block_hours'), type: 'number', step: '0.01', min: 0, max: 24, required: true },
        { name: 'cycles', label: t('field.cycles'), type: 'number', step: 1, min: 1, value: 1, required: true },
        { name: 'departure', label: t('field.departure'), placeholder: 'UUEE' },
        { name: 'arrival', label: t('field.arrival'), placeholder: 'ULLI' },
      ],
      submit: t('aircraft.log_flight.submit'),
      onSubmit: async (v) => {
        await command(`${base}/flights`, v);
        rerender();
      },
    }), { open: true, id: 'log-flight-panel' }));
  }
  if (a.status === 'in_maintenance' && can('POST', '/api/v1/aircraft/{id}/release')) {
    forms.push(panel(t('aircraft.release'), form({
      id: 'release',
      fields: [
        { name: 'certifying_staff', label: t('field.certifying_staff'), required: true },
        { name: 'licence', label: t('field.licence'), placeholder: 'RU.66.0042', required: true },
        { name: 'work_order', label: t('field.work_order'), placeholder: 'WO-2026-0142', required: true },
        { name: 'statement', label: t('field.statement'), type: 'textarea', required: true },
      ],
      submit: t('aircraft.release.submit'),
      onSubmit: async (v) => {
        await command(`${base}/release`, v);
        rerender();
      },
    }), { open: true, id: 'release-panel' }));
  }
  if (can('POST', '/api/v1/aircraft/{id}/status')) {
    // From maintenance, back to service is the release above, not a status change.
    const settable = SETTABLE.filter((s) => s !== a.status && !(a.status === 'in_maintenance' && s === 'active'));
    forms.push(panel(t('aircraft.change_status'), form({
      id: 'change-status',
      fields: [
        { name: 'status', label: t('field.status'), type: 'select', value: settable[0], options: settable.map((s) => [s, t(`status.${s}`)]) },
        { name: 'reason', label: t('field.reason'), type: 'textarea', required: true },
      ],
      submit: t('aircraft.change_status.submit'),
      onSubmit: async (v) => {
        await command(`${base}/status`, v);
        rerender();
      },
    }), { id: 'change-status-panel' }));
  }
  if (can('POST', '/api/v1/aircraft/{id}/certificates')) {
    forms.push(panel(t('aircraft.add_certificate'), form({
      id: 'add-certificate',
      fields: [
        { name: 'number', label: t('field.certificate_number'), required: true },
        { name: 'issued_on', label: t('field.certificate_issued_on'), type: 'date', value: today(), required: true },
        { name: 'valid_until', label: t('field.certificate_valid_until'), type: 'date', required: true },
      ],
      submit: t('aircraft.add_certificate.submit'),
      onSubmit: async (v) => {
        await command(`${base}/certificates`, v);
        rerender();
      },
    }), { id: 'add-certificate-panel' }));
  }
  return forms;
}
