/**
 * Colours and fonts the canvas chart needs as values; styles.css declares the same ones as CSS
 * custom properties for the rest of the page. Keep both in step.
 */
export const theme = {
  bg: '#0b0e13',
  panel: '#0f131a',
  raised: '#1b222c',
  border: '#222a35',
  grid: '#161c25',
  text: '#d5dce5',
  muted: '#7b8795',
  crosshair: '#4a5565',
  up: '#1fbf75',
  down: '#f0444f',
  upVolume: 'rgba(31, 191, 117, 0.35)',
  downVolume: 'rgba(240, 68, 79, 0.35)',
  accent: '#4d9fff',
  accentFill: 'rgba(77, 159, 255, 0.22)',
  monoFont:
    '"JetBrains Mono", "SF Mono", "Cascadia Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace',
} as const;
