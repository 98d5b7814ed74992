// What `metamcp-init status` prints comes from command lines and from an endpoint it does not
// control: a control sequence in it (ESC [2J, OSC 52, a bell) would act on the terminal.

// C0 controls but tab, DEL and C1 controls, and the Unicode controls that reorder or hide text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape.
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

// The same outside C0, which JSON.stringify escapes itself, and with the line separators JSON leaves raw.
const UNPRINTABLE_IN_JSON = /[\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** JSON text with the characters JSON leaves raw that act on a terminal (C1, bidi) as `\u` escapes: still the same JSON. */
export function printableJson(json: string): string {
  return json.replace(UNPRINTABLE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The text with every control character shown as an escape (`\x1b`, `\u202e`), so that printing it only prints. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
