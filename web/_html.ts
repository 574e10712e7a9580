/**
 * A tiny HTML builder: `h` is a tagged template that escapes every interpolated value unless it is
 * already {@link Safe} (the result of another `h`, or an array of them).
 *
 * @module
 */

/** HTML that is already escaped. */
export class Safe {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Escapes text for HTML element content and double-quoted attribute values. */
function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  ).replace(/'/g, "&#39;");
}

type Value = Safe | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Safe) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}

/** Builds escaped HTML: h`<td>${name}</td>`. */
export function h(strings: TemplateStringsArray, ...values: Value[]): Safe {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + (strings[i + 1] ?? "");
  return new Safe(out);
}

/** Marks trusted markup as safe (only for constants written in this code base). */
export function raw(s: string): Safe {
  return new Safe(s);
}
