import type { StateCreator } from 'zustand/vanilla';
import type { AppState } from './app-store';
import type { LogFilter } from './event-log';
import type { SortColumn, SortOrder } from './overview-rows';

/** What the person chose to look at: selected keys, the overview's search and order, log filters. */
export interface UiSlice {
  /** Keys picked in the overview, in the order picked. Empty: follow the latest active keys. */
  selected: readonly string[];
  search: string;
  sort: SortOrder;
  logFilter: LogFilter;
  /** A key was picked or unpicked in the overview. */
  keyToggled(key: string): void;
  /** "Follow latest" was chosen: no key stays selected. */
  selectionCleared(): void;
  searchTyped(text: string): void;
  /** A column header was clicked: sort by it, or flip its direction when it is the sort already. */
  sortRequested(column: SortColumn): void;
  logFilterChanged(filter: Partial<LogFilter>): void;
  /** The trigger form published to `key`: show it, so the person sees what they started. */
  triggerPublished(key: string): void;
}

/** Numeric columns sort largest first on the first click; names sort A to Z. */
const firstDescending = (column: SortColumn) => column !== 'key';

export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  selected: [],
  search: '',
  sort: { column: 'key', descending: false },
  logFilter: { key: '', type: '' },
  keyToggled: (key) =>
    set((s) => ({
      selected: s.selected.includes(key)
        ? s.selected.filter((k) => k !== key)
        : [...s.selected, key],
    })),
  selectionCleared: () => set({ selected: [] }),
  searchTyped: (search) => set({ search }),
  sortRequested: (column) =>
    set((s) => ({
      sort:
        s.sort.column === column
          ? { column, descending: !s.sort.descending }
          : { column, descending: firstDescending(column) },
    })),
  logFilterChanged: (filter) => set((s) => ({ logFilter: { ...s.logFilter, ...filter } })),
  triggerPublished: (key) =>
    set((s) => (s.selected.includes(key) ? {} : { selected: [...s.selected, key] })),
});
