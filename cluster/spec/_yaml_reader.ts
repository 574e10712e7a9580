/**
 * Reads values out of a YAML document's nodes and records every problem with its line and column,
 * so a parser can report all of them at once. Private to `cluster/spec/`.
 *
 * @module
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from "yaml";
import { isIpv4 } from "../../routing/ipv4.ts";

/** One problem in a cluster file. */
export interface Problem {
  line: number;
  column: number;
  message: string;
}

/** Reads values out of YAML nodes, recording problems with positions. */
export class Reader {
  problems: Problem[] = [];
  constructor(private readonly lc: LineCounter) {}

  at(node: Node | null | undefined, message: string, fallback?: Node | null): void {
    const range = (node ?? fallback)?.range;
    const pos = this.lc.linePos(range ? range[0] : 0);
    this.problems.push({ line: pos.line, column: pos.col, message });
  }

  /** The map at `node`, or null (problem recorded). Unknown keys are problems. */
  map(node: Node | null | undefined, what: string, keys: string[], parent?: Node): YAMLMap | null {
    if (!isMap(node)) {
      this.at(node, `${what} must be a mapping`, parent);
      return null;
    }
    for (const item of node.items) {
      const k = isScalar(item.key) ? String(item.key.value) : "";
      if (!keys.includes(k)) {
        this.at(
          item.key as Node,
          `${what}: unknown key "${k}" (expected one of ${keys.join(", ")})`,
        );
      }
    }
    return node;
  }

  field(m: YAMLMap, key: string): Node | null {
    const n = m.get(key, true) as Node | undefined;
    return n ?? null;
  }

  str(m: YAMLMap, key: string, what: string, opt?: { optional?: boolean }): string | undefined {
    const n = this.field(m, key);
    if (n === null) {
      if (!opt?.optional) this.at(m, `${what}: "${key}" is required`);
      return undefined;
    }
    if (!isScalar(n) || typeof n.value !== "string" || n.value === "") {
      this.at(n, `${what}: "${key}" must be a non-empty string`);
      return undefined;
    }
    return n.value;
  }

  num(
    m: YAMLMap,
    key: string,
    what: string,
    min: number,
    max: number,
    dflt?: number,
  ): number | undefined {
    const n = this.field(m, key);
    if (n === null) {
      if (dflt === undefined) this.at(m, `${what}: "${key}" is required`);
      return dflt;
    }
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.at(n, `${what}: "${key}" must be a whole number in ${min}..${max}, got ${String(v)}`);
      return undefined;
    }
    return v;
  }

  /** A number in `min..max`, fractions allowed; `dflt` when absent. */
  fraction(
    m: YAMLMap,
    key: string,
    what: string,
    min: number,
    max: number,
    dflt: number,
  ): number | undefined {
    const n = this.field(m, key);
    if (n === null) return dflt;
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      this.at(n, `${what}: "${key}" must be a number in ${min}..${max}, got ${String(v)}`);
      return undefined;
    }
    return v;
  }

  bool(m: YAMLMap, key: string, what: string, dflt: boolean): boolean {
    const n = this.field(m, key);
    if (n === null) return dflt;
    if (!isScalar(n) || typeof n.value !== "boolean") {
      this.at(n, `${what}: "${key}" must be true or false`);
      return dflt;
    }
    return n.value;
  }

  addr(m: YAMLMap, key: string, what: string, opt?: { optional?: boolean }): string | undefined {
    const v = this.str(m, key, what, opt);
    if (v === undefined) return undefined;
    if (isIpv4(v)) return v;
    this.at(this.field(m, key), `${what}: "${key}" ${JSON.stringify(v)} is not an IPv4 address`);
    return undefined;
  }

  seq(m: YAMLMap, key: string, what: string): Node[] {
    const n = this.field(m, key);
    if (n === null) {
      this.at(m, `${what}: "${key}" is required`);
      return [];
    }
    if (!isSeq(n)) {
      this.at(n, `${what}: "${key}" must be a list`);
      return [];
    }
    return n.items as Node[];
  }
}
