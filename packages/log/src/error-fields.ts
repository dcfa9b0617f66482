/** How an `Error` appears in a log line: its stack says where, and the rest of the object rarely serializes. */
export function errorFields(error: Error): { name: string; message: string; stack: string | undefined } {
  return { name: error.name, message: error.message, stack: error.stack };
}
