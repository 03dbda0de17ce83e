// Explore's analysis builder: renders the form the page's schema describes (clickstream_console/
// explore/forms.py), fills it from the analysis' spec, and on submit writes the spec as JSON into
// the form's one named field, so the page's URL (?spec=...) reopens the same analysis. The types'
// modules check every value on the server; this only asks for them. No inline script or style
// (the console's CSP). studio.js draws the results.
'use strict';

(function () {
  const form = document.querySelector('[data-testid=analysis-form]');
  if (!form) return;
  const read = (role) => JSON.parse(form.querySelector(`[data-role=${role}]`).textContent);
  const schema = read('schema');
  const spec = read('spec') || {};
  const presets = read('presets');
  const zones = read('time-zones');
  const readOnly = form.dataset.readOnly === 'true';
  const fields = form.querySelector('[data-role=fields]');
  const columnList = `explore-columns-${schema.kind}`;
  // The app's events with their display names (the event catalogue), suggested in event fields.
  const eventList = `explore-events-${schema.kind}`;
  // A Sankey node of a path: "step 3: view_item" (explore/path.py's labels).
  const STEP_NODE = /^step (\d+): (.*)$/;

  fields.append(datalist(columnList, schema.columns), datalist(eventList, schema.events));
  fields.append(frameSection());
  // Simple fields side by side; an event list or an event starts a block of its own.
  let line = null;
  schema.fields.forEach((field) => {
    const row = fieldRow(field, get(spec, field.name));
    if (field.type === 'events' || field.type === 'event') {
      fields.append(row);
      line = null;
      return;
    }
    if (!line) fields.append(line = element('div', 'explore-line'));
    line.append(row);
  });
  fields.append(filtersBlock('Filters on every event', spec.filters || [], 'global'));
  if (schema.breakdown) fields.append(breakdownRow(spec.breakdown));
  if (readOnly) form.querySelectorAll('input, select, button').forEach((control) => { control.disabled = true; });

  form.addEventListener('submit', () => {
    form.elements.spec.value = JSON.stringify(collect());
  });

  // A path's nodes lead to the users and paths behind them: the same analysis with ``detail``
  // (explore/path.py), chosen from a list under the Sankey or by clicking a node in it.
  if (schema.kind === 'path' && !readOnly) {
    document.addEventListener('chart-drawn', (event) => {
      if (event.target.dataset.chart !== 'result') return;
      const { chart, result, shownEvent } = event.detail;
      const text = event.target.dataset.eventNames ? shownEvent : (label) => label;
      const columns = ['source', 'target'].map((name) => result.columns.indexOf(name));
      const labels = [...new Set(result.rows.flatMap((row) => columns.map((index) => row[index])))].filter((label) => STEP_NODE.test(label));
      labels.sort((a, b) => stepOf(a) - stepOf(b) || a.localeCompare(b));
      const picker = select('detail', labels.map((label) => [label, text(label)]), '');
      picker.dataset.testid = 'path-node';
      const show = button('Show its users', () => { window.location.href = detailUrl(picker.value); });
      show.dataset.testid = 'path-node-detail';
      const line = element('div', 'explore-line');
      line.append(labelled('Node', picker), show);
      event.target.append(line);
      chart.on('click', (clicked) => { if (clicked.dataType === 'node' && STEP_NODE.test(clicked.name)) window.location.href = detailUrl(clicked.name); });
    });
  }

  function stepOf(label) {
    return Number(STEP_NODE.exec(label)[1]);
  }

  function detailUrl(label) {
    const [, step, node] = STEP_NODE.exec(label);
    const analysis = { ...spec, detail: { step: Number(step), node } };
    return `${form.action}?spec=${encodeURIComponent(JSON.stringify(analysis))}`;
  }

  // ---- the spec from the form -------------------------------------------------------------

  function collect() {
    const out = {};
    const preset = fields.querySelector('[data-path=range]').value;
    if (preset) out.range = preset;
    else {
      out.start = fields.querySelector('[data-path=start]').value;
      out.end = fields.querySelector('[data-path=end]').value;
    }
    out.tz = fields.querySelector('[data-path=tz]').value;
    out.granularity = fields.querySelector('[data-path=granularity]').value;
    schema.fields.forEach((field) => {
      const row = fields.querySelector(`[data-field="${field.name}"]`);
      const value = valueOf(field, row);
      if (value !== undefined) set(out, field.name, value);
    });
    out.filters = filtersOf(fields.querySelector('[data-block=global]'));
    if (schema.breakdown) {
      const property = fields.querySelector('[data-path="breakdown.property"]').value.trim();
      if (property) out.breakdown = { property, top: Number(fields.querySelector('[data-path="breakdown.top"]').value || 10) };
    }
    return out;
  }

  function valueOf(field, row) {
    if (field.type === 'events') return Array.from(row.querySelectorAll('[data-event]')).map(eventOf);
    if (field.type === 'event') return eventOf(row.querySelector('[data-event]'));
    const control = row.querySelector('[data-path]');
    if (field.type === 'flag') return control.checked;
    if (field.type === 'number') {
      if (control.value === '') return field.optional ? undefined : null;
      return Number(control.value);
    }
    const text = control.value.trim();
    return text === '' && field.optional ? undefined : text;
  }

  function eventOf(box) {
    return { event: box.querySelector('[data-path=event]').value.trim(), filters: filtersOf(box.querySelector('[data-block=filters]')) };
  }

  function filtersOf(block) {
    return Array.from(block.querySelectorAll(':scope > [data-filters] > [data-filter]')).map((row) => {
      const property = row.querySelector('[data-path=property]').value.trim();
      const operator = row.querySelector('[data-path=operator]').value;
      const text = row.querySelector('[data-path=value]').value;
      if (operator === 'is_set' || operator === 'is_not_set') return { property, operator };
      if (operator === 'in') return { property, operator, values: text.split(',').map((part) => part.trim()).filter(Boolean) };
      return { property, operator, value: text };
    });
  }

  // ---- the form from the spec -------------------------------------------------------------

  function frameSection() {
    const box = element('div', 'explore-frame');
    const range = select('range', [['', 'Custom dates'], ...Object.entries(presets).map(([name, preset]) => [name, preset.label])],
      spec.start ? '' : (spec.range || 'last7'));
    const start = input('start', 'date', spec.start || '');
    const end = input('end', 'date', spec.end || '');
    range.addEventListener('change', () => { if (range.value) { start.value = ''; end.value = ''; } });
    [start, end].forEach((date) => date.addEventListener('change', () => { range.value = ''; }));
    box.append(labelled('Range', range), labelled('From', start), labelled('To', end),
      labelled('Time zone', select('tz', zones.map((zone) => [zone, zone]), spec.tz || zones[0])),
      labelled('Granularity', select('granularity', schema.granularities.map((name) => [name, name]), spec.granularity || 'day')));
    return box;
  }

  function fieldRow(field, value) {
    const row = element('div', `explore-field ${field.type}`);
    row.dataset.field = field.name;
    if (field.type === 'events') {
      row.append(element('h3', null, field.label));
      const list = element('div', 'explore-events');
      const add = button(`Add ${field.label.toLowerCase().replace(/s$/, '')}`, () => {
        if (list.children.length < field.max) list.append(eventBox(list, { event: '', filters: [] }, field.min));
      });
      add.dataset.action = `add-${field.name}`;
      const events = Array.isArray(value) && value.length ? value : Array.from({ length: field.min }, () => ({ event: '', filters: [] }));
      events.forEach((event) => list.append(eventBox(list, event, field.min)));
      row.append(list, add);
      return row;
    }
    if (field.type === 'event') {
      row.append(element('h3', null, field.label), eventBox(null, value || { event: '', filters: [] }, 1));
      return row;
    }
    let control;
    if (field.type === 'choice') control = select(field.name, field.choices, value ?? field.default);
    else if (field.type === 'number') {
      control = input(field.name, 'number', value ?? field.default ?? '');
      if (field.min !== undefined) control.min = field.min;
      if (field.max !== undefined) control.max = field.max;
    } else if (field.type === 'flag') {
      control = input(field.name, 'checkbox', '');
      control.checked = Boolean(value ?? field.default);
    } else {
      control = input(field.name, 'text', value ?? field.default ?? '');
      if (field.suggest === 'events') control.setAttribute('list', eventList);
      if (field.type === 'property') control.setAttribute('list', columnList);
    }
    row.append(labelled(field.label, control));
    return row;
  }

  // An event with its own filters; ``list`` holds its siblings (null for a single event).
  function eventBox(list, value, minimum) {
    const box = element('div', 'explore-event card');
    box.dataset.event = '';
    const name = input('event', 'text', value.event || '');
    name.placeholder = 'event name, e.g. add_to_cart';
    name.setAttribute('list', eventList);
    box.append(labelled('Event', name));
    if (list) {
      const remove = button('Remove', () => { if (list.children.length > minimum) box.remove(); });
      remove.dataset.action = 'remove-event';
      box.append(remove);
    }
    box.append(filtersBlock('Filters on this event', value.filters || [], 'filters'));
    return box;
  }

  function filtersBlock(title, filters, name) {
    const block = element('div', 'explore-filters');
    block.dataset.block = name;
    const rows = element('div');
    rows.dataset.filters = '';
    filters.forEach((filter) => rows.append(filterRow(filter)));
    const add = button('Add filter', () => rows.append(filterRow({ property: '', operator: 'eq', value: '' })));
    add.dataset.action = 'add-filter';
    block.append(element('span', 'muted', title), rows, add);
    return block;
  }

  function filterRow(filter) {
    const row = element('div', 'explore-filter');
    row.dataset.filter = '';
    const property = input('property', 'text', filter.property || '');
    property.setAttribute('list', columnList);
    property.placeholder = 'geo_country, event.<key>, user.<key>';
    const value = input('value', 'text', filter.values ? filter.values.join(', ') : (filter.value ?? ''));
    value.placeholder = 'value (in: a, b, c)';
    const remove = button('×', () => row.remove());
    remove.setAttribute('aria-label', 'Remove filter');
    row.append(property, select('operator', schema.operators, filter.operator || 'eq'), value, remove);
    return row;
  }

  function breakdownRow(breakdown) {
    const row = element('div', 'explore-field breakdown');
    const property = input('breakdown.property', 'text', breakdown ? breakdown.property : '');
    property.setAttribute('list', columnList);
    property.placeholder = 'none';
    const top = input('breakdown.top', 'number', breakdown ? breakdown.top : 10);
    top.min = 1;
    top.max = 50;
    row.append(labelled('Break down by', property), labelled('Top', top));
    return row;
  }

  // ---- small helpers ----------------------------------------------------------------------

  function get(object, path) {
    return path.split('.').reduce((value, key) => (value == null ? undefined : value[key]), object);
  }

  function set(object, path, value) {
    const keys = path.split('.');
    let target = object;
    keys.slice(0, -1).forEach((key) => { target[key] = target[key] || {}; target = target[key]; });
    target[keys[keys.length - 1]] = value;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function input(path, type, value) {
    const node = element('input');
    node.type = type;
    node.dataset.path = path;
    if (type !== 'checkbox') node.value = value;
    return node;
  }

  function select(path, choices, value) {
    const node = element('select');
    node.dataset.path = path;
    choices.forEach(([choice, label]) => {
      const option = element('option', null, label);
      option.value = choice;
      option.selected = choice === value;
      node.append(option);
    });
    return node;
  }

  function button(text, action) {
    const node = element('button', null, text);
    node.type = 'button';
    node.addEventListener('click', action);
    return node;
  }

  function labelled(text, control) {
    const label = element('label', null, `${text} `);
    label.append(control);
    return label;
  }

  function datalist(id, columns) {
    const list = element('datalist');
    list.id = id;
    columns.forEach(([name, label]) => {
      const option = element('option', null, label);
      option.value = name;
      list.append(option);
    });
    return list;
  }
})();
