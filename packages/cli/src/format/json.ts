/** JsonValue is what the JSON renderers build: plain data, with every bigint already a string. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** jsonDocument renders one JSON document, indented by two spaces, ending in a newline. */
export function jsonDocument(value: JsonValue): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** jsonLine renders one JSON value on one line (for streams: one object per line). */
export function jsonLine(value: JsonValue): string {
  return `${JSON.stringify(value)}\n`;
}
