import type { Dashboard } from './dashboard';

/**
 * Shortcuts, all reachable without a mouse. Keys typed into a text field stay there, except Escape.
 * Listed for users in the help overlay (index.html) and in README.md.
 */
export function bindKeyboard(dashboard: Dashboard, help: HTMLElement): void {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey) {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        dashboard.focusSearch();
      }
      return;
    }
    const target = e.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    if (!help.hidden && (e.key === 'Escape' || e.key === '?')) {
      help.hidden = true;
      e.preventDefault();
      return;
    }
    const handled = handle(dashboard, help, e);
    if (handled) e.preventDefault();
  });
}

function handle(d: Dashboard, help: HTMLElement, e: KeyboardEvent): boolean {
  switch (e.key) {
    case '/':
      d.focusSearch();
      return true;
    case 'ArrowUp':
    case 'k':
      if (e.altKey) d.moveSelected(-1);
      else d.selectBy(-1);
      return true;
    case 'ArrowDown':
    case 'j':
      if (e.altKey) d.moveSelected(1);
      else d.selectBy(1);
      return true;
    case 'K':
      d.moveSelected(-1);
      return true;
    case 'J':
      d.moveSelected(1);
      return true;
    case 'PageUp':
      d.selectBy(-10);
      return true;
    case 'PageDown':
      d.selectBy(10);
      return true;
    case 'Home':
      d.selectEdge(false);
      return true;
    case 'End':
      d.selectEdge(true);
      return true;
    case 'Delete':
    case 'Backspace':
      d.removeSelected();
      return true;
    case 'c':
    case 'C':
      d.toggleChartMode();
      return true;
    case 'i':
    case 'I':
      d.cycleBarSeconds();
      return true;
    case '[':
      d.stepMaxHz(-1);
      return true;
    case ']':
      d.stepMaxHz(1);
      return true;
    case '?':
      help.hidden = false;
      return true;
    default:
      return false;
  }
}
