import { splitName, type NamePart } from './name-parts';

export interface MiddleCutProps {
  /** The whole name: on hover, and as what assistive technology reads. */
  name: string;
  /** A search to mark in the name, when there is one. */
  query?: string;
  /**
   * The parent already carries the name (an `aria-label`), so the drawn text is all there is. Else
   * the drawn parts are hidden from assistive technology and the whole name is read instead: the
   * two boxes the cut needs would be read with a space between them.
   */
  named?: boolean;
}

function Parts({ parts }: { parts: readonly NamePart[] }) {
  return parts.map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : p.text));
}

/**
 * A long name cut in the middle where it does not fit ("tenant-42-si…p-emails"), by CSS, so it
 * fills whatever room it gets; the full name on hover; the search match marked.
 */
export function MiddleCut({ name, query = '', named = false }: MiddleCutProps) {
  const { head, tail } = splitName(name, query);
  const cut = (
    // Isolated, so a right-to-left character in a key cannot reorder the page around it.
    <span className="middle-cut" title={name} aria-hidden={named ? undefined : true}>
      {head.length > 0 && (
        <bdi className="middle-cut-head">
          <Parts parts={head} />
        </bdi>
      )}
      <bdi className="middle-cut-tail">
        <Parts parts={tail} />
      </bdi>
    </span>
  );
  if (named) return cut;
  return (
    <>
      {cut}
      <span className="visually-hidden">{name}</span>
    </>
  );
}
