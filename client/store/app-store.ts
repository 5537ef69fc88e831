/**
 * The dashboard's one store, built from slices. It is a plain zustand store with no React in it;
 * components reach it through `useAppStore`, the socket layer through `getState()`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createConnectionSlice, type ConnectionSlice } from './connection-slice';
import { createFlowSlice, type FlowSlice } from './flow-slice';
import { createUiSlice, type UiSlice } from './ui-slice';

export type AppState = FlowSlice & ConnectionSlice & UiSlice;
export type AppStore = StoreApi<AppState>;

/** Creates a fresh store (one per page; tests make their own). */
export function createAppStore(): AppStore {
  return createStore<AppState>()((...a) => ({
    ...createFlowSlice(...a),
    ...createConnectionSlice(...a),
    ...createUiSlice(...a),
  }));
}
