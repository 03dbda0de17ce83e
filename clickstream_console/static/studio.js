// Analytics Studio report pages: fetch the report's data (the page's own query string is the
// state), draw each chart with ECharts, and offer the same data as a table, a CSV and a PNG.
// No inline script or style anywhere (the console's CSP): ECharts' tooltips render as rich text
// on the canvas rather than as HTML with style attributes.
'use strict';

(function () {
  const numbers = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' });
  const charts = [];
  const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
  // Events by their display names (Data Management) in the columns a chart marks as holding event
  // names; a label made of one keeps its step or count ("2. add_to_cart", "step 2: add_to_cart",
  // "2 · add_to_cart", "add_to_cart (2)"). The data, CSV and links keep the names themselves.
  const EVENT_LABEL = /^((?:step )?\d+(?:\. | · |: ))?(.*?)( \(\d+\))?$/s;
  const displayNames = readDisplayNames();

  wireForm(document.querySelector('[data-testid=report-form]'));
  const root = document.querySelector('[data-testid=report]');
  if (root) load(root);
  window.addEventListener('resize', () => charts.forEach((chart) => chart.resize()));

  function wireForm(form) {
    if (!form) return;
    const preset = form.elements.range;
    const dates = [form.elements.start, form.elements.end];
    preset.addEventListener('change', () => { if (preset.value) dates.forEach((input) => { input.value = ''; }); });
    dates.forEach((input) => input.addEventListener('change', () => { preset.value = ''; }));
    // Empty fields stay out of the URL, which is the report's permalink.
    form.addEventListener('submit', () => {
      Array.from(form.elements).forEach((field) => { if (field.name && field.value === '') field.disabled = true; });
    });
  }

  // The data comes from the report's data URL, or with the page (an editor's preview, already run).
  async function load(root) {
    try {
      const embedded = root.querySelector('[data-role=report-data]');
      if (embedded) {
        render(root, JSON.parse(embedded.textContent));
        root.dataset.state = 'ready';
        return;
      }
      const response = await fetch(root.dataset.dataUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      const body = await response.json().catch(() => ({ error: response.statusText }));
      if (!response.ok) throw new Error(body.error || response.statusText);
      render(root, body);
    } catch (error) {
      const message = document.querySelector('[data-testid=report-load-error]');
      message.textContent = String(error.message || error);
      message.hidden = false;
      root.dataset.state = 'failed';
      return;
    }
    root.dataset.state = 'ready';
  }

  function render(root, data) {
    const upTo = document.querySelector('[data-testid=data-up-to]');
    if (upTo) upTo.textContent = data.data_up_to ? data.data_up_to.replace('T', ' ').replace('Z', ' UTC') : 'no data yet';
    // The range reaches past the newest modeled hour: its last day is not all in yet.
    const partial = document.querySelector('[data-testid=partial-data]');
    if (partial && data.data_up_to && data.data_up_to.slice(0, 10) <= data.range.end) partial.hidden = false;
    root.querySelectorAll('[data-chart]').forEach((section) => {
      const spec = {
        kind: section.dataset.kind,
        x: section.dataset.x,
        y: section.dataset.y.split(','),
        series: section.dataset.series || null,
        stacked: section.dataset.stacked === 'true',
        daily: section.dataset.daily === 'true',
        eventNames: new Set((section.dataset.eventNames || '').split(',').filter(Boolean)),
        start: data.range.start,
        end: data.range.end,
        previousStart: data.previous && data.previous.start,
        title: section.querySelector('h2').textContent,
      };
      renderChart(section, spec, data.charts[section.dataset.chart]);
    });
    fillValueLists(root, data);
  }

  function renderChart(section, spec, result) {
    const part = (role) => section.querySelector(`[data-role=${role}]`);
    const measures = spec.y.map((name) => result.columns.indexOf(name));
    const empty = result.rows.every((row) => measures.every((index) => !row[index]));
    if (result.truncated) part('note').textContent = `first ${numbers.format(result.rows.length)} rows only`;
    if (empty) {
      part('empty').hidden = false;
      ['kpis', 'canvas', 'table'].forEach((role) => { if (part(role)) part(role).hidden = true; });
      section.querySelectorAll('[data-action]').forEach((button) => { button.disabled = true; });
      return;
    }
    if (spec.kind === 'kpi') {
      renderKpis(part('kpis'), spec, result);
      return;
    }
    const table = tableData(spec, result);
    part('table').replaceChildren(htmlTable(spec, table));
    if (spec.kind === 'table') return;
    const chart = echarts.init(part('canvas'));
    charts.push(chart);
    chart.setOption(chartOption(spec, table));
    // A page's own script may add to a drawn chart (Explore's path: a node's users).
    section.dispatchEvent(new CustomEvent('chart-drawn', { bubbles: true, detail: { chart, result, shownEvent } }));
    section.querySelector('[data-action=table]').addEventListener('click', (event) => {
      const showTable = event.currentTarget.getAttribute('aria-pressed') !== 'true';
      event.currentTarget.setAttribute('aria-pressed', String(showTable));
      part('table').hidden = !showTable;
      part('canvas').hidden = showTable;
      if (!showTable) chart.resize();
    });
    section.querySelector('[data-action=png]').addEventListener('click', () => {
      const link = document.createElement('a');
      link.href = chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' });
      link.download = `${section.dataset.chart}.png`;
      link.click();
    });
  }

  function renderKpis(container, spec, result) {
    const row = result.rows[0];
    const previous = result.previous && result.previous.rows[0];
    container.replaceChildren(...spec.y.map((name) => {
      const index = result.columns.indexOf(name);
      const tile = element('div', 'kpi-tile');
      tile.append(element('span', 'kpi-label', label(name)));
      const value = element('span', 'kpi-value', format(row[index]));
      value.dataset.testid = `kpi-${name}`;
      tile.append(value);
      if (previous) {
        const before = previous[result.columns.indexOf(name)];
        const change = before ? (row[index] - before) / before : null;
        const delta = element('span', 'kpi-delta', `${change === null ? 'n/a' : percent.format(change)} vs ${format(before)} before`);
        delta.dataset.testid = `kpi-${name}-previous`;
        delta.classList.add(change > 0 ? 'up' : change < 0 ? 'down' : 'flat');
        tile.append(delta);
      }
      return tile;
    }));
  }

  // The chart's rows as a table: the current period's columns, then each measure of the previous
  // period lined up by the row's key: its category (and series), a daily row by its day's offset
  // in the range.
  function tableData(spec, result) {
    const columns = result.columns.slice();
    let rows = result.rows.map((row) => row.slice());
    // (A heatmap's rows are its own period's cohorts: nothing in the previous period lines up.)
    if (result.previous && !['table', 'heatmap'].includes(spec.kind)) {
      const key = rowKey(spec, result.columns);
      const before = new Map(result.previous.rows.map((row) => [key(row, spec.previousStart), row]));
      rows = rows.map((row) => {
        const match = before.get(key(row, spec.start));
        return row.concat(spec.y.map((name) => (match ? match[result.previous.columns.indexOf(name)] : 0)));
      });
      spec.y.forEach((name) => columns.push(`${name}_previous`));
    }
    const compared = result.previous && !['table', 'heatmap'].includes(spec.kind);
    return { columns, rows, x: spec.x, y: spec.y.concat(compared ? spec.y.map((name) => `${name}_previous`) : []) };
  }

  // A row's key for lining up the two periods: a daily row's day as its offset from its period's
  // first day, and its series value.
  function rowKey(spec, columns) {
    const x = columns.indexOf(spec.x);
    const series = spec.series ? columns.indexOf(spec.series) : -1;
    return (row, start) => JSON.stringify([
      spec.daily ? Math.round((Date.parse(row[x]) - Date.parse(start)) / 86400000) : row[x],
      series < 0 ? null : row[series],
    ]);
  }

  function chartOption(spec, table) {
    const builders = { line: axisOption, bar: axisOption, pie: pieOption, heatmap: heatmapOption, sankey: sankeyOption };
    return { animation: false, ...builders[spec.kind](spec, table) };
  }

  // Line and bar: one series per measure (the previous period's dashed), or with ``series`` one
  // per value of that column, for the one measure (the previous period stays in the table view).
  function axisOption(spec, table) {
    const x = table.columns.indexOf(table.x);
    const values = table.rows.map((row) => row[x]);
    const dates = values.every((value) => typeof value === 'string' && ISO_DATE.test(value));
    // Dates are a time axis: every day of the range (or, for a custom report, of the data) gets its
    // place, a day without rows showing 0 rather than being skipped.
    const categories = spec.daily ? daysOf(spec.start, spec.end) : dates ? daysOf(...minAndMax(values)) : unique(values);
    const horizontal = spec.kind === 'bar' && !spec.daily && !spec.stacked && !dates;
    const byCategory = new Map(table.rows.map((row) => [row[x], row]));
    const series = spec.series ? pivotSeries(spec, table, categories) : table.y.map((name) => {
      const previous = name.endsWith('_previous');
      return {
        name: label(name),
        type: spec.kind,
        barMaxWidth: 28,
        data: categories.map((category) => (byCategory.has(category) ? byCategory.get(category)[table.columns.indexOf(name)] : 0)),
        lineStyle: previous ? { type: 'dashed' } : undefined,
        itemStyle: previous ? { opacity: 0.5 } : undefined,
      };
    });
    const categoryAxis = { type: 'category', data: categories.map((category) => shown(spec, table.x, categoryLabel(category))), inverse: horizontal, axisLabel: { width: 160, overflow: 'truncate' } };
    const valueAxis = { type: 'value' };
    return {
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      legend: { top: 0, type: 'scroll' },
      grid: { left: horizontal ? 170 : 50, right: 24, top: 36, bottom: 30 },
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series,
    };
  }

  function pivotSeries(spec, table, categories) {
    const x = table.columns.indexOf(table.x);
    const by = table.columns.indexOf(spec.series);
    const measure = table.columns.indexOf(spec.y[0]);
    // Sorted, so a value keeps its colour from chart to chart (daily and weekly stages alike).
    return unique(table.rows.map((row) => row[by])).sort().map((value) => {
      const cells = new Map(table.rows.filter((row) => row[by] === value).map((row) => [row[x], row[measure]]));
      return {
        name: shown(spec, spec.series, format(value)),
        type: spec.kind,
        stack: spec.stacked ? 'total' : undefined,
        barMaxWidth: 28,
        data: categories.map((category) => cells.get(category) || 0),
      };
    });
  }

  function pieOption(spec, table) {
    const x = table.columns.indexOf(table.x);
    const measure = table.columns.indexOf(spec.y[0]);
    return {
      tooltip: { trigger: 'item', renderMode: 'richText' },
      legend: { top: 0, type: 'scroll' },
      series: [{
        name: label(spec.y[0]),
        type: 'pie',
        radius: ['35%', '65%'],
        top: 30,
        data: table.rows.map((row) => ({ name: shown(spec, table.x, format(row[x])), value: row[measure] })),
        label: { formatter: '{b}: {d}%' },
      }],
    };
  }

  // Heatmap: ``x`` across, ``series`` down, the one measure as the cell's colour and label.
  function heatmapOption(spec, table) {
    const x = table.columns.indexOf(table.x);
    const down = table.columns.indexOf(spec.series);
    const measure = table.columns.indexOf(spec.y[0]);
    const across = unique(table.rows.map((row) => row[x]));
    const rows = unique(table.rows.map((row) => row[down]));
    const values = table.rows.map((row) => row[measure]).filter((value) => typeof value === 'number');
    return {
      tooltip: { trigger: 'item', renderMode: 'richText' },
      grid: { left: 110, right: 24, top: 16, bottom: 96 },
      xAxis: { type: 'category', data: across.map((value) => shown(spec, table.x, format(value))), name: label(table.x), nameLocation: 'center', nameGap: 28, splitArea: { show: true } },
      yAxis: { type: 'category', data: rows.map((value) => shown(spec, spec.series, format(value))), inverse: true, splitArea: { show: true } },
      visualMap: {
        min: Math.min(0, ...values),
        max: Math.max(1, ...values),
        calculable: true,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        itemHeight: 120,
      },
      series: [{
        name: label(spec.y[0]),
        type: 'heatmap',
        data: table.rows.map((row) => [across.indexOf(row[x]), rows.indexOf(row[down]), row[measure]]),
        label: { show: across.length * rows.length <= 400, formatter: (item) => format(item.value[2]) },
      }],
    };
  }

  // Sankey: each row a link from ``x`` to ``series`` weighted by the one measure.
  function sankeyOption(spec, table) {
    const source = table.columns.indexOf(table.x);
    const target = table.columns.indexOf(spec.series);
    const measure = table.columns.indexOf(spec.y[0]);
    const names = unique(table.rows.flatMap((row) => [format(row[source]), format(row[target])]));
    // Node names stay the labels themselves (a click on a node names it); the text shows display names.
    const text = (name) => shown(spec, table.x, name);
    return {
      tooltip: {
        trigger: 'item',
        renderMode: 'richText',
        formatter: (item) => `${item.dataType === 'edge' ? `${text(item.data.source)} → ${text(item.data.target)}` : text(item.name)}: ${format(item.value)}`,
      },
      series: [{
        type: 'sankey',
        // Each node in its own step's column: a drop-off at step 2 stays at step 2.
        nodeAlign: 'left',
        top: 10,
        bottom: 10,
        left: 10,
        right: 140,
        nodeGap: 10,
        emphasis: { focus: 'adjacency' },
        data: names.map((name) => ({ name })),
        links: table.rows.map((row) => ({ source: format(row[source]), target: format(row[target]), value: row[measure] })),
        label: { width: 130, overflow: 'truncate', formatter: (item) => text(item.name) },
      }],
    };
  }

  function minAndMax(values) {
    const sorted = values.slice().sort();
    return [sorted[0], sorted[sorted.length - 1]];
  }

  // Every day of the range (ISO dates), for a daily chart whose rows skip days without data.
  function daysOf(start, end) {
    const days = [];
    for (let day = Date.parse(start); day <= Date.parse(end); day += 86400000) days.push(new Date(day).toISOString().slice(0, 10));
    return days;
  }

  function categoryLabel(value) {
    return value === null || value === undefined ? '(not set)' : String(value);
  }

  function unique(values) {
    return Array.from(new Set(values));
  }

  function htmlTable(spec, table) {
    const node = element('table', 'data');
    const head = node.createTHead().insertRow();
    const numeric = table.columns.map((_, index) => table.rows.some((row) => typeof row[index] === 'number'));
    table.columns.forEach((name, index) => head.append(element('th', numeric[index] ? 'number' : null, label(name))));
    const body = node.createTBody();
    table.rows.forEach((row) => {
      const line = body.insertRow();
      row.forEach((value, index) => {
        const cell = line.insertCell();
        cell.textContent = shown(spec, table.columns[index], format(value));
        // A long value is cut with an ellipsis: hovering shows all of it (and an event's own name).
        cell.title = cell.textContent === format(value) ? cell.textContent : `${cell.textContent} (${format(value)})`;
        cell.dataset.column = table.columns[index];
        if (numeric[index]) cell.className = 'number';
      });
    });
    return node;
  }

  // Free-text filters suggest the values a chart of this page already lists (its x column).
  function fillValueLists(root, data) {
    document.querySelectorAll('datalist[id^=values-]').forEach((list) => {
      const name = list.id.slice('values-'.length);
      const source = Array.from(root.querySelectorAll('[data-chart]')).find((section) => section.dataset.x === name);
      if (!source) return;
      const result = data.charts[source.dataset.chart];
      const x = result.columns.indexOf(name);
      list.replaceChildren(...result.rows.map((row) => Object.assign(document.createElement('option'), { value: row[x] })));
    });
  }

  function readDisplayNames() {
    const node = document.querySelector('[data-role=event-display-names]');
    return new Map(Object.entries(node ? JSON.parse(node.textContent) : {}));
  }

  // ``text`` (a formatted value of ``column``) with its event's display name when the chart marks
  // the column as holding event names.
  function shown(spec, column, text) {
    return spec.eventNames.has(column) ? shownEvent(text) : text;
  }

  function shownEvent(text) {
    if (typeof text !== 'string' || displayNames.size === 0) return text;
    if (displayNames.has(text)) return displayNames.get(text);
    const [, prefix = '', name, suffix = ''] = EVENT_LABEL.exec(text);
    return displayNames.has(name) ? prefix + displayNames.get(name) + suffix : text;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function label(name) {
    const words = name.replace(/_previous$/, ' (previous period)').replace(/_/g, ' ');
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function format(value) {
    if (value === null || value === undefined) return '(not set)';
    return typeof value === 'number' ? numbers.format(value) : String(value);
  }
})();
