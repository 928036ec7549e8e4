// The fleet board: every aircraft with its status, certificate validity, hours and cycles;
// filters, search and cursor pages; registering an aircraft.

import { api, can, command, fresh } from './api.js';
import { t } from './i18n.js';
import { h, fill, form, panel, table, pager, badge, day, number, load, go } from './ui.js';

export const STATUSES = ['active', 'in_maintenance', 'grounded', 'stored', 'decommissioned'];

/** The certificate cell: number and validity, expired / expiring soon highlighted. */
export function certificate(a) {
  if (!a.certificate_valid_until) return h('span', { class: 'cert cert-none' }, t('certificate_status.none'));
  return h('span', { class: `cert cert-${a.certificate_status}` },
    h('span', { class: 'cert-state' }, t(`certificate_status.${a.certificate_status}`)), ' ',
    t('cert.until'), ' ', day(a.certificate_valid_until));
}

export async function fleetView(root, { params }) {
  const filters = Object.fromEntries(['q', 'status', 'type', 'operator', 'sort'].map((k) => [k, params.get(k) || '']));
  const cursors = (params.get('cursors') || '').split(',').filter(Boolean);
  const cursor = cursors[cursors.length - 1];
  const apply = (changes) => go('fleet', { ...filters, ...changes });

  const filterBar = h('form', { class: 'filters', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    apply(Object.fromEntries(['q', 'status', 'type', 'operator', 'sort'].map((k) => [k, String(data.get(k) || '').trim()])));
  } },
  h('input', { type: 'search', name: 'q', value: filters.q, placeholder: t('fleet.search'), 'aria-label': t('fleet.search') }),
  h('select', { name: 'status', 'aria-label': t('field.status') },
    h('option', { value: '' }, t('fleet.any_status')),
    STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, t(`status.${s}`)))),
  h('input', { name: 'type', value: filters.type, placeholder: t('field.aircraft_type'), 'aria-label': t('field.aircraft_type'), size: 6 }),
  h('input', { name: 'operator', value: filters.operator, placeholder: t('field.operator'), 'aria-label': t('field.operator') }),
  h('select', { name: 'sort', 'aria-label': t('fleet.sort') },
    [['', 'sort.registration'], ['-updated_at', 'sort.updated'], ['-total_block_hours', 'sort.hours'], ['-registered_at', 'sort.registered']]
      .map(([v, k]) => h('option', { value: v, selected: v === filters.sort }, t(k)))),
  h('button', { type: 'submit' }, t('apply')),
  Object.values(filters).some(Boolean) ? h('button', { type: 'button', class: 'link', onclick: () => go('fleet') }, t('clear')) : null);

  const list = h('div', { class: 'list' });
  fill(root,
    h('div', { class: 'view-head' }, h('h1', {}, t('nav.fleet'))),
    can('POST', '/api/v1/aircraft') ? panel(t('fleet.register'), registerForm(), { id: 'register-panel' }) : null,
    filterBar,
    list);

  const query = { q: filters.q, status: filters.status, type: filters.type, operator: filters.operator, sort: filters.sort, limit: 25, cursor };
  await load(list, api(fresh('/api/v1/aircraft', query)), (page) => [
    table([
      { label: t('field.registration_number'), cell: (a) => h('a', { href: `#/aircraft/${a.id}`, class: 'reg' }, a.registration_number) },
      { label: t('field.aircraft_type'), cell: (a) => h('span', { title: a.model }, a.aircraft_type) },
      { label: t('field.operator'), cell: (a) => a.operator },
      { label: t('field.status'), cell: (a) => badge('status', a.status) },
      { label: t('field.certificate'), cell: certificate },
      { label: t('field.hours'), class: 'num', cell: (a) => number(a.total_block_hours, 1) },
      { label: t('field.cycles'), class: 'num', cell: (a) => number(a.total_cycles) },
    ], page.items, { empty: t('fleet.empty'), rowClass: (a) => `row-cert-${a.certificate_status}` }),
    pager(page, cursors, apply),
  ]);
}

function registerForm() {
  return form({
    id: 'register',
    fields: [
      { name: 'registration_number', label: t('field.registration_number'), placeholder: 'RA-89001', required: true },
      { name: 'aircraft_type', label: t('field.aircraft_type'), placeholder: 'SU95', required: true },
      { name: 'model', label: t('field.model'), placeholder: 'Sukhoi Superjet 100-95B', required: true },
      { name: 'serial_number', label: t('field.serial_number'), placeholder: '95123', required: true },
      { name: 'operator', label: t('field.operator'), required: true },
      { name: 'year_of_manufacture', label: t('field.year_of_manufacture'), type: 'number', min: 1900, max: 2100 },
    ],
    submit: t('fleet.register.submit'),
    onSubmit: async (values) => {
      const created = await command('/api/v1/aircraft', values);
      go(`aircraft/${created.id}`);
    },
  });
}
