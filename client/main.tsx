/** The dashboard's entry: one store, one socket, one React root. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { connectStream } from './net/socket';
import { createAppStore } from './store/app-store';
import { AppStoreContext } from './store/useAppStore';
import '@fontsource/patrick-hand/400.css';
import './styles.css';

const store = createAppStore();
connectStream(store);

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <AppStoreContext.Provider value={store}>
      <App />
    </AppStoreContext.Provider>
  </StrictMode>,
);
