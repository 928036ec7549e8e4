// TMC (ТМЦ) parts requests: the list (status, words, cursor pages) with the form for a new
// request, and one request with the steps its status allows (the aggregate's state machine
// decides; the console only offers what it would accept).

import { api, can, command, fresh, ApiError } from './api.js';
import { t } from './i18n.js';
import { h, fill, form, panel, table, pager, badge, time, day, facts, load, go, note, errorText, today } from './ui.js';
import { registrations } from './inbox.js';

export const PARTS_STATUSES = ['requested', 'approved', 'ordered', 'received', 'installed', 'cancelled', 'rejected'];

/** The steps each status allows (`PartsRequestStatus::after` in domain/src/tmc). */
const STEPS = {
  requested: ['approve', 'reject', 'cancel'],
  approved: ['order', 'cancel'],
  ordered: ['receive', 'cancel'],
  received: ['install'],
};

export async function tmcView(root, { params }) {
  const filters = { status: params.get('status') || '', q: params.get('q') || '' };
  const cursors = (params.get('cursors') || '').split(',').filter(Boolean);
  const apply = (changes) => go('tmc', { ...filters, ...changes });
  const list = h('div', { class: 'list' });
  const fleet = await registrations().catch(() => ({}));
  const filterBar = h('form', { class: 'filters', id: 'tmc-filters', onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    apply({ status: data.get('status'), q: data.get('q') });
  } },
  h('select', { name: 'status', 'aria-label': t('field.status') }, h('option', { value: '' }, t('fleet.any_status')),
    PARTS_STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, t(`parts_status.${s}`)))),
  h('input', { name: 'q', type: 'search', value: filters.q, placeholder: t('tmc.search'), 'aria-label': t('tmc.search') }),
  h('button', { type: 'submit' }, t('apply')));

  fill(root,
    h('div', { class: 'view-head' }, h('h1', {}, t('nav.tmc'))),
    can('POST', '/api/tmc') ? panel(t('tmc.new'), requestForm(fleet), { id: 'tmc-new-panel' }) : null,
    filterBar,
    list);

  const query = { ...filters, limit: 25, cursor: cursors[cursors.length - 1] };
  await load(list, api(fresh('/api/tmc', query)), (page) => [
    table([
      { label: t('field.requested_at'), cell: (r) => time(r.requested_at) },
      { label: t('field.part_number'), cell: (r) => h('a', { href: `#/tmc/${r.id}`, class: 'part-number' }, r.part_number) },
      { label: t('field.description'), cell: (r) => r.description },
      { label: t('field.quantity'), class: 'num', cell: (r) => r.quantity },
      { label: t('field.aircraft'), cell: (r) => h('a', { href: `#/aircraft/${r.aircraft_id}` }, r.registration_number || r.aircraft_id.slice(0, 8)) },
      { label: t('field.status'), cell: (r) => badge('parts_status', r.status) },
    ], page.items, { empty: t('tmc.empty') }),
    pager(page, cursors, apply),
  ]);
}

function requestForm(fleet) {
  const aircraft = Object.values(fleet).filter((a) => a.status !== 'decommissioned');
  return form({
    id: 'tmc-new',
    fields: [
      { name: 'aircraft_id', label: t('field.aircraft'), type: 'select', options: aircraft.map((a) => [a.id, a.registration_number]) },
      { name: 'part_number', label: t('field.part_number'), placeholder: 'D23189000-5', required: true },
      { name: 'description', label: t('field.description'), required: true },
      { name: 'quantity', label: t('field.quantity'), type: 'number', step: 1, min: 1, value: 1, required: true },
      { name: 'reason_kind', label: t('field.reason_kind'), type: 'select', options: [['work_order', t('reason_kind.work_order')], ['directive', t('reason_kind.directive')]] },
      { name: 'reference', label: t('field.reason_reference'), placeholder: 'WO-2026-0142', required: true },
    ],
    submit: t('tmc.new.submit'),
    onSubmit: async (v, el) => {
      const body = {
        aircraft_id: v.aircraft_id, part_number: v.part_number, description: v.description, quantity: v.quantity,
        reason: { kind: v.reason_kind, reference: v.reference },
      };
      try {
        const created = await command('/api/tmc', body);
        go(`tmc/${created.id}`, { min_position: created.position });
      } catch (err) {
        // The reason's fields are nested in the request; the form shows them as its own.
        if (err instanceof ApiError) err.fieldErrors.forEach((e) => { if (e.field === 'reason.reference') e.field = 'reference'; });
        el.showErrors(err);
      }
    },
  });
}

