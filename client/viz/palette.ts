/**
 * The colours of the Upstash docs' diagrams (Excalidraw's palette), in one place so the SVG
 * shapes, the CSS and the charts agree.
 */
export const palette = {
  ink: '#1e1e1e',
  rule: '#999999',
  muted: '#868e96',
  tokenFill: '#a5d8ff',
  tokenLine: '#1971c2',
  requestFill: '#e9ecef',
  requestLine: '#1e1e1e',
  waiterFill: '#ffec99',
  waiterLine: '#f08c00',
  alertFill: '#ffc9c9',
  alertLine: '#e03131',
  windowFill: '#d0ebff',
  windowLine: '#1971c2',
  frameLine: '#1e1e1e',
  green: '#2f9e44',
  violet: '#7048e8',
} as const;
