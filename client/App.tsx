import { useShallow } from 'zustand/react/shallow';
import { Header } from './components/Header';
import { KeyPanel } from './components/KeyPanel';
import { TriggerForm } from './components/TriggerForm';
import { selectKeyNames } from './store/selectors';
import { useAppStore } from './store/useAppStore';

/** The page: connection header, the trigger form, and one panel per flow-control key. */
export function App() {
  const names = useAppStore(useShallow(selectKeyNames));
  return (
    <>
      <Header />
      <main>
        <TriggerForm />
        {names.length === 0 ? (
          <p className="empty">
            No keys yet. Publish a message with an <code>Upstash-Flow-Control-Key</code> header, or
            use the form above.
          </p>
        ) : (
          names.map((name) => <KeyPanel key={name} name={name} />)
        )}
      </main>
    </>
  );
}