export async function partsRequestView(root, { id, params }) {
  const head = h('div', { class: 'view-head' }, h('a', { href: '#/tmc', class: 'back' }, `← ${t('nav.tmc')}`));
  const body = h('div', { class: 'record' }, h('p', { class: 'muted loading' }, t('loading')));
  fill(root, head, body);
  let r;
  try {
    r = await api(fresh(`/api/tmc/${encodeURIComponent(id)}`, { min_position: params.get('min_position') || undefined }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    return fill(body, note('error', errorText(err)));
  }
  head.append(h('h1', {}, h('span', { class: 'part-number', id: 'part-number' }, r.part_number), ' ', badge('parts_status', r.status)));
  document.title = `${r.part_number} — KLG`;
  const steps = (STEPS[r.status] || []).filter((s) => can('POST', `/api/tmc/{id}/${s}`));
  fill(body, h('div', { class: 'columns' },
    h('div', {}, h('h2', {}, t('tmc.details')), facts([
      [t('field.description'), r.description],
      [t('field.quantity'), r.quantity],
      [t('field.aircraft'), h('a', { href: `#/aircraft/${r.aircraft_id}` }, r.registration_number || r.aircraft_id)],
      [t('field.reason_kind'), `${t(`reason_kind.${r.reason_kind}`)} ${r.reason_reference}`],
      [t('field.requested_at'), time(r.requested_at)],
      r.supplier ? [t('field.supplier'), `${r.supplier} · ${r.order_ref}`] : null,
      r.serial_number ? [t('field.part_serial'), h('span', { id: 'installed-serial' }, r.serial_number)] : null,
      r.installed_on ? [t('field.installed_on'), day(r.installed_on)] : null,
      r.closing_reason ? [t('field.reason'), r.closing_reason] : null,
      [t('field.version'), r.version],
    ])),
    steps.length ? h('div', { class: 'commands' }, h('h2', {}, t('tmc.next')), steps.map((s, i) => stepForm(r, s, i === 0))) : null));
}

function stepForm(r, step, open) {
  const fields = {
    approve: [{ name: 'note', label: t('field.note'), type: 'textarea' }],
    receive: [{ name: 'note', label: t('field.note'), type: 'textarea' }],
    order: [
      { name: 'supplier', label: t('field.supplier'), required: true },
      { name: 'order_ref', label: t('field.order_ref'), placeholder: 'PO-7781', required: true },
    ],
    install: [
      { name: 'serial_number', label: t('field.part_serial'), required: true },
      { name: 'installed_on', label: t('field.installed_on'), type: 'date', value: today(), required: true },
      { name: 'work_order', label: t('field.work_order'), required: true },
    ],
    cancel: [{ name: 'reason', label: t('field.reason'), type: 'textarea', required: true }],
    reject: [{ name: 'reason', label: t('field.reason'), type: 'textarea', required: true }],
  }[step];
  return panel(t(`tmc.step.${step}`), form({
    id: `tmc-${step}`,
    fields,
    submit: t(`tmc.step.${step}`),
    onSubmit: async (v) => {
      const done = await command(`/api/tmc/${r.id}/${step}`, v);
      go(`tmc/${r.id}`, { min_position: done.position });
    },
  }), { open, id: `tmc-${step}-panel` });
}
