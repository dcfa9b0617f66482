/** One line of text for a thrown value: a log field, a worker's reply, an exit message. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
