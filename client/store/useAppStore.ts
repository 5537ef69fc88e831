import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppState, AppStore } from './app-store';

/** Holds the page's store; `main.tsx` provides it, tests can provide their own. */
export const AppStoreContext = createContext<AppStore | null>(null);

/** The store itself, for `subscribe` (animation, throttled reads) and for actions in handlers. */
export function useAppStoreApi(): AppStore {
  const store = useContext(AppStoreContext);
  if (store === null) throw new Error('useAppStore needs an AppStoreContext provider');
  return store;
}

/** Reads the store through `selector`, re-rendering only when the selected value changes. */
export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(useAppStoreApi(), selector);
}
