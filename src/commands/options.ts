/** Option parsers shared by commands: they throw commander's InvalidArgumentError (exit 2). */
import { InvalidArgumentError } from '../commander.js';
import type { RefreshMode } from '../core/merge.js';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function wholeNumber(min = 0) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number${min > 0 ? ` ≥ ${min}` : ''}.`);
    }
    return Number(value);
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function modeArg(value: string): RefreshMode {
  const v = value.trim().toLowerCase();
  if (v !== 'append' && v !== 'replace') throw new InvalidArgumentError('expected "append" or "replace".');
  return v;
}

