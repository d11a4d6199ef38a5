// Reads values through the table and collects every problem instead of stopping at the first, so
// an operator fixes all of them in one restart; ConfigErrors carries them out as one error.
import { ConfigError } from '../errors';
import { readVar, type RawEnv } from './env';
import { VARIABLES, type VariableName, type Values } from './schema';

/** Every configuration problem of one start-up, in the order found (table order, then the rules). */
export class ConfigErrors extends ConfigError {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    if (errors.length === 0) throw new Error('ConfigErrors needs at least one error');
    super(errors[0]!.variable, '');
    this.name = 'ConfigErrors';
    this.errors = Object.freeze([...errors]);
    // One problem reads exactly as before ("PORT: must be …"); several are listed one per line.
    this.message = errors.length === 1 ? errors[0]!.message : `${errors.length} problems:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`;
  }
}

/** Each problem as its own ConfigError: the members of a ConfigErrors, or the error itself. */
export function configProblems(e: ConfigError): readonly ConfigError[] {
  return e instanceof ConfigErrors ? e.errors : [e];
}

/** A non-fatal finding, logged at start-up (an unknown variable outside production). */
export interface ConfigWarning {
  readonly variable: string;
  readonly message: string;
}

/** The values of one environment read through the table, and the problems found so far. */
export class Reading {
  readonly values = {} as Values;
  readonly errors: ConfigError[] = [];
  /** Variables the environment sets (not merely defaulted), including refused ones. */
  private readonly given = new Set<VariableName>();

  constructor(
    readonly env: RawEnv,
    names: readonly VariableName[] = Object.keys(VARIABLES) as VariableName[],
  ) {
    for (const name of names) this.read(name);
  }

  private read(name: VariableName): void {
    const def = VARIABLES[name];
    let raw: string | undefined;
    try {
      raw = readVar(this.env, name);
    } catch (e) {
      this.given.add(name);
      return this.collect(e);
    }
    if (raw !== undefined) this.given.add(name);
    raw ??= def.default;
    if (raw === undefined) return;
    try {
      (this.values as Record<VariableName, unknown>)[name] = def.parse(raw, name);
    } catch (e) {
      this.collect(e);
    }
  }

  /** Whether the environment sets `name` (an empty value does not). */
  isSet(name: VariableName): boolean {
    return this.given.has(name);
  }

  /** Whether a problem was already reported for `name` (so a rule does not pile a second one on). */
  refused(name: VariableName): boolean {
    return this.errors.some((e) => e.variable === name || e.variable === `${name}_FILE`);
  }

  fail(variable: string, message: string): void {
    this.errors.push(new ConfigError(variable, message));
  }

  /** Records a ConfigError; anything else is a bug and propagates. */
  collect(e: unknown): void {
    if (!(e instanceof ConfigError)) throw e;
    this.errors.push(...configProblems(e));
  }

  /** Throws every problem found as one ConfigErrors; returns when there is none. */
  throwIfAny(): void {
    if (this.errors.length) throw new ConfigErrors(this.errors);
  }
}
