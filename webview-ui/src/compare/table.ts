// A virtualized grid: only the rows in view (plus a few) exist in the DOM, positioned inside a
// body as tall as every row, so 1,000 or 100,000 runs scroll and sort alike. ARIA grid roles,
// a roving active row (arrows, Home/End, Space toggles, Enter opens), sortable headers.
import { h } from '../shared/dom';
import { ColumnDef, ColumnId, formatAggregate, formatValue, ViewRow } from './model';

export const ROW_HEIGHT = 24;
const OVERSCAN = 8;
const CHECK_WIDTH = 28;

export interface TableEvents {
  onSort(column: ColumnId): void;
  /** A click (only), a Ctrl/Cmd-click or Space (toggle), a Shift-click (range from the anchor). */
  onSelect(index: number, mode: 'only' | 'toggle' | 'range'): void;
  /** Enter or a double click: plot the selection. */
  onActivate(index: number): void;
  onSelectAll(): void;
}

export class VirtualTable {
  readonly element: HTMLElement;
  private readonly head: HTMLElement;
  private readonly body: HTMLElement;
  private columns: readonly ColumnDef[] = [];
  private rows: readonly ViewRow[] = [];
  private isSelected: (row: ViewRow) => boolean = () => false;
  private readonly pool: HTMLElement[] = [];
  private active = 0;
  private framePending = false;
  /** Rows drawn by the last render (for tests and benchmarks). */
  rendered = 0;

