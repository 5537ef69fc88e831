import { useEffect } from 'react';
import { EventLog } from './components/EventLog';
import { Header } from './components/Header';
import { KeyViews } from './components/KeyViews';
import { Overview } from './components/Overview';
import { TriggerForm } from './components/TriggerForm';

/** Focuses the key search on "/", as many dashboards do, unless the person is typing. */
function useSearchShortcut() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const typing =
        t !== null && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA');
      if (e.key !== '/' || typing || e.ctrlKey || e.metaKey || e.altKey) return;
      e.preventDefault();
      document.querySelector<HTMLInputElement>('input[aria-label="Search keys"]')?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/** The page: header, the trigger form and overview on the side, the keys in full, the log. */
export function App() {
  useSearchShortcut();
  return (
    <>
      <a className="skip" href="#keys">
        Skip to the keys
      </a>
      <Header />
      <div className="layout">
        <aside className="side">
          <TriggerForm />
          <Overview />
        </aside>
        <main id="keys" tabIndex={-1}>
          <KeyViews />
        </main>
      </div>
      <EventLog />
    </>
  );
}