  constructor(private readonly events: TableEvents) {
    this.head = h('div', { class: 'grid-head', role: 'row', 'aria-rowindex': 1 });
    this.body = h('div', { class: 'grid-body', role: 'rowgroup' });
    this.element = h('div', { class: 'grid', id: 'runs-grid', role: 'grid', tabindex: 0, 'aria-multiselectable': 'true', 'aria-label': 'Runs' }, this.head, this.body);
    this.element.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  setColumns(columns: readonly ColumnDef[], sort: { column: string; descending: boolean }): void {
    this.columns = columns;
    const template = [`${CHECK_WIDTH}px`, ...columns.map((c) => `${c.width}px`)].join(' ');
    const total = CHECK_WIDTH + columns.reduce((s, c) => s + c.width, 0);
    // CSSOM, not style attributes: the webview's CSP allows no inline styles.
    this.element.style.setProperty('--cols', template);
    this.element.style.setProperty('--grid-width', `${total}px`);
    this.element.setAttribute('aria-colcount', String(columns.length + 1));
    const cells: HTMLElement[] = [h('div', { class: 'cell check', role: 'columnheader' }, h('span', { class: 'sr-only' }, 'selected'))];
    for (const c of columns) {
      const sorted = sort.column === c.id;
      const button = h('button', { class: 'sort', type: 'button', title: `${c.title}. Sort by ${c.label}.`, 'data-column': c.id }, c.label, sorted ? (sort.descending ? ' ▼' : ' ▲') : '');
      button.addEventListener('click', () => this.events.onSort(c.id));
      cells.push(h('div', { class: `cell${c.numeric ? ' num' : ''}`, role: 'columnheader', 'aria-sort': sorted ? (sort.descending ? 'descending' : 'ascending') : 'none', 'data-column': c.id }, button));
    }
    this.head.replaceChildren(...cells);
    for (const el of this.pool) el.remove();
    this.pool.length = 0;
    this.render();
  }

  setRows(rows: readonly ViewRow[], isSelected: (row: ViewRow) => boolean): void {
    this.rows = rows;
    this.isSelected = isSelected;
    this.active = Math.min(this.active, Math.max(0, rows.length - 1));
    this.body.style.height = `${rows.length * ROW_HEIGHT}px`;
    this.element.setAttribute('aria-rowcount', String(rows.length + 1));
    this.render();
  }

  /** Selection changed, rows did not. */
  refreshSelection(): void {
    this.render();
  }

  get activeIndex(): number {
    return this.active;
  }

  setActive(index: number, scroll = true): void {
    if (!this.rows.length) return;
    this.active = Math.max(0, Math.min(this.rows.length - 1, index));
    if (scroll) {
      const top = this.active * ROW_HEIGHT;
      const view = this.element.clientHeight - ROW_HEIGHT; // minus the sticky header
      if (top < this.element.scrollTop) this.element.scrollTop = top;
      else if (top + ROW_HEIGHT > this.element.scrollTop + view) this.element.scrollTop = top + ROW_HEIGHT - view;
    }
    this.render();
  }

  private schedule(): void {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.render();
    });
  }

  /** Draws the rows in view: a pool of row elements, refilled in place. */
  render(): void {
    const n = this.rows.length;
    const first = Math.max(0, Math.floor(this.element.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil((this.element.clientHeight || 600) / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(n, first + visible);
    const count = Math.max(0, last - first);
    while (this.pool.length < count) {
      const row = this.newRow();
      this.pool.push(row);
      this.body.append(row);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const el = this.pool[k]!;
      if (k >= count) {
        el.hidden = true;
        continue;
      }
      el.hidden = false;
      this.fill(el, first + k);
    }
    this.rendered = count;
    const activeRow = this.pool[this.active - first];
    if (this.active >= first && this.active < last && activeRow) this.element.setAttribute('aria-activedescendant', activeRow.id);
    else this.element.removeAttribute('aria-activedescendant');
  }

  private newRow(): HTMLElement {
    const check = h('input', { type: 'checkbox', tabindex: -1 });
    const row = h('div', { class: 'grid-row', role: 'row' }, h('div', { class: 'cell check', role: 'gridcell' }, check));
    for (let i = 0; i < this.columns.length; i++) row.append(h('div', { class: `cell${this.columns[i]!.numeric ? ' num' : ''}`, role: 'gridcell' }));
    check.addEventListener('click', (e) => {
      e.stopPropagation();
      this.events.onSelect(Number(row.dataset['index']), 'toggle');
    });
    row.addEventListener('click', (e) => {
      const index = Number(row.dataset['index']);
      this.active = index;
      this.events.onSelect(index, e.shiftKey ? 'range' : e.ctrlKey || e.metaKey ? 'toggle' : 'only');
    });
    row.addEventListener('dblclick', () => this.events.onActivate(Number(row.dataset['index'])));
    return row;
  }

  private fill(el: HTMLElement, index: number): void {
    const r = this.rows[index]!;
    const selected = this.isSelected(r);
    el.dataset['index'] = String(index);
    el.dataset['key'] = r.key;
    el.id = `run-row-${index}`;
    el.setAttribute('aria-rowindex', String(index + 2));
    el.setAttribute('aria-selected', String(selected));
    el.classList.toggle('selected', selected);
    el.classList.toggle('active', index === this.active);
    el.classList.toggle('aggregate', r.runs.length > 1);
    el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    const cells = el.children;
    const check = cells[0]!.firstChild as HTMLInputElement;
    check.checked = selected;
    check.setAttribute('aria-label', `select ${r.runs[0]!.name}`);
    for (let i = 0; i < this.columns.length; i++) {
      const c = this.columns[i]!;
      const cell = cells[i + 1] as HTMLElement;
      const text = this.cellText(r, c);
      if (cell.textContent !== text) cell.textContent = text;
      if (c.id === 'status') cell.dataset['status'] = r.runs.length === 1 ? r.runs[0]!.status : '';
    }
  }

  private cellText(r: ViewRow, c: ColumnDef): string {
    if (c.id === 'status' && r.runs.length === 1) {
      const run = r.runs[0]!;
      return run.status === 'running' && run.progress !== undefined ? `running ${Math.round(run.progress * 100)}%` : run.status;
    }
    if (c.id === 'seed' && r.runs.length > 1) return `${r.runs.length} seeds`;
    const a = r.aggregates?.get(c.id);
    if (a) return formatAggregate(c, a);
    return formatValue(c, r.value(c.id));
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.rows.length) return;
    const page = Math.max(1, Math.floor(this.element.clientHeight / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key in moves || e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const to = e.key === 'Home' ? 0 : e.key === 'End' ? this.rows.length - 1 : this.active + moves[e.key]!;
      this.setActive(to);
      if (e.shiftKey) this.events.onSelect(this.active, 'range');
    } else if (e.key === ' ') {
      e.preventDefault();
      this.events.onSelect(this.active, 'toggle');
    } else if (e.key === 'Enter') {
      e.preventDefault();
      this.events.onActivate(this.active);
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'a') {
      e.preventDefault();
      this.events.onSelectAll();
    }
  }
}
